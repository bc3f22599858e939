"""The board service: opens the hardware from the data directory's profile.

Outputs must be at their normal state whenever doorctl is not deciding otherwise:
while it starts, when it stops (also after SIGTERM), and after a crash, when the
systemd unit's `ExecStopPost=doorctl reset-outputs` runs `reset_outputs()`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from doorctl.hal import open_board
from doorctl.hal.profile import ProfileError, load_profile

log = logging.getLogger(__name__)


def board_profile(data_dir: Path, kind: str):
    """The hardware profile for `kind`; the sim board runs without a valid one."""
    try:
        return load_profile(data_dir)
    except (ProfileError, OSError):
        if kind != "sim":
            raise
        log.warning("hardware profile unusable; the simulated board uses its defaults")
        return None


def open_appliance_board(data_dir: Path, kind: str):
    """Open the board with every output inactive (the relay de-energised)."""
    board = open_board(kind, board_profile(data_dir, kind))
    for output in board.outputs.values():
        output.set(False)
    return board


def reset_outputs(data_dir: Path, kind: str) -> None:
    """Put every output inactive and exit (after a stop or a crash of the service)."""
    open_appliance_board(data_dir, kind).close()


class BoardService:
    """Owns the board's life: the status LED and closing the hardware on stop."""

    def __init__(self, board, sim_door_closed=None):
        self.board = board
        self._sim_door_closed = sim_door_closed
        self.running = False

    def start(self) -> None:
        """Amber while the services start; `ready()` turns it green."""
        if self.board.kind == "sim" and self._sim_door_closed is not None:
            self._close_sim_door()
        self.board.status_led.set_color("amber")
        self.running = True

    def ready(self) -> None:
        """Steady green: normal operation (manual: LED indicators)."""
        self.board.status_led.set_color("green")

    def stop(self) -> None:
        """Every output inactive, pins released."""
        self.board.close()
        self.running = False

    def apply(self, settings: dict) -> None:
        """The board has no settings of its own (I/O ports and the door have them)."""

    def status(self) -> dict:
        """The board kind and every terminal's state."""
        return {"kind": self.board.kind, **self.board.snapshot()}

    def _close_sim_door(self) -> None:
        """A simulated door starts closed, whatever the door monitor's normal state."""
        monitor = self.board.inputs["door_monitor"]
        if monitor.supervised is None:
            self.board.set_input("door_monitor", self._sim_door_closed())
