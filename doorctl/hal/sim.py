"""The simulated board: every terminal in memory, driven from Python.

A product feature, not only a test double: demos and development run on it. Card
reads travel as real Wiegand pulses with real timing through the same frame
assembler and decoder as on a Pi, so the sim exercises the same code paths.
Everything runs in greenlets that plain `gevent.sleep()` drives; no monkey-patching.
"""

from __future__ import annotations

import os
import time

import gevent

from doorctl.hal.base import (
    AUX_PORTS,
    INPUT,
    INPUT_NAMES,
    OUTPUT_NAMES,
    SUPERVISABLE,
    Board,
    DigitalInput,
    DigitalOutput,
    Relay,
    WiegandPort,
)
from doorctl.hal.motion import MotionSensor
from doorctl.hal.wiegand import DEFAULT_FRAME_GAP, encode_card, encode_keys

# A file the simulated board appends each output change to ("name 1" or "name 0"), so
# a demo or a test sees what the outputs did across restarts (stop, crash, exec).
OUTPUTS_LOG_ENV = "DOORCTL_SIM_OUTPUTS_LOG"
# Real readers send bits ~1-2 ms apart with ~50-100 µs pulses.
PULSE_INTERVAL = 0.002
PULSE_WIDTH = 0.000080
# The simulated accelerometer lies flat: gravity on z, in g.
REST_G = (0.0, 0.0, 1.0)


class SimBoard(Board):
    """An in-memory controller: set inputs and loop resistances, inject readers."""

    kind = "sim"

    def __init__(self, profile=None):
        relay = Relay(lock_wiring=getattr(profile, "lock_wiring", "NO"))
        gap = getattr(profile, "wiegand_gap", DEFAULT_FRAME_GAP)
        format37 = getattr(profile, "wiegand_format37", "H10304")
        super().__init__(relay=relay, wiegand=WiegandPort(gap=gap, format37=format37))
        self._build(getattr(profile, "aux_directions", {}))
        self.motion = MotionSensor("ADXL345 (simulated)")
        self.motion._sample(REST_G)
        self.led_changes: list[tuple[str, str]] = []
        for led in self.leds().values():
            led.on_color(lambda name, color: self.led_changes.append((name, color)))
        if os.environ.get(OUTPUTS_LOG_ENV):
            for output in self._ports_out.values():  # the aux ports' output faces too
                output.on_change(_log_output)

    def _build(self, aux_directions: dict[str, str]) -> None:
        """Create the manual's terminals; the aux ports start in the profile's direction."""
        for name in INPUT_NAMES:
            if name not in AUX_PORTS:
                self._add_input(DigitalInput(name, supervisable=name in SUPERVISABLE))
        special = {"relay": self.relay, "status_led": self.status_led}
        for name in OUTPUT_NAMES:
            if name not in AUX_PORTS:
                self._add_output(special.get(name) or DigitalOutput(name))
        for name in AUX_PORTS:
            port_in = DigitalInput(name, supervisable=True)
            self._add_aux(port_in, DigitalOutput(name), aux_directions.get(name, INPUT))

    def _input(self, name: str) -> DigitalInput:
        """The visible input called `name`; KeyError with the known names otherwise."""
        if name not in self.inputs:
            raise KeyError(f"no input {name!r}; inputs are {', '.join(self.inputs)}")
        return self.inputs[name]

    def set_input(self, name: str, active: bool) -> None:
        """Close (active=True, connected to ground) or open an input's circuit."""
        port = self._input(name)
        if port.supervised is not None:
            raise ValueError(f"{name} is supervised: drive it with set_resistance()")
        port._update(bool(active))

    def set_resistance(self, name: str, ohms: float) -> None:
        """Put a loop of `ohms` (math.inf = cut) on a supervised input."""
        port = self._input(name)
        if port.supervised is None:
            raise ValueError(f"{name} is not supervised: call set_supervised() on it first")
        port._measure(float(ohms))

    def press_button(self, seconds: float) -> None:
        """A control button press held for `seconds`, reported at once (no waiting)."""
        now = time.monotonic()
        self.button._set(True, now - float(seconds))
        self.button._set(False, now)

    def hold_button(self) -> None:
        """Press the control button and keep it down (as a finger does at power on)."""
        self.button._set(True, time.monotonic())

    def release_button(self) -> None:
        """Let the control button go."""
        self.button._set(False, time.monotonic())

    def shake(self, g: float = 1.0) -> None:
        """Jolt the controller by `g` sideways for one sample; motion ends after its hold."""
        x, y, z = REST_G
        self.motion._sample((x + float(g), y, z))
        self.motion._sample(REST_G)

    def inject_wiegand(self, bits: str) -> gevent.Greenlet:
        """Send one frame as D0/D1 pulses ~2 ms apart; the gap after it ends the frame."""
        return gevent.spawn(self._send_frames, [bits])

    def inject_card(
        self, format: str, facility: int | None, number: int, length: int = 0
    ) -> gevent.Greenlet:
        """Present a card in `format` to the simulated reader."""
        return self.inject_wiegand(encode_card(format, facility, number, length))

    def inject_keys(self, keys: str) -> gevent.Greenlet:
        """Type `keys` (e.g. '1234#') on the reader's keypad, one 4-bit frame per key."""
        return gevent.spawn(self._send_frames, encode_keys(keys))

    def _send_frames(self, frames: list[str]) -> None:
        """Pulse each frame, waiting past the inter-frame gap so each ends on its own."""
        for bits in frames:
            for i, bit in enumerate(bits):
                if i:
                    gevent.sleep(PULSE_INTERVAL)
                self.wiegand._pulse(int(bit), PULSE_WIDTH)
            gevent.sleep(self.wiegand.assembler.gap * 2)


def _log_output(name: str, active: bool) -> None:
    """Append one output change to the file OUTPUTS_LOG_ENV names."""
    with open(os.environ[OUTPUTS_LOG_ENV], "a", encoding="utf-8") as log:
        log.write(f"{name} {int(active)}\n")
