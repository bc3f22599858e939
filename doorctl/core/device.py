"""Device info (manual: "Status > Device info"): what the device is and how long it has run."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

from doorctl import PRODUCT_NAME, __version__

CPUINFO = Path("/proc/cpuinfo")
DT_SERIAL = Path("/sys/firmware/devicetree/base/serial-number")
MACHINE_ID = Path("/etc/machine-id")
UPTIME = Path("/proc/uptime")
CPU_SERIAL = re.compile(r"^Serial\s*:\s*([0-9a-fA-F]+)\s*$", re.MULTILINE)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip("\x00\n ")
    except OSError:
        return ""


def serial_number(
    cpuinfo: Path = CPUINFO, dt_serial: Path = DT_SERIAL, machine_id: Path = MACHINE_ID
) -> str:
    """The Pi's own serial number; elsewhere the machine-id, so it is stable per host."""
    match = CPU_SERIAL.search(_read(cpuinfo))
    candidates = [match.group(1) if match else "", _read(dt_serial), _read(machine_id)[:16]]
    for candidate in candidates:
        if candidate and set(candidate) != {"0"}:
            return candidate.upper()
    return "0000000000000000"


def system_uptime(uptime: Path = UPTIME) -> float:
    """Seconds since the operating system started."""
    try:
        return float(_read(uptime).split()[0])
    except (IndexError, ValueError):
        return 0.0


class DeviceInfo:
    """The facts of the Status page's Device info card."""

    def __init__(self, hardware: str, serial: str | None = None):
        self.hardware = hardware
        self.serial = serial or serial_number()
        self.started = time.time()

    def to_dict(self) -> dict:
        """Device info as /api/v1/device shows it."""
        return {
            "product": PRODUCT_NAME,
            "version": __version__,
            "serial_number": self.serial,
            "hostname": socket.gethostname(),
            "hardware": self.hardware,
            "started": self.started,
            "uptime_seconds": round(time.time() - self.started, 1),
            "system_uptime_seconds": round(system_uptime(), 1),
        }
