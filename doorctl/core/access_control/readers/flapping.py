"""A reader's secure channel going up and down, told sparingly.

While a reader's replies keep failing their MAC check, the bus drops the channel and
sets it up again every few seconds: up, down, failed, up... Each change as its own
event would fill the log. So the first BURST changes of a FLAP_WINDOW are told as they
come (a channel that goes down and comes back is two events); the ones after them are
held back and told at the window's end as one event with their count (``changes``)
and the state at its end. A real recovery is not hidden: a held-back channel that
comes up and stays up STEADY seconds is told then. The SecureChannelFailure event and
its alarm have their own pacing (secure_channel).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import gevent

from .topics import SECURE_CHANNEL

FLAP_WINDOW = 60.0
BURST = 2
STEADY = 10.0


@dataclass
class Flaps:
    """A reader's window: when it began, the events told in it, the changes held back."""

    since: float
    told: int = 0
    held: list = field(default_factory=list)
    timer: gevent.Greenlet | None = None


class SecureChannelFlaps:
    """Readers' secure channel states as SecureChannel events, flapping summarised."""

    flap_window = FLAP_WINDOW
    steady = STEADY

    def _secure_channel_changed(self, reader_id: str, state: str, data: dict) -> None:
        """Tell the change now, or hold it for the window's summary."""
        flaps = self._flaps.get(reader_id)
        now = time.monotonic()
        if flaps is None or (now - flaps.since >= self.flap_window and not flaps.held):
            flaps = self._flaps[reader_id] = Flaps(now)
        if flaps.told < BURST and not flaps.held:
            flaps.told += 1
            self._tell(reader_id, {"state": state, **data})
            return
        flaps.held.append({"state": state, **data})
        if flaps.timer is None:
            wait = max(0.0, flaps.since + self.flap_window - now)
            flaps.timer = gevent.spawn_later(wait, self._summarise, reader_id, flaps)
        if state == "up":
            gevent.spawn_later(self.steady, self._if_steady, reader_id, flaps, len(flaps.held))

    def _if_steady(self, reader_id: str, flaps: Flaps, held: int) -> None:
        """The channel came up and nothing changed since: that is a recovery, tell it."""
        if len(flaps.held) == held:
            self._summarise(reader_id, flaps)

    def _summarise(self, reader_id: str, flaps: Flaps) -> None:
        """One event for the changes held back: the last state, and how many there were."""
        if self._flaps.get(reader_id) is not flaps or not flaps.held:
            return
        if flaps.timer is not None and flaps.timer is not gevent.getcurrent():
            flaps.timer.kill(block=False)
        # The summary is the first event of a new window.
        self._flaps[reader_id] = Flaps(time.monotonic(), told=1)
        self._tell(reader_id, {**flaps.held[-1], "changes": len(flaps.held)})

    def _tell(self, reader_id: str, data: dict) -> None:
        """Publish the reader's secure channel state."""
        if self.running and reader_id in self._configs:
            self._publish(SECURE_CHANNEL, reader_id, data, property=True)
