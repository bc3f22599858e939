"""The OSDP control panel for one RS-485 bus: a greenlet polling its readers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import gevent
import serial

from . import messages as m
from .capture import Capture
from .channel import SecureChannelSetup
from .codec import Frame, FrameDecoder, encode_frame
from .commands import Commands
from .idle import Handback, IdlePoller, Line
from .keystore import KeyStore
from .reader import Inflight, Reader, ReaderConfig
from .rekey import KeyRotation
from .secure import SecureChannelError
from .sleeper import Sleeper
from .transfer import FileTransfers
from .transport import BAUD_RATES, Transport

log = logging.getLogger(__name__)

EventCallback = Callable[[int, str, dict], None]
REPLY_TIMEOUT = 0.2
# Each idle reader is polled this often. A card waits at most this long for
# its POLL, plus one exchange (2.3 ms on the wire at 115200), which keeps card
# to relay under 20 ms; polling less often is what makes an idle bus cheap.
POLL_INTERVAL = 0.015
OFFLINE_AFTER = 8.0
# An absent reader is probed this often so it does not slow the others down.
PROBE_INTERVAL = 0.5
# Replies that carry something the controller wants, whatever asked for them.
REPORTS = ("card", "keypad", "lstat", "istat", "ostat", "mfgrep")


class OsdpBus(Commands, FileTransfers, KeyRotation, SecureChannelSetup, Transport):
    """Control panel for the readers on one serial bus (see the package docstring)."""

    def __init__(
        self,
        port: str,
        readers: list[ReaderConfig],
        on_event: EventCallback,
        *,
        baudrate: int = 115200,
        key_store: KeyStore | None = None,
        set_direction: Callable[[bool], None] | None = None,
        reply_timeout: float = REPLY_TIMEOUT,
        offline_after: float = OFFLINE_AFTER,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        if baudrate not in BAUD_RATES:
            raise ValueError(f"baud rate must be one of {BAUD_RATES}")
        if len({r.address for r in readers}) != len(readers):
            raise ValueError("two readers with one address on a bus")
        if key_store is None and any(r.secure_channel != "off" for r in readers):
            raise ValueError("a secure channel needs a key store")
        self.port_url, self.baudrate = port, baudrate
        self._readers = {r.address: Reader(r) for r in readers}
        self._on_event, self._keys, self._set_direction = on_event, key_store, set_direction
        self.reply_timeout, self.offline_after = reply_timeout, offline_after
        self.poll_interval = poll_interval
        self._port: serial.SerialBase | None = None
        self._fd: int | None = None
        self._stale = False
        # Replies that came after their command timed out, by address, for its retry.
        self._late_frames: dict[int, Frame] = {}
        self._sleeper: Sleeper | None = None
        self._idle: IdlePoller | None = None
        self._decoder = FrameDecoder()
        self._greenlet: gevent.Greenlet | None = None
        # While set, every frame on the line is recorded (capture.py).
        self.capture: Capture | None = None

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        """Open the port and start polling in a greenlet."""
        self._port = serial.serial_for_url(
            self.port_url, baudrate=self.baudrate, timeout=0, write_timeout=0
        )
        self._fd = self._fileno()
        self._sleeper = Sleeper(self._fd)
        if self._fd is not None:
            self._idle = IdlePoller(
                Line(
                    self._fd,
                    self.reply_timeout,
                    self._wire_time,
                    self._idle_exchange,
                    self._idle_acknowledged,
                    self._set_direction,
                    self._out_waiting,
                )
            )
        if self._set_direction:
            self._set_direction(False)
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        """Stop polling, fail what is still queued and close the port."""
        if self._greenlet:
            self._greenlet.kill()
            self._greenlet = None
        for reader in self._readers.values():
            self._fail_pending(reader, "stopped")
        if self._sleeper:
            self._sleeper.close()
            self._sleeper = None
        if self._idle:
            self._idle.close()
            self._idle = None
        if self._port:
            self._port.close()
            self._port, self._fd = None, None

    def readers(self) -> list[dict]:
        """Live information about every reader on the bus."""
        return [r.info() for r in self._readers.values()]

    def record(self, capture: Capture | None) -> None:
        """Record the line's frames into `capture` (None: stop recording).

        The idle rounds in hub callbacks don't record, so while a capture runs the
        greenlet polls every reader itself, at the same interval.
        """
        self.capture = capture
        if capture is not None and self._idle:
            self._idle.interrupt()

    # -- the polling loop --------------------------------------------------------

    def _run(self) -> None:
        """Visit each reader when it is due; sleep until the next one is."""
        while True:
            start = now = time.monotonic()
            for reader in list(self._readers.values()):
                if reader.next_try <= start:
                    self._visit(reader, now)
                    # Due times count from the start of the pass, so the
                    # readers stay in step and share one wake-up per interval.
                    self._schedule(reader, start)
                    now = time.monotonic()
            due = min((r.next_try for r in self._readers.values()), default=now + 1.0)
            if self._all_idle():
                self._resume(self._idle.run(list(self._readers.values()), due, self.poll_interval))
            else:
                self._sleep_until(due, now)

    def _all_idle(self) -> bool:
        """True when every reader only needs POLLs: the hub can run them (idle.py)."""
        if self._idle is None or self._stale or not self._readers or self.capture:
            return False
        return all(
            r.online
            and r.phase == "ready"
            and r.inflight is None
            and not r.queue
            and r.transfer is None
            for r in self._readers.values()
        )

    def _resume(self, handback: Handback) -> None:
        """Take over from the idle poller: finish the exchange it left, keep the cadence."""
        due = handback.round_start + self.poll_interval
        for reader in self._readers.values():
            # A command queued meanwhile (the reason for the hand-back) goes at once.
            reader.next_try = 0.0 if reader.queue or reader.transfer else due
        if handback.reader is not None:
            self._resume_exchange(handback)
        else:
            # Input nobody asked for is cleared before the next command.
            self._stale = bool(handback.data)
        if handback.failed:
            # The port failed: give an unplugged adapter time instead of spinning.
            gevent.sleep(self.reply_timeout)
        # The round goes on: the readers it had not reached come before any retry.
        for reader in handback.not_polled:
            self._visit(reader, time.monotonic())
            self._schedule(reader, handback.round_start)

    def _resume_exchange(self, handback: Handback) -> None:
        """Finish the POLL the idle poller sent: its reply, or a retry if none comes."""
        reader = handback.reader
        reader.next_try = handback.round_start
        reader.inflight = self._poll(reader)
        if not handback.sent:
            self._no_reply(reader)
            return
        self._decoder.reset()
        unsent = 0 if self._set_direction else self._wire_time(len(reader.inflight.frame))
        deadline = handback.sent_at + unsent + self.reply_timeout
        self._settle(reader, self._finish_exchange(reader.inflight, deadline, handback.data))
        self._schedule(reader, handback.round_start)

    def _sleep_until(self, due: float, now: float) -> None:
        """Wait for the earliest reader, or for a command the controller queued."""
        # Always yield, even when a reader is due again at once.
        self._sleeper.sleep(due - now)

    def _visit(self, reader: Reader, now: float) -> None:
        """Send the reader its next (or retried) command and handle the reply."""
        if reader.inflight is None:
            reader.inflight = self._next_command(reader, now)
            if reader.inflight is None:
                return
        self._settle(reader, self._exchange(reader.inflight, now))

    def _settle(self, reader: Reader, frame: Frame | None) -> None:
        """Act on the reply to the reader's command, or on its absence."""
        if frame is None:
            self._no_reply(reader)
        else:
            self._reply(reader, frame)

    def _schedule(self, reader: Reader, visited: float) -> None:
        """An idle reader is polled again one interval later; a busy one at once."""
        if reader.phase != "ready" or reader.inflight or reader.queue:
            return
        due = visited + self.poll_interval
        if reader.transfer:
            due = min(due, reader.transfer.not_before)
        reader.next_try = max(reader.next_try, due)

    # -- deciding the next command ----------------------------------------------

    def _next_command(self, reader: Reader, now: float) -> Inflight | None:
        """The command this reader's phase calls for."""
        if reader.phase == "ready":
            return self._phase_ready(reader, now)
        step = getattr(self, f"_phase_{reader.phase}")
        return step(reader)

    def _send(self, reader: Reader, code: int, data: bytes, handler, scb: bytes = b""):
        """Encode (and seal, in a secure channel) one command for the reader."""
        if reader.session is not None:
            frame = reader.session.seal(reader.address, reader.sqn, code, data)
        else:
            frame = encode_frame(reader.address, reader.sqn, code, data, scb=scb)
        return Inflight(frame, reader.sqn, code, handler)

    def _phase_start(self, reader: Reader) -> Inflight:
        """Ask who the reader is; with SQN 0 this also resets the PD's link."""
        return self._send(reader, *m.id_request(), lambda k, p: self._on_id(reader, k, p))

    def _phase_cap(self, reader: Reader) -> Inflight:
        """Ask what the reader can do."""
        return self._send(reader, *m.cap_request(), lambda k, p: self._on_cap(reader, k, p))

    def _phase_ready(self, reader: Reader, now: float) -> Inflight:
        """Queued commands first, then file transfer fragments, else a POLL."""
        if reader.queue:
            request = reader.queue.popleft()
            return self._send(
                reader,
                request.code,
                request.data,
                lambda k, p: self._on_request(reader, request, k, p),
            )
        transfer = reader.transfer
        if transfer and now >= transfer.not_before:
            return self._file_chunk(reader, transfer)
        return self._poll(reader)

    def _poll(self, reader: Reader) -> Inflight:
        """A POLL; in the clear its bytes depend only on the SQN, so build each once."""
        if reader.session is not None:
            return self._send(reader, m.POLL, b"", _ignore)
        inflight = reader.polls.get(reader.sqn)
        if inflight is None:
            inflight = reader.polls[reader.sqn] = self._send(reader, m.POLL, b"", _ignore)
        return inflight

    def _idle_exchange(self, reader: Reader) -> tuple[bytes, bytes]:
        """The POLL for an idle reader and the ACK it answers with (see idle.py)."""
        if reader.session is not None:
            poll = reader.session.seal(reader.address, reader.sqn, m.POLL)
            return poll, reader.session.expected_ack(reader.address, reader.sqn)
        ack = reader.acks.get(reader.sqn)
        if ack is None:
            ack = reader.acks[reader.sqn] = encode_frame(
                reader.address, reader.sqn, m.ACK, reply=True
            )
        return self._poll(reader).frame, ack

    @staticmethod
    def _idle_acknowledged(reader: Reader) -> None:
        """The idle reader's ACK came, as a reply that `_reply` had handled would."""
        if reader.session is not None:
            reader.session.ack_received()
        reader.last_reply = time.monotonic()
        reader.next_sqn()

    # -- handling replies --------------------------------------------------------

    def _reply(self, reader: Reader, frame: Frame) -> None:
        """Authenticate, decode and dispatch a reply that matched the command."""
        inflight = reader.inflight
        try:
            data = self._open(reader, frame)
        except SecureChannelError as exc:
            # Never act on an unauthenticated reply: no card, no status, no ACK.
            self._sc_lost(reader, str(exc))
            return
        kind, payload = m.parse_reply(frame.code, data)
        if kind == "busy":
            # BUSY: the PD did not take the command; resend it unchanged.
            return
        reader.inflight, reader.last_reply = None, time.monotonic()
        reader.unanswered = 0
        reader.next_sqn()
        self._report(reader, kind, payload)
        if kind == "nak":
            self._on_nak(reader, inflight, payload)
        inflight.handler(kind, payload)

    def _open(self, reader: Reader, frame: Frame) -> bytes:
        """Plain data of a reply, checking its MAC when a secure channel is up."""
        if reader.session is None:
            return frame.data
        if not frame.scb and frame.code == m.NAK:
            # A PD that dropped its session answers with a plain NAK.
            return frame.data
        return reader.session.open(frame)

    def _report(self, reader: Reader, kind: str, payload: dict) -> None:
        """Pass on what the reader reported, whichever command it answered."""
        if kind == "lstat":
            reader.status.update(payload)
        if kind in REPORTS:
            self._emit(reader, kind, payload)

    def _no_reply(self, reader: Reader) -> None:
        """Retry next visit with the same bytes; give up on the reader after 8 s."""
        now = time.monotonic()
        if self._handshake_unanswered(reader):
            return
        if now - reader.last_reply >= self.offline_after:
            self._went_offline(reader)
        if not reader.online:
            reader.next_try = now + PROBE_INTERVAL

    def _went_offline(self, reader: Reader) -> None:
        """Report the loss once and start over with SQN 0 when it answers again."""
        was_online = reader.online
        if reader.session is not None:
            self._emit(reader, "sc_down", {"reason": "offline"})
        reader.online = False
        reader.sc = "down" if reader.config.secure_channel != "off" else "off"
        reader.restart()
        reader.last_reply = time.monotonic()
        self._fail_pending(reader, "offline")
        if was_online:
            self._emit(reader, "offline", {})

    def _on_nak(self, reader: Reader, inflight: Inflight, payload: dict) -> None:
        """Count and report a NAK; a sequence or secure channel NAK restarts the link."""
        self._emit(reader, "nak", reader.count_nak(inflight.code, payload))
        if payload["reason"] in ("sequence", "sc_condition") or inflight.code in (m.ID, m.CAP):
            if reader.session is not None:
                self._emit(reader, "sc_down", {"reason": payload["reason"]})
            reader.restart()

    def _on_id(self, reader: Reader, kind: str, payload: dict) -> None:
        """Remember the reader's identity and ask for its capabilities."""
        if kind == "id":
            reader.identity = payload
            reader.phase = "cap"

    def _on_cap(self, reader: Reader, kind: str, payload: dict) -> None:
        """Decide whether to open a secure channel once we know the capabilities."""
        if kind != "cap":
            return
        reader.capabilities = payload
        mode = reader.config.secure_channel
        capable = payload.get("communication_security", {}).get("compliance", 0) > 0
        if mode == "off" or (mode == "install" and not capable):
            reader.sc = "off" if mode == "off" else "unsupported"
            self._ready(reader)
        elif not capable:
            self._sc_failed(reader, "reader has no secure channel", "no_secure_answer")
        else:
            reader.use_default_key = False
            reader.phase = "chlng"

    def _ready(self, reader: Reader) -> None:
        """The reader can be polled: announce it (once per time it comes online)."""
        reader.phase = "ready"
        if not reader.online:
            reader.online = True
            self._emit(reader, "online", reader.info())

    def _emit(self, reader: Reader, kind: str, data: dict) -> None:
        """Call the controller's callback; its failures never stop the bus."""
        try:
            self._on_event(reader.address, kind, data)
        except Exception:
            log.exception("osdp event callback failed for %s", kind)


def _ignore(kind: str, payload: dict) -> None:
    """Reply handler of a POLL: what it reports was already passed on."""
