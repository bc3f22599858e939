"""Loads the stand-ins for lgpio, spidev and smbus2 (tests/hal/standin/) ahead of any
installed copy, so the real rpi-lgpio `RPi.GPIO` runs on a simulated gpiochip.

The stand-ins replace only what can't run here (no /dev/gpiochip, /dev/spidev or
/dev/i2c-1 on this machine); their docstrings say which semantics they keep.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

STANDIN_DIR = Path(__file__).parent / "standin"
# A Raspberry Pi 4 Model B; rpi-lgpio reads the revision from here instead of the
# device tree, which this machine does not have.
REVISION = "c03114"


def environment(**extra: str) -> dict[str, str]:
    """The environment for a child process that should use the stand-ins."""
    path = os.pathsep.join(filter(None, [str(STANDIN_DIR), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "RPI_LGPIO_REVISION": REVISION, **extra}


def load():
    """Put the stand-ins first on the import path; returns (lgpio, spidev, smbus2)."""
    os.environ.setdefault("RPI_LGPIO_REVISION", REVISION)
    if str(STANDIN_DIR) not in sys.path:
        sys.path.insert(0, str(STANDIN_DIR))
    import lgpio
    import smbus2
    import spidev

    assert Path(lgpio.__file__).parent == STANDIN_DIR, "an installed lgpio came first"
    return lgpio, spidev, smbus2
