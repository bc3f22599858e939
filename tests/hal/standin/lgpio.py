"""Stand-in for lgpio (the C library rpi-lgpio drives): a simulated /dev/gpiochip.

rpi-lgpio's `RPi.GPIO` runs for real on top of it; only the chip is simulated, since
this machine has no gpiochip. It keeps the semantics doorctl relies on: a line must be
claimed before it is read or written (lgpio.error otherwise), the pull-up makes an
unconnected input read 1, outputs read back what was written, alerts report only the
claimed edges, debounce reports a level only once it has been stable for the period
(lgpio's way, not RPi.GPIO's), and callbacks run on the notification thread that lgpio
starts at import: a `threading.Thread` reading 16-byte records from a pipe, as
lgpio.py's `_callback_thread` does. The kernel side (edges, debounce timers) runs on
native threads whatever gevent has patched.

Wiring for tests: `CHIP.wire(out_gpio, in_gpio)` joins an output to an input (the
loopback harness); `CHIP.drive(gpio, level)` is something outside the Pi driving a pin
(a reader's D0, a switch), `CHIP.release(gpio)` lets go. The environment variable
`LGPIO_STANDIN_LOOPBACK="17:5,25:6"` wires pairs at import, for a child process;
`LGPIO_STANDIN_GROUNDED="27"` holds pins at 0 (a button held, a shorted input).
"""

from __future__ import annotations

import os
import struct
import threading
import time

from gevent import monkey

_start_native = monkey.get_original("_thread", "start_new_thread")
_native_lock = monkey.get_original("_thread", "allocate_lock")
_native_sleep = monkey.get_original("time", "sleep")

SET_ACTIVE_LOW = 4
SET_OPEN_DRAIN = 8
SET_OPEN_SOURCE = 16
SET_PULL_UP = 32
SET_PULL_DOWN = 64
SET_PULL_NONE = 128
SET_BIAS_PULL_UP = SET_PULL_UP
SET_BIAS_PULL_DOWN = SET_PULL_DOWN
SET_BIAS_DISABLE = SET_PULL_NONE
RISING_EDGE = 1
FALLING_EDGE = 2
BOTH_EDGES = 3
GPIO_BUSY = -50
NOT_ALLOCATED = -52
BAD_GPIOCHIP = -78

_LG_INPUT, _LG_OUTPUT, _LG_ALERT = 0x100, 0x200, 0x400
_ERRORS = {
    GPIO_BUSY: "GPIO busy",
    NOT_ALLOCATED: "GPIO not allocated",
    BAD_GPIOCHIP: "can not open gpiochip",
}
LINES = 54  # the BCM2711 and RP1 header chips both expose 54 lines


class error(Exception):  # noqa: N801 - lgpio's own name
    """lgpio's exception."""


def error_text(code: int) -> str:
    """The message lgpio gives for a negative code."""
    return _ERRORS.get(code, f"lgpio error {code}")


class _Line:
    def __init__(self):
        self.mode = 0  # LG bits: 0 = not claimed by us
        self.pull = SET_PULL_NONE
        self.out = 0
        self.edges = 0
        self.debounce_us = 0
        self.external: int | None = None
        self.seen: int | None = None
        self.reported: int | None = None
        self.generation = 0


class Chip:
    """The simulated gpiochip: lines, wires and the kernel's alert queue."""

    def __init__(self):
        self.number: int | None = None
        self.lock = _native_lock()
        self.lines = [_Line() for _ in range(LINES)]
        self.wires: dict[int, int] = {}  # input gpio -> output gpio driving it
        self.writes: list[tuple[int, int]] = []

    def wire(self, out_gpio: int, in_gpio: int) -> None:
        """Join an output pin to an input pin, as the loopback harness does."""
        self.wires[in_gpio] = out_gpio
        self._changed()

    def cut(self, in_gpio: int) -> None:
        """Break the wire into `in_gpio`."""
        self.wires.pop(in_gpio, None)
        self._changed()

    def drive(self, gpio: int, level: int) -> None:
        """Something outside the Pi drives the pin to `level`."""
        self.lines[gpio].external = int(level)
        self._changed()

    def release(self, gpio: int) -> None:
        """Stop driving the pin from outside."""
        self.lines[gpio].external = None
        self._changed()

    def level(self, gpio: int) -> int:
        """The electrical level of the pin now."""
        line = self.lines[gpio]
        if line.mode & _LG_OUTPUT:
            return line.out
        if line.external is not None:
            return line.external
        source = self.wires.get(gpio)
        if source is not None and self.lines[source].mode & _LG_OUTPUT:
            return self.lines[source].out
        return 1 if line.pull == SET_PULL_UP else 0

    def _changed(self) -> None:
        """The kernel notices level changes on alert lines."""
        for gpio, line in enumerate(self.lines):
            if line.mode & _LG_ALERT:
                self._alert(gpio, line, self.level(gpio))

    def _alert(self, gpio: int, line: _Line, level: int) -> None:
        with self.lock:
            if level == line.seen:
                return
            line.seen = level
            line.generation += 1
            generation = line.generation
        if not line.debounce_us:
            self._report(gpio, line, level)
            return
        _start_native(self._debounced, (gpio, line, level, generation))

    def _debounced(self, gpio: int, line: _Line, level: int, generation: int) -> None:
        """lgpio's debounce: report once the level held steady for the whole period."""
        _native_sleep(line.debounce_us / 1e6)
        with self.lock:
            steady = line.generation == generation and line.reported != level
        if steady and line.mode & _LG_ALERT:
            self._report(gpio, line, level)

    def _report(self, gpio: int, line: _Line, level: int) -> None:
        with self.lock:
            line.reported = level
        wanted = RISING_EDGE if level else FALLING_EDGE
        if line.edges & wanted:
            record = struct.pack("QBBBBI", time.monotonic_ns(), self.number or 0, gpio, level, 0, 0)
            os.write(_notify_thread.write_fd, record)


CHIP = Chip()


def _check_chip(handle: int) -> None:
    if CHIP.number is None or handle != CHIP.number:
        raise error("bad handle")


def _claimed(handle: int, gpio: int) -> _Line:
    _check_chip(handle)
    line = CHIP.lines[gpio]
    if not line.mode:
        raise error(error_text(NOT_ALLOCATED))
    return line


def gpiochip_open(gpiochip: int) -> int:
    """Open /dev/gpiochip<n>: the handle is the chip number here."""
    CHIP.number = gpiochip
    return gpiochip


def gpiochip_close(handle: int) -> int:
    """Close the chip: every line goes back to the kernel."""
    _check_chip(handle)
    for gpio in range(LINES):
        CHIP.lines[gpio].mode = 0
    CHIP.number = None
    return 0


def gpio_get_chip_info(handle: int):
    """(status, lines, name, label)."""
    _check_chip(handle)
    return 0, LINES, f"gpiochip{handle}", "pinctrl-standin"


def gpio_get_mode(handle: int, gpio: int) -> int:
    """LG mode bits (ours only), pull bits and the alert's edge bits (17-18)."""
    _check_chip(handle)
    line = CHIP.lines[gpio]
    if not line.mode:
        return 0
    return line.mode | line.pull | (line.edges << 17)


def gpio_claim_input(handle: int, gpio: int, lFlags: int = 0) -> int:  # noqa: N803
    """Claim a line as an input with its bias."""
    _check_chip(handle)
    line = CHIP.lines[gpio]
    line.mode, line.pull, line.edges = _LG_INPUT, lFlags & 0xE0 or SET_PULL_NONE, 0
    CHIP._changed()
    return 0


def gpio_claim_output(handle: int, gpio: int, level: int = 0, lFlags: int = 0) -> int:  # noqa: N803
    """Claim a line as an output driving `level` from the first instant."""
    _check_chip(handle)
    line = CHIP.lines[gpio]
    line.mode, line.pull, line.out, line.edges = _LG_OUTPUT, SET_PULL_NONE, int(level), 0
    CHIP._changed()
    return 0


def gpio_claim_alert(handle, gpio, eFlags, lFlags=0, notify_handle=None) -> int:  # noqa: N803
    """Claim a line as an input that reports `eFlags` edges to the notification pipe."""
    _check_chip(handle)
    line = CHIP.lines[gpio]
    line.mode, line.edges = _LG_INPUT | _LG_ALERT, eFlags
    line.pull = lFlags & 0xE0 or SET_PULL_NONE
    line.seen = line.reported = CHIP.level(gpio)
    return 0


def gpio_free(handle: int, gpio: int) -> int:
    """Give a claimed line back to the kernel."""
    line = _claimed(handle, gpio)
    line.mode, line.edges, line.debounce_us = 0, 0, 0
    return 0


def gpio_read(handle: int, gpio: int) -> int:
    """The line's level; only a claimed line can be read."""
    _claimed(handle, gpio)
    return CHIP.level(gpio)


def gpio_write(handle: int, gpio: int, level: int) -> int:
    """Drive an output line."""
    line = _claimed(handle, gpio)
    if not line.mode & _LG_OUTPUT:
        raise error("GPIO not set as output")
    line.out = int(level)
    CHIP.writes.append((gpio, int(level)))
    CHIP._changed()
    return 0


def gpio_set_debounce_micros(handle: int, gpio: int, debounce_micros: int) -> int:
    """Report an alert line's level only once stable for this long."""
    _claimed(handle, gpio).debounce_us = int(debounce_micros)
    return 0


def tx_pwm(handle, gpio, freq, duty, offset=0, cycles=0) -> int:
    """PWM is not used by doorctl."""
    raise error("PWM is not simulated")


class _callback_ADT:  # noqa: N801 - lgpio's names
    def __init__(self, gpiochip, gpio, edge, func):
        self.chip, self.gpio, self.edge, self.func = gpiochip, gpio, edge, func


class _callback_thread(threading.Thread):  # noqa: N801
    """lgpio's notification thread: reads 16-byte alert records, calls the callbacks."""

    def __init__(self):
        threading.Thread.__init__(self)
        read_fd, self.write_fd = os.pipe()
        self._file = open(read_fd, "rb")  # noqa: SIM115 - read for the process's life
        self.daemon = True
        self.callbacks = []
        self.go = True
        self.start()

    def append(self, callb):
        self.callbacks.append(callb)

    def remove(self, callb):
        if callb in self.callbacks:
            self.callbacks.remove(callb)

    def run(self):
        buf = b""
        while self.go:
            buf += self._file.read(16)
            while len(buf) >= 16:
                tick, chip, gpio, level, flags, _pad = struct.unpack("QBBBBI", buf[:16])
                buf = buf[16:]
                for cb in list(self.callbacks):
                    if cb.chip == chip and cb.gpio == gpio:
                        cb.func(chip, gpio, level, tick)


_notify_thread = _callback_thread()


class _callback:  # noqa: N801
    def __init__(self, chip, gpio, edge=RISING_EDGE, func=None):
        self.callb = _callback_ADT(chip, gpio, edge, func)
        _notify_thread.append(self.callb)

    def cancel(self):
        _notify_thread.remove(self.callb)


def callback(handle, gpio, edge=RISING_EDGE, func=None):
    """Call `func(chip, gpio, level, tick)` on the notification thread at each alert."""
    return _callback(handle, gpio, edge, func)


def _wire_from_environment() -> None:
    for pair in filter(None, os.environ.get("LGPIO_STANDIN_LOOPBACK", "").split(",")):
        out_gpio, in_gpio = (int(part) for part in pair.split(":"))
        CHIP.wires[in_gpio] = out_gpio
    for gpio in filter(None, os.environ.get("LGPIO_STANDIN_GROUNDED", "").split(",")):
        CHIP.lines[int(gpio)].external = 0


_wire_from_environment()
