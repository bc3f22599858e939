"""Alarms (manual: "Access control > Alarms"): device motion, casing open, external tamper.

Each alarm that is on publishes `tns1:Device/Tamper` when it triggers and again when
it clears. Turning an alarm off while it is triggered clears it, so a subscriber is
never left with an alarm nobody will end. Reader tamper is the Wiegand reader's
TAMPER pin or any OSDP reader reporting tamper (osdp_LSTATR). Reader secure channel is
any OSDP reader in "required" mode whose secure channel can't be set up (wrong key,
no secure answer, MAC failures): someone may have swapped or tampered with it.
Device motion is the board's accelerometer (hal/motion.py): triggered while the
controller moves by more than the threshold, in g, and cleared once it has been still.
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import lazy_gettext
from wtforms import Form
from wtforms.validators import NumberRange

from doorctl.core.access_control.readers import SECURE_CHANNEL_FAILURE
from doorctl.core.access_control.readers import TAMPER as OSDP_TAMPER
from doorctl.core.events import EventBus, Listeners
from doorctl.core.fields import Seconds, Switch
from doorctl.hal.motion import DEFAULT_THRESHOLD, THRESHOLD_RANGE

SECTION = "alarms"
TOPIC = "tns1:Device/Tamper"
# alarm -> the board input that senses it (None: no sensor on this hardware)
SENSORS = {
    "device_motion": None,
    "casing_open": "casing_open",
    "external_tamper": "external_tamper",
    "reader_tamper": "reader_tamper",
    "reader_secure_channel": None,
}
# Alarms the OSDP readers report themselves: no board input needed.
READER_ALARMS = ("reader_secure_channel",)
LABELS = {
    "device_motion": "Device motion",
    "casing_open": "Casing open",
    "external_tamper": "External tamper",
    "reader_tamper": "Reader tamper",
    "reader_secure_channel": "Reader secure channel",
}


class Acceleration(Seconds):
    """An acceleration in g: a JSON number, or form text like '0.3' or '0,3'."""

    rule = lazy_gettext("Enter an acceleration in g, for example 0.3.")


THRESHOLD_RULE = lazy_gettext(
    "Enter %(low)s to %(high)s g.", low=f"{THRESHOLD_RANGE[0]:g}", high=f"{THRESHOLD_RANGE[1]:g}"
)


class AlarmSettings(Form):
    """Which tamper alarms are on, and how much motion is device motion."""

    device_motion = Switch("Device motion")
    device_motion_threshold = Acceleration(
        "Device motion threshold",
        [NumberRange(*THRESHOLD_RANGE, THRESHOLD_RULE)],
        default=DEFAULT_THRESHOLD,
        description=lazy_gettext(
            "How far the controller's acceleration must stray from rest to count as motion,"
            " in g (1 g = 9.81 m/s², the pull of gravity). A knock on the wall is about 0.1 g;"
            " prising the controller off, 0.5 g or more."
        ),
    )
    casing_open = Switch("Casing open", default=True)
    external_tamper = Switch("External tamper", default=False)
    # not in the manual's list: the Wiegand reader's TAMPER pin (reader connector,
    # pin 7) or an OSDP reader's own tamper report
    reader_tamper = Switch("Reader tamper", default=True)
    # not in the manual's list: an OSDP reader in "required" mode that can't set up its
    # secure channel
    reader_secure_channel = Switch("Reader secure channel", default=True)


class Alarms:
    """Watches the tamper inputs and publishes the alarms that are turned on."""

    def __init__(self, board, bus: EventBus, settings: dict, active_of: Callable[[str], bool]):
        self.board = board
        self.bus = bus
        self.settings = settings
        self._active_of = active_of
        self.triggered: dict[str, bool] = {}
        self._listeners = Listeners()
        # OSDP readers by id -> whether the reader reports tamper (osdp_LSTATR)
        self.tampered_readers: dict[str, bool] = {}
        # OSDP readers by id -> whether their required secure channel is failing
        self.failing_readers: dict[str, bool] = {}
        self.running = False

    def start(self) -> None:
        """Listen to the sensors and report the alarms already triggered."""
        for alarm in SENSORS:
            sensor = self._sensor(alarm)
            if sensor is not None:
                self._listeners.add(self.board.inputs[sensor].on_change(self._changed))
        if self.board.motion is not None:
            self.board.motion.threshold = self.settings["device_motion_threshold"]
            self._listeners.add(self.board.motion.on_change(self._moved))
        self._listeners.add(self.bus.subscribe(self._reader_reported, OSDP_TAMPER))
        self._listeners.add(self.bus.subscribe(self._reader_failing, SECURE_CHANNEL_FAILURE))
        self.running = True
        self._evaluate()

    def stop(self) -> None:
        """Stop listening."""
        self._listeners.clear()
        self.running = False

    def apply(self, settings: dict) -> None:
        """Alarms turned on or off: publish what that starts or clears."""
        self.settings = settings
        if self.board.motion is not None:
            self.board.motion.threshold = settings["device_motion_threshold"]
        if self.running:
            self._evaluate()

    def status(self) -> dict:
        """Each alarm: on/off, whether its sensor exists, whether it is triggered now."""
        return {
            "alarms": [
                {
                    "alarm": alarm,
                    "label": LABELS[alarm],
                    "enabled": self.settings[alarm],
                    "sensor": self._has_sensor(alarm),
                    "triggered": self.triggered.get(alarm, False),
                }
                for alarm in SENSORS
            ],
            "device_motion_threshold": self.settings["device_motion_threshold"],
        }

    def _has_sensor(self, alarm: str) -> bool:
        """Whether this board can sense the alarm at all."""
        if alarm == "device_motion":
            return self.board.motion is not None
        return alarm in READER_ALARMS or self._sensor(alarm) is not None

    def _sensor(self, alarm: str) -> str | None:
        sensor = SENSORS[alarm]
        return sensor if sensor in self.board.inputs else None

    def _changed(self, name: str, closed: bool) -> None:
        self._evaluate()

    def _moved(self, moving: bool) -> None:
        self._evaluate()

    def _reader_reported(self, event) -> None:
        """An OSDP reader's tamper report counts as reader tamper."""
        self.tampered_readers[event.source["reader"]] = bool(event.data.get("tamper"))
        self._evaluate()

    def _reader_failing(self, event) -> None:
        """An OSDP reader's required secure channel failing counts as its alarm."""
        self.failing_readers[event.source["reader"]] = bool(event.data.get("failing"))
        self._evaluate()

    def _sensed(self, alarm: str) -> bool:
        """Whether the alarm's sensor (or, for reader tamper, any OSDP reader) says so."""
        sensor = self._sensor(alarm)
        sensed = bool(sensor and self._active_of(sensor))
        if alarm == "reader_tamper":
            sensed = sensed or any(self.tampered_readers.values())
        if alarm == "reader_secure_channel":
            sensed = any(self.failing_readers.values())
        if alarm == "device_motion":
            sensed = self.board.motion is not None and self.board.motion.moving()
        return sensed

    def _evaluate(self) -> None:
        """Publish each alarm whose triggered state changed."""
        for alarm in SENSORS:
            now = bool(self.settings[alarm]) and self._sensed(alarm)
            if now != self.triggered.get(alarm, False):
                self.triggered[alarm] = now
                source = {"alarm": alarm, "name": LABELS[alarm]}
                self.bus.publish(TOPIC, source, {"state": now}, {"alarm": alarm}, True)
