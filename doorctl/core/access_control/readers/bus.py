"""One serial port and its OSDP readers, and which ports a reader may use."""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Callable

import gevent
import serial

from doorctl.hal.osdp import OsdpBus, ReaderConfig
from doorctl.hal.osdp.bus import OFFLINE_AFTER, POLL_INTERVAL
from doorctl.hal.osdp.capture import Capture

log = logging.getLogger(__name__)

# A port that would not open is tried again this often.
PORT_RETRY = 5.0


class ReaderBus:
    """One serial port and its OSDP readers; reopens the port while it can't be opened."""

    def __init__(self, port: str, baud: int, configs: list[ReaderConfig], on_event, keys):
        self.port, self.baud, self.configs = port, baud, configs
        self.set_direction: Callable[[bool], None] | None = None
        self.offline_after = OFFLINE_AFTER
        self.poll_interval = POLL_INTERVAL
        self._on_event, self._keys = on_event, keys
        self.bus: OsdpBus | None = None
        self.error: str | None = None
        self.on_error: Callable[[str], None] = lambda error: None
        self._retry: gevent.Greenlet | None = None
        self.test_ports = False
        self.capture: Capture | None = None

    def start(self) -> None:
        """Open the port and poll; on failure keep the error and try again later."""
        if not self._open():
            self._retry = gevent.spawn(self._keep_trying)

    def _open(self) -> bool:
        refused = port_problem(self.port, self.test_ports)
        if refused:
            return self._failed(f"The port {self.port} is not allowed. {refused}")
        bus = OsdpBus(
            self.port,
            self.configs,
            self._on_event,
            baudrate=self.baud,
            key_store=self._keys,
            offline_after=self.offline_after,
            set_direction=self.set_direction,
            poll_interval=self.poll_interval,
        )
        try:
            bus.start()
        except (serial.SerialException, OSError, ValueError) as exc:
            return self._failed(f"The port {self.port} can't be opened: {why_not(exc)}")
        bus.record(self.capture)
        self.bus, self.error = bus, None
        return True

    def _failed(self, error: str) -> bool:
        """Keep why the port failed; say it once, not at every retry."""
        first = self.error is None
        self.error = error
        if first:
            log.warning("%s", self.error)
            self.on_error(self.error)
        return False

    def _keep_trying(self) -> None:
        while not self._open():
            gevent.sleep(PORT_RETRY)
        self._retry = None

    def stop(self) -> None:
        """Stop polling and close the port."""
        if self._retry is not None:
            self._retry.kill()
            self._retry = None
        if self.bus is not None:
            self.bus.stop()
            self.bus = None

    def record(self, capture: Capture | None) -> None:
        """Record the bus's frames into `capture` (None: stop), now and after a reopen."""
        self.capture = capture
        if self.bus is not None:
            self.bus.record(capture)

    def live(self) -> dict[int, dict]:
        """Live information by reader address."""
        return {r["address"]: r for r in self.bus.readers()} if self.bus else {}


# Serial devices of the Pi, USB adapters and RS-485 HATs, and udev's stable names.
# Never a pyserial URL: spy:// writes a file, socket:// and rfc2217:// reach the network.
DEVICE_PORT = re.compile(
    r"/dev/(tty(S|AMA|USB|ACM|SC|XRUSB|mxc)[0-9]+|serial[0-9]|serial/by-(id|path)/[^/]+)"
)
# Pseudo-terminals stand in for the RS-485 line in tests and demos; off by default, as
# a pty can be someone's login terminal.
TEST_PORT = re.compile(r"/dev/pts/[0-9]+")
PORT_RULE = "Use a serial device: /dev/ttyAMA0, /dev/ttyUSB0, /dev/serial0 or /dev/serial/by-id/..."


def port_problem(port: str, test_ports: bool = False) -> str | None:
    """None if the port is a serial device a reader may use, else what is allowed."""
    allowed = DEVICE_PORT.fullmatch(port) or (test_ports and TEST_PORT.fullmatch(port))
    if not allowed or os.path.normpath(port) != port:
        return f"{PORT_RULE}{' (or /dev/pts/N)' if test_ports else ''}."
    try:
        mode = os.stat(port).st_mode
    except OSError:
        return None  # absent: opening it says so, and a USB adapter may come back
    return None if stat.S_ISCHR(mode) else f"{port} is not a serial device. {PORT_RULE}."


def port_opens(port: str, baud: int) -> str | None:
    """None if the port opens, else why not (checked before a reader is stored)."""
    try:
        serial.serial_for_url(port, baudrate=baud, timeout=0).close()
    except (serial.SerialException, OSError, ValueError) as exc:
        return f"The port can't be opened: {why_not(exc)}"
    return None


def why_not(exc: Exception) -> str:
    """Why a port did not open, in words: pyserial's own text quotes errnos and tuples."""
    log.info("serial port not opened: %s", exc)
    if isinstance(exc, OSError) and isinstance(exc.errno, int):
        return f"{os.strerror(exc.errno)}."
    return "it can't be set up as a serial port."
