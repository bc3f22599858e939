"""The serial line of an OSDP bus: frames out, replies in, within the reply timeout.

The port is open with timeout=0 and its descriptor is non-blocking: the bus greenlet
waits for input in the hub (sleeper) and never blocks it. Half duplex: without an
adapter that switches by itself, the RS-485 driver is enabled only while a frame is
being sent.
"""

from __future__ import annotations

import logging
import os
import termios
import time

import gevent
import gevent.select
import serial

from .codec import Frame
from .idle import wait_sent
from .reader import Inflight

log = logging.getLogger(__name__)

BAUD_RATES = (9600, 19200, 38400, 57600, 115200, 230400)


class Transport:
    """OsdpBus's exchanges on the line: write a command, read until its reply comes."""

    def _exchange(self, inflight: Inflight, now: float) -> Frame | None:
        """Write a command and wait up to the reply timeout for its reply."""
        self._decoder.reset()
        if self._stale:
            self._drain_late()
        late = self._late_frames.pop(self._inflight_address(inflight), None)
        if late is not None and late.sqn == inflight.sqn:
            return late
        if not self._write(inflight.frame):
            return None
        # Without a DE pin the write returns while the UART is still sending.
        unsent = 0 if self._set_direction else self._wire_time(len(inflight.frame))
        return self._finish_exchange(inflight, now + unsent + self.reply_timeout)

    def _finish_exchange(self, inflight: Inflight, deadline: float, data: bytes = b""):
        """The reply to a command already sent (`data`: what came of it so far)."""
        frame = self._await_reply(inflight, deadline, data)
        self._stale = frame is None
        return frame

    def _drain_late(self) -> None:
        """Take what came in after a command timed out: a late reply is kept for its
        reader's retry, the rest is dropped.

        Drained, not flushed, as a flush could drop a reply landing just after a read."""
        self._stale, data = False, b""
        for _ in range(16):  # what is there now; a noisy line does not keep us here
            chunk = self._read()
            if not chunk:
                break
            data += chunk
        self._keep_late(self._decoder.feed(data))
        self._decoder.reset()

    def _keep_late(self, frames: list[Frame]) -> None:
        """Keep each reply a reader sent too late for its command, which is still waiting
        to be sent again: the retry is the same bytes with the same SQN, so the late
        reply answers it. Dropped, it was a card lost: the reader sent it once, and
        libosdp (against the specification) answers the repeated SQN with a NAK, not
        with its last reply. It may come in while the bus waits on another reader."""
        for frame in frames:
            reader = self._readers.get(frame.address)
            inflight = reader.inflight if reader is not None else None
            if frame.reply and inflight is not None and inflight.sqn == frame.sqn:
                self._late_frames[frame.address] = frame

    def _await_reply(self, inflight: Inflight, deadline: float, data: bytes) -> Frame | None:
        """Read until the reply to `inflight` arrives or the deadline passes."""
        address = self._inflight_address(inflight)
        while True:
            if data:
                # A long reply at a low baud rate may take longer than the
                # timeout to arrive: keep listening while bytes keep coming.
                deadline = max(deadline, time.monotonic() + self._wire_time(32))
                frames = self._decoder.feed(data)
                for frame in frames:
                    # Own echo (no reply bit), other readers and stale replies are not ours.
                    if frame.reply and frame.address == address and frame.sqn == inflight.sqn:
                        return frame
                self._keep_late([f for f in frames if f.address != address])
            remaining = deadline - time.monotonic()
            if remaining > 0:
                self._wait_readable(remaining)
            data = self._read()
            # Past the deadline, what the port holds still counts: the hub may have been
            # late (busy elsewhere), not the reader, and a reply dropped here is a card
            # lost, since the input is cleared before the next command.
            if not data and time.monotonic() >= deadline:
                return None

    def _wire_time(self, length: int) -> float:
        """Seconds `length` bytes take on the line: 10 bits each (start, 8 data, stop)."""
        return length * 10 / self._port.baudrate

    @staticmethod
    def _inflight_address(inflight: Inflight) -> int:
        """The address a command was sent to, from its own header."""
        return inflight.frame[1] & 0x7F

    def _read(self) -> bytes:
        """Whatever the port has now; recorded while a capture runs."""
        data = self._read_port()
        if data and self.capture is not None:
            self.capture.received(data)
        return data

    def _read_port(self) -> bytes:
        """Whatever the port has now (it is open with timeout=0, so never blocks)."""
        try:
            if self._fd is None:
                return self._port.read(4096)
            # The descriptor is non-blocking; pyserial's read adds a select per call.
            return os.read(self._fd, 4096)
        except BlockingIOError:
            return b""
        except (serial.SerialException, OSError) as exc:
            log.warning("osdp %s: read failed: %s", self.port_url, exc)
            gevent.sleep(self.reply_timeout)
            return b""

    def _wait_readable(self, timeout: float) -> None:
        """Sleep in the hub until the port has input or `timeout` passes."""
        if self._fd is None:
            gevent.sleep(min(timeout, 0.002))
        else:
            self._sleeper.wait_readable(timeout)

    def _fileno(self) -> int | None:
        """The port's descriptor, or None for ports without one (loop://)."""
        try:
            return self._port.fileno()
        except (AttributeError, serial.SerialException, OSError):
            return None

    def _clear_input(self) -> None:
        """Drop what the port has received; a failed port is the next read's problem."""
        self._stale = False
        try:
            self._port.reset_input_buffer()
        except (termios.error, serial.SerialException, OSError) as exc:
            log.warning("osdp %s: clearing input failed: %s", self.port_url, exc)

    def _write(self, data: bytes) -> bool:
        """Transmit a frame, driving the RS-485 driver enable around it if we must."""
        if self.capture is not None:
            self.capture.sent(data)
        if self._set_direction:
            self._set_direction(True)
        try:
            return self._write_all(data)
        finally:
            if self._set_direction:
                try:
                    self._drain(len(data))
                finally:
                    # Even when the bus is stopped mid-frame: never leave the line driven.
                    self._set_direction(False)

    def _write_all(self, data: bytes) -> bool:
        """Non-blocking write loop; False if the port would not take the frame."""
        view = memoryview(data)
        deadline = None
        try:
            while view := view[self._put(view) :]:
                # Only a full transmit buffer gets here; a frame normally fits.
                deadline = deadline or time.monotonic() + self.reply_timeout
                if time.monotonic() >= deadline:
                    return False
                fds = [] if self._fd is None else [self._fd]
                gevent.select.select([], fds, [], 0.01)
        except (serial.SerialException, OSError) as exc:
            log.warning("osdp %s: write failed: %s", self.port_url, exc)
            return False
        return True

    def _put(self, data: memoryview) -> int:
        """Hand bytes to the port; os.write skips pyserial's per-call Timeouts."""
        if self._fd is None:
            return self._port.write(data) or 0
        try:
            return os.write(self._fd, data)
        except BlockingIOError:
            return 0

    def _drain(self, length: int) -> None:
        """Wait until the UART has shifted the frame out before releasing the line."""
        gevent.sleep(self._wire_time(length))
        wait_sent(self._out_waiting)

    def _out_waiting(self) -> int:
        """Bytes the UART has still to send (0 for ports that cannot tell, or have failed)."""
        try:
            return getattr(self._port, "out_waiting", 0)
        except (serial.SerialException, OSError):
            return 0  # a pulled adapter sends nothing more; the next read reports it
