"""The OSDP control panel for one RS-485 bus: a greenlet polling its readers."""

from __future__ import annotations

import logging
import os
import termios
import time
from collections.abc import Callable

import gevent
import gevent.select
import serial
from gevent.event import AsyncResult

from . import messages as m
from .codec import Frame, FrameDecoder, encode_frame
from .idle import Handback, IdlePoller, Line, wait_sent
from .keystore import KeyStore
from .reader import Inflight, Reader, ReaderConfig, Request, Transfer
from .secure import Handshake, SecureChannelError
from .sleeper import Sleeper

log = logging.getLogger(__name__)

EventCallback = Callable[[int, str, dict], None]
BAUD_RATES = (9600, 19200, 38400, 57600, 115200, 230400)
REPLY_TIMEOUT = 0.2
# Each idle reader is polled this often. A card waits at most this long for
# its POLL, plus one exchange (2.3 ms on the wire at 115200), which keeps card
# to relay under 20 ms; polling less often is what makes an idle bus cheap.
POLL_INTERVAL = 0.015
OFFLINE_AFTER = 8.0
# An absent reader is probed this often so it does not slow the others down.
PROBE_INTERVAL = 0.5
# After a failed handshake in "required" mode, try again this much later.
SC_RETRY = 5.0
DEFAULT_CHUNK = 128
# Bytes of a FILETRANSFER message besides the fragment: header, SCB, code,
# transfer header, MAC, CRC and up to a block of AES padding.
FT_OVERHEAD = 48
# Replies that carry something the controller wants, whatever asked for them.
REPORTS = ("card", "keypad", "lstat", "istat", "ostat", "mfgrep")


class OsdpBus:
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
        self._sleeper: Sleeper | None = None
        self._idle: IdlePoller | None = None
        self._decoder = FrameDecoder()
        self._greenlet: gevent.Greenlet | None = None

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

    # -- commands from the controller ------------------------------------------

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

    def file_transfer(
        self,
        address: int,
        data: bytes,
        progress: Callable[[int, int], None] | None = None,
        file_type: int = 1,
    ) -> AsyncResult:
        """Send a file (e.g. firmware) to the reader; the result says how it ended."""
        reader = self._readers[address]
        if reader.transfer or not data:
            raise ValueError("a transfer is already running or the file is empty")
        transfer = Transfer(data, file_type, self._chunk_size(reader), progress)
        if reader.online:
            reader.transfer = transfer
            self._due_now(reader)
        else:
            transfer.result.set({"ok": False, "error": "offline"})
        return transfer.result

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
        if self._idle is None or self._stale or not self._readers:
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

    def _exchange(self, inflight: Inflight, now: float) -> Frame | None:
        """Write a command and wait up to the reply timeout for its reply."""
        self._decoder.reset()
        if self._stale:
            # A late reply to the command that timed out may still come in.
            self._clear_input()
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

    def _await_reply(self, inflight: Inflight, deadline: float, data: bytes) -> Frame | None:
        """Read until the reply to `inflight` arrives or the deadline passes."""
        address = self._inflight_address(inflight)
        while True:
            if data:
                # A long reply at a low baud rate may take longer than the
                # timeout to arrive: keep listening while bytes keep coming.
                deadline = max(deadline, time.monotonic() + self._wire_time(32))
                for frame in self._decoder.feed(data):
                    # Own echo (no reply bit), other readers and stale replies are not ours.
                    if frame.reply and frame.address == address and frame.sqn == inflight.sqn:
                        return frame
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._wait_readable(remaining)
            data = self._read()

    def _wire_time(self, length: int) -> float:
        """Seconds `length` bytes take on the line: 10 bits each (start, 8 data, stop)."""
        return length * 10 / self._port.baudrate

    @staticmethod
    def _inflight_address(inflight: Inflight) -> int:
        """The address a command was sent to, from its own header."""
        return inflight.frame[1] & 0x7F

    def _read(self) -> bytes:
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

    def _phase_chlng(self, reader: Reader) -> Inflight | None:
        """Open a secure channel with the stored key or, in install mode, SCBK-D."""
        key = self._keys.get(reader.key_name())
        if key is None and reader.config.secure_channel == "required":
            self._sc_failed(reader, "no key stored for this reader; install it first")
            return None
        default = key is None or reader.use_default_key
        reader.handshake = Handshake(key or b"", default_key=default)
        scb, code, data = reader.handshake.challenge()
        return self._send(reader, code, data, lambda k, p: self._on_ccrypt(reader, k, p), scb)

    def _phase_scrypt(self, reader: Reader) -> Inflight:
        """Not reached: SCRYPT is sent straight from the CCRYPT handler."""
        raise RuntimeError("scrypt phase has no command of its own")

    def _phase_keyset(self, reader: Reader) -> Inflight:
        """Give a reader still on SCBK-D its own random key."""
        key = os.urandom(16)
        return self._send(reader, *m.keyset(key), lambda k, p: self._on_keyset(reader, key, k, p))

    def _phase_sc_failed(self, reader: Reader) -> None:
        """A required secure channel failed: never poll in the clear, retry later."""
        reader.restart()
        return None

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
        """Report a NAK; a sequence or secure channel NAK means the link must restart."""
        self._emit(reader, "nak", {"command": inflight.code, **payload})
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
            self._sc_failed(reader, "reader has no secure channel")
        else:
            reader.use_default_key = False
            reader.phase = "chlng"

    def _on_ccrypt(self, reader: Reader, kind: str, payload: dict) -> None:
        """Check the PD's cryptogram and send our own straight away."""
        if kind != "ccrypt":
            self._handshake_failed(reader, f"no CCRYPT ({kind})")
            return
        try:
            scb, code, data = reader.handshake.answer(payload)
        except SecureChannelError as exc:
            self._handshake_failed(reader, str(exc))
            return
        reader.phase = "scrypt"
        inflight = self._send(reader, code, data, lambda k, p: self._on_rmac_i(reader, k, p), scb)
        reader.inflight = inflight

    def _on_rmac_i(self, reader: Reader, kind: str, payload: dict) -> None:
        """The PD accepted our cryptogram: the secure channel is up."""
        try:
            if kind != "rmac_i":
                raise SecureChannelError(f"no RMAC_I ({kind})")
            reader.session = reader.handshake.finish(payload)
        except SecureChannelError as exc:
            self._handshake_failed(reader, str(exc))
            return
        reader.sc = "up"
        default = reader.handshake.key_flag == 0
        self._emit(reader, "sc_up", {"default_key": default})
        if default:
            reader.phase = "keyset"
        else:
            self._ready(reader)

    def _on_keyset(self, reader: Reader, key: bytes, kind: str, payload: dict) -> None:
        """Keep the new key; the PD now drops the session, so set up a new one."""
        if kind != "ack":
            self._sc_failed(reader, "KEYSET refused")
            return
        # fsync on an SD card can take long: keep it off the hub.
        gevent.get_hub().threadpool.apply(self._keys.put, (reader.key_name(), key))
        self._emit(reader, "keyset", {"key_name": reader.key_name()})
        reader.session = None
        reader.sc = "down"
        reader.use_default_key = False
        reader.phase = "chlng"

    def _handshake_failed(self, reader: Reader, reason: str) -> None:
        """Install mode falls back to SCBK-D once; otherwise the reader is reported."""
        mode = reader.config.secure_channel
        if mode == "install" and not reader.use_default_key:
            reader.use_default_key = True
            reader.phase = "chlng"
            return
        self._sc_failed(reader, reason)

    def _sc_failed(self, reader: Reader, reason: str) -> None:
        """Report that a required secure channel can't be had and stop polling."""
        already = reader.sc == "failed"
        reader.sc, reader.phase, reader.session = "failed", "sc_failed", None
        reader.next_try = time.monotonic() + SC_RETRY
        if reader.online:
            reader.online = False
            self._fail_pending(reader, "secure channel failed")
            self._emit(reader, "offline", {"reason": "sc_failed"})
        if not already:
            # Retries every SC_RETRY seconds; report the failure once, not each time.
            log.warning("osdp reader %d: secure channel failed: %s", reader.address, reason)
            self._emit(reader, "sc_failed", {"reason": reason})

    def _sc_lost(self, reader: Reader, reason: str) -> None:
        """A reply failed its MAC: drop the session and re-establish it from SQN 0."""
        log.warning("osdp reader %d: %s", reader.address, reason)
        self._emit(reader, "sc_down", {"reason": reason})
        reader.sc = "down"
        reader.restart()

    def _ready(self, reader: Reader) -> None:
        """The reader can be polled: announce it (once per time it comes online)."""
        reader.phase = "ready"
        if not reader.online:
            reader.online = True
            self._emit(reader, "online", reader.info())

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

    # -- file transfer -------------------------------------------------------------

    def _chunk_size(self, reader: Reader) -> int:
        """Fragment size from the reader's receive buffer capability, if it has one."""
        cap = reader.capabilities.get("receive_buffer_size")
        if not cap:
            return DEFAULT_CHUNK
        size = cap["compliance"] | (cap["items"] << 8)
        return max(16, min(1024, size - FT_OVERHEAD))

    def _file_chunk(self, reader: Reader, transfer: Transfer) -> Inflight:
        """The next fragment, or an idle message while the PD finishes."""
        chunk = transfer.data[transfer.offset : transfer.offset + transfer.chunk]
        code, data = m.file_chunk(transfer.file_type, len(transfer.data), transfer.offset, chunk)
        return self._send(
            reader, code, data, lambda k, p: self._on_ftstat(reader, len(chunk), k, p)
        )

    def _on_ftstat(self, reader: Reader, sent: int, kind: str, payload: dict) -> None:
        """Advance the transfer by the reader's osdp_FTSTAT."""
        transfer = reader.transfer
        if kind != "ftstat" or payload["status"] < 0:
            self._end_transfer(reader, {"ok": False, "reply": kind, **payload})
            return
        transfer.offset += sent
        transfer.not_before = time.monotonic() + payload["delay"] / 1000
        if payload["rx_size"]:
            transfer.chunk = max(16, min(transfer.chunk, payload["rx_size"] - FT_OVERHEAD))
        if sent and transfer.progress:
            transfer.progress(transfer.offset, len(transfer.data))
        self._check_finished(reader, transfer, payload)

    def _check_finished(self, reader: Reader, transfer: Transfer, payload: dict) -> None:
        """Status 1 (processed) or 2 (rebooting) at the end is success."""
        if transfer.offset < len(transfer.data):
            return
        if payload["status"] in (1, 2):
            self._end_transfer(reader, {"ok": True, **payload, "sent": transfer.offset})
            return
        transfer.idle_rounds += 1
        if transfer.idle_rounds > 100:
            self._end_transfer(reader, {"ok": False, "error": "reader never finished"})

    def _end_transfer(self, reader: Reader, result: dict) -> None:
        """Hand the outcome to the caller and let the reader be polled alone again."""
        transfer, reader.transfer = reader.transfer, None
        if transfer:
            transfer.result.set(result)

    # -- helpers -------------------------------------------------------------------

    def _fail_pending(self, reader: Reader, why: str) -> None:
        """Answer every queued command (and a running transfer) with an error."""
        while reader.queue:
            reader.queue.popleft().result.set({"ok": False, "error": why})
        self._end_transfer(reader, {"ok": False, "error": why})

    def _emit(self, reader: Reader, kind: str, data: dict) -> None:
        """Call the controller's callback; its failures never stop the bus."""
        try:
            self._on_event(reader.address, kind, data)
        except Exception:
            log.exception("osdp event callback failed for %s", kind)


def _ignore(kind: str, payload: dict) -> None:
    """Reply handler of a POLL: what it reports was already passed on."""
