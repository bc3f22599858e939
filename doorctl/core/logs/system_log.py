"""The system log: doorctl's own log records, kept on the device up to a bound.

A logging.Handler (Collector) takes the records of the web process (the hub) and, over
the engine link, those of the engine process. Taking one never blocks and is safe from
any thread (a writer thread's error, an RPi.GPIO callback): the record is queued in
memory and a libev async watcher wakes the hub, which hands the batch on. In the web
process a DiskWriter puts batches into SQLite from a thread of its own, and trims the
table to its bound; records past a full queue are counted and the count is logged in
their place, so a gap is always visible. Under systemd, the journal keeps the same
records (stderr) longer; this store is what the pages, the API and the server report read.
"""

from __future__ import annotations

import logging
import sqlite3
import traceback
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple

import gevent
from gevent.monkey import get_original

from doorctl.core.diskwriter import DiskReader, DiskWriter
from doorctl.core.store import Store

log = logging.getLogger(__name__)

# The levels a person filters by, lowest first; a filter shows its level and above.
LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
# Records kept; with MAX_MESSAGE this bounds the store to about 40 MB, typically 2 MB.
KEEP = 20_000
# Characters of one message kept (a traceback keeps its head and its end).
MAX_MESSAGE = 2000
# Records waiting in memory for the hub or the disk; more are counted as lost.
QUEUE_LIMIT = 5000
PROCESSES = ("hub", "engine")
MARK = "\n[...]\n"  # where a shortened message's middle was
INSERT = "INSERT INTO system_log (time, level, logger, message, process) VALUES (?, ?, ?, ?, ?)"


class Record(NamedTuple):
    """One stored log record."""

    id: int
    time: datetime  # UTC, aware
    level: str
    logger: str
    message: str
    process: str  # "hub" (the web process) or "engine"

    def to_dict(self) -> dict:
        """The record as JSON data (time in ISO 8601)."""
        return self._asdict() | {"time": self.time.isoformat()}


def level_name(number: int) -> str:
    """The name of a level number: the highest named level at or below it."""
    names = [name for name, n in LEVELS.items() if n <= number]
    return names[-1] if names else "DEBUG"


def entry(record: logging.LogRecord, process: str) -> dict:
    """A logging record as plain data that crosses the engine link and goes to disk."""
    message = record.getMessage()
    if record.exc_info:
        message += "\n" + logging.Formatter().formatException(record.exc_info)
    return {
        "time": record.created,
        "level": record.levelno,
        "logger": record.name,
        "message": shorten(message),
        "process": process,
    }


def shorten(message: str, most: int = MAX_MESSAGE) -> str:
    """A message within `most` characters: its head and its end (where a traceback's
    error is)."""
    if len(message) <= most:
        return message
    if most < len(MARK) + 2:
        return message[:most]
    head = (most - len(MARK)) // 2
    tail = most - len(MARK) - head
    return f"{message[:head]}{MARK}{message[-tail:]}"


def lost_entry(count: int, process: str) -> dict:
    """The record that stands in for records that were dropped."""
    record = logging.LogRecord(
        log.name,
        logging.WARNING,
        __file__,
        0,
        "log records lost, too many at once: %d",
        (count,),
        None,
    )
    return entry(record, process)


class Collector(logging.Handler):
    """A handler that queues records from any thread and hands them to `deliver` on the
    hub; `deliver(entries)` returns False when it can't take them (counted as lost)."""

    def __init__(self, deliver: Callable[[list[dict]], bool], process: str):
        super().__init__()
        self.process = process
        self.lost = 0
        self._deliver = deliver
        self._queue: deque[dict] = deque()
        self._wake = None
        # an OS lock even where threading is patched: a thread's send() and the hub's
        # close() of the watcher never overlap, and neither yields while holding it
        self._waking = get_original("_thread", "allocate_lock")()

    def install(self) -> None:
        """Take the records of every logger (the root's handlers see them all)."""
        if self._wake is None:
            self._wake = gevent.get_hub().loop.async_()
            self._wake.start(self._drain)
            logging.getLogger().addHandler(self)

    def uninstall(self) -> None:
        """Stop taking records; hand on what is queued."""
        if self._wake is not None:
            logging.getLogger().removeHandler(self)
            self._drain()
            with self._waking:
                wake, self._wake = self._wake, None
            wake.stop()
            wake.close()

    def handle(self, record: logging.LogRecord) -> bool:
        """Filter and queue, without the handler's lock (a deque append is atomic)."""
        passed = self.filter(record)
        if passed:
            self.emit(record)
        return bool(passed)

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record (or count it lost when the queue is full) and wake the hub."""
        if len(self._queue) >= QUEUE_LIMIT:
            self.lost += 1
            return
        try:
            self._queue.append(entry(record, self.process))
        except Exception:
            self.handleError(record)
            return
        with self._waking:
            if self._wake is not None:
                self._wake.send()  # thread-safe: ev_async_send

    def _drain(self) -> None:
        """On the hub: hand everything queued on, with a notice of what was lost."""
        entries = []
        while self._queue:
            entries.append(self._queue.popleft())
        if self.lost:
            lost, self.lost = self.lost, 0
            entries.append(lost_entry(lost, self.process))
        if entries and not self._deliver(entries):
            self.lost += len(entries)


class SystemLog:
    """The stored system log of the web process and the engine process."""

    def __init__(self, store: Store, keep: int = KEEP, process: str = "hub"):
        self.store = store
        self.keep = keep
        self.collector = Collector(self.take, process)
        self._pending: deque[dict] = deque()
        self._listeners: list[Callable[[], None]] = []
        self._intake: list[Callable[[list[dict]], None]] = []
        self._writer = DiskWriter(store.path, self._write, lambda: bool(self._pending))
        self._writer.on_written = self._written
        self._reader = DiskReader(store.path)

    def start(self) -> None:
        """Write in the background and take every log record of this process."""
        self._writer.start()
        self._reader.start()
        self.collector.install()

    def stop(self) -> None:
        """Stop taking records; write what is queued."""
        self.collector.uninstall()
        self._writer.stop()
        self._reader.stop()

    def apply(self, settings: dict) -> None:
        """No settings of its own: the bound is fixed."""

    def take(self, entries: list[dict]) -> bool:
        """Queue entries for the disk (never blocks); False when the queue is full."""
        if len(self._pending) + len(entries) > QUEUE_LIMIT:
            return False
        self._pending.extend(entries)
        self._writer.poke()
        for callback in list(self._intake):
            try:
                callback(entries)
            except Exception:
                traceback.print_exc()  # to the journal: a record here would come back
        return True

    def relay(self, entries: list[dict]) -> None:
        """Records the engine process sent up its link."""
        if not self.take([e | {"process": "engine"} for e in entries]):
            self.collector.lost += len(entries)

    def flush(self, timeout: float = 10) -> None:
        """Wait until the records queued so far are on disk."""
        self.collector._drain()
        self._writer.flush(timeout)

    def on_take(self, callback: Callable[[list[dict]], None]) -> None:
        """Call `callback(entries)` on the hub with every batch of records taken, of both
        processes, before they are on disk (the remote system log sends them)."""
        self._intake.append(callback)

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback()` on the hub after new records are on disk; returns the way
        to stop (a live page's stream)."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    def recent(
        self,
        limit: int = 100,
        level: str | int | None = None,
        search: str | None = None,
        before: int | datetime | None = None,
        after: int | None = None,
        since: datetime | float | None = None,
        until: datetime | float | None = None,
    ) -> list[Record]:
        """Stored records newest first: at `level` or above, with `search` in the
        message or the logger's name, before a record id or a time, after a record id,
        from `since` and before `until` (datetimes or epoch seconds)."""
        if isinstance(before, datetime):
            before, until = None, before
        where, params = _conditions(level, search, before, after, _epoch(since), _epoch(until))
        sql = f"SELECT * FROM system_log WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?"
        return self._reader.call(_fetch, sql, (*params, limit))

    def stats(self) -> dict:
        """How many records are kept, how many old ones were removed, and the bound."""
        kept, removed = self._reader.call(_counts)
        return {"kept": kept, "removed": removed, "keep": self.keep}

    def _written(self) -> None:
        for callback in list(self._listeners):
            try:
                callback()
            except Exception:
                log.exception("a system log listener failed")

    def _write(self, conn: sqlite3.Connection) -> None:
        """Insert what is queued and trim to the bound (writer thread)."""
        batch = [self._pending.popleft() for _ in range(len(self._pending))]
        if not batch:
            return
        rows = [(e["time"], e["level"], e["logger"], e["message"], e["process"]) for e in batch]
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(INSERT, rows)
            last = conn.execute("SELECT max(id) FROM system_log").fetchone()[0]
            conn.execute("DELETE FROM system_log WHERE id <= ?", (last - self.keep,))
            conn.execute("COMMIT")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._pending.extendleft(reversed(batch))
            raise


def parse_level(value: str | int | None) -> int | None:
    """A level's number from its name (any case) or number; ValueError for neither."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    return LEVELS[value.strip().upper()] if value.strip().upper() in LEVELS else _bad(value)


def _bad(value) -> int:
    raise ValueError(f"unknown level {value!r}")


def _epoch(moment: datetime | float | None) -> float | None:
    return moment.timestamp() if isinstance(moment, datetime) else moment


def _conditions(level, search, before, after, since, until) -> tuple[list[str], list]:
    where, params = ["1"], []
    number = parse_level(level)
    if number is not None:
        where.append("level >= ?")
        params.append(number)
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append("(message LIKE ? ESCAPE '\\' OR logger LIKE ? ESCAPE '\\')")
        params += [f"%{escaped}%"] * 2
    clauses = (("id < ?", before), ("id > ?", after), ("time >= ?", since), ("time < ?", until))
    for clause, value in clauses:
        if value is not None:
            where.append(clause)
            params.append(value)
    return where, params


def _fetch(conn: sqlite3.Connection, sql: str, params: tuple) -> list[Record]:
    return [
        Record(
            row["id"],
            datetime.fromtimestamp(row["time"], UTC),
            level_name(row["level"]),
            row["logger"],
            row["message"],
            row["process"],
        )
        for row in conn.execute(sql, params)
    ]


def _counts(conn: sqlite3.Connection) -> tuple[int, int]:
    kept = conn.execute("SELECT count(*) FROM system_log").fetchone()[0]
    given = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'system_log'").fetchone()
    return kept, (given[0] - kept if given else 0)
