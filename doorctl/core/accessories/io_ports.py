"""I/O ports (manual: "Accessories > I/O ports"): names, directions, normal states, supervision.

A port is *active* when its circuit differs from its normal state, for inputs and
outputs alike. The door's own ports take their normal state from the door settings
(door monitor, REX) and the lock type (relay), so there is one place to set each.
After any change here the outputs go back to their normal positions, as the manual
says, whatever triggered them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from wtforms import Form
from wtforms.validators import ValidationError

from doorctl.core.errors import Conflict, Invalid, NotFound
from doorctl.core.events import EventBus, Listeners
from doorctl.core.fields import Choice, Name, Switch
from doorctl.hal.supervised import PARALLEL_FIRST, SERIAL_FIRST, SupervisedState, Wiring

log = logging.getLogger(__name__)

SECTION = "io_ports"
INPUT, OUTPUT = "input", "output"
# (port, default name, direction or None for configurable, supervisable, owner of the normal state)
PORTS = (
    ("door_monitor", "Door monitor", INPUT, True, "door"),
    ("rex", "REX", INPUT, False, "door"),
    ("external_alarm", "External alarm", INPUT, False, None),
    ("external_tamper", "External tamper", INPUT, False, None),
    ("aux3", "I/O 3", None, True, None),
    ("aux4", "I/O 4", None, True, None),
    ("relay", "Lock relay", OUTPUT, False, "door"),
)
PORT_NAMES = tuple(p[0] for p in PORTS)
SPECS = {p[0]: p for p in PORTS}
CAN_BE_INPUT = tuple(p[0] for p in PORTS if p[2] != OUTPUT)
CAN_BE_OUTPUT = tuple(p[0] for p in PORTS if p[2] != INPUT)
CONFIGURABLE = tuple(p[0] for p in PORTS if p[2] is None)
SUPERVISABLE = tuple(p[0] for p in PORTS if p[3])
CIRCUITS = [("open", "Open circuit"), ("closed", "Closed circuit")]
WIRINGS = {
    "parallel_first": Wiring(PARALLEL_FIRST, 4700.0),
    "serial_first_1k": Wiring(SERIAL_FIRST, 1000.0),
    "serial_first_2k2": Wiring(SERIAL_FIRST, 2200.0),
    "serial_first_4k7": Wiring(SERIAL_FIRST, 4700.0),
    "serial_first_10k": Wiring(SERIAL_FIRST, 10000.0),
}
WIRING_LABELS = [
    ("parallel_first", "Parallel first, 4.7 kΩ and 22 kΩ"),
    ("serial_first_1k", "Serial first, 2 × 1 kΩ"),
    ("serial_first_2k2", "Serial first, 2 × 2.2 kΩ"),
    ("serial_first_4k7", "Serial first, 2 × 4.7 kΩ"),
    ("serial_first_10k", "Serial first, 2 × 10 kΩ"),
]
PORT_FIELDS = ("name", "direction", "normal_state", "supervised")


def _port_fields(port: str, label: str, direction, supervisable: bool, owner) -> dict:
    """The flat form fields of one port: `<port>_name`, `<port>_direction`, ..."""
    fields = {f"{port}_name": Name(f"{label}: name", default=label)}
    if direction is None:
        choices = [(INPUT, "Input"), (OUTPUT, "Output")]
        fields[f"{port}_direction"] = Choice(f"{label}: direction", choices=choices, default=INPUT)
    if owner is None:
        fields[f"{port}_normal_state"] = Choice(
            f"{label}: normal state", choices=CIRCUITS, default="open"
        )
    if supervisable:
        fields[f"{port}_supervised"] = Switch(f"{label}: supervised", default=False)
    if supervisable and direction is None:
        fields[f"validate_{port}_supervised"] = _supervised_needs_input(port)
    return fields


def _supervised_needs_input(port: str) -> Callable:
    def validate(form, field):
        if field.data and form[f"{port}_direction"].data == OUTPUT:
            raise ValidationError("Supervision needs the port to be an input.")

    return validate


def _settings_form() -> type[Form]:
    """The I/O ports section, one flat field per port property."""
    fields = {}
    for port in PORTS:
        fields.update(_port_fields(*port))
    fields["supervised_wiring"] = Choice(
        "End-of-line resistors", choices=WIRING_LABELS, default="parallel_first"
    )
    return type("IoPortSettings", (Form,), fields)


IoPortSettings = _settings_form()


class IoPorts:
    """The I/O ports service: configures the board, reports ports, publishes their changes."""

    def __init__(self, board, bus: EventBus, settings: dict, door_settings: Callable[[], dict]):
        self.board = board
        self.bus = bus
        self.settings = settings
        self._door_settings = door_settings
        self._listeners = Listeners()
        self._after_reset: list[Callable[[], None]] = []
        self.running = False

    def start(self) -> None:
        """Configure the ports and listen to every input and output."""
        self.apply(self.settings)
        for port in CAN_BE_INPUT:
            hal_in = self.board._ports_in[port]
            self._listeners.add(hal_in.on_change(self._input_changed))
            if hal_in.supervisable:
                self._listeners.add(hal_in.on_supervised_change(self._loop_changed))
        for port in CAN_BE_OUTPUT:
            self._listeners.add(self.board._ports_out[port].on_change(self._output_changed))
        self.running = True

    def stop(self) -> None:
        """Stop listening (the board service puts the outputs inactive)."""
        self._listeners.clear()
        self.running = False

    def apply(self, settings: dict) -> None:
        """Directions, supervision, then every output back to its normal position."""
        self.settings = settings
        for port in CONFIGURABLE:
            self.board.set_direction(port, settings[f"{port}_direction"])
            out = self.board._ports_out[port]
            if self.direction(port) == OUTPUT:
                out.set(self.normal_state(port) == "closed")
        for port in SUPERVISABLE:
            self._apply_supervision(port)
        for callback in self._after_reset:
            callback()

    def after_reset(self, callback: Callable[[], None]) -> None:
        """Call `callback()` after the outputs went back to normal (the door relocks)."""
        self._after_reset.append(callback)

    def status(self) -> dict:
        """Every port as the I/O ports page and REST show it."""
        return {"ports": self.ports()}

    # --- reading ----------------------------------------------------------------------

    def direction(self, port: str) -> str:
        """input or output (fixed, or as the aux port is configured)."""
        fixed = SPECS[port][2]
        return fixed or self.board.directions[port]

    def normal_state(self, port: str) -> str:
        """'open' or 'closed': the circuit when the port is not active."""
        door = self._door_settings()
        if port == "door_monitor":
            return door["door_monitor_normal_state"]
        if port == "rex":
            return "open" if door["rex_active_state"] == "closed" else "closed"
        if port == "relay":
            # fail-safe holds the relay energised (circuit COM-NO closed) while locked
            return "closed" if door["lock_type"] == "fail_safe" else "open"
        return self.settings[f"{port}_normal_state"]

    def circuit(self, port: str) -> str:
        """The terminal's circuit now: 'closed' (to ground / COM-NO) or 'open'."""
        hal = self.board.inputs.get(port) if self.direction(port) == INPUT else None
        hal = hal or self.board.outputs[port]
        return "closed" if hal.read() else "open"

    def is_active(self, name: str) -> bool:
        """Whether an input is active; inputs that are not I/O ports are active when closed."""
        if name in PORT_NAMES:
            return self.circuit(name) != self.normal_state(name)
        return self.board.inputs[name].read()

    def port(self, port: str) -> dict:
        """One port's settings and live state."""
        if port not in PORT_NAMES:
            raise NotFound(f"There is no I/O port {port!r}; ports are {', '.join(PORT_NAMES)}.")
        spec = SPECS[port]
        circuit = self.circuit(port)
        hal_in = self.board._ports_in.get(port)
        supervised = bool(self.settings.get(f"{port}_supervised"))
        return {
            "port": port,
            "name": self.settings[f"{port}_name"],
            "direction": self.direction(port),
            "configurable": spec[2] is None,
            "normal_state": self.normal_state(port),
            "normal_state_set_by": spec[4],
            "circuit": circuit,
            "active": circuit != self.normal_state(port),
            "supervisable": spec[3],
            "supervised": supervised,
            "supervised_state": self._loop_state(hal_in) if supervised else None,
            "resistance": hal_in.snapshot()["resistance"] if hal_in is not None else None,
        }

    def ports(self) -> list[dict]:
        """All ports in the order of the connectors."""
        return [self.port(name) for name in PORT_NAMES]

    # --- changing ---------------------------------------------------------------------

    def settings_changes(self, port: str, changes: dict) -> dict:
        """Turn `{"name", "direction", ...}` for a port into the section's flat fields."""
        self.port(port)
        unknown = sorted(set(changes) - set(PORT_FIELDS))
        if unknown:
            raise Invalid({name: "unknown field" for name in unknown})
        flat = {}
        for key, value in changes.items():
            if f"{port}_{key}" not in self.settings:
                raise Invalid({key: self._not_settable(port, key)})
            flat[f"{port}_{key}"] = value
        return flat

    def activate(self, port: str, active: bool) -> dict:
        """Activate (or deactivate) an output port: its circuit leaves its normal state."""
        info = self.port(port)
        if port == "relay":
            raise Conflict("The relay drives the door's lock: use the door's actions instead.")
        if info["direction"] != OUTPUT:
            raise Conflict(f"{info['name']} is an input; make it an output first.")
        if not isinstance(active, bool):
            raise Invalid({"active": "Must be true or false."})
        self.board.outputs[port].set(active != (self.normal_state(port) == "closed"))
        return self.port(port)

    @staticmethod
    def _not_settable(port: str, key: str) -> str:
        if key == "normal_state":
            return "Set in the door settings (door monitor, REX, lock type)."
        if key == "direction":
            return "This port's direction is fixed."
        return "This port does not support supervision."

    # --- hardware ---------------------------------------------------------------------

    def _apply_supervision(self, port: str) -> None:
        """Supervise an input with the installed resistors, or stop supervising it."""
        hal_in = self.board._ports_in[port]
        on = self.settings[f"{port}_supervised"] and self.direction(port) == INPUT
        wiring = WIRINGS[self.settings["supervised_wiring"]] if on else None
        if wiring == hal_in.supervised:
            return
        hal_in.set_supervised(wiring)
        if wiring is not None and self.board.kind == "sim" and hal_in.resistance() is None:
            # a simulated loop starts intact, in the state its terminal was in
            closed = hal_in.read()
            nominal = wiring.nominal()
            hal_in._measure(nominal[SupervisedState.CLOSED if closed else SupervisedState.OPEN])

    @staticmethod
    def _loop_state(hal_in) -> str | None:
        state = hal_in.supervised_state() if hal_in is not None else None
        return state.value if state is not None else None

    def _input_changed(self, port: str, closed: bool) -> None:
        if self.direction(port) != INPUT:
            return
        circuit = "closed" if closed else "open"
        data = {"active": circuit != self.normal_state(port), "circuit": circuit}
        self._publish("tns1:Device/Trigger/DigitalInput", port, data)

    def _output_changed(self, port: str, driven: bool) -> None:
        if self.direction(port) != OUTPUT:
            return
        circuit = "closed" if driven else "open"
        data = {"active": circuit != self.normal_state(port), "circuit": circuit}
        self._publish("tns1:Device/Trigger/Relay", port, data)

    def _loop_changed(self, port: str, state: SupervisedState) -> None:
        data = {"state": state.value, "tampered": state.tamper}
        self._publish("tns1:Device/IO/SupervisedPort", port, data)

    def _publish(self, topic: str, port: str, data: dict) -> None:
        source = {"port": port, "name": self.settings[f"{port}_name"]}
        self.bus.publish(topic, source, data, {"port": port}, True)
