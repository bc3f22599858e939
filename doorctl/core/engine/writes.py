"""Store writes in the engine process (a reader added, a key rotated).

The web process numbers and logs every event, so the engine commits its change on
a connection of its own and hands the change's events to the bus afterwards: they go
up the link and the web logs them. The audit line is therefore written just after the
change rather than in its transaction (a power cut in between loses that line, not
the change); moving these writes into the web process closes that gap.

The commit runs on a disk writer's thread: with synchronous FULL it waits for the SD
card, and SQLite may wait its busy timeout while the web process writes; on the hub
either would hold up every reader poll.
"""

from __future__ import annotations

import time
from functools import partial

from doorctl.core.diskwriter import DiskWriter
from doorctl.core.events import Event, EventBus
from doorctl.core.logs import actor
from doorctl.core.store import Change, Store, transact


class EngineWrites:
    """Store.writer for the engine process: commit off the hub, publish the events after."""

    def __init__(self, store: Store, bus: EventBus):
        self.store = store
        self.bus = bus
        self.disk = DiskWriter(store.path, lambda conn: None, lambda: False)

    def start(self) -> None:
        """Start the writer's thread (before it, writes run inline: start-up only)."""
        self.disk.start()

    def stop(self) -> None:
        """Stop the writer's thread."""
        self.disk.stop()

    def apply(self, settings: dict) -> None:
        """No settings of its own."""

    def status(self) -> dict:
        """Nothing to report beyond the readers' own status."""
        return {}

    def __call__(self, change: Change, *args, after=None):
        result, events = self.disk.call(_commit, change, args, actor.current())
        try:
            if after is not None:
                after(result)
        finally:
            for event in events:
                self.bus.deliver(event)
        return result


def _commit(conn, change: Change, args: tuple, by: dict | None) -> tuple:
    """The change in one transaction (writer thread), its events naming the actor `by`;
    its result and its events."""
    return transact(conn, partial(_unnumbered, by=by), change, args, log_events=False)


def _unnumbered(topic: str, source=None, data=None, key=None, by=None) -> Event:
    """An event the web process numbers when it arrives."""
    return Event(0, time.time(), topic, source or {}, actor.stamped(data, by), key or {})
