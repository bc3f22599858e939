"""Store writes in the engine process (a reader added, a key rotated).

The web process numbers and logs every event, so the engine commits its change on
its own connection and hands the change's events to the bus afterwards: they go up
the link and the web logs them. The audit line is therefore written just after the
change rather than in its transaction (a power cut in between loses that line, not
the change); moving these writes into the web process closes that gap.
"""

from __future__ import annotations

import time

from doorctl.core.events import Event, EventBus
from doorctl.core.store import Change, Store, transact


class EngineWrites:
    """Store.writer for the engine process: commit here, publish the events after."""

    def __init__(self, store: Store, bus: EventBus):
        self.store = store
        self.bus = bus

    def __call__(self, change: Change, *args, after=None):
        result, events = transact(self.store.conn, _unnumbered, change, args, log_events=False)
        try:
            if after is not None:
                after(result)
        finally:
            for event in events:
                self.bus.deliver(event)
        return result


def _unnumbered(topic: str, source=None, data=None, key=None) -> Event:
    """An event the web process numbers when it arrives."""
    return Event(0, time.time(), topic, source or {}, data or {}, key or {})
