"""The readers service: the configured readers, their buses, and their live state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from doorctl.core.access_control.decisions import Reader
from doorctl.core.errors import NotFound
from doorctl.core.events import EventBus
from doorctl.core.secrets import Sealer
from doorctl.core.store import Store
from doorctl.hal.osdp import KeyStore, OsdpBus, ReaderConfig
from doorctl.hal.osdp.bus import OFFLINE_AFTER

from .bus import ReaderBus
from .capture import BusCaptures
from .clearing import KeyClearing
from .configuration import ReaderConfiguration
from .feedback import DecisionFeedback
from .form import FIELDS, KEY_SET_FIELD, LIVE_DEFAULTS
from .keys import ReaderKeys
from .osdp_events import OsdpEvents
from .rotation import KeyRotations
from .secure_channel import SecureChannelWatch
from .topics import DENIED_PREFIX, GRANTED_PREFIX, PORT_ERROR
from .upgrade import ReaderUpgrades


class Readers(
    ReaderConfiguration,
    OsdpEvents,
    SecureChannelWatch,
    KeyRotations,
    KeyClearing,
    DecisionFeedback,
    ReaderUpgrades,
    BusCaptures,
):
    """The configured readers, their buses, and what they report."""

    def __init__(
        self,
        store: Store,
        bus: EventBus,
        access,
        doors: dict,
        data_dir: Path,
        sealer: Sealer,
        board=None,
    ):
        self.store, self.events, self.access, self.doors = store, bus, access, doors
        self.board = board
        legacy = KeyStore(data_dir)
        self.keys = ReaderKeys(store, sealer, legacy, self._source_of, self._identity_of)
        self.buses: dict[str, ReaderBus] = {}
        self._configs = {r["id"]: r for r in self._load()}
        self._status: dict[str, dict] = {}
        self._failing: dict = {}
        self._flaps: dict = {}
        self._upgrades: dict[str, dict] = {}
        self._unsubscribe: Callable[[], None] | None = None
        self.running = False
        self._captures: dict[str, dict] = {}
        # OSDP's 8 s before a silent reader counts as offline (shorter in tests).
        self.offline_after = OFFLINE_AFTER
        self.test_ports = False  # pseudo-terminals as ports (READER_TEST_PORTS)

    def _load(self) -> list[dict]:
        rows = self.store.execute(f"SELECT {', '.join(FIELDS)} FROM readers ORDER BY rowid")
        return [{**row, "enabled": bool(row["enabled"])} for row in map(dict, rows)]

    # --- service ------------------------------------------------------------------------

    def start(self) -> None:
        """Make every reader known to access control and start polling the buses."""
        for config in self._configs.values():
            self._add_to_access(config)
        self._unsubscribe = self.events.subscribe(self._on_decision, GRANTED_PREFIX, DENIED_PREFIX)
        self.running = True
        self._restart(set(self.ports()))

    def reread(self) -> None:
        """Read the readers from the store again and restart their buses (a restored
        backup replaced them)."""
        running = self.running
        self.stop()
        self._configs = {r["id"]: r for r in self._load()}
        if running:
            self.start()

    def stop(self) -> None:
        """Stop every bus (readers go quiet; their state is kept in the store)."""
        self.running = False
        self._end_captures()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for reader_bus in self.buses.values():
            reader_bus.stop()
        self.buses.clear()

    def _add_to_access(self, config: dict) -> None:
        """Access control decides at this reader for its door and direction, while in use."""
        if not config["enabled"]:
            self.access.remove_reader(config["id"])
            return
        self.access.add_reader(Reader(config["id"], config["door_id"], config["direction"]))

    def ports(self) -> dict[str, list[dict]]:
        """OSDP readers by bus port."""
        buses: dict[str, list[dict]] = {}
        for config in self._configs.values():
            if config["protocol"] == "osdp":
                buses.setdefault(config["port"], []).append(config)
        return buses

    def _restart(self, ports: set[str]) -> None:
        """Stop and start again only the buses of these ports."""
        for port in ports:
            old = self.buses.pop(port, None)
            if old is not None:
                old.stop()
            configs = self.ports().get(port)
            if configs and self.running:
                self.buses[port] = self._start_bus(port, configs)

    def _start_bus(self, port: str, configs: list[dict]) -> ReaderBus:
        # Keys are the reader's by its id: one entered before the reader ever answered
        # is there for it, and a replaced reader is tried with the key it should have.
        readers = [ReaderConfig(c["address"], c["secure_channel"], c["id"]) for c in configs]
        by_address = {c["address"]: c["id"] for c in configs}

        def on_event(address: int, kind: str, data: dict) -> None:
            self._on_osdp(by_address.get(address), kind, data)

        reader_bus = ReaderBus(port, configs[0]["baud"], readers, on_event, self.keys)
        reader_bus.offline_after = self.offline_after
        reader_bus.test_ports = self.test_ports
        reader_bus.poll_interval = configs[0]["poll_interval"] / 1000
        if self.board is not None and port == self.board.rs485_port:
            reader_bus.set_direction = self.board.rs485_direction
        reader_bus.on_error = lambda error: self._publish_port_error(port, configs, error)
        record = self._captures.get(port, {})
        reader_bus.capture = record["capture"] if record.get("state") == "recording" else None
        reader_bus.start()
        return reader_bus

    def _open_bus(self, port: str) -> OsdpBus | None:
        """The OsdpBus polling this port, while the port is open."""
        reader_bus = self.buses.get(port)
        return reader_bus.bus if reader_bus is not None else None

    def _osdp_reader(self, reader_id: str) -> tuple[OsdpBus, int] | None:
        """An OSDP reader's bus and address, for commands to it; None while its port is not open."""
        config = self._configs.get(reader_id)
        if config is None or config["protocol"] != "osdp":
            return None
        bus = self._open_bus(config["port"])
        return (bus, config["address"]) if bus is not None else None

    def _publish_port_error(self, port: str, configs: list[dict], error: str) -> None:
        for config in configs:
            self._publish(PORT_ERROR, config["id"], {"port": port, "error": error})

    # --- what the REST API and the page show --------------------------------------------

    def list(self) -> list[dict]:
        """Every reader with its configuration and live state."""
        return [self.get(reader_id) for reader_id in self._configs]

    def get(self, reader_id: str) -> dict:
        """One reader, configuration and live state; raise NotFound."""
        config = self._config(reader_id)
        set_at = self.keys.set_at().get(reader_id)
        when = (
            datetime.fromtimestamp(set_at).astimezone().isoformat("T", "seconds")
            if set_at
            else None
        )
        return {**config, **self.live(config), KEY_SET_FIELD: when}

    def _source_of(self, reader_id: str) -> dict:
        """The source of a reader's events: the reader, its protocol, door and bus."""
        return self._source(self._configs[reader_id])

    def _identity_of(self, reader_id: str) -> str | None:
        """The name earlier versions stored a reader's key under: "<vendor>-<serial>",
        the vendor's bytes in wire order (the live field shows the OUI's usual order)."""
        live = self.get(reader_id)
        if not (live["vendor"] and live["serial"]):
            return None
        return f"{bytes.fromhex(live['vendor'])[::-1].hex()}-{live['serial']}"

    def _config(self, reader_id: str) -> dict:
        try:
            return dict(self._configs[reader_id])
        except KeyError:
            raise NotFound(f"There is no reader {reader_id!r}.") from None

    def live(self, config: dict) -> dict:
        """The live fields: from the bus for OSDP; a Wiegand reader has no link to watch."""
        if config["protocol"] == "wiegand":
            return {**LIVE_DEFAULTS, "online": None, "state": "wiegand", "sc": None}
        reader_bus = self.buses.get(config["port"])
        found = reader_bus.live().get(config["address"], {}) if reader_bus else {}
        live = {**LIVE_DEFAULTS, **{k: v for k, v in found.items() if k in LIVE_DEFAULTS}}
        live["error"] = reader_bus.error if reader_bus else None
        status = self._status.get(config["id"], {})
        live["upgradable"] = bool(live["online"]) and status.get("file_transfer", True)
        live["upgrade"] = self._upgrades.get(config["id"])
        return live
