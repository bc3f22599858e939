"""A libosdp reader (one or two PDs on one bus) driven over stdin/stdout JSON lines.

Run as a child process of the tests, never inside pytest: libosdp's Python PD
leaks a reference to None per delivered command, logs from C to stderr and
keeps non-daemon threads.

    python osdp_reader.py --fd N --pd '{"address": 1, "serial": 1}' [--pd ...]
                          [--refresh 0.02] [--timeout 60] [--dir DIR]

The bus is the pty master inherited as `--fd`. Every PD gets its own Channel;
one pump thread reads the fd and hands every byte to every PD's buffer, so the
PDs really share one byte stream as on RS-485 and each ignores frames for
other addresses. Input lines: {"cmd": "card", "address": 1, "bits": "0101..",
"format": 1}, {"cmd": "keypad", "keys": "12#"}, {"cmd": "mfgrep", "vendor_code":
1, "data": "hex"}, {"cmd": "status_report", "type": "local" | "input" | "output",
"report": [bytes]} (LSTATR tamper/power, ISTATR of 4 inputs, OSTATR of 2 outputs),
{"cmd": "status"}, {"cmd": "counts"}, {"cmd": "quit"}. Output lines:
{"event": "ready"}, {"event": "command", "address": a, "command": name, ...},
{"event": "file_done", "address": a, "sha256": hex, "size": n},
{"event": "status", "address": a, "online": b, "sc": b},
{"event": "counts", "frames": n} (commands the control panel has sent so far),
{"event": "card_sent", "address": a} (a card reply went out on the bus).
A KEYSET is saved to DIR/scbk-<address>.hex and used as the key at next start; a PD
spec's "refuse": ["keyset", ...] makes the PD refuse those commands (libosdp NAKs them);
"plain_only": true makes it a reader set up for plain OSDP that claims a secure channel
but never sees a secure frame (CHLNG and the rest go unanswered).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import select
import sys
import termios
import threading
import time
from pathlib import Path

import osdp

OUT_LOCK = threading.Lock()
SOM = 0x53
# {"cmd": "status_report", "type": ...}: what the PD reports on its own (LSTATR etc.).
STATUS_TYPES = {
    "local": osdp.StatusReportType.Local,
    "input": osdp.StatusReportType.Input,
    "output": osdp.StatusReportType.Output,
}
COMMAND_NAMES = {
    osdp.Command.Output: "output",
    osdp.Command.Buzzer: "buzzer",
    osdp.Command.LED: "led",
    osdp.Command.Comset: "comset",
    osdp.Command.ComsetDone: "comset_done",
    osdp.Command.Text: "text",
    osdp.Command.Manufacturer: "mfg",
    osdp.Command.Keyset: "keyset",
    osdp.Command.FileTransfer: "file_tx",
    osdp.Command.Status: "status",
}


def emit(**fields) -> None:
    """Print one JSON line for the test to read."""
    line = json.dumps(fields, default=lambda v: v.hex() if isinstance(v, bytes) else str(v))
    with OUT_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def first_frame_size(rx: bytearray) -> int:
    """Bytes up to the end of the first frame (or to the next SOM, for junk).

    libosdp's PD throws away the rest of what it has read when it skips a frame
    for another address. A pty has no wire time, so the command for PD 2 can
    arrive in the same read as the command PD 1 just answered, and PD 2 then
    never answers. On RS-485 the reply and the line turnaround separate them;
    reading one frame at a time gives the PDs the same separation.
    """
    if not rx:
        return 0
    if rx[0] != SOM:
        junk = rx.find(SOM)
        return junk if junk > 0 else len(rx)
    if len(rx) < 4:
        return 0  # wait for the length field
    return max(1, rx[2] | rx[3] << 8)


RAW = 0x50


def reply_code(frame: bytes) -> int | None:
    """The reply code of a whole frame (after its security block, if it has one)."""
    if len(frame) < 7 or frame[0] != SOM:
        return None
    at = 5 + (frame[5] if frame[4] & 0x08 else 0)
    return frame[at] if at < len(frame) else None


class SharedBusChannel(osdp.Channel):
    """One PD's view of the shared bus: its own copy of every received byte."""

    def __init__(self, fd: int, write_lock: threading.Lock, plain_only: bool = False) -> None:
        super().__init__()
        self.fd = fd
        self.plain_only = plain_only
        self.write_lock = write_lock
        self.rx = bytearray()
        self.frame_left = 0
        self.rx_lock = threading.Lock()

    def deliver(self, data: bytes) -> None:
        """Called by the pump thread for every chunk read from the bus."""
        with self.rx_lock:
            self.rx += data

    def read(self, max_bytes: int) -> bytes:
        """Non-blocking read of what has arrived for this PD, never past one frame."""
        with self.rx_lock:
            if not self.frame_left and self.plain_only and self._secure_frame_pending():
                return b""
            if not self.frame_left:
                self.frame_left = first_frame_size(self.rx)
            size = min(max_bytes, self.frame_left, len(self.rx))
            data = bytes(self.rx[:size])
            del self.rx[:size]
            self.frame_left -= size
        return data

    def _secure_frame_pending(self) -> bool:
        """Drop a whole frame with a security block; True while one is not yet whole."""
        if len(self.rx) < 5 or self.rx[0] != SOM:
            return len(self.rx) < 5 and self.rx[:1] == bytes([SOM])
        if not self.rx[4] & 0x08:
            return False
        size = first_frame_size(self.rx)
        if size <= len(self.rx):
            del self.rx[:size]
        return True

    def write(self, buf: bytes) -> int:
        """Write the whole reply; the pty takes it at once unless it is full. A card
        reply (osdp_RAW) is told as {"event": "card_sent"}, to tell a lost card's side."""
        if reply_code(buf) == RAW:
            emit(event="card_sent", address=buf[1] & 0x7F)
        with self.write_lock:
            view = memoryview(bytes(buf))
            while view:
                try:
                    view = view[os.write(self.fd, view) :]
                except BlockingIOError:
                    select.select([], [self.fd], [], 0.05)
        return len(buf)

    def flush(self) -> None:
        """libosdp flushes before each reply to drop stale input: only ours."""
        with self.rx_lock:
            self.rx.clear()
            self.frame_left = 0


class FileSink:
    """libosdp file ops that collect a received file and report its sha256."""

    def __init__(self, address: int, directory: Path) -> None:
        self.address = address
        self.path = directory / f"file-{address}.bin"
        self.size = 0
        self.written = 0

    def ops(self) -> dict:
        """The dict libosdp's register_file_ops expects."""
        return {"open": self.open, "read": self.read, "write": self.write, "close": self.close}

    def open(self, file_id: int, size: int) -> int:
        self.size, self.written = size, 0
        self.path.write_bytes(b"")
        emit(event="file_open", address=self.address, file_id=file_id, size=size)
        return size

    def read(self, size: int, offset: int) -> bytes:
        return b""

    def write(self, data: bytes, offset: int) -> int:
        with self.path.open("r+b") as f:
            f.seek(offset)
            f.write(data)
        self.written = max(self.written, offset + len(data))
        return len(data)

    def close(self, file_id: int) -> int:
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        emit(event="file_done", address=self.address, sha256=digest, size=self.written)
        return 0


# What a PD can do unless its spec leaves some out: (function, compliance, items).
CAPABILITIES = [
    (osdp.Capability.OutputControl, 1, 2),
    (osdp.Capability.ContactStatusMonitoring, 1, 4),
    (osdp.Capability.LEDControl, 1, 1),
    (osdp.Capability.AudibleControl, 1, 1),
    (osdp.Capability.TextOutput, 1, 1),
    (osdp.Capability.CheckCharacter, 1, 0),
    (osdp.Capability.CardDataFormat, 1, 0),
]


def make_pd(spec: dict, channel: SharedBusChannel, directory: Path) -> osdp.PeripheralDevice:
    """One libosdp PD from a JSON spec: address, serial, secure, without (capabilities).

    libosdp answers a command for a function the PD lacks with NAK "unknown command
    code", and a command its application refuses ("refuse") with NAK "unable to
    process command record".
    """
    address = spec["address"]
    key_file = directory / f"scbk-{address}.hex"
    scbk = bytes.fromhex(key_file.read_text()) if key_file.exists() else None
    flags = [] if scbk or not spec.get("secure", True) else [osdp.LibFlag.InstallMode]
    pd_id = osdp.PdId(
        spec.get("version", 2),
        spec.get("model", 7),
        spec.get("vendor", 0xA1B2C3),
        spec.get("serial", address),
        spec.get("firmware", 0x010203),
    )
    info = osdp.PDInfo(address, channel, scbk=scbk, flags=flags, id=pd_id)
    # "without": the functions this reader lacks, by libosdp's names ("AudibleControl").
    left_out = {getattr(osdp.Capability, name) for name in spec.get("without", [])}
    caps = [cap for cap in CAPABILITIES if cap[0] not in left_out]
    if spec.get("secure", True):
        caps.append((osdp.Capability.CommunicationSecurity, 1, 1))
    handler = CommandHandler(address, key_file, spec.get("refuse", ()))
    pd = osdp.PeripheralDevice(info, osdp.PDCapabilities(caps), osdp.LogLevel.Warning, handler)
    return pd


class CommandHandler:
    """Report every command the PD accepts; keep a KEYSET for the next start."""

    def __init__(self, address: int, key_file: Path, refuse=()) -> None:
        self.address = address
        self.key_file = key_file
        self.refuse = set(refuse)

    def __call__(self, command: dict):
        fields = {k: v for k, v in command.items() if k != "command"}
        if "address" in fields:
            fields["new_address"] = fields.pop("address")
        name = COMMAND_NAMES.get(command.get("command"), str(command.get("command")))
        if name in self.refuse:
            emit(event="refused", address=self.address, command=name)
            return -1, None
        if name == "keyset":
            self.key_file.write_text(bytes(command["data"]).hex())
        emit(event="command", address=self.address, command=name, **fields)
        return 0, None


class FrameCounter:
    """Counts the control panel's frames on the bus by their length fields."""

    def __init__(self) -> None:
        self.frames = 0
        self._rx = bytearray()

    def feed(self, data: bytes) -> None:
        self._rx += data
        while (size := first_frame_size(self._rx)) and size <= len(self._rx):
            self.frames += self._rx[0] == SOM
            del self._rx[:size]


COUNTER = FrameCounter()


def pump(fd: int, channels: list[SharedBusChannel], stop: threading.Event) -> None:
    """Copy every byte from the bus to every PD, as RS-485 does."""
    while not stop.is_set():
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        try:
            data = os.read(fd, 4096)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            return
        COUNTER.feed(data)
        for channel in channels:
            channel.deliver(data)


def refresh(pds: list, lock: threading.Lock, interval: float, stop: threading.Event) -> None:
    """Run the PDs' state machines every `interval` seconds."""
    while not stop.is_set():
        with lock:
            for pd in pds:
                pd.ctx.refresh()
        time.sleep(interval)


def card_event(request: dict) -> dict:
    """A libosdp card read event from a bit string."""
    bits = request["bits"]
    padded = bits + "0" * (-len(bits) % 8)
    data = int(padded, 2).to_bytes(len(padded) // 8, "big") if bits else b""
    return {
        "event": osdp.Event.CardRead,
        "reader_no": request.get("reader", 0),
        "format": request.get("format", osdp.CardFormat.Wiegand),
        "direction": 0,
        "length": len(bits),
        "data": data,
    }


def make_event(request: dict) -> dict | None:
    """Translate an input line into a libosdp event, None if it is not one."""
    cmd = request.get("cmd")
    if cmd == "card":
        return card_event(request)
    if cmd == "keypad":
        keys = request["keys"].encode()
        return {"event": osdp.Event.KeyPress, "reader_no": 0, "data": keys}
    if cmd == "mfgrep":
        data = bytes.fromhex(request.get("data", ""))
        return {
            "event": osdp.Event.ManufacturerReply,
            "vendor_code": request["vendor_code"],
            "data": data,
        }
    if cmd == "status_report":
        return {
            "event": osdp.Event.Status,
            "type": STATUS_TYPES[request["type"]],
            "report": bytes(request["report"]),
        }
    return None


def serve(args: argparse.Namespace) -> None:
    """Set up the PDs and obey stdin until quit, EOF or the timeout."""
    directory = Path(args.dir)
    termios.tcflush(args.fd, termios.TCIOFLUSH)
    os.set_blocking(args.fd, False)
    write_lock, lock, stop = threading.Lock(), threading.Lock(), threading.Event()
    specs = [json.loads(s) for s in args.pd]
    channels = [SharedBusChannel(args.fd, write_lock, s.get("plain_only", False)) for s in specs]
    pds = {s["address"]: make_pd(s, c, directory) for s, c in zip(specs, channels, strict=True)}
    for address, pd in pds.items():
        pd.ctx.register_file_ops(0, FileSink(address, directory).ops())
    threads = [
        threading.Thread(target=pump, args=(args.fd, channels, stop), daemon=True),
        threading.Thread(
            target=refresh, args=(list(pds.values()), lock, args.refresh, stop), daemon=True
        ),
    ]
    for t in threads:
        t.start()
    threading.Timer(args.timeout, lambda: os._exit(3)).start()
    emit(event="ready", addresses=list(pds))
    try:
        obey(pds, lock)
    finally:
        stop.set()
        for t in threads:
            t.join(1)
        os._exit(0)


def obey(pds: dict, lock: threading.Lock) -> None:
    """Read JSON commands from stdin and act on the right PD."""
    first = next(iter(pds))
    for line in sys.stdin:
        request = json.loads(line)
        pd = pds[request.get("address", first)]
        if request.get("cmd") == "quit":
            return
        if request.get("cmd") == "counts":
            emit(event="counts", frames=COUNTER.frames)
            continue
        if request.get("cmd") == "status":
            emit(
                event="status",
                address=request.get("address", first),
                online=pd.ctx.is_online(),
                sc=pd.ctx.is_sc_active(),
            )
            continue
        event = make_event(request)
        if event is not None:
            with lock:
                pd.ctx.submit_event(event)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--pd", action="append", required=True)
    parser.add_argument("--refresh", type=float, default=0.02)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--dir", default=".")
    serve(parser.parse_args())


if __name__ == "__main__":
    main()
