"""Store and forward: QoS 1 and 2 publications wait in SQLite until the broker acks them.

A row is written before it is handed to paho and deleted only when paho reports
the broker's acknowledgement (PUBACK for QoS 1, PUBCOMP for QoS 2), so neither a
broker restart nor a doorctl restart loses one. Writes with synchronous FULL wait
for the SD card, so, as in the event log, a writer greenlet hands batches to a
thread of its own with its own connection; the hub never waits for the disk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

import gevent
import gevent.event
from gevent.threadpool import ThreadPool

from doorctl.core.store import Store, connect


@dataclass(frozen=True)
class Row:
    """One queued publication."""

    id: int
    topic: str
    payload: bytes
    qos: int
    retain: bool


class Outbox:
    """The persistent, bounded queue of QoS 1 and 2 publications, oldest dropped first."""

    def __init__(self, store: Store, limit: int = 10000):
        self.store = store
        self.limit = limit
        self.dropped = 0
        self.queued = 0
        self.on_written: Callable[[], None] = lambda: None
        self._new: list[tuple] = []
        self._acked: list[int] = []
        self._wake = gevent.event.Event()
        self._idle = gevent.event.Event()
        self._idle.set()
        self._pool: ThreadPool | None = None
        self._writer: gevent.Greenlet | None = None
        self._conn: sqlite3.Connection | None = None

    def start(self) -> None:
        """Start the writer greenlet and its thread."""
        if self._writer is None:
            self._pool = ThreadPool(1)
            self._writer = gevent.spawn(self._run)
            self._wake.set()

    def stop(self) -> None:
        """Write what is pending, then stop the writer."""
        if self._writer is not None:
            self.flush()
            self._writer.kill()
            self._pool.kill()
            self._writer = self._pool = None

    def add(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        """Queue a publication for writing (never blocks)."""
        self._new.append((topic, payload, qos, int(retain)))
        self._poke()

    def ack(self, row_id: int) -> None:
        """The broker has the row's message: delete it (never blocks)."""
        self._acked.append(row_id)
        self._poke()

    def flush(self, timeout: float = 10) -> None:
        """Wait until every pending write is on disk."""
        if self._writer is not None:
            self._idle.wait(timeout)

    def rows(self, after: int, limit: int) -> list[Row]:
        """The oldest rows with an id above `after`, read on the writer's thread."""
        return [] if self._pool is None else self._pool.apply(self._read, (after, limit))

    def _poke(self) -> None:
        self._idle.clear()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            self._pool.apply(self._write)
            self.on_written()
            if not self._new and not self._acked:
                self._idle.set()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect(self.store.path)
        return self._conn

    def _write(self) -> None:
        """Insert new rows, delete acked ones and trim to the limit, in one transaction."""
        new, self._new = self._new, []
        acked, self._acked = self._acked, []
        conn = self._db()
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO mqtt_outbox (topic, payload, qos, retain) VALUES (?, ?, ?, ?)", new
            )
            conn.executemany("DELETE FROM mqtt_outbox WHERE id = ?", [(i,) for i in acked])
            self.dropped += conn.execute(
                "DELETE FROM mqtt_outbox WHERE id <= "
                "(SELECT id FROM mqtt_outbox ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (self.limit,),
            ).rowcount
            self.queued = conn.execute("SELECT count(*) FROM mqtt_outbox").fetchone()[0]

    def _read(self, after: int, limit: int) -> list[Row]:
        rows = self._db().execute(
            "SELECT id, topic, payload, qos, retain FROM mqtt_outbox WHERE id > ? "
            "ORDER BY id LIMIT ?",
            (after, limit),
        )
        return [Row(r[0], r[1], bytes(r[2]), r[3], bool(r[4])) for r in rows]
