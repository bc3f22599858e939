"""Getting edges from a foreign (native) thread onto the gevent hub.

RPi.GPIO calls edge callbacks on its own native thread (with rpi-lgpio: lgpio's
notification thread), where touching greenlets or the hub is unsafe. The callback only
appends to a buffer under a real (unpatched) lock and wakes the hub with an async
watcher; a greenlet on the hub does the work.
"""

from __future__ import annotations

import logging
import time
from collections import deque

import gevent
from gevent import monkey

log = logging.getLogger(__name__)

# The native lock, even after monkey.patch_all(): the other side is a real OS thread.
_allocate_native_lock = monkey.get_original("_thread", "allocate_lock")


class EdgeQueue:
    """Carries edges from RPi.GPIO's callback thread to a handler on the hub."""

    def __init__(self, handler):
        self._handler = handler
        self._lock = _allocate_native_lock()
        self._edges: deque[tuple[int, float]] = deque()
        self._drainer: gevent.Greenlet | None = None
        self._wakeup = gevent.get_hub().loop.async_()
        self._wakeup.start(self._schedule)

    def push(self, channel: int) -> None:
        """Foreign thread: remember the edge and wake the hub; nothing else."""
        with self._lock:
            self._edges.append((channel, time.monotonic()))
        self._wakeup.send()

    def _schedule(self) -> None:
        """Hub loop: start a drain greenlet, since listeners may sleep or switch."""
        if self._drainer is None or self._drainer.dead:
            self._drainer = gevent.spawn(self._drain)

    def _drain(self) -> None:
        """Hub: hand every buffered edge to the handler, in arrival order."""
        while True:
            with self._lock:
                if not self._edges:
                    return
                channel, when = self._edges.popleft()
            try:
                self._handler(channel, when)
            except Exception:
                log.exception("GPIO edge handler failed for GPIO %s", channel)

    def close(self) -> None:
        """Stop waking the hub."""
        if self._drainer is not None:
            self._drainer.kill(block=False)
        self._wakeup.stop()
        self._wakeup.close()
