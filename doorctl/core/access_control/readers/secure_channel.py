"""A required secure channel that can't be set up: an event saying why, and the alarm.

The bus reports each failed setup once, then retries every few seconds. A reader in
"required" mode that fails is *failing*: one SecureChannelFailure event names the
cause in words, and the reader secure channel alarm (Alarms) follows it. A new cause
is told at most once a minute; a reader stops failing only when its channel has
stayed up for a minute, so a reader that fails on and off gives one alarm, not one
a second. doorctl never re-keys a reader to get out of this: an administrator enters
the right key, or puts the reader in install mode.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gevent

from .topics import SECURE_CHANNEL_FAILURE

# How long a failing reader's channel must stay up before it stops failing, and how
# often at most a new cause of failure is published.
HOLD = 60.0
CAUSES = {
    "no_key": "No key is stored for this reader: enter its key on the Peripherals page.",
    "wrong_key": "The reader has another key than the one stored for it (wrong key).",
    "no_secure_answer": "The reader does not answer in secure mode.",
    "mac": "The reader's messages fail their MAC check.",
}


@dataclass
class Failing:
    """A reader's failing secure channel: why, and when it was last told and seen."""

    cause: str
    told: float
    last: float


class SecureChannelWatch:
    """Readers' required secure channels: failing, with its cause, or not."""

    hold = HOLD

    def _watch_failed(self, reader_id: str, data: dict) -> None:
        """A setup failed: start failing, or tell a new cause (at most once per hold)."""
        if self._configs[reader_id]["secure_channel"] != "required":
            return
        cause, now = data.get("cause", "mac"), time.monotonic()
        failing = self._failing.get(reader_id)
        if failing is None or (failing.cause != cause and now - failing.told >= self.hold):
            failing = self._failing[reader_id] = Failing(cause, now, now)
            reason = CAUSES.get(cause, CAUSES["mac"])
            data = {"failing": True, "cause": cause, "reason": reason}
            self._publish(SECURE_CHANNEL_FAILURE, reader_id, data, property=True)
        failing.last = now

    def _watch_up(self, reader_id: str) -> None:
        """The channel is up: a failing reader is cleared once it has stayed up a while."""
        failing = self._failing.get(reader_id)
        if failing is not None:
            gevent.spawn_later(self.hold, self._clear_if_up, reader_id, failing, time.monotonic())

    def _clear_if_up(self, reader_id: str, failing: Failing, up_since: float) -> None:
        if self._failing.get(reader_id) is not failing or failing.last > up_since:
            return
        if reader_id in self._configs and self.get(reader_id)["sc"] == "up":
            self._stop_failing(reader_id)

    def _stop_failing(self, reader_id: str) -> None:
        """No longer failing (cleared, reconfigured or removed): the alarm ends."""
        if self._failing.pop(reader_id, None) is not None and reader_id in self._configs:
            self._publish(SECURE_CHANNEL_FAILURE, reader_id, {"failing": False}, property=True)
