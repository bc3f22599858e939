"""The hardware interfaces the door engine and the web app use, whatever the backend.

A backend (sim.py, rpigpio.py) builds a Board from these classes and feeds them:
it calls `_update()` / `_measure()` on inputs when the hardware changes, overrides
`_drive()` on outputs to move a pin, and calls `_pulse()` on the Wiegand port.
Everything here runs on the gevent hub; backends must get foreign-thread events
onto the hub before they touch these objects.

Active means what the manual means: an input is active when its circuit is closed
(the terminal connected to DC ground), an output when it is driven (open drain
connected to ground, relay energised with COM connected to NO).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from doorctl.hal.supervised import SupervisedState, Wiring, classify
from doorctl.hal.wiegand import DEFAULT_FRAME_GAP, FrameAssembler, WiegandResult

log = logging.getLogger(__name__)

INPUT = "input"
OUTPUT = "output"
INPUT_NAMES = (
    "door_monitor",
    "rex",
    "external_tamper",
    "external_alarm",
    "casing_open",
    "reader_tamper",
    "aux3",
    "aux4",
)
OUTPUT_NAMES = (
    "relay",
    "reader_led_red",
    "reader_led_green",
    "reader_buzzer",
    "aux3",
    "aux4",
    "status_led",
)
AUX_PORTS = ("aux3", "aux4")
# The manual: only the door monitor and the auxiliary I/O support end-of-line resistors.
SUPERVISABLE = ("door_monitor", "aux3", "aux4")
STATUS_COLORS = ("off", "green", "amber", "red")


class Listeners:
    """Callbacks for one kind of change; a failing callback is logged, never spreads."""

    def __init__(self):
        self._callbacks: list[Callable] = []

    def add(self, callback: Callable) -> Callable[[], None]:
        """Register `callback`; returns a function that unregisters it."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    def fire(self, *args) -> None:
        """Call every callback with `args`, in registration order."""
        for callback in list(self._callbacks):
            try:
                callback(*args)
            except Exception:
                log.exception("hardware listener %r failed", callback)


class DigitalInput:
    """An input terminal: active when its circuit is closed (connected to DC ground).

    A supervisable input can also measure its loop resistance; once `set_supervised()`
    gives it a wiring, `read()` follows the classified loop and `supervised_state()`
    tells closed, open, cut and short apart.
    """

    def __init__(self, name: str, supervisable: bool = False):
        self.name = name
        self.supervisable = supervisable
        self.supervised: Wiring | None = None
        self._active = False
        self._resistance: float | None = None
        self._state: SupervisedState | None = None
        self._changes = Listeners()
        self._supervised_changes = Listeners()

    def read(self) -> bool:
        """True when the circuit is closed (active)."""
        return self._active

    def on_change(self, callback: Callable[[str, bool], None]) -> Callable[[], None]:
        """Call `callback(name, active)` on the hub after each change; returns unsubscribe."""
        return self._changes.add(callback)

    def on_supervised_change(
        self, callback: Callable[[str, SupervisedState], None]
    ) -> Callable[[], None]:
        """Call `callback(name, state)` when a supervised loop changes state (tamper too)."""
        return self._supervised_changes.add(callback)

    def resistance(self) -> float | None:
        """The last measured loop resistance in ohms, None if the input is not measured."""
        return self._resistance

    def supervised_state(self) -> SupervisedState | None:
        """Closed, open, cut or short; None when the input is not supervised."""
        return self._state if self.supervised else None

    def set_supervised(self, wiring: Wiring | None) -> None:
        """Turn supervision on with the installed resistor wiring, or off with None."""
        if wiring is not None and not self.supervisable:
            raise ValueError(f"{self.name} does not support supervision")
        self.supervised = wiring
        self._state = None
        if wiring is not None and self._resistance is not None:
            self._measure(self._resistance)

    def _update(self, active: bool) -> None:
        """Backend: the terminal now reads `active`; listeners hear only real changes."""
        if active != self._active:
            self._active = active
            self._changes.fire(self.name, active)

    def _measure(self, ohms: float) -> None:
        """Backend: a new loop resistance; classify it when supervised."""
        self._resistance = ohms
        if self.supervised is None:
            return
        state = classify(ohms, self.supervised)
        if state != self._state:
            self._state = state
            self._supervised_changes.fire(self.name, state)
        # a short looks like a closed circuit and a cut like an open one, electrically
        self._update(state in (SupervisedState.CLOSED, SupervisedState.SHORT))

    def snapshot(self) -> dict:
        """{"active", "resistance"}; resistance is None when unmeasured or an open loop."""
        ohms = self._resistance
        finite = ohms is not None and math.isfinite(ohms)
        return {"active": self._active, "resistance": float(ohms) if finite else None}


class DigitalOutput:
    """An output terminal: active = driven (open drain to ground, relay energised)."""

    def __init__(self, name: str):
        self.name = name
        self._active = False
        self._changes = Listeners()

    def set(self, active: bool) -> None:
        """Drive the output active or inactive."""
        active = bool(active)
        self._drive(active)
        if active != self._active:
            self._active = active
            self._changes.fire(self.name, active)

    def read(self) -> bool:
        """True when the output is driven active."""
        return self._active

    def on_change(self, callback: Callable[[str, bool], None]) -> Callable[[], None]:
        """Call `callback(name, active)` after each change (for live views)."""
        return self._changes.add(callback)

    def _drive(self, active: bool) -> None:
        """Backend: move the hardware; the base class only keeps the state."""

    def snapshot(self) -> dict:
        """{"active": bool}."""
        return {"active": self._active}


class Relay(DigitalOutput):
    """The form C lock relay: active = energised, COM connected to NO.

    `lock_wiring` records where the lock is: "NO" (fail-secure, locked when the
    relay is off) or "NC" (fail-safe, unlocked when the relay is off).
    """

    def __init__(self, name: str = "relay", lock_wiring: str = "NO"):
        super().__init__(name)
        self.lock_wiring = lock_wiring


class StatusLed(DigitalOutput):
    """A bi-colour indicator LED (status, power, relay): green, amber, red, or off."""

    def __init__(self, name: str = "status_led"):
        super().__init__(name)
        self.color = "off"
        self._colors = Listeners()

    def set(self, active: bool) -> None:
        """On is steady green (normal operation), off is unlit."""
        self.set_color("green" if active else "off")

    def set_color(self, color: str) -> None:
        """Show one of off, green, amber (both dies lit) or red."""
        if color not in STATUS_COLORS:
            raise ValueError(f"status LED colour must be one of {', '.join(STATUS_COLORS)}")
        self._drive_color(color)
        changed = color != self.color
        self.color = color
        DigitalOutput.set(self, color != "off")
        if changed:
            self._colors.fire(self.name, color)

    def on_color(self, callback: Callable[[str, str], None]) -> Callable[[], None]:
        """Call `callback(name, color)` after each change of colour (the sim records them)."""
        return self._colors.add(callback)

    def _drive_color(self, color: str) -> None:
        """Backend: light the red and green dies for `color`."""


class ControlButton:
    """The control button: whether it is held now, each change, and each press's length.

    A backend reports both edges with `_set(down, when)` (monotonic seconds), so the
    start-up code can watch a hold as it happens (manual: Reset to factory default).
    """

    def __init__(self):
        self._presses = Listeners()
        self._changes = Listeners()
        self._down_at: float | None = None

    def pressed(self) -> bool:
        """True while the button is held down."""
        return self._down_at is not None

    def on_change(self, callback: Callable[[bool], None]) -> Callable[[], None]:
        """Call `callback(pressed)` on each press and each release."""
        return self._changes.add(callback)

    def on_press(self, callback: Callable[[float], None]) -> Callable[[], None]:
        """Call `callback(seconds_held)` when the button is released."""
        return self._presses.add(callback)

    def _set(self, down: bool, when: float) -> None:
        """Backend: the button went down or up at `when`; a repeated state is ignored."""
        if down == self.pressed():
            return
        if down:
            self._down_at = when
            self._changes.fire(True)
            return
        held = max(0.0, when - self._down_at)
        self._down_at = None
        self._changes.fire(False)
        self._presses.fire(held)


class WiegandPort:
    """The reader connector in Wiegand mode: D0/D1 pulses in, decoded frames out."""

    def __init__(self, gap: float = DEFAULT_FRAME_GAP, format37: str = "H10304"):
        self._reads = Listeners()
        self.assembler = FrameAssembler(self._reads.fire, gap=gap, format37=format37)

    def on_read(self, callback: Callable[[WiegandResult], None]) -> Callable[[], None]:
        """Call `callback(result)` with each CardRead, KeyPress or BadFrame."""
        return self._reads.add(callback)

    def _pulse(self, bit: int, width: float | None = None) -> None:
        """Backend: one pulse on D0 (bit 0) or D1 (bit 1), `width` seconds if known."""
        self.assembler.pulse(bit, width)

    def close(self) -> None:
        """Drop any frame in progress."""
        self.assembler.close()


class Board:
    """All the terminals of one controller, by the manual's names."""

    kind = "base"

    def __init__(self, relay: Relay | None = None, wiegand: WiegandPort | None = None):
        self.inputs: dict[str, DigitalInput] = {}
        self.outputs: dict[str, DigitalOutput] = {}
        self.relay = relay or Relay()
        self.status_led = StatusLed()
        self.power_led = StatusLed("power_led")
        self.relay_led = StatusLed("relay_led")
        self.button = ControlButton()
        self.wiegand = wiegand or WiegandPort()
        self._ports_in: dict[str, DigitalInput] = {}
        self._ports_out: dict[str, DigitalOutput] = {}
        self.directions: dict[str, str] = {}
        # The reader connector's RS-485 device, and the driver-enable line when the
        # adapter does not switch direction by itself (None: it does).
        self.rs485_port = ""
        self.rs485_direction: Callable[[bool], None] | None = None
        # The device-motion sensor (hal/motion.py MotionSensor), None when not fitted.
        self.motion = None

    def _add_input(self, port: DigitalInput) -> None:
        """Register an input terminal."""
        self._ports_in[port.name] = port
        self.inputs[port.name] = port

    def _add_output(self, port: DigitalOutput) -> None:
        """Register an output terminal."""
        self._ports_out[port.name] = port
        self.outputs[port.name] = port

    def _add_aux(self, port_in: DigitalInput, port_out: DigitalOutput, direction: str) -> None:
        """Register a configurable I/O with both faces; only one is visible at a time."""
        self._ports_in[port_in.name] = port_in
        self._ports_out[port_in.name] = port_out
        self._show(port_in.name, direction)

    def _show(self, name: str, direction: str) -> None:
        """Set up a configurable port's pin for `direction` and make that face visible."""
        self._configure_direction(name, direction)
        self.directions[name] = direction
        if direction == INPUT:
            self.inputs[name] = self._ports_in[name]
        else:
            self.outputs[name] = self._ports_out[name]

    def set_direction(self, name: str, direction: str) -> None:
        """Make a configurable I/O port an input or an output (the output starts inactive)."""
        if name not in self.directions:
            raise ValueError(f"{name} is not a configurable I/O port")
        if direction not in (INPUT, OUTPUT):
            raise ValueError(f"direction must be {INPUT!r} or {OUTPUT!r}")
        if self.directions[name] == direction:
            return
        if self.directions[name] == OUTPUT:
            self._ports_out[name].set(False)  # never leave a load driven behind
        self.inputs.pop(name, None)
        self.outputs.pop(name, None)
        self._show(name, direction)

    def _configure_direction(self, name: str, direction: str) -> None:
        """Backend: reconfigure the pin behind a configurable port."""

    def snapshot(self) -> dict:
        """Every visible input and output, in the JSON shape of the REST endpoint."""
        return {
            "inputs": {name: port.snapshot() for name, port in self.inputs.items()},
            "outputs": {name: port.snapshot() for name, port in self.outputs.items()},
        }

    def leds(self) -> dict[str, StatusLed]:
        """The indicator LEDs by the manual's names (LED indicators): status, power, relay."""
        return {"status": self.status_led, "power": self.power_led, "relay": self.relay_led}

    def close(self) -> None:
        """Put every output inactive, the LEDs off, and stop listening to the hardware."""
        # an aux port seen as an input was already set inactive when it changed direction
        for port in [*self.outputs.values(), self.power_led, self.relay_led]:
            port.set(False)
        self.wiegand.close()
        if self.motion is not None:
            self.motion.close()
        self._release()

    def _release(self) -> None:
        """Backend: free pins and devices."""
