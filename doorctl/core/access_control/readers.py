"""Readers (Access control > Peripherals): OSDP readers on serial buses, the Wiegand reader.

The reader connector takes up to two OSDP readers on one RS-485 bus (multi-drop) or
one Wiegand reader. Readers with the same port share one OsdpBus (one greenlet);
changing a reader restarts only its bus. Card reads and keypad entries go to access
control like the Wiegand reader's; the decision events drive the reader's LED and
buzzer through OSDP. A port that can't be opened at run time is the reader's error
state and is retried; it never stops the rest of the appliance.

Event topics (source names the reader; the first four are property events):
  tns1:Device/Reader/Online          {"online", "reason"?, identity when online}
  tns1:Device/Reader/SecureChannel   {"state": "up"|"down"|"failed", "reason"?}
  tns1:Device/Reader/Tamper          {"tamper": bool}         (OSDP LSTAT)
  tns1:Device/Reader/Power           {"power_failure": bool}  (OSDP LSTAT)
  tns1:Device/Reader/CardRead        {"format", "bits", "card_format"}
  tns1:Device/Reader/KeySet          {"key_name"}  a new secure channel key was stored
  tns1:Device/Reader/PortError       {"port", "error"}  the bus's port failed to open
  tns1:Device/Reader/Upgrade         {"state": "running"|"done"|"failed", ...}
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import time
from collections.abc import Callable
from pathlib import Path

import gevent
import serial
from wtforms import Form, IntegerField, StringField
from wtforms.validators import DataRequired, NumberRange, Optional, Regexp, ValidationError

from doorctl.core.access_control.decisions import Reader
from doorctl.core.errors import Conflict, Invalid, NotFound
from doorctl.core.events import Event, EventBus
from doorctl.core.fields import Choice
from doorctl.core.logs.audit import audit
from doorctl.core.settings import first_errors, type_errors
from doorctl.core.store import Store, Transaction
from doorctl.hal.osdp import KeyStore, OsdpBus, ReaderConfig
from doorctl.hal.osdp.bus import BAUD_RATES, OFFLINE_AFTER, POLL_INTERVAL
from doorctl.hal.osdp.messages import FILETRANSFER
from doorctl.hal.wiegand import BadFrame, decode

log = logging.getLogger(__name__)

KIND = "Reader"
PROTOCOLS = ("osdp", "wiegand")
SECURE_CHANNEL_MODES = ("off", "install", "required")
DIRECTIONS = ("entry", "exit")
FIELDS = (
    "id",
    "protocol",
    "port",
    "baud",
    "address",
    "secure_channel",
    "poll_interval",
    "door_id",
    "direction",
)
BUS_FIELDS = ("port", "baud", "address", "secure_channel", "poll_interval")
# Settings of the bus itself, which every reader on it must share.
SHARED_FIELDS = {"baud": "baud rate", "poll_interval": "poll interval"}
READERS_PER_BUS = 2
WIEGAND_ID = "wiegand"
# A port that would not open is tried again this often.
PORT_RETRY = 5.0

ONLINE = "tns1:Device/Reader/Online"
SECURE_CHANNEL = "tns1:Device/Reader/SecureChannel"
TAMPER = "tns1:Device/Reader/Tamper"
POWER = "tns1:Device/Reader/Power"
CARD_READ = "tns1:Device/Reader/CardRead"
KEY_SET = "tns1:Device/Reader/KeySet"
PORT_ERROR = "tns1:Device/Reader/PortError"
UPGRADE = "tns1:Device/Reader/Upgrade"
GRANTED_PREFIX = "tns1:AccessControl/AccessGranted/"
DENIED_PREFIX = "tns1:AccessControl/Denied/"

# What the reader shows for a decision, as the Wiegand reader's LED and beeper do:
# green and one short beep on grant; red and a double beep on deny (100 ms units).
FEEDBACK = {
    True: (
        ("led", {"temporary": {"on_color": "green", "on_count": 1, "timer": 30}}),
        ("buzzer", {"on_count": 1, "off_count": 0, "repeat": 1}),
    ),
    False: (
        ("led", {"temporary": {"on_color": "red", "on_count": 1, "timer": 20}}),
        ("buzzer", {"on_count": 2, "off_count": 2, "repeat": 2}),
    ),
}
LIVE_DEFAULTS = {
    "online": False,
    "state": "stopped",
    "sc": "off",
    "vendor": None,
    "model": None,
    "version": None,
    "serial": None,
    "firmware": None,
    "capabilities": {},
    "tamper": None,
    "power": None,
    "error": None,
    "upgradable": False,
    "upgrade": None,
}


class Whole(IntegerField):
    """A whole number: a JSON integer (not true/false, not text), or form text like '9600'."""

    def process_data(self, value):
        if isinstance(value, bool) or not isinstance(value, int | None):
            self.data = None
            raise ValueError("Enter a whole number.")
        self.data = value


class ReaderForm(Form):
    """One reader, as the Peripherals page and the REST API give it."""

    id = StringField(
        "Reader id",
        [
            DataRequired(),
            Regexp(
                r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$",
                message="Use 1 to 32 letters, digits, - and _, starting with a letter or digit.",
            ),
        ],
    )
    protocol = Choice(
        "Protocol", choices=[("osdp", "OSDP"), ("wiegand", "Wiegand")], default="osdp"
    )
    port = StringField("Port (serial device)", [Optional()], default="")
    baud = Whole("Baud rate", default=115200)
    address = Whole("Address", [NumberRange(0, 126, "Use 0 to 126.")], default=0)
    secure_channel = Choice(
        "Secure channel",
        choices=[("off", "Off"), ("install", "Install mode"), ("required", "Required")],
        default="off",
    )
    poll_interval = Whole(
        "Poll interval (ms)",
        [NumberRange(10, 1000, "Use 10 to 1000 ms.")],
        default=round(POLL_INTERVAL * 1000),
        description="A card waits at most this long to be read; shorter costs more CPU.",
    )
    door_id = Whole("Door", default=1)
    direction = Choice("Direction", choices=[("entry", "Entry"), ("exit", "Exit")], default="entry")

    def validate_baud(self, field):
        if field.data not in BAUD_RATES:
            raise ValidationError(f"Choose one of: {', '.join(map(str, BAUD_RATES))}.")

    def validate_port(self, field):
        if not isinstance(field.data, str):
            raise ValidationError("Must be text.")
        if self.protocol.data == "osdp" and not field.data.strip():
            raise ValidationError("Give the serial port of the RS-485 bus, e.g. /dev/ttyAMA0.")


def defaults() -> dict:
    """A new reader's values before the request's."""
    return {k: v for k, v in ReaderForm().data.items() if k != "id"}


class ReaderBus:
    """One serial port and its OSDP readers; reopens the port while it can't be opened."""

    def __init__(self, port: str, baud: int, configs: list[ReaderConfig], on_event, keys):
        self.port, self.baud, self.configs = port, baud, configs
        self.set_direction: Callable[[bool], None] | None = None
        self.offline_after = OFFLINE_AFTER
        self.poll_interval = POLL_INTERVAL
        self._on_event, self._keys = on_event, keys
        self.bus: OsdpBus | None = None
        self.error: str | None = None
        self.on_error: Callable[[str], None] = lambda error: None
        self._retry: gevent.Greenlet | None = None
        self.test_ports = False

    def start(self) -> None:
        """Open the port and poll; on failure keep the error and try again later."""
        if not self._open():
            self._retry = gevent.spawn(self._keep_trying)

    def _open(self) -> bool:
        refused = port_problem(self.port, self.test_ports)
        if refused:
            return self._failed(f"The port {self.port} is not allowed. {refused}")
        bus = OsdpBus(
            self.port,
            self.configs,
            self._on_event,
            baudrate=self.baud,
            key_store=self._keys,
            offline_after=self.offline_after,
            set_direction=self.set_direction,
            poll_interval=self.poll_interval,
        )
        try:
            bus.start()
        except (serial.SerialException, OSError, ValueError) as exc:
            return self._failed(f"The port {self.port} can't be opened: {exc}")
        self.bus, self.error = bus, None
        return True

    def _failed(self, error: str) -> bool:
        """Keep why the port failed; say it once, not at every retry."""
        first = self.error is None
        self.error = error
        if first:
            log.warning("%s", self.error)
            self.on_error(self.error)
        return False

    def _keep_trying(self) -> None:
        while not self._open():
            gevent.sleep(PORT_RETRY)
        self._retry = None

    def stop(self) -> None:
        """Stop polling and close the port."""
        if self._retry is not None:
            self._retry.kill()
            self._retry = None
        if self.bus is not None:
            self.bus.stop()
            self.bus = None

    def live(self) -> dict[int, dict]:
        """Live information by reader address."""
        return {r["address"]: r for r in self.bus.readers()} if self.bus else {}


# Serial devices of the Pi, USB adapters and RS-485 HATs, and udev's stable names.
# Never a pyserial URL: spy:// writes a file, socket:// and rfc2217:// reach the network.
DEVICE_PORT = re.compile(
    r"/dev/(tty(S|AMA|USB|ACM|SC|XRUSB|mxc)[0-9]+|serial[0-9]|serial/by-(id|path)/[^/]+)"
)
# Pseudo-terminals stand in for the RS-485 line in tests and demos; off by default, as
# a pty can be someone's login terminal.
TEST_PORT = re.compile(r"/dev/pts/[0-9]+")
PORT_RULE = "Use a serial device: /dev/ttyAMA0, /dev/ttyUSB0, /dev/serial0 or /dev/serial/by-id/..."


def port_problem(port: str, test_ports: bool = False) -> str | None:
    """None if the port is a serial device a reader may use, else what is allowed."""
    allowed = DEVICE_PORT.fullmatch(port) or (test_ports and TEST_PORT.fullmatch(port))
    if not allowed or os.path.normpath(port) != port:
        return f"{PORT_RULE}{' (or /dev/pts/N)' if test_ports else ''}."
    try:
        mode = os.stat(port).st_mode
    except OSError:
        return None  # absent: opening it says so, and a USB adapter may come back
    return None if stat.S_ISCHR(mode) else f"{port} is not a serial device. {PORT_RULE}."


def port_opens(port: str, baud: int) -> str | None:
    """None if the port opens, else why not (checked before a reader is stored)."""
    try:
        serial.serial_for_url(port, baudrate=baud, timeout=0).close()
    except (serial.SerialException, OSError, ValueError) as exc:
        return f"The port can't be opened: {exc}"
    return None


def _check_types(body: dict) -> None:
    """A JSON value of the wrong type is a field error, not a crash in validation."""
    wrong = type_errors({"id": "", **defaults()}, body)
    if wrong:
        raise Invalid(wrong)


class Readers:
    """The configured readers, their buses, and what they report."""

    def __init__(
        self, store: Store, bus: EventBus, access, doors: dict, data_dir: Path, board=None
    ):
        self.store, self.events, self.access, self.doors = store, bus, access, doors
        self.board = board
        self.keys = KeyStore(data_dir)
        self.buses: dict[str, ReaderBus] = {}
        self._configs = {r["id"]: r for r in self._load()}
        self._status: dict[str, dict] = {}
        self._upgrades: dict[str, dict] = {}
        self._unsubscribe: Callable[[], None] | None = None
        self.running = False
        # OSDP's 8 s before a silent reader counts as offline (shorter in tests).
        self.offline_after = OFFLINE_AFTER
        self.test_ports = False  # pseudo-terminals as ports (READER_TEST_PORTS)

    def _load(self) -> list[dict]:
        rows = self.store.execute(f"SELECT {', '.join(FIELDS)} FROM readers ORDER BY rowid")
        return [dict(row) for row in rows]

    # --- service ------------------------------------------------------------------------

    def start(self) -> None:
        """Make every reader known to access control and start polling the buses."""
        for config in self._configs.values():
            self.access.add_reader(Reader(config["id"], config["door_id"], config["direction"]))
        self._unsubscribe = self.events.subscribe(self._on_decision, GRANTED_PREFIX, DENIED_PREFIX)
        self.running = True
        self._restart(set(self.ports()))

    def stop(self) -> None:
        """Stop every bus (readers go quiet; their state is kept in the store)."""
        self.running = False
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for reader_bus in self.buses.values():
            reader_bus.stop()
        self.buses.clear()

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
        readers = [ReaderConfig(c["address"], c["secure_channel"]) for c in configs]
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
        reader_bus.start()
        return reader_bus

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
        return {**config, **self.live(config)}

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

    # --- add, configure, remove -----------------------------------------------------------

    def add(self, body: dict) -> dict:
        """Add an OSDP reader; raise Invalid or Conflict naming the field."""
        _check_types(body)
        reader = self._validate({**defaults(), **body})
        if reader["protocol"] == "wiegand":
            raise Conflict(
                "The Wiegand reader is the board's own; configure it instead.",
                {"protocol": "There is only one Wiegand reader: the board's."},
            )
        if reader["id"] in self._configs:
            raise Conflict(f"There is already a reader {reader['id']!r}.", {"id": "Taken."})
        self._check_bus(reader)
        self._check_port(reader)
        self.store.write(_insert, reader)
        self._configured(reader, {reader["port"]})
        return self.get(reader["id"])

    def update(self, reader_id: str, changes: dict) -> dict:
        """Configure a reader; only its bus restarts, and only if the bus settings changed."""
        current = self._config(reader_id)
        _check_types(changes)
        reader = self._validate({**current, **changes, "id": reader_id})
        if reader["protocol"] != current["protocol"]:
            raise Invalid({"protocol": "Remove the reader and add it again to change it."})
        moved = any(reader[k] != current[k] for k in BUS_FIELDS)
        same_bus = reader["port"] == current["port"]
        if reader["protocol"] == "osdp" and moved:
            self._check_bus(reader, shared=not same_bus)
            if not same_bus:
                self._check_port(reader)
        shared = reader["protocol"] == "osdp" and same_bus
        self.store.write(_update, reader, shared)
        if shared:
            self._share(reader)
        self._configured(reader, {current["port"], reader["port"]} if moved else set())
        return self.get(reader_id)

    def _share(self, reader: dict) -> None:
        """A bus setting changed on one reader is the bus's: its other reader follows."""
        values = {k: reader[k] for k in SHARED_FIELDS}
        for config in self.ports().get(reader["port"], []):
            config.update(values)

    def remove(self, reader_id: str) -> None:
        """Remove an OSDP reader; the other reader on its bus is polled again at once."""
        config = self._config(reader_id)
        if config["protocol"] == "wiegand":
            raise Conflict("The Wiegand reader is the board's own and can't be removed.")
        self.store.write(_delete, reader_id)
        if self._status.get(reader_id, {}).get("tamper"):
            # A removed reader's tamper ends with it (the alarm must not outlive it).
            self._publish(TAMPER, reader_id, {"tamper": False}, property=True)
        del self._configs[reader_id]
        self.access.remove_reader(reader_id)
        self._status.pop(reader_id, None)
        self._restart({config["port"]})

    def _configured(self, reader: dict, ports: set[str]) -> None:
        """Take a stored reader into use: access control knows it, its bus restarts."""
        self._configs[reader["id"]] = reader
        self.access.add_reader(Reader(reader["id"], reader["door_id"], reader["direction"]))
        if ports:
            self._status.pop(reader["id"], None)
            self._restart(ports)

    def _validate(self, body: dict) -> dict:
        """A clean reader record; raise Invalid naming each bad field."""
        unknown = sorted(set(body) - set(FIELDS) - set(LIVE_DEFAULTS))
        if unknown:
            raise Invalid({name: "unknown field" for name in unknown})
        form = ReaderForm(data={k: body.get(k) for k in FIELDS})
        errors = {} if form.validate() else first_errors(form)
        if "door_id" not in errors and form.door_id.data not in self.doors:
            doors = ", ".join(map(str, sorted(self.doors)))
            errors["door_id"] = f"There is no such door; choose one of: {doors}."
        if "port" not in errors and form.protocol.data == "osdp":
            problem = port_problem(form.port.data.strip(), self.test_ports)
            errors.update({"port": problem} if problem else {})
        if errors:
            raise Invalid(errors)
        reader = {k: form.data[k] for k in FIELDS}
        reader["port"] = reader["port"].strip() if reader["protocol"] == "osdp" else ""
        return reader

    def _check_bus(self, reader: dict, shared: bool = True) -> None:
        """At most two readers on a bus, each at its own address; a reader joining a
        bus (`shared`) must have the bus's baud rate and poll interval."""
        others = [c for c in self.ports().get(reader["port"], []) if c["id"] != reader["id"]]
        if len(others) >= READERS_PER_BUS:
            raise Conflict(
                f"The bus {reader['port']} has {READERS_PER_BUS} readers already.",
                {"port": f"A bus takes at most {READERS_PER_BUS} OSDP readers (multi-drop)."},
            )
        if any(c["address"] == reader["address"] for c in others):
            raise Conflict(
                f"Another reader on {reader['port']} has address {reader['address']}.",
                {"address": "Each reader on a bus needs its own address."},
            )
        for field, name in SHARED_FIELDS.items():
            if shared and others and others[0][field] != reader[field]:
                raise Conflict(
                    f"The bus {reader['port']} has a {name} of {others[0][field]}.",
                    {field: f"The readers on one bus share its {name} ({others[0][field]})."},
                )

    def _check_port(self, reader: dict) -> None:
        """A new bus's port must open (a running bus's port is open already)."""
        running = self.buses.get(reader["port"])
        if running is not None and running.bus is not None:
            return
        problem = port_opens(reader["port"], reader["baud"])
        if problem:
            raise Invalid({"port": problem})

    # --- what the readers report ------------------------------------------------------------

    def _on_osdp(self, reader_id: str | None, kind: str, data: dict) -> None:
        """One OSDP bus event (in the bus greenlet: nothing here waits)."""
        handler = getattr(self, f"_osdp_{kind}", None)
        if reader_id is not None and reader_id in self._configs and handler is not None:
            handler(reader_id, data)

    def _osdp_online(self, reader_id: str, data: dict) -> None:
        identity = {k: data.get(k) for k in ("vendor", "model", "version", "serial", "firmware")}
        self._publish(ONLINE, reader_id, {"online": True, **identity}, property=True)
        self._ask_status(reader_id)

    def _osdp_offline(self, reader_id: str, data: dict) -> None:
        self._publish(ONLINE, reader_id, {"online": False, **data}, property=True)

    def _osdp_sc_up(self, reader_id: str, data: dict) -> None:
        self._publish(SECURE_CHANNEL, reader_id, {"state": "up", **data}, property=True)

    def _osdp_sc_down(self, reader_id: str, data: dict) -> None:
        self._publish(SECURE_CHANNEL, reader_id, {"state": "down", **data}, property=True)

    def _osdp_sc_failed(self, reader_id: str, data: dict) -> None:
        self._publish(SECURE_CHANNEL, reader_id, {"state": "failed", **data}, property=True)

    def _osdp_keyset(self, reader_id: str, data: dict) -> None:
        self._publish(KEY_SET, reader_id, {"key_name": data.get("key_name")})

    def _osdp_lstat(self, reader_id: str, data: dict) -> None:
        """Tamper and power from LSTAT, published when they change."""
        status = self._status.setdefault(reader_id, {})
        for name, topic, field in (("tamper", TAMPER, "tamper"), ("power", POWER, "power_failure")):
            if name in data and status.get(name) != data[name]:
                status[name] = data[name]
                self._publish(topic, reader_id, {field: data[name]}, property=True)

    def _osdp_nak(self, reader_id: str, data: dict) -> None:
        if data.get("command") == FILETRANSFER:
            self._status.setdefault(reader_id, {})["file_transfer"] = False

    def _osdp_card(self, reader_id: str, data: dict) -> None:
        """A card: an event naming reader and format, then the access decision."""
        bits = data.get("bit_string", "")
        if data.get("format") in ("raw", "wiegand") and bits:
            result = decode(bits)
        else:
            result = BadFrame(f"card data in {data.get('format')} format is not supported", bits)
        card_format = getattr(result, "format", None)
        self._publish(
            CARD_READ,
            reader_id,
            {"format": data.get("format"), "bits": data.get("bits"), "card_format": card_format},
        )
        self._decide(reader_id, lambda: self.access.present(reader_id, result))

    def _osdp_keypad(self, reader_id: str, data: dict) -> None:
        """Keys go to the reader's PIN entry; they are never put in an event."""
        self._decide(reader_id, lambda: self.access.keys(reader_id, data.get("keys", "")))

    def _decide(self, reader_id: str, present: Callable) -> None:
        try:
            present()
        except Exception:
            log.exception("access decision failed at reader %s", reader_id)

    def _ask_status(self, reader_id: str) -> None:
        """Ask a reader that came online for its tamper and power status (LSTAT)."""
        reader_bus = self._bus_of(reader_id)
        if reader_bus is not None:
            reader_bus.bus.status(self._configs[reader_id]["address"], "lstat")

    def _bus_of(self, reader_id: str) -> ReaderBus | None:
        """The running bus of an OSDP reader, if its port is open."""
        config = self._configs.get(reader_id)
        if config is None or config["protocol"] != "osdp":
            return None
        reader_bus = self.buses.get(config["port"])
        return reader_bus if reader_bus is not None and reader_bus.bus is not None else None

    def _publish(self, topic: str, reader_id: str, data: dict, property: bool = False) -> None:
        config = self._configs[reader_id]
        source = {"reader": reader_id, "protocol": config["protocol"], "door": config["door_id"]}
        if config["protocol"] == "osdp":
            source.update(port=config["port"], address=config["address"])
        self.events.publish(topic, source, data, {"reader": reader_id}, property)

    # --- grant and deny at the reader ---------------------------------------------------------

    def _on_decision(self, event: Event) -> None:
        """Green and a beep, or red and two beeps, at the OSDP reader that read the credential."""
        reader_id = event.source.get("reader")
        reader_bus = self._bus_of(reader_id)
        if reader_bus is None:
            return
        address = self._configs[reader_id]["address"]
        for command, settings in FEEDBACK[event.topic.startswith(GRANTED_PREFIX)]:
            # Queued on the bus; the reply is not awaited (this runs in a bus greenlet).
            getattr(reader_bus.bus, command)(address, **settings)

    # --- Upgrade readers ------------------------------------------------------------------------

    def upgrade(self, reader_id: str, firmware: bytes) -> dict:
        """Send a firmware file to an online reader that supports file transfer; raise Conflict."""
        reader = self.get(reader_id)
        if reader["protocol"] != "osdp":
            raise Conflict("Only OSDP readers can be upgraded.")
        if not firmware:
            raise Invalid({"file": "The file is empty."})
        if (reader["upgrade"] or {}).get("state") == "running":
            raise Conflict("An upgrade of this reader is already running.")
        if not reader["upgradable"]:
            raise Conflict("Only online readers that support file transfer can be upgraded.")
        progress = {"state": "running", "sent": 0, "total": len(firmware), "error": None}
        progress["sha256"] = hashlib.sha256(firmware).hexdigest()
        progress["started"] = time.time()
        self._upgrades[reader_id] = progress
        result = self._bus_of(reader_id).bus.file_transfer(
            reader["address"], firmware, lambda sent, total: progress.update(sent=sent)
        )
        self._publish(UPGRADE, reader_id, {k: progress[k] for k in ("state", "total", "sha256")})
        gevent.spawn(self._upgrade_ended, reader_id, progress, result)
        return dict(progress)

    def upgrade_status(self, reader_id: str) -> dict:
        """The last upgrade of a reader: state, sent, total, sha256, error; raise NotFound."""
        self._config(reader_id)
        progress = self._upgrades.get(reader_id)
        if progress is None:
            raise NotFound(f"The reader {reader_id!r} has not been upgraded since the start.")
        return dict(progress)

    def _upgrade_ended(self, reader_id: str, progress: dict, result) -> None:
        outcome = result.get()
        if outcome.get("ok"):
            progress.update(state="done", sent=progress["total"])
        else:
            error = outcome.get("error") or outcome.get("reason") or outcome.get("reply")
            progress.update(state="failed", error=str(error))
            if outcome.get("reply") == "nak":
                self._status.setdefault(reader_id, {})["file_transfer"] = False
        if reader_id in self._configs:
            data = {k: progress[k] for k in ("state", "sent", "total", "sha256", "error")}
            self._publish(UPGRADE, reader_id, data)


# --- writes: each runs in one transaction with its audit event (Store.write) -----------


def _insert(tx: Transaction, reader: dict) -> None:
    tx.execute(
        f"INSERT INTO readers ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})",
        tuple(reader[k] for k in FIELDS),
    )
    audit(tx, KIND, "create", reader["id"])


def _update(tx: Transaction, reader: dict, shared: bool) -> None:
    """Store a reader; with `shared`, the bus settings go to the other reader on its port."""
    assignments = ", ".join(f"{k} = ?" for k in FIELDS[1:])
    cursor = tx.execute(
        f"UPDATE readers SET {assignments} WHERE id = ?",
        (*(reader[k] for k in FIELDS[1:]), reader["id"]),
    )
    if not cursor.rowcount:
        raise NotFound(f"There is no reader {reader['id']!r}.")
    if shared:
        assignments = ", ".join(f"{k} = ?" for k in SHARED_FIELDS)
        tx.execute(
            f"UPDATE readers SET {assignments} WHERE protocol = 'osdp' AND port = ?",
            (*(reader[k] for k in SHARED_FIELDS), reader["port"]),
        )
    audit(tx, KIND, "update", reader["id"])


def _delete(tx: Transaction, reader_id: str) -> None:
    if not tx.execute("DELETE FROM readers WHERE id = ?", (reader_id,)).rowcount:
        raise NotFound(f"There is no reader {reader_id!r}.")
    audit(tx, KIND, "delete", reader_id)
