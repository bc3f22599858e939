"""The door's state as ONVIF Door/State property events, each sent only when it changed.

The event log, the live pages and MQTT all subscribe to these, so they all see the
same history of mode, lock, position, alarm and tamper.
"""

from __future__ import annotations

from collections.abc import Callable

from doorctl.core.access_control.door_alarms import ONVIF_ALARM, TAMPERED
from doorctl.core.access_control.door_modes import ONVIF_MODE
from doorctl.core.events import EventBus


class DoorEvents:
    """Publishes one door's Door/State topics on the bus."""

    def __init__(self, bus: EventBus, door_id: int, name: Callable[[], str]):
        self.bus = bus
        self.door_id = door_id
        self.name = name
        self._published: dict[str, object] = {}

    def mode(self, mode: str, cause: dict) -> None:
        """DoorMode, with what caused the change (an action, a timer, a restore)."""
        data = {"state": ONVIF_MODE[mode], "mode": mode, "cause": cause}
        self._publish("tns1:Door/State/DoorMode", mode, data)

    def lock(self, released: bool, relay: bool) -> None:
        """LockPhysicalState, with the relay level that holds it."""
        lock = "unlocked" if released else "locked"
        data = {"state": lock.capitalize(), "lock": lock, "relay": relay}
        self._publish("tns1:Door/State/LockPhysicalState", (lock, relay), data)

    def position(self, door_open: bool) -> None:
        """DoorPosition from the door monitor."""
        position = "open" if door_open else "closed"
        data = {"state": position.capitalize(), "door_position": position}
        self._publish("tns1:Door/State/DoorPosition", position, data)

    def alarms(self, active: set[str]) -> None:
        """DoorAlarm (the most serious alarm first) and DoorTamper."""
        alarms = sorted(active - {TAMPERED})
        state = next((ONVIF_ALARM[a] for a in ONVIF_ALARM if a in alarms), "Normal")
        data = {"state": state, "alarms": alarms}
        self._publish("tns1:Door/State/DoorAlarm", (state, tuple(alarms)), data)
        tamper = "TamperDetected" if TAMPERED in active else "NotInTamper"
        self._publish("tns1:Door/State/DoorTamper", tamper, {"state": tamper})

    def _publish(self, topic: str, value, data: dict) -> None:
        """Publish a property event only when its value changed."""
        if self._published.get(topic) == value:
            return
        self._published[topic] = value
        source = {"door": self.door_id, "name": self.name()}
        self.bus.publish(topic, source, data, {"door": self.door_id}, True)
