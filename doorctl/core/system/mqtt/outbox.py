"""Store and forward: QoS 1 and 2 publications wait in SQLite until the broker acks them.

A row is written before it is handed to paho and deleted only when paho reports
the broker's acknowledgement (PUBACK for QoS 1, PUBCOMP for QoS 2), so neither a
broker restart nor a doorctl restart loses one. As in the event log, a DiskWriter
does the writes from a thread of its own; the hub never waits for the disk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from doorctl.core.diskwriter import DiskWriter
from doorctl.core.store import Store


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
        self._new: list[tuple] = []
        self._acked: list[int] = []
        self._writer = DiskWriter(store.path, self._write, lambda: bool(self._new or self._acked))

    @property
    def on_written(self) -> Callable[[], None]:
        """Called on the hub after each batch is on disk."""
        return self._writer.on_written

    @on_written.setter
    def on_written(self, callback: Callable[[], None]) -> None:
        self._writer.on_written = callback

    def start(self) -> None:
        """Start the writer greenlet and its thread."""
        self._writer.start()

    def stop(self) -> None:
        """Write what is pending, then stop the writer."""
        self._writer.stop()

    def add(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        """Queue a publication for writing (never blocks)."""
        self._new.append((topic, payload, qos, int(retain)))
        self._writer.poke()

    def ack(self, row_id: int) -> None:
        """The broker has the row's message: delete it (never blocks)."""
        self._acked.append(row_id)
        self._writer.poke()

    def rows(self, after: int, limit: int) -> list[Row]:
        """The oldest rows with an id above `after`, read on the writer's thread."""
        return self._writer.call(self._read, after, limit)

    def _write(self, conn: sqlite3.Connection) -> None:
        """Insert new rows, delete acked ones and trim to the limit, in one transaction."""
        new, self._new = self._new, []
        acked, self._acked = self._acked, []
        try:
            self._commit(conn, new, acked)
        except sqlite3.Error:
            self._new[:0] = new  # kept, before what came meanwhile, for the next write
            self._acked[:0] = acked
            raise

    def _commit(self, conn: sqlite3.Connection, new: list[tuple], acked: list[int]) -> None:
        """The rows in, the acked out, the oldest beyond the limit dropped: one commit."""
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

    def _read(self, conn: sqlite3.Connection, after: int, limit: int) -> list[Row]:
        rows = conn.execute(
            "SELECT id, topic, payload, qos, retain FROM mqtt_outbox WHERE id > ? "
            "ORDER BY id LIMIT ?",
            (after, limit),
        )
        return [Row(r[0], r[1], bytes(r[2]), r[3], bool(r[4])) for r in rows]
