"""Prevent brute-force attacks (manual: System > Security): block an address that fails.

The manual's blocking conditions are failures allowed per second at page level (one
address on one page: the login form, or one API route) and at device level (one
address on any page). An attempt whose password is still being checked counts as a
failure until it succeeds: twenty attempts sent at once must not all reach the slow
hash before the first of them fails. A blocked address is refused for the blocking
period without any hash. A block and its end are events; so is every failure, and
a flood of failures from one address becomes one summary event.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import gevent
from flask_babel import gettext as _

from doorctl.core.errors import DoorctlError
from doorctl.core.events import EventBus

BLOCK_TOPIC = "tns1:Device/Security/BruteForceBlock"
FAILED_TOPIC = "tns1:Device/User/LoginFailed"
WINDOW = 1.0  # the manual's "per second"
# A flood: beyond this many failure events from one address in FLOOD_SECONDS, the
# rest are counted and told in one summary event at the end of those seconds.
FLOOD_EVENTS = 5
FLOOD_SECONDS = 10.0
MAX_ADDRESSES = 10_000  # counters kept at most; the idle ones go first


class Blocked(DoorctlError):
    """The address is blocked for brute-force attempts; retry after `seconds`."""

    status = 429

    def __init__(self, seconds: int):
        message = _(
            "Too many failed logins from your address: try again in %(seconds)d s.",
            seconds=seconds,
        )
        super().__init__(message)
        self.seconds = seconds


@dataclass(frozen=True)
class Attempt:
    """One authentication in progress: where it came from and when it was counted."""

    address: str
    page: str
    at: float


class Blocking:
    """Failure counters per address and page, the blocks they start, and their events."""

    def __init__(self, bus: EventBus, settings: dict, clock: Callable[[], float] = time.monotonic):
        self.bus = bus
        self.settings = settings
        self._clock = clock
        self._recent: dict[tuple[str, str | None], deque[float]] = {}
        self.blocked: dict[str, float] = {}  # address -> when its block ends
        self._floods: dict[str, list] = {}  # address -> [window end, failure events]

    def apply(self, settings: dict) -> None:
        """New limits; turning blocking off ends every block now."""
        self.settings = settings
        if not settings["blocking"]:
            for address in list(self.blocked):
                self._end(address)

    def retry_after(self, address: str) -> int | None:
        """Seconds left of the address's block, or None when it is not blocked."""
        end = self.blocked.get(address)
        if end is None:
            return None
        left = end - self._clock()
        if left <= 0:
            self._end(address)
            return None
        return max(1, math.ceil(left))

    def begin(self, address: str, page: str) -> Attempt:
        """Count an attempt before its password is checked; raise Blocked instead."""
        seconds = self.retry_after(address)
        if seconds:
            raise Blocked(seconds)
        now = self._clock()
        if self.settings["blocking"] and self._over_limit(address, page, now):
            self._block(address, page)
            raise Blocked(self.settings["blocking_period"])
        for key in ((address, page), (address, None)):
            self._recent.setdefault(key, deque()).append(now)
        self._forget_idle(now)
        return Attempt(address, page, now)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the attempt is no failure."""
        for key in ((attempt.address, attempt.page), (attempt.address, None)):
            times = self._recent.get(key)
            if times and attempt.at in times:
                times.remove(attempt.at)

    def failed(self, attempt: Attempt, user: str | None, method: str) -> None:
        """An event for the failure, or a count toward the flood's summary."""
        flood = self._flood(attempt.address)
        flood[1] += 1
        if flood[1] <= FLOOD_EVENTS:
            source = {"user": user}
            self.bus.publish(FAILED_TOPIC, source, {"address": attempt.address, "method": method})
        elif flood[1] == FLOOD_EVENTS + 1:
            gevent.spawn_later(flood[0] - self._clock(), self._summarise, attempt.address, method)

    def status(self) -> dict:
        """The addresses blocked now and the seconds left of each."""
        blocked = [(a, self.retry_after(a)) for a in list(self.blocked)]
        return {"blocked": [{"address": a, "seconds": s} for a, s in blocked if s]}

    def _over_limit(self, address: str, page: str, now: float) -> bool:
        limits = ((page, self.settings["page_failures"]), (None, self.settings["device_failures"]))
        for key, limit in limits:
            times = self._recent.get((address, key), ())
            while times and times[0] <= now - WINDOW:
                times.popleft()
            if len(times) >= limit:
                return True
        return False

    def _block(self, address: str, page: str) -> None:
        period = self.settings["blocking_period"]
        self.blocked[address] = self._clock() + period
        data = {"state": True, "seconds": period, "page": page}
        self.bus.publish(BLOCK_TOPIC, {"address": address}, data, {"address": address}, True)
        gevent.spawn_later(period, self.retry_after, address)

    def _end(self, address: str) -> None:
        if self.blocked.pop(address, None) is None:
            return
        for key in [k for k in self._recent if k[0] == address]:
            del self._recent[key]
        data = {"state": False}
        self.bus.publish(BLOCK_TOPIC, {"address": address}, data, {"address": address}, True)

    def _flood(self, address: str) -> list:
        now = self._clock()
        flood = self._floods.get(address)
        if flood is None or flood[0] <= now:
            self._forget_floods(now)
            flood = self._floods[address] = [now + FLOOD_SECONDS, 0]
        return flood

    def _forget_floods(self, now: float) -> None:
        """Drop ended windows that need no summary (a flood's summary drops its own),
        when there are too many: many addresses must not grow them for ever."""
        if len(self._floods) <= MAX_ADDRESSES:
            return
        for address, (end, count) in list(self._floods.items()):
            if end <= now and count <= FLOOD_EVENTS:
                del self._floods[address]

    def _summarise(self, address: str, method: str) -> None:
        """One event for the failures of a flood that had none of their own."""
        flood = self._floods.pop(address, None)
        if flood and flood[1] > FLOOD_EVENTS:
            data = {"address": address, "method": method, "failures": flood[1] - FLOOD_EVENTS}
            self.bus.publish(FAILED_TOPIC, {"user": None}, {**data, "summary": True})

    def _forget_idle(self, now: float) -> None:
        """Drop the counters of addresses quiet for a second when there are too many."""
        if len(self._recent) <= MAX_ADDRESSES:
            return
        for key, times in list(self._recent.items()):
            if not times or times[-1] <= now - WINDOW:
                del self._recent[key]
