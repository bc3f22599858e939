"""The door engine: one door with its lock relay, door monitor, REX and reader feedback.

Its modes follow ONVIF's DoorMode (see door_modes.py); the held ones are stored and
taken back at start, before any input is listened to. Every state change is
published on the bus as a property event (door_events.py), so the event log, the
live pages and MQTT all see the same history.
"""

from __future__ import annotations

import logging
import time

from doorctl.core.access_control.door_alarms import (
    FORCED_OPEN,
    OPEN_TOO_LONG,
    PRE_ALARM,
    TAMPERED,
    Timers,
)
from doorctl.core.access_control.door_events import DoorEvents
from doorctl.core.access_control.door_modes import (
    ACCESSED,
    ACTIONS,
    BLOCKED,
    LOCKED,
    LOCKED_DOWN,
    LOCKED_OPEN,
    REFUSED_DURING,
    RELEASED_MODES,
    RESTORED,
    UNLOCKED,
    DoorModes,
    HeldMode,
)
from doorctl.core.access_control.reader_feedback import ReaderFeedback
from doorctl.core.errors import Conflict, Invalid
from doorctl.core.events import EventBus, Listeners

log = logging.getLogger(__name__)


class Door:
    """One door: modes, lock relay, door position, alarms and reader feedback."""

    def __init__(
        self, door_id: int, board, bus: EventBus, settings: dict, modes: DoorModes | None = None
    ):
        self.id = door_id
        self.modes = modes
        self._kept = 0
        self.board = board
        self.bus = bus
        self.settings = settings
        self.base_mode = LOCKED
        self.override: str | None = None
        self.access_active = False
        self.opened_during_access = False
        self.scheduled = False
        self.schedule_held = False
        self.first_in_seen = False
        self.door_open = False
        self.alarms: set[str] = set()
        self._shunt_until = 0.0
        self._events = DoorEvents(bus, door_id, lambda: self.settings["name"])
        self._timers = Timers()
        self._feedback = ReaderFeedback(board)
        self._listeners = Listeners()
        self.running = False

    # --- service --------------------------------------------------------------------

    def start(self) -> None:
        """Take back the stored mode, then listen to the inputs, drive the relay, publish."""
        restored = self._restore()
        inputs = self.board.inputs
        self._listeners.add(inputs["door_monitor"].on_change(self._on_door_monitor))
        self._listeners.add(inputs["door_monitor"].on_supervised_change(self._on_door_monitor_loop))
        self._listeners.add(inputs["rex"].on_change(self._on_rex))
        self.door_open = self._read_door_open()
        self.running = True
        if self.door_open and not self._released():
            self.alarms.add(FORCED_OPEN)  # found open while locked: nobody was let through
        self._update({"reason": RESTORED if restored else "start"})
        self._events.position(self.door_open)
        self._events.alarms(self.alarms)

    def stop(self) -> None:
        """Stop timers and listeners; the relay goes inactive (its power-off state)."""
        self.running = False
        self._listeners.clear()
        self._timers.cancel_all()
        self._feedback.stop()
        self.board.outputs["relay"].set(False)

    def apply(self, settings: dict) -> None:
        """New door settings: re-read the inputs and drive the relay for the new lock type."""
        self.settings = settings
        if self.running:
            self._on_door_monitor("door_monitor", self.board.inputs["door_monitor"].read())
            self._update({"reason": "settings"})

    def status(self) -> dict:
        """The door as /api/v1/doors shows it."""
        return {
            "id": self.id,
            "name": self.settings["name"],
            "mode": self.mode(),
            "lock": "unlocked" if self._released() else "locked",
            "door_position": "open" if self.door_open else "closed",
            "alarms": sorted(self.alarms),
            "relay": self.board.outputs["relay"].read(),
            "lock_type": self.settings["lock_type"],
            "scheduled_unlock": self.scheduled,
            "card_access": self.card_allowed()[0],
        }

    # --- what the access-decision engine and the operators call ----------------------

    def mode(self) -> str:
        """The effective mode: override, momentary access, schedule, then the base mode."""
        if self.override:
            return self.override
        if self.access_active:
            return ACCESSED
        if self.base_mode == LOCKED and self._schedule_unlocks():
            return UNLOCKED
        return self.base_mode

    def card_allowed(self) -> tuple[bool, str]:
        """Whether a card may open the door now, and why not."""
        mode = self.mode()
        if mode == LOCKED_DOWN:
            return False, "The door is locked down."
        if mode == BLOCKED:
            return False, "The door is blocked."
        return True, ""

    def grant(self, long: bool = False, source: dict | None = None) -> bool:
        """A valid credential: feedback, first-person-in, momentary unlock; False if refused."""
        if self.mode() == LOCKED_DOWN:
            self.feedback(False)
            return False
        if self.scheduled:
            self.first_in_seen = True
        self.feedback(True)
        self.access(long=long, source=source)
        return True

    def deny(self) -> None:
        """A refused credential: red LED and a double beep."""
        self.feedback(False)

    def access(self, long: bool = False, source: dict | None = None) -> None:
        """Momentary unlock for the access time (or the long access time)."""
        if self.mode() in (UNLOCKED, LOCKED_OPEN):
            self._update({"action": "access", **(source or {})})
            return  # already released: nothing to time
        self._refuse_during_override("access")
        duration = self.settings["long_access_time" if long else "access_time"]
        self.access_active = True
        self.opened_during_access = False
        self._timers.later("access", duration, self._end_access)
        self._update({"action": "access", "long": long, **(source or {})})

    def command(self, action: str, source: dict | None = None) -> None:
        """Run one of ACTIONS (the Doors page and REST); raise Invalid or Conflict."""
        if action not in ACTIONS:
            raise Invalid({"action": f"Choose one of: {', '.join(ACTIONS)}."})
        if action == "access":
            self.access(source=source)
        else:
            getattr(self, action)(source)
        if self.modes is not None:
            self.modes.wait(self._kept)  # answered only once the mode survives a power cut

    def lock(self, source: dict | None = None) -> None:
        """Locked: the normal secure mode; also holds off a scheduled unlock until it ends."""
        self._refuse_during_override("lock")
        self.schedule_held = self.scheduled
        self._set_base(LOCKED, "lock", source)

    def unlock(self, source: dict | None = None) -> None:
        """Unlocked until another command."""
        self._set_base(UNLOCKED, "unlock", source)

    def block(self, source: dict | None = None) -> None:
        """Blocked: locked, cards refused, REX still lets people out."""
        self._set_base(BLOCKED, "block", source)

    def lockdown(self, source: dict | None = None) -> None:
        """Locked down: locked whatever happens until released; REX and cards do nothing."""
        self._set_override(LOCKED_DOWN, "lockdown", source)

    def lockopen(self, source: dict | None = None) -> None:
        """Locked open: released whatever happens until released (refused in lockdown)."""
        self._refuse_during_override("lockopen")
        self._set_override(LOCKED_OPEN, "lockopen", source)

    def release(self, source: dict | None = None) -> None:
        """Return to normal: no override, no momentary access, Locked under the schedule."""
        self.override = None
        self.base_mode = LOCKED
        self.schedule_held = False
        self._end_access_quietly()
        self._update({"action": "release", **(source or {})})

    def set_scheduled_unlock(self, active: bool) -> None:
        """The schedule service: the door's unlock schedule began (True) or ended (False)."""
        if active == self.scheduled:
            return
        self.scheduled = active
        self.schedule_held = False
        self.first_in_seen = False
        self._update({"reason": "schedule", "scheduled_unlock": active})

    def reset_outputs(self) -> None:
        """I/O settings changed: end momentary access and drive the relay for the mode."""
        self._end_access_quietly()
        self._feedback.stop()
        self._update({"reason": "io_settings"})

    def feedback(self, granted: bool) -> None:
        """Green LED and a short beep on grant; red LED and a double beep on deny."""
        self._feedback.show(granted)

    # --- inputs -----------------------------------------------------------------------

    def _read_door_open(self) -> bool:
        return self._is_open(self.board.inputs["door_monitor"].read())

    def _is_open(self, closed_circuit: bool) -> bool:
        """The door is open when the door monitor's circuit differs from its normal state."""
        return closed_circuit != (self.settings["door_monitor_normal_state"] == "closed")

    def _on_door_monitor(self, name: str, closed_circuit: bool) -> None:
        is_open = self._is_open(closed_circuit)
        if is_open == self.door_open:
            return
        self.door_open = is_open
        self._events.position(self.door_open)
        if is_open:
            self._door_opened()
        else:
            self._door_closed()

    def _door_opened(self) -> None:
        """Opened while locked is forced open, unless REX just announced a person leaving."""
        if self.access_active:
            self.opened_during_access = True
        if self._released():
            if self.mode() == ACCESSED:
                self._start_open_too_long()
            return
        if time.monotonic() < self._shunt_until and self.mode() != LOCKED_DOWN:
            self._start_open_too_long()
            return
        self._alarm_on(FORCED_OPEN)

    def _door_closed(self) -> None:
        """Closing clears the door's alarms; it relocks now when the relock rule says so."""
        self._timers.cancel("pre_alarm", "open_too_long")
        self._alarms_off(FORCED_OPEN, OPEN_TOO_LONG, PRE_ALARM)
        relock_now = self.settings["relock"] == "door_closed" and self.opened_during_access
        if self.access_active and relock_now:
            self._end_access_quietly()
            self._update({"reason": "door_closed"})

    def _on_rex(self, name: str, closed_circuit: bool) -> None:
        """REX pressed: a person leaves; unlock if set to, never in lockdown."""
        if closed_circuit != (self.settings["rex_active_state"] == "closed"):
            return
        self._shunt_until = time.monotonic() + self.settings["access_time"]
        if self.mode() == LOCKED_DOWN or not self.settings["rex_unlocks"]:
            return
        if self.override is None:
            self.access(source={"by": "rex"})

    def _on_door_monitor_loop(self, name: str, state) -> None:
        """A cut or shorted door monitor loop is a door tamper alarm."""
        if state.tamper:
            self._alarm_on(TAMPERED)
        else:
            self._alarms_off(TAMPERED)

    # --- state ------------------------------------------------------------------------

    def held(self) -> HeldMode:
        """What a restart gives back: everything of the mode but a momentary access."""
        return HeldMode(
            self.base_mode, self.override, self.scheduled, self.schedule_held, self.first_in_seen
        )

    def _restore(self) -> bool:
        """The held mode stored before a restart (a kill or power cut included), if any."""
        held = self.modes.restored(self.id) if self.modes is not None else None
        if held is None:
            return False
        self.base_mode, self.override = held.base_mode, held.override
        self.scheduled, self.schedule_held = held.scheduled, held.schedule_held
        self.first_in_seen = held.first_in_seen
        log.info("%s: mode %s restored after restart", self.settings["name"], self.mode())
        return True

    def _released(self) -> bool:
        return self.mode() in RELEASED_MODES

    def _schedule_unlocks(self) -> bool:
        waiting = self.settings["first_person_in"] and not self.first_in_seen
        return self.scheduled and not self.schedule_held and not waiting

    def _refuse_during_override(self, action: str) -> None:
        """Overrides end only by "release" (lockdown may also replace locked open)."""
        if action in REFUSED_DURING.get(self.override, ()):
            word = "locked down" if self.override == LOCKED_DOWN else "locked open"
            raise Conflict(f"The door is {word}: return it to normal before {action}.")

    def _set_base(self, mode: str, action: str, source: dict | None) -> None:
        self._refuse_during_override(action)
        self.base_mode = mode
        self._end_access_quietly()
        self._update({"action": action, **(source or {})})

    def _set_override(self, mode: str, action: str, source: dict | None) -> None:
        self.override = mode
        self._end_access_quietly()
        self._update({"action": action, **(source or {})})

    def _end_access(self) -> None:
        self.access_active = False
        self._update({"reason": "access_time"})

    def _end_access_quietly(self) -> None:
        self.access_active = False
        self._timers.cancel("access")

    def _update(self, cause: dict) -> None:
        """Drive the relay for the mode, publish what changed, rearm the alarm timers."""
        released = self._released()
        fail_secure = self.settings["lock_type"] == "fail_secure"
        # fail-secure: energise to release; fail-safe: energise to hold locked
        self.board.outputs["relay"].set(released if fail_secure else not released)
        if self.modes is not None:
            self._kept = self.modes.keep(self.id, self.held())
        self._events.mode(self.mode(), cause)
        self._events.lock(released, self.board.outputs["relay"].read())
        if self.door_open and not released and FORCED_OPEN not in self.alarms:
            self._start_open_too_long()
        if released and self.mode() != ACCESSED:
            self._timers.cancel("pre_alarm", "open_too_long")
            self._alarms_off(OPEN_TOO_LONG, PRE_ALARM)

    def _start_open_too_long(self) -> None:
        """Arm the pre-alarm and the alarm from now, unless they are already running."""
        if "open_too_long" in self._timers or OPEN_TOO_LONG in self.alarms:
            return
        limit = self.settings["open_too_long_time"]
        pre = self.settings["pre_alarm_time"]
        if pre > 0:
            self._timers.later("pre_alarm", limit - pre, lambda: self._alarm_on(PRE_ALARM))
        self._timers.later("open_too_long", limit, self._open_too_long)

    def _open_too_long(self) -> None:
        self._alarms_off(PRE_ALARM, publish=False)
        self._alarm_on(OPEN_TOO_LONG)

    def _alarm_on(self, alarm: str) -> None:
        if alarm not in self.alarms:
            self.alarms.add(alarm)
            self._events.alarms(self.alarms)

    def _alarms_off(self, *alarms: str, publish: bool = True) -> None:
        if self.alarms & set(alarms):
            self.alarms -= set(alarms)
            if publish:
                self._events.alarms(self.alarms)
