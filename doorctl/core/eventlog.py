"""The event log: every event on the bus, kept in SQLite up to a retention count.

The log only queues events from the bus; a DiskWriter puts them on disk from a
thread of its own, so a decision never waits for the SD card. Queued events go to
disk in batches (a group commit), within the time of one commit after the one in
progress. Configuration changes are written on the same thread, each in one
transaction with its event and with whatever events are queued.
"""

from __future__ import annotations

import json
import sqlite3
from collections import deque
from functools import partial

from flask_babel import format_number, lazy_gettext
from flask_babel import gettext as _
from wtforms import Form, IntegerField
from wtforms.validators import NumberRange, StopValidation

from doorctl.core.diskwriter import DiskReader, DiskWriter
from doorctl.core.events import Event, EventBus
from doorctl.core.logs import actor
from doorctl.core.store import INSERT_EVENT, Change, Store, event_row, transact

DEFAULT_RETENTION = 100_000
BATCH = 500
SECTION = "event_log"
# An event already stored (a change's, written with it) is never replaced, and a batch
# is never lost over one.
KEEP_FIRST = INSERT_EVENT.replace("INSERT", "INSERT OR IGNORE")


LEAST_KEPT, MOST_KEPT = 1000, 10_000_000


class EventCount(IntegerField):
    """A number of events: a JSON whole number, or digits typed in the page's form."""

    def process_formdata(self, valuelist):
        if valuelist:
            text = valuelist[0].strip().replace(",", "").replace(" ", "")
            self.data = int(text) if text.isascii() and text.isdigit() else text or None

    def process_data(self, value):
        whole_float = isinstance(value, float) and value.is_integer()
        self.data = int(value) if whole_float else value

    def pre_validate(self, form):
        number = self.data
        whole = isinstance(number, int) and not isinstance(number, bool)
        if not whole or not LEAST_KEPT <= number <= MOST_KEPT:
            raise StopValidation(
                _(
                    "%(label)s: enter a whole number from %(least)s to %(most)s.",
                    label=self.label.text,
                    least=format_number(LEAST_KEPT),
                    most=format_number(MOST_KEPT),
                )
            )


class EventLogSettings(Form):
    """Event log settings (Administrator): how many events the log keeps."""

    retention = EventCount(
        lazy_gettext("Events kept"),
        [NumberRange(LEAST_KEPT, MOST_KEPT)],
        default=DEFAULT_RETENTION,
        description=lazy_gettext("When the log holds more, the oldest events are removed."),
    )


def _row_to_event(row: sqlite3.Row) -> Event:
    return Event(
        row["id"],
        row["time"],
        row["topic"],
        json.loads(row["source"]),
        json.loads(row["data"]),
        json.loads(row["key"]),
        bool(row["property"]),
    )


class EventLog:
    """The bounded, persistent history of events that the Logs pages and the API read."""

    def __init__(self, store: Store, bus: EventBus, retention: int = DEFAULT_RETENTION):
        self.store = store
        self.retention = retention
        self._pending: deque[Event] = deque()
        self._unsure: list[Event] = []  # taken from the queue, not yet committed
        self._stored: int | None = None  # how many events the log holds (writer thread)
        self.bus = bus
        self._writer = DiskWriter(store.path, self._write_pending, lambda: bool(self._pending))
        self._reader = DiskReader(store.path)
        bus.subscribe(self.record)
        store.writer = self.write
        store.reader = self._reader.call

    def apply(self, settings: dict) -> None:
        """New event log settings: the retention applies from the next write."""
        self.retention = settings["retention"]

    def record(self, event: Event) -> None:
        """Queue an event for writing (the bus calls this; it never blocks)."""
        self._pending.append(event)
        self._writer.poke()

    def start(self) -> None:
        """Start writing (and reading) in the background."""
        self._writer.start()
        self._reader.start()

    def stop(self) -> None:
        """Write what is queued, then stop the writer."""
        self._reader.stop()
        self._writer.stop()

    def write(self, change: Change, *args, after=None):
        """Run `change(tx, *args)` on the writer's thread as one transaction with its
        events; once on disk, call `after(result)`, publish the events (the log has them
        already) and return the result."""
        result, events = self._writer.call(self._transact, change, args, actor.current())
        try:
            if after is not None:
                after(result)
        finally:
            for event in events:
                self.bus.deliver(event, skip=self.record)
        return result

    def logged_elsewhere(self, event: Event) -> None:
        """Publish an event another process committed (an import's), counted for the trim."""
        self._writer.call(self._count_one)
        self.bus.deliver(event, skip=self.record)

    def flush(self, timeout: float = 10) -> None:
        """Wait until every queued event is on disk."""
        self._writer.flush(timeout)

    def query(
        self,
        prefixes: tuple[str, ...] = (),
        since: float | None = None,
        until: float | None = None,
        before: int | None = None,
        limit: int = 100,
        after: int | None = None,
        match: tuple[tuple[str, object], ...] = (),
    ) -> tuple[list[Event], int | None]:
        """Events newest first, filtered by topic prefix, time, id and `match` (more SQL
        conditions with their value, or a tuple of values; None skips one); and the
        next page's cursor."""
        where, params = ["1"], []
        if prefixes:
            where.append("(" + " OR ".join("topic LIKE ? ESCAPE '\\'" for _ in prefixes) + ")")
            params += [_like_prefix(p) for p in prefixes]
        clauses = (("time >= ?", since), ("time < ?", until), ("id < ?", before), ("id > ?", after))
        for clause, value in (*clauses, *match):
            if value is not None:
                where.append(clause)
                params += value if isinstance(value, tuple) else [value]
        # The rows become events on the reading thread too: decoding a thousand rows'
        # JSON is CPU work that would otherwise stall the hub.
        events = self._reader.call(
            _fetch_events,
            f"SELECT * FROM events WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
            (*params, limit + 1),
        )
        return events[:limit], (events[limit - 1].id if len(events) > limit else None)

    def select(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        """Read the log on a thread of its own: a filter that scans a long log must
        neither stall reader polling on the hub nor hold up the writer's commits."""
        return self._reader.call(_fetch_all, sql, params)

    def _transact(self, conn: sqlite3.Connection, change: Change, args: tuple, by) -> tuple:
        """A change with the queued events in one commit, its events naming the actor
        `by` (writer thread)."""
        new = partial(self.bus.new, by=by)
        try:
            result, events = transact(conn, new, change, args, self._insert_pending)
        except sqlite3.Error:
            self._requeue()  # a change's own error may have committed them: kept first
            raise
        finally:
            self._unsure.clear()
        self._stored = None if self._stored is None else self._stored + len(events)
        return result, events

    def _count_one(self, conn: sqlite3.Connection) -> None:
        """One more event on disk than the writer wrote (writer thread)."""
        if self._stored is not None:
            self._stored += 1

    def _write_pending(self, conn: sqlite3.Connection) -> None:
        """Write queued events and trim the log to its retention (writer thread)."""
        while self._pending:
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._insert_pending(conn)
                conn.execute("COMMIT")
            except sqlite3.Error:
                self._requeue()
                raise
            finally:
                self._rollback(conn)
                self._unsure.clear()

    def _rollback(self, conn: sqlite3.Connection) -> None:
        """End a transaction left open by an error; the log's size is counted again."""
        if conn.in_transaction:
            conn.execute("ROLLBACK")
            self._stored = None

    def _requeue(self) -> None:
        """A transaction failed: its events go back to the head of the queue, for the
        next write, and the log's size is counted again (writer thread)."""
        self._pending.extendleft(reversed(self._unsure))
        self._unsure.clear()
        self._stored = None

    def _insert_pending(self, conn: sqlite3.Connection) -> None:
        """Insert what is queued, in batches, then trim (inside the caller's transaction)."""
        if not self._pending:
            return
        while self._pending:
            batch = [self._pending.popleft() for _ in range(min(BATCH, len(self._pending)))]
            self._unsure += batch
            conn.executemany(KEEP_FIRST, [event_row(e) for e in batch])
            if self._stored is not None:
                self._stored += len(batch)
        self._trim(conn)

    def _trim(self, conn: sqlite3.Connection) -> None:
        """Remove the oldest beyond the retention; the log's size is counted once, then
        kept, because finding the cut by counting back would walk the whole log."""
        if self._stored is None:
            self._stored = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        excess = self._stored - self.retention
        if excess > 0:
            self._stored -= conn.execute(
                "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?)",
                (excess,),
            ).rowcount


def last_id(store: Store) -> int:
    """The id of the newest stored event, 0 when the log is empty (the bus counts on)."""
    return store.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]


def _fetch_all(conn: sqlite3.Connection, sql: str, params: tuple) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def _fetch_events(conn: sqlite3.Connection, sql: str, params: tuple) -> list[Event]:
    return [_row_to_event(r) for r in conn.execute(sql, params)]


def _like_prefix(prefix: str) -> str:
    """A LIKE pattern matching topics that start with `prefix` literally."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
