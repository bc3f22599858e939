"""The event bus: everything that happens is an event with an ONVIF-style topic.

Publishers never know the subscribers. Delivery is synchronous and in order, so a
subscriber must be quick: the event log, SSE streams and MQTT only queue the event
and do their slow work in their own greenlet or thread.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import gevent.queue

from doorctl.core.logs import actor

log = logging.getLogger(__name__)

Subscriber = Callable[["Event"], None]


@dataclass(frozen=True)
class Event:
    """One thing that happened, as the log, the API, SSE and MQTT see it."""

    id: int
    time: float
    topic: str
    source: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    key: dict = field(default_factory=dict)
    property: bool = False

    def to_dict(self) -> dict:
        """The event as JSON-ready data (the shape of /api/v1/events)."""
        return asdict(self)


def topic_matches(topic: str, prefixes: tuple[str, ...]) -> bool:
    """True when no prefix is given or the topic starts with one of them."""
    return not prefixes or topic.startswith(prefixes)


class EventBus:
    """One dispatcher for the whole appliance; a failing subscriber never breaks others."""

    def __init__(self, first_id: int = 1, clock: Callable[[], float] = time.time):
        self._ids = itertools.count(first_id)
        self._clock = clock
        self._subscribers: list[tuple[Subscriber, tuple[str, ...]]] = []

    def subscribe(self, callback: Subscriber, *prefixes: str) -> Callable[[], None]:
        """Call `callback` for every event whose topic starts with one of `prefixes`."""
        entry = (callback, tuple(prefixes))
        self._subscribers.append(entry)
        return lambda: self._subscribers.remove(entry) if entry in self._subscribers else None

    def publish(
        self,
        topic: str,
        source: dict | None = None,
        data: dict | None = None,
        key: dict | None = None,
        property: bool = False,
    ) -> Event:
        """Create an event, hand it to every matching subscriber and return it."""
        event = self.new(topic, source, data, key, property)
        self.deliver(event)
        return event

    def new(
        self,
        topic: str,
        source: dict | None = None,
        data: dict | None = None,
        key: dict | None = None,
        property: bool = False,
        by: dict | None = None,
    ) -> Event:
        """An event with the next id, not yet delivered (any thread may number one:
        a configuration change numbers its event inside its transaction), with the
        actor `by` or the one of the request it is made in (core/logs/actor.py)."""
        data = actor.stamped(data, by or actor.current())
        return Event(next(self._ids), self._clock(), topic, source or {}, data, key or {}, property)

    def deliver(self, event: Event, skip: Subscriber | None = None) -> None:
        """Hand an event to every matching subscriber but `skip` (the log that stored it)."""
        for callback, prefixes in list(self._subscribers):
            if callback != skip and topic_matches(event.topic, prefixes):
                self._deliver(callback, event)

    def relay(self, happened: dict) -> Event:
        """Number and deliver an event that happened in the engine process, keeping
        the time it happened there (one numbering for the whole appliance)."""
        fields = {k: happened[k] for k in ("topic", "source", "data", "key", "property")}
        event = Event(next(self._ids), happened["time"], **fields)
        self.deliver(event)
        return event

    @staticmethod
    def _deliver(callback: Subscriber, event: Event) -> None:
        try:
            callback(event)
        except Exception:
            log.exception("event subscriber %r failed on %s", callback, event.topic)


class Listeners:
    """The callbacks a service has registered (on board ports or the bus), so that
    stop() can take every one back and a restart does not double them."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def add(self, unsubscribe: Callable[[], None]) -> None:
        """Keep what a registration returned for undoing it."""
        self._undo.append(unsubscribe)

    def clear(self) -> None:
        """Undo every registration."""
        for unsubscribe in self._undo:
            unsubscribe()
        self._undo = []


class Subscription:
    """A bounded queue of events for one slow consumer (a browser's SSE stream).

    When the consumer falls behind, new events are dropped and counted rather than
    letting memory grow or the publisher wait.
    """

    def __init__(self, bus: EventBus, prefixes: tuple[str, ...] = (), maxsize: int = 1000):
        self.queue: gevent.queue.Queue = gevent.queue.Queue(maxsize)
        self.dropped = 0
        self._unsubscribe = bus.subscribe(self._put, *prefixes)

    def _put(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except gevent.queue.Full:
            self.dropped += 1

    def get(self, timeout: float) -> Event | None:
        """The next event, or None when none came within `timeout` seconds."""
        try:
            return self.queue.get(timeout=timeout)
        except gevent.queue.Empty:
            return None

    def close(self) -> None:
        """Stop receiving events."""
        self._unsubscribe()
