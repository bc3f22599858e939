"""Door alarms: their names in the engine, their ONVIF DoorAlarm states, their timers."""

from __future__ import annotations

from collections.abc import Callable

import gevent

FORCED_OPEN, OPEN_TOO_LONG, PRE_ALARM, TAMPERED = (
    "forced_open",
    "open_too_long",
    "open_too_long_pre_alarm",
    "door_monitor_tampered",
)
ONVIF_ALARM = {
    FORCED_OPEN: "DoorForcedOpen",
    OPEN_TOO_LONG: "DoorOpenTooLong",
    PRE_ALARM: "DoorOpenTooLongPreAlarm",
}


class Timers:
    """The door's named one-shot timers on the hub: access time, pre-alarm, open too long."""

    def __init__(self):
        self._greenlets: dict[str, gevent.Greenlet] = {}

    def __contains__(self, name: str) -> bool:
        return name in self._greenlets

    def later(self, name: str, delay: float, function: Callable[[], None]) -> None:
        """Run `function` after `delay` seconds on the hub, replacing a timer of that name."""
        self.cancel(name)

        def fire():
            self._greenlets.pop(name, None)
            function()

        # libev times from the loop's cached "now", stale after any code that did not
        # yield; refresh it so an access time is measured from this moment.
        gevent.get_hub().loop.update_now()
        self._greenlets[name] = gevent.spawn_later(max(delay, 0), fire)

    def cancel(self, *names: str) -> None:
        """Stop these timers if they are running."""
        for name in names:
            timer = self._greenlets.pop(name, None)
            if timer is not None:
                timer.kill(block=False)

    def cancel_all(self) -> None:
        """Stop every timer (the door stops)."""
        self.cancel(*self._greenlets)
