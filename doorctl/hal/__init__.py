"""Hardware: pins, relay, readers, supervised inputs, control button and status LED.

`open_board("sim" | "rpi", profile)` returns a Board (see base.py). The rpi backend
imports RPi.GPIO, so it is imported only when chosen: this package imports anywhere.
"""

from __future__ import annotations

from pathlib import Path

from doorctl.hal.base import Board

MODEL_FILES = ("/proc/device-tree/model", "/sys/firmware/devicetree/base/model")


def detect(model_files: tuple[str, ...] = MODEL_FILES) -> str:
    """ "rpi" on a Raspberry Pi (by its device-tree model), else "sim"."""
    for path in model_files:
        try:
            model = Path(path).read_bytes()
        except OSError:
            continue
        if b"Raspberry Pi" in model:
            return "rpi"
    return "sim"


def open_board(kind: str, profile=None) -> Board:
    """Build the board for `kind` ("sim" or "rpi") wired as `profile` says."""
    if kind == "sim":
        from doorctl.hal.sim import SimBoard

        return SimBoard(profile)
    if kind == "rpi":
        from doorctl.hal.rpigpio import RpiBoard  # imports RPi.GPIO: only on a Pi

        if profile is None:
            raise ValueError("the rpi board needs a hardware profile")
        return RpiBoard(profile)
    raise ValueError(f"board kind must be 'sim' or 'rpi', not {kind!r}")


__all__ = ["Board", "detect", "open_board"]
