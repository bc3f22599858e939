"""The engine's events on their way up the link, from a greenlet of their own.

An event is published by whatever greenlet noticed it: a reader's poll, a door timer.
Sending it there would make that greenlet wait whenever the web process reads slowly
(its socket buffer full): a busy web would delay the next poll. The bus subscriber
only queues; a sender greenlet writes. The queue is bounded so that a web process that
stopped reading can't make the engine grow without end: past the bound an event is
dropped and counted, never waited for, and when there is room again an EventsLost
event takes the place of those dropped, saying how many, so the log shows the gap.
"""

from __future__ import annotations

import logging
import time
from collections import deque

import gevent
import gevent.event

from doorctl.core.engine.link import Link, LinkClosed
from doorctl.core.events import Event

log = logging.getLogger(__name__)
# About a minute of a busy door and its readers; a few MB at most.
QUEUE_LIMIT = 5000
EVENTS_LOST = "tns1:Device/DoorEngine/EventsLost"


class EventSender:
    """Queue events (never blocks) and send them up the link in order."""

    def __init__(self, link: Link, limit: int = QUEUE_LIMIT):
        self.link = link
        self.limit = limit
        self.dropped = 0
        self.dropped_total = 0
        self._queue: deque[dict] = deque()  # messages: {"event": ...}, {"ready": true}
        self._wake = gevent.event.Event()
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        """Start sending."""
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        """Stop sending (what is queued stays unsent: the link is closing)."""
        if self._greenlet is not None:
            self._greenlet.kill()

    def put(self, event: Event) -> None:
        """A bus subscriber: queue the event, or count it as dropped when the queue is full."""
        if len(self._queue) >= self.limit:
            self.dropped += 1
            self.dropped_total += 1
            return
        if self.dropped:
            self._queue.append(self._lost_notice())
        self.send_in_order({"event": event.to_dict()})

    def put_log(self, entries: list[dict]) -> bool:
        """Queue log records for the web's System log; False when the queue is full."""
        if len(self._queue) >= self.limit:
            return False
        self.send_in_order({"log": entries})
        return True

    def send_in_order(self, message: dict) -> None:
        """Queue a message to go after the events queued before it."""
        self._queue.append(message)
        self._wake.set()

    def status(self) -> dict:
        """Events waiting to be sent, and how many were dropped since the engine started."""
        return {"queued": len(self._queue), "dropped": self.dropped_total}

    def _lost_notice(self) -> dict:
        count, self.dropped = self.dropped, 0
        log.error("the web process read too slowly: %d engine events dropped", count)
        notice = Event(0, time.time(), EVENTS_LOST, {}, {"count": count, "limit": self.limit})
        return {"event": notice.to_dict()}

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            while self._queue or self.dropped:
                if not self._queue:  # drained: the gap is told even if nothing follows
                    self._queue.append(self._lost_notice())
                try:
                    self.link.send(self._queue[0])
                except LinkClosed:
                    return  # the web process is gone; the engine stops
                self._queue.popleft()
