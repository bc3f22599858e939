"""The board service: opens the hardware from the data directory's profile.

Outputs must be at their normal state whenever doorctl is not deciding otherwise:
while it starts, when it stops (also after SIGTERM), and after a crash, when the
systemd unit's `ExecStopPost=doorctl reset-outputs` runs `reset_outputs()`.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from pathlib import Path

from doorctl.core.errors import Invalid, NotFound
from doorctl.hal import open_board
from doorctl.hal.profile import ProfileError, load_profile
from doorctl.hal.supervised import SupervisedState
from doorctl.hal.wiegand import CARD_FORMATS, CardRead, KeyPress, encode_card

log = logging.getLogger(__name__)
READS_KEPT = 10


def board_profile(data_dir: Path, kind: str):
    """The hardware profile for `kind`; the sim board runs without a valid one."""
    try:
        return load_profile(data_dir)
    except (ProfileError, OSError):
        if kind != "sim":
            raise
        log.warning("hardware profile unusable; the simulated board uses its defaults")
        return None


def open_appliance_board(data_dir: Path, kind: str, lock_type: str = "fail_secure"):
    """Open the board with every output inactive and the lock locked for its lock type.

    A fail-safe lock is released by a de-energised relay, so it is energised at once:
    the door stays locked from the moment doorctl holds the board until the door
    engine gives it back its stored mode.
    """
    board = open_board(kind, board_profile(data_dir, kind))
    for output in board.outputs.values():
        output.set(False)
    board.outputs["relay"].set(lock_type == "fail_safe")
    return board


def reset_outputs(data_dir: Path, kind: str) -> None:
    """Put every output inactive and exit (after a stop or a crash of the service)."""
    open_appliance_board(data_dir, kind).close()


class BoardService:
    """Owns the board's life: the status LED and closing the hardware on stop."""

    def __init__(self, board, door_settings=None):
        self.board = board
        self._door_settings = door_settings
        self.running = False

    def start(self) -> None:
        """Amber while the services start; `ready()` turns it green."""
        if self.board.kind == "sim" and self._door_settings is not None:
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
            closed = self._door_settings()["door_monitor_normal_state"] == "closed"
            self.board.set_input("door_monitor", closed)


class Simulator:
    """The simulator panel's controls over the sim board, in the words of an installer."""

    def __init__(self, board, door_settings):
        self.board = board
        self._door_settings = door_settings
        self.reads: deque = deque(maxlen=READS_KEPT)
        self.presses: deque = deque(maxlen=READS_KEPT)
        if self.available():
            board.wiegand.on_read(self._read)
            board.button.on_press(self.presses.appendleft)

    def recent(self) -> dict:
        """The last reader frames and control button presses, newest first."""
        return {"reads": list(self.reads), "presses": list(self.presses)}

    def available(self) -> bool:
        """Only the simulated board can be driven from the web."""
        return self.board.kind == "sim"

    def require(self) -> None:
        """Raise NotFound when the board is real hardware."""
        if not self.available():
            raise NotFound(
                f"The simulator exists only on the simulated board; this device runs on "
                f"{self.board.kind}."
            )

    def snapshot(self) -> dict:
        """Every input (active, resistance) and output (active), and the LEDs' colours,
        as the REST API shows them."""
        self.require()
        leds = {name: led.color for name, led in self.board.leds().items()}
        return {**self.board.snapshot(), "leds": leds}

    def set_input(self, name: str, active) -> None:
        """Close (True) or open (False) an input's circuit."""
        self._input(name)
        if not isinstance(active, bool):
            raise Invalid({"active": "Must be true or false."})
        try:
            self.board.set_input(name, active)
        except ValueError as error:
            raise Invalid({"active": str(error)}) from None

    def set_resistance(self, name: str, ohms) -> None:
        """Put a loop resistance on a supervised input: "cut", "short" or ohms."""
        self._input(name)
        if isinstance(ohms, str):
            ohms = {"cut": math.inf, "short": 0.0}.get(ohms, ohms)
        if isinstance(ohms, bool) or not isinstance(ohms, int | float) or ohms < 0:
            raise Invalid({"resistance": 'Enter ohms (0 or more), "cut" or "short".'})
        try:
            self.board.set_resistance(name, ohms)
        except ValueError as error:
            raise Invalid({"resistance": str(error)}) from None

    def set_door(self, position: str) -> None:
        """Open or close the simulated door, whatever the door monitor's normal state."""
        self.require()
        if position not in ("open", "closed"):
            raise Invalid({"position": 'Must be "open" or "closed".'})
        closed_circuit = self._door_settings()["door_monitor_normal_state"] == "closed"
        circuit = closed_circuit if position == "closed" else not closed_circuit
        monitor = self.board.inputs["door_monitor"]
        if monitor.supervised is not None:
            nominal = monitor.supervised.nominal()
            state = SupervisedState.CLOSED if circuit else SupervisedState.OPEN
            self.board.set_resistance("door_monitor", nominal[state])
        else:
            self.board.set_input("door_monitor", circuit)

    def press_rex(self) -> None:
        """A short press of the exit button, in whichever circuit state means pressed."""
        self.require()
        active_circuit = self._door_settings()["rex_active_state"] == "closed"
        self.board.set_input("rex", active_circuit)
        self.board.set_input("rex", not active_circuit)

    def wiegand(self, bits: str) -> None:
        """Send raw bits through the real frame assembler, with reader timing; waits."""
        self.require()
        if not isinstance(bits, str) or not bits or set(bits) - {"0", "1"}:
            raise Invalid({"bits": "Send a string of 0 and 1, e.g. 26 bits for H10301."})
        if len(bits) > 128:
            raise Invalid({"bits": "At most 128 bits."})
        self.board.inject_wiegand(bits).join()

    def card(self, format: str, facility, number) -> None:
        """Present a card; waits until the reader has sent it."""
        self.require()
        if format not in (*CARD_FORMATS, "raw"):
            raise Invalid({"format": f"Choose one of: {', '.join((*CARD_FORMATS, 'raw'))}."})
        for key, value in (("facility", facility), ("card", number)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise Invalid({key: "Must be a whole number."})
        if number is None:
            raise Invalid({"card": "This field is required."})
        try:
            bits = encode_card(format, facility, number)
        except ValueError as error:
            field = "facility" if "facility" in str(error) else "card"
            raise Invalid({field: str(error)}) from None
        self.board.inject_wiegand(bits).join()

    def keys(self, keys: str) -> None:
        """Type keys on the reader's keypad; waits until all are sent."""
        self.require()
        if not isinstance(keys, str) or not keys or set(keys) - set("0123456789*#"):
            raise Invalid({"keys": "Type digits 0-9, * and #."})
        if len(keys) > 32:
            raise Invalid({"keys": "At most 32 keys at a time."})
        self.board.inject_keys(keys).join()

    def press_button(self, seconds) -> None:
        """Press the control button for `seconds`."""
        self.require()
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise Invalid({"seconds": "Enter a number of seconds."})
        if not 0 < seconds <= 60:
            raise Invalid({"seconds": "Enter more than 0 and at most 60 seconds."})
        self.board.press_button(seconds)

    def shake(self, g) -> None:
        """Jolt the simulated controller by `g` (its accelerometer feels it: device motion)."""
        self.require()
        if isinstance(g, bool) or not isinstance(g, int | float):
            raise Invalid({"g": "Enter an acceleration in g, for example 1."})
        if not 0 < g <= 16:
            raise Invalid({"g": "Enter more than 0 and at most 16 g."})
        self.board.shake(g)

    def _input(self, name: str):
        self.require()
        if name not in self.board.inputs:
            known = ", ".join(self.board.inputs)
            raise NotFound(f"There is no input {name!r} on this board; inputs are {known}.")
        return self.board.inputs[name]

    def _read(self, result) -> None:
        self.reads.appendleft({"time": time.time(), **_describe(result)})


def _describe(result) -> dict:
    """A reader frame as the panel lists it."""
    if isinstance(result, CardRead):
        return {
            "kind": "card",
            "format": result.format,
            "facility": result.facility,
            "card": result.number,
            "bits": result.bits,
        }
    if isinstance(result, KeyPress):
        return {"kind": "key", "key": result.key}
    return {"kind": "bad", "reason": result.reason}
