"""The controller's commands to a reader: queued, sent at once, answered by the reply."""

from __future__ import annotations

from gevent.event import AsyncResult

from . import messages as m
from .reader import Reader, Request
from .transport import BAUD_RATES


class Commands:
    """OsdpBus's per-reader command queue; each command's result is an AsyncResult."""

    def led(self, address: int, **settings) -> AsyncResult:
        """osdp_LED; see messages.led for temporary/permanent settings."""
        return self._request(address, *m.led(**settings))

    def buzzer(self, address: int, **settings) -> AsyncResult:
        """osdp_BUZ; see messages.buzzer."""
        return self._request(address, *m.buzzer(**settings))

    def text(self, address: int, message: str, **settings) -> AsyncResult:
        """osdp_TEXT on the reader's display."""
        return self._request(address, *m.text(message, **settings))

    def output(self, address: int, output_no: int, control_code: int, timer: int = 0):
        """osdp_OUT: drive one of the reader's outputs."""
        return self._request(address, *m.output(output_no, control_code, timer))

    def status(self, address: int, which: str = "lstat") -> AsyncResult:
        """Ask for osdp_LSTAT, osdp_ISTAT or osdp_OSTAT; the reply also comes as an event."""
        code = {"lstat": m.LSTAT, "istat": m.ISTAT, "ostat": m.OSTAT}[which]
        return self._request(address, code, b"")

    def comset(self, address: int, new_address: int, baud: int) -> AsyncResult:
        """osdp_COMSET: move the reader to a new address and baud rate."""
        if baud not in BAUD_RATES or not 0 <= new_address < 0x7F:
            raise ValueError("bad address or baud rate")
        if new_address != address and new_address in self._readers:
            raise ValueError(f"address {new_address} is taken on this bus")
        if baud != self.baudrate and len(self._readers) > 1:
            # The bus follows the moved reader's baud rate; the other one would be lost.
            raise ValueError("the other reader on this bus would stay at the old baud rate")
        return self._request(address, *m.comset(new_address, baud))

    def _request(self, address: int, code: int, data: bytes) -> AsyncResult:
        """Queue a command; the result is {"ok": ...} once the reader answered."""
        reader = self._readers[address]
        request = Request(code, data)
        if not reader.online:
            request.result.set({"ok": False, "error": "offline"})
        else:
            reader.queue.append(request)
            self._due_now(reader)
        return request.result

    def _due_now(self, reader: Reader) -> None:
        """Send a new command without waiting for the reader's next poll."""
        if reader.phase == "ready":
            reader.next_try = 0.0
        if self._sleeper:
            self._sleeper.wake()
        if self._idle:
            self._idle.interrupt()

    def _on_request(self, reader: Reader, request: Request, kind: str, payload: dict) -> None:
        """Answer the controller's command with the reader's reply."""
        if kind == "com":
            self._moved(reader, payload)
        request.result.set({"ok": kind not in ("nak", "unknown"), "reply": kind, **payload})

    def _moved(self, reader: Reader, payload: dict) -> None:
        """After osdp_COM the reader lives at its new address (and baud rate)."""
        del self._readers[reader.address]
        reader.address = payload["address"]
        reader.polls.clear()
        reader.acks.clear()
        self._readers[reader.address] = reader
        if payload["baud"] != self._port.baudrate and payload["baud"] in BAUD_RATES:
            self._port.baudrate = self.baudrate = payload["baud"]
        self._emit(reader, "com", payload)

    def _fail_pending(self, reader: Reader, why: str) -> None:
        """Answer every queued command (and a running transfer) with an error."""
        while reader.queue:
            reader.queue.popleft().result.set({"ok": False, "error": why})
        self._end_transfer(reader, {"ok": False, "error": why})
