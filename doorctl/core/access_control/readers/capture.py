"""OSDP capture (Peripherals): an administrator records a reader bus's traffic for a while.

A capture records one bus (a serial port and its readers) for DURATIONS seconds and is
then kept in memory, one per bus, until the next one replaces it or the appliance
restarts; it downloads as a pcap file that Wireshark's OSDP dissector opens
(hal/osdp/capture.py: the keys are never in it). Its start and its end are events.
A bus restarted meanwhile (its reader reconfigured) goes on recording into the same
capture.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import gevent
from flask_babel import gettext as _

from doorctl.core.errors import Conflict, Invalid, NotFound
from doorctl.hal.osdp.capture import Capture

from .topics import CAPTURE

DURATIONS = (10, 600)  # seconds: from a card read to a reader that comes and goes
STATUS_FIELDS = ("state", "port", "duration", "started", "ended", "frames", "bytes", "redacted")


def _when(at: float | None) -> str | None:
    return datetime.fromtimestamp(at, UTC).isoformat("T", "seconds") if at else None


def _status(record: dict) -> dict:
    """What a capture record shows: its state, times in UTC, frames and size so far."""
    capture: Capture = record["capture"]
    status = {**record, "frames": capture.frames, "bytes": capture.size}
    status.update(redacted=capture.redacted, started=_when(record["started"]))
    status["ended"] = _when(record["ended"])
    return {k: status[k] for k in STATUS_FIELDS}


def check_duration(duration) -> int:
    """The capture's duration in whole seconds; raise Invalid naming the field."""
    low, high = DURATIONS
    if isinstance(duration, bool) or not isinstance(duration, int) or not low <= duration <= high:
        raise Invalid(
            {
                "duration": _(
                    "Use a whole number of seconds from %(low)d to %(high)d.", low=low, high=high
                )
            }
        )
    return duration


class BusCaptures:
    """Readers' bus captures: start, stop, status and the file, by a reader on the bus."""

    def start_capture(self, reader_id: str, duration) -> dict:
        """Record the reader's bus for `duration` seconds; raise Invalid or Conflict."""
        port = self._capture_port(reader_id)
        duration = check_duration(duration)
        if self._captures.get(port, {}).get("state") == "recording":
            raise Conflict(
                _("The bus %(port)s is being recorded already; stop that capture first.", port=port)
            )
        if self._open_bus(port) is None:
            raise Conflict(
                _("The bus %(port)s is not open, so there is nothing to record.", port=port)
            )
        record = {"state": "recording", "port": port, "duration": duration}
        record.update(capture=Capture(), started=time.time(), ended=None, reader=reader_id)
        record["timer"] = gevent.spawn_later(duration, self._capture_ended, port)
        self._captures[port] = record
        self._attach_capture(port)
        self._publish(CAPTURE, reader_id, {"state": "recording", "duration": duration})
        return self.capture_status(reader_id)

    def stop_capture(self, reader_id: str) -> dict:
        """End the reader's bus capture now; raise NotFound if there is none."""
        port = self._capture_port(reader_id)
        record = self._capture(port)
        if record["state"] == "recording":
            record["timer"].kill(block=False)
            self._capture_ended(port)
        return self.capture_status(reader_id)

    def capture_status(self, reader_id: str) -> dict:
        """State, bus, duration, start and end (UTC), frames and size of the last capture."""
        return _status(self._capture(self._capture_port(reader_id)))

    def capture_file(self, reader_id: str) -> tuple[str, bytes]:
        """The file name and pcap of a finished capture; raise Conflict while it records."""
        record = self._capture(self._capture_port(reader_id))
        if record["state"] == "recording":
            raise Conflict(_("The capture is still recording; stop it or wait for its end."))
        stamp = datetime.fromtimestamp(record["started"], UTC).strftime("%Y%m%dT%H%M%SZ")
        name = record["port"].rsplit("/", 1)[-1]
        return f"osdp-{name}-{stamp}.pcap", record["capture"].pcap()

    def captures(self) -> dict[str, dict]:
        """Every bus's last capture by port, as capture_status gives them."""
        return {port: _status(record) for port, record in self._captures.items()}

    def _capture_port(self, reader_id: str) -> str:
        config = self._config(reader_id)
        if config["protocol"] != "osdp":
            raise Conflict(_("Only an OSDP reader's bus can be recorded."))
        return config["port"]

    def _capture(self, port: str) -> dict:
        record = self._captures.get(port)
        if record is None:
            raise NotFound(_("The bus %(port)s has not been recorded since the start.", port=port))
        return record

    def _attach_capture(self, port: str) -> None:
        """Let the bus (this one, or the next after a restart) record into the capture."""
        reader_bus = self.buses.get(port)
        record = self._captures.get(port, {})
        if reader_bus is not None:
            reader_bus.record(record["capture"] if record.get("state") == "recording" else None)

    def _capture_ended(self, port: str) -> None:
        record = self._captures[port]
        record.update(state="done", ended=time.time())
        self._attach_capture(port)
        data = {"state": "done", "frames": record["capture"].frames}
        if record["reader"] in self._configs:
            self._publish(CAPTURE, record["reader"], data)

    def _end_captures(self) -> None:
        """The service stops: captures end with what they hold."""
        for port, record in self._captures.items():
            if record["state"] == "recording":
                record["timer"].kill(block=False)
                self._capture_ended(port)
