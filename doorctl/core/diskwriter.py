"""Writes to SQLite off the hub: a greenlet hands batches to one thread of its own.

With synchronous FULL a commit waits for the SD card, which can take tens of
milliseconds; done on the hub it would stall reader polling and door timers. Queue
the work in memory, poke() the writer, and it runs `write(conn)` on its thread with
its own connection. flush() waits until the queue is on disk. A write that fails
(another process held the database past SQLite's busy wait, the card is full) is
logged and tried again, with what it did not take still queued.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import gevent
import gevent.event
from gevent.threadpool import ThreadPool

from doorctl.core.store import connect
from doorctl.core.waiting import off_hub

log = logging.getLogger(__name__)
# Seconds before a failed write is tried again (SQLite has already waited its busy
# timeout): the log is not flooded while an import holds the database.
RETRY_DELAY = 1.0


class DiskWriter:
    """A writer greenlet and its thread; `write(conn)` drains what the owner queued."""

    def __init__(
        self,
        path: Path,
        write: Callable[[sqlite3.Connection], None],
        pending: Callable[[], bool],
    ):
        self.path = path
        self.on_written: Callable[[], None] = lambda: None
        self._write = write
        self._pending = pending
        self._wake = gevent.event.Event()
        self._idle = gevent.event.Event()
        self._idle.set()
        self._pool: ThreadPool | None = None
        self._greenlet: gevent.Greenlet | None = None
        self._conn: sqlite3.Connection | None = None

    def start(self) -> None:
        """Start the writer greenlet and its thread; write anything already queued."""
        if self._greenlet is None:
            self._pool = ThreadPool(1)
            self._greenlet = gevent.spawn(self._run)
            self.poke()

    def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._greenlet is not None:
            self.flush()
            self._greenlet.kill()
            self._pool.kill()
            self._greenlet = self._pool = None

    def poke(self) -> None:
        """Something was queued: wake the writer (never blocks)."""
        self._idle.clear()
        self._wake.set()

    def flush(self, timeout: float = 10) -> None:
        """Wait until everything queued is on disk (written inline when not started)."""
        if self._greenlet is None:
            self._write(self._db())
            self._idle.set()
        else:
            with off_hub():
                self._idle.wait(timeout)

    def call(self, function: Callable, *args):
        """Run `function(conn, *args)` on the writer's thread, e.g. to read what it wrote."""
        if self._pool is None:
            return function(self._db(), *args)
        with off_hub():  # the thread may wait SQLite's busy timeout for another's lock
            return self._pool.apply(function, (self._db(), *args))

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect(self.path)
        return self._conn

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                self._pool.apply(self._write, (self._db(),))
            except sqlite3.Error as error:
                log.error("writing to the database failed, trying again: %s", error)
                gevent.sleep(RETRY_DELAY)
                self._wake.set()
                continue
            self.on_written()
            if not self._pending():
                self._idle.set()


class DiskReader:
    """A thread with its own connection for long reads (a filter over a long log), so
    that they never hold up the writer's commits nor stall the hub."""

    def __init__(self, path: Path):
        self.path = path
        self._pool: ThreadPool | None = None
        self._conn: sqlite3.Connection | None = None

    def start(self) -> None:
        """Start the reading thread."""
        if self._pool is None:
            self._pool = ThreadPool(1)

    def stop(self) -> None:
        """Stop the reading thread (reads then run inline)."""
        if self._pool is not None:
            self._pool.kill()
            self._pool = None

    def call(self, function: Callable, *args):
        """Run `function(conn, *args)` on the reading thread and return its result."""
        if self._conn is None:
            self._conn = connect(self.path)
        if self._pool is None:
            return function(self._conn, *args)
        with off_hub():
            return self._pool.apply(function, (self._conn, *args))
