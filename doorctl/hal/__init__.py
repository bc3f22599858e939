"""Hardware: the board's pins and readers. `detect()` tells a Raspberry Pi from a PC."""

from __future__ import annotations

from pathlib import Path

MODEL_FILES = (Path("/proc/device-tree/model"), Path("/sys/firmware/devicetree/base/model"))


def detect() -> str:
    """'rpi' on a Raspberry Pi, 'sim' anywhere else."""
    for path in MODEL_FILES:
        try:
            if "Raspberry Pi" in path.read_text(errors="replace"):
                return "rpi"
        except OSError:
            continue
    return "sim"
