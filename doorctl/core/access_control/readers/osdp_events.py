"""What the OSDP readers report: reader state to events, tamper, cards to access decisions."""

from __future__ import annotations

import logging
from collections.abc import Callable

from doorctl.hal.osdp.messages import FILETRANSFER
from doorctl.hal.wiegand import BadFrame, decode

from .bus import ReaderBus
from .topics import CARD_READ, KEY_SET, ONLINE, POWER, SECURE_CHANNEL, TAMPER

log = logging.getLogger(__name__)


class OsdpEvents:
    """Readers' OSDP bus events, each published with the reader as its source."""

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
