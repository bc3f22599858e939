"""What the OSDP readers report: reader state to events, tamper, cards to access decisions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cached_property, partial

from doorctl.hal.osdp.messages import FILETRANSFER
from doorctl.hal.wiegand import BadFrame, decode

from .flapping import SecureChannelFlaps
from .refused import RefusedCommands
from .topics import CARD_READ, ONLINE, POWER, TAMPER

log = logging.getLogger(__name__)

# The bus's secure channel events, by the state they report.
SECURE_CHANNEL_STATES = {"sc_up": "up", "sc_down": "down", "sc_failed": "failed"}


class OsdpEvents(RefusedCommands, SecureChannelFlaps):
    """Readers' OSDP bus events, each published with the reader as its source."""

    def _on_osdp(self, reader_id: str | None, kind: str, data: dict) -> None:
        """One OSDP bus event (in the bus greenlet: nothing here waits)."""
        handler = self._osdp_handlers.get(kind)
        if handler is not None and reader_id in self._configs:
            handler(reader_id, data)

    @cached_property
    def _osdp_handlers(self) -> dict[str, Callable[[str, dict], None]]:
        """The bus events that say something about a reader; the others are not published."""
        handlers = {
            "online": self._osdp_online,
            "offline": self._osdp_offline,
            "lstat": self._osdp_lstat,
            "nak": self._osdp_nak,
            "card": self._osdp_card,
            "keypad": self._osdp_keypad,
        }
        for kind, state in SECURE_CHANNEL_STATES.items():
            handlers[kind] = partial(self._osdp_secure_channel, state)
        return handlers

    def _osdp_online(self, reader_id: str, data: dict) -> None:
        identity = {k: data.get(k) for k in ("vendor", "model", "version", "serial", "firmware")}
        self._publish(ONLINE, reader_id, {"online": True, **identity}, property=True)
        self._ask_status(reader_id)

    def _osdp_offline(self, reader_id: str, data: dict) -> None:
        self._publish(ONLINE, reader_id, {"online": False, **data}, property=True)

    def _osdp_secure_channel(self, state: str, reader_id: str, data: dict) -> None:
        """The channel's state (flapping summarised); a failure of a required one is
        watched (secure_channel). A key stored (keyset, key_proved) was logged by the key
        store itself."""
        self._secure_channel_changed(reader_id, state, data)
        if state == "failed":
            self._watch_failed(reader_id, data)
        elif state == "up":
            self._watch_up(reader_id)

    def _osdp_lstat(self, reader_id: str, data: dict) -> None:
        """Tamper and power from LSTAT, published when they change."""
        status = self._status.setdefault(reader_id, {})
        for name, topic, field in (("tamper", TAMPER, "tamper"), ("power", POWER, "power_failure")):
            if name in data and status.get(name) != data[name]:
                status[name] = data[name]
                self._publish(topic, reader_id, {field: data[name]}, property=True)

    def _osdp_nak(self, reader_id: str, data: dict) -> None:
        """A refused file ends upgrades; other refused commands are published (refused)."""
        if data.get("command") == FILETRANSFER:
            self._refused_file_transfer(reader_id)
        self._refused(reader_id, data)

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
        """A decision that fails is logged: it must not stop the bus greenlet."""
        try:
            present()
        except Exception:
            log.exception("access decision failed at reader %s", reader_id)

    def _ask_status(self, reader_id: str) -> None:
        """Ask a reader that came online for its tamper and power status (LSTAT)."""
        on_bus = self._osdp_reader(reader_id)
        if on_bus is not None:
            bus, address = on_bus
            bus.status(address, "lstat")

    def _publish(self, topic: str, reader_id: str, data: dict, property: bool = False) -> None:
        source = self._source(self._configs[reader_id])
        self.events.publish(topic, source, data, {"reader": reader_id}, property)

    @staticmethod
    def _source(config: dict) -> dict:
        """A reader's events name it, its protocol and door, and where it is on its bus."""
        source = {"reader": config["id"], "protocol": config["protocol"], "door": config["door_id"]}
        if config["protocol"] == "osdp":
            source.update(port=config["port"], address=config["address"])
        return source
