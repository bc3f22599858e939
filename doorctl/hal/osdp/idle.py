"""Idle polling in the hub's own callbacks: POLL, the exact ACK back, and again.

An idle reader answers every POLL with an osdp_ACK that is known in advance: the
same seven bytes for its sequence number, or in a secure channel the ACK whose MAC
follows from the POLL's. Waking the bus greenlet for each exchange (two greenlet
switches, a waiter and a timer per wait) cost three times what the exchange itself
costs, and a reader is polled 67 times a second. So while every reader on the bus
is idle, a repeating timer and one I/O watcher run the rounds from the hub: write
the POLL, compare what comes back with the expected ACK (after our own echo, if the
adapter echoes), move on to the next reader.

Anything else hands the bus back to its greenlet, with the reader whose POLL is on
the wire and the bytes read so far, and the full decoder takes over: a card or any
other reply, noise, no reply within the bus's reply timeout, a port that fails, or
a command the controller queued (``interrupt``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import gevent
from gevent.hub import Waiter, get_hub

from .reader import Reader

# Longest wait for the UART to empty before the RS-485 driver is let go anyway.
DRAIN_LIMIT = 0.1


def wait_sent(out_waiting: Callable[[], int]) -> None:
    """Sleep the calling greenlet until the UART has shifted out what it holds."""
    deadline = time.monotonic() + DRAIN_LIMIT
    while out_waiting() and time.monotonic() < deadline:
        gevent.sleep(0.0005)


@dataclass(frozen=True)
class Handback:
    """Where the idle poller left off: the reader whose POLL is out, and its bytes."""

    reader: Reader | None = None
    data: bytes = b""
    sent_at: float = 0.0
    round_start: float = 0.0
    # Readers the current round had not reached yet: they are due at once.
    not_polled: tuple[Reader, ...] = ()
    # False when the POLL never went out whole: no reply is coming.
    sent: bool = True
    # The port failed (a write or read error, or end of file): don't poll it flat out.
    failed: bool = False


@dataclass(frozen=True)
class Line:
    """What the poller needs of the bus's port, as plain callables."""

    fd: int
    reply_timeout: float
    wire_time: Callable[[int], float]
    # The POLL to send a reader and the exact reply an idle reader gives.
    exchange: Callable[[Reader], tuple[bytes, bytes]]
    # That reply came: the reader's sequence (and MAC chain) moves on.
    acknowledged: Callable[[Reader], None]
    set_direction: Callable[[bool], None] | None = None
    out_waiting: Callable[[], int] = lambda: 0


class IdlePoller:
    """Runs POLL rounds from hub callbacks until something needs the greenlet."""

    def __init__(self, line: Line) -> None:
        self._line = line
        self._hub = get_hub()
        self._io = self._hub.loop.io(line.fd, 1)
        self._release = self._hub.loop.timer(0.0)
        self._deadline = self._hub.loop.timer(0.0)
        self._waiter: Waiter | None = None
        self._readers: list[Reader] = []
        self._next = 0
        self._current: Reader | None = None
        self._expected: tuple[bytes, bytes] = (b"", b"")
        self._buf = b""
        self._sent_at = self._round_start = 0.0
        self._behind = self._interrupted = False

    def run(self, readers: list[Reader], first_round: float, interval: float) -> Handback:
        """Poll `readers` every `interval` from `first_round` (monotonic) on; block
        the calling greenlet until the bus needs it, and say where things stand."""
        self._readers, self._current, self._interrupted = readers, None, False
        # As if a round had just ended, so an early hand-back keeps the schedule.
        self._behind, self._round_start, self._next = False, first_round - interval, len(readers)
        self._waiter = Waiter(self._hub)
        timer = self._hub.loop.timer(max(0.0, first_round - time.monotonic()), interval)
        timer.start(self._tick)
        # A reply later than this goes to the greenlet, which waits out the rest of the
        # bus's reply timeout (the slack covers the POLL's and the echo's wire time).
        self._deadline.close()
        self._deadline = self._hub.loop.timer(self._line.reply_timeout + self._line.wire_time(64))
        self._io.start(self._readable)
        try:
            return self._waiter.get()
        finally:
            timer.close()
            self._io.stop()
            self._deadline.stop()
            self._waiter = None
            self._drain()

    def interrupt(self) -> None:
        """A command was queued: give the bus back once no POLL is on the wire."""
        if self._waiter is None:
            return
        self._interrupted = True
        if self._current is None:
            self._hub.loop.run_callback(self._hand_back)

    def close(self) -> None:
        """Release the watchers before the port's descriptor is closed."""
        self._io.close()
        self._release.close()
        self._deadline.close()

    # -- hub callbacks -------------------------------------------------------------

    def _tick(self) -> None:
        """Start a round, or another one straight after the one still going."""
        if self._current is None:
            self._start_round()
        else:
            self._behind = True

    def _overdue(self) -> None:
        """No (whole) reply in time: the greenlet waits out the reply timeout."""
        self._hand_back(self._current, self._buf)

    def _readable(self) -> None:
        """Take the port's input: the expected ACK, more of it, or a reason to stop."""
        try:
            data = os.read(self._line.fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            # An unplugged adapter or a hung-up line reads as an error or as the end.
            self._hand_back(self._current, self._buf, failed=True)
            return
        if self._current is None:
            # Bytes nobody asked for: the greenlet clears the line.
            self._hand_back(None, data)
            return
        self._buf += data
        ack, echoed = self._expected
        if self._buf in (ack, echoed):
            self._acknowledged(self._current)
        elif not (ack.startswith(self._buf) or echoed.startswith(self._buf)):
            self._hand_back(self._current, self._buf)

    def _line_free(self) -> None:
        """Drop the RS-485 driver once the UART has shifted the POLL out."""
        if self._line.out_waiting():
            return  # the timer repeats every half millisecond
        self._release.stop()
        self._line.set_direction(False)

    def _drain(self) -> None:
        """On hand-back, never leave the driver enabled (runs in the bus greenlet)."""
        if not self._release.active:
            return
        self._release.stop()
        try:
            wait_sent(self._line.out_waiting)
        finally:
            self._line.set_direction(False)

    # -- steps ---------------------------------------------------------------------

    def _start_round(self) -> None:
        """Every reader once, in order, each after the previous one's ACK."""
        self._round_start = time.monotonic()
        self._behind, self._next = False, 0
        self._send_next()

    def _send_next(self) -> None:
        """POLL the next reader of the round, or wait for the next tick."""
        if self._interrupted:
            self._hand_back()
            return
        if self._next >= len(self._readers):
            if self._behind:
                self._start_round()
            return
        reader = self._readers[self._next]
        self._next += 1
        poll, ack = self._line.exchange(reader)
        self._current, self._buf, self._expected = reader, b"", (ack, poll + ack)
        self._sent_at = time.monotonic()
        if not self._write(poll):
            self._hand_back(reader, sent=False, failed=True)
            return
        self._deadline.start(self._overdue)

    def _write(self, frame: bytes) -> bool:
        """One non-blocking write; the RS-485 driver is held until the UART is done."""
        if self._line.set_direction:
            if self._release.active:
                self._release.stop()  # still driving the line since the last POLL
            else:
                self._line.set_direction(True)
        try:
            written = os.write(self._line.fd, frame)
        except OSError:
            written = 0
        if self._line.set_direction:
            self._release.close()
            self._release = self._hub.loop.timer(self._line.wire_time(len(frame)), 0.0005)
            self._release.start(self._line_free)
        return written == len(frame)

    def _acknowledged(self, reader: Reader) -> None:
        """The ACK came: the reader is alive and its next POLL takes the next SQN."""
        self._deadline.stop()
        self._line.acknowledged(reader)
        self._current = None
        self._send_next()

    def _hand_back(
        self, reader: Reader | None = None, data: bytes = b"", *, sent=True, failed=False
    ) -> None:
        """Wake the bus greenlet with where things stand (once per run)."""
        waiter, self._waiter = self._waiter, None
        if waiter is None:
            return
        self._io.stop()
        self._deadline.stop()
        not_polled = tuple(self._readers[self._next :])
        waiter.switch(
            Handback(reader, data, self._sent_at, self._round_start, not_polled, sent, failed)
        )
