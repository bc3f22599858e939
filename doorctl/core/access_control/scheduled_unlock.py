"""Scheduled unlock: a door whose settings name a schedule is unlocked while it is active.

The door engine owns what "scheduled unlock" means (first person in, Locked holding
it off until the schedule ends); this service only tells each door, once a second,
whether its schedule is active now in the device's time zone. Schedules are held in
memory, so the check costs microseconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

import gevent

from doorctl.core.access_control.schedules import Schedules
from doorctl.core.errors import NotFound

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0


class ScheduledUnlock:
    """Drives `door.set_scheduled_unlock()` from each door's unlock schedule."""

    def __init__(self, doors: dict, schedules: Schedules, tz: Callable[[], ZoneInfo]):
        self.doors = doors
        self.schedules = schedules
        self.tz = tz
        self.clock: Callable[[], float] = time.time
        self._greenlet: gevent.Greenlet | None = None
        self._driven: set[int] = set()
        schedules.users.append(self.uses)

    def start(self) -> None:
        """Check now, then every second (the schedules' resolution is a minute).

        A door restored with a scheduled unlock is driven from the first check, so a
        schedule that ended while the controller was off ends at once.
        """
        self._driven = {door.id for door in self.doors.values() if door.scheduled}
        self.update()
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        """Stop checking; the doors keep their state until they stop themselves."""
        if self._greenlet is not None:
            self._greenlet.kill()
            self._greenlet = None

    def check(self, record: dict) -> dict[str, str]:
        """A door settings record may only name a schedule that exists."""
        schedule_id = record.get("unlock_schedule_id")
        if schedule_id is None:
            return {}
        try:
            self.schedules.get(schedule_id)
        except NotFound as error:
            return {"unlock_schedule_id": error.message}
        return {}

    def uses(self, schedule_id: int) -> str | None:
        """Why a schedule can't be deleted: a door unlocks by it."""
        for door in self.doors.values():
            if door.settings.get("unlock_schedule_id") == schedule_id:
                return (
                    f"{door.settings['name']} unlocks by this schedule; change its settings first."
                )
        return None

    def update(self) -> None:
        """Tell each door with an unlock schedule whether it is active now.

        A door whose schedule was taken away gets one last False; doors that never had
        one are left alone.
        """
        now, tz = self.clock(), self.tz()
        for door in self.doors.values():
            schedule_id = door.settings.get("unlock_schedule_id")
            schedule = self.schedules.all().get(schedule_id) if schedule_id else None
            if schedule is not None:
                self._driven.add(door.id)
                door.set_scheduled_unlock(schedule.active(now, tz))
            elif door.id in self._driven:
                self._driven.discard(door.id)
                door.set_scheduled_unlock(False)

    def _run(self) -> None:
        while True:
            try:
                self.update()
            except Exception:
                log.exception("scheduled unlock check failed")
            gevent.sleep(TICK_SECONDS)
