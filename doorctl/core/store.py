"""The SQLite store: one file in the data directory, migrated by `PRAGMA user_version`.

WAL with synchronous FULL so that an acknowledged write survives a power cut; the
Pi's SD card is the only disk most installations have.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from doorctl.core.events import Event

DB_NAME = "doorctl.sqlite3"
SECRET_KEY_NAME = "secret_key"
MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
INSERT_EVENT = "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)"

NewEvent = Callable[..., Event]
Change = Callable[..., object]


def connect(path: Path) -> sqlite3.Connection:
    """Open the database with the pragmas every connection of doorctl needs."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def migrations() -> list[tuple[int, str]]:
    """The numbered SQL scripts shipped in core/migrations, in order."""
    found = []
    for entry in resources.files("doorctl.core.migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(conn: sqlite3.Connection, between: Callable[[], None] = lambda: None) -> int:
    """Apply every migration newer than the database's user_version, each in its own
    transaction, calling `between()` between two of them; return the version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for index, (number, script) in enumerate(n for n in migrations() if n[0] > version):
        if index:
            between()
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
        version = number
    return version


def _test_hold(data_dir: Path) -> None:
    """Test only: the firmware tests' hold point between two migrations (firmware.hold)."""
    from doorctl.core.maintenance import firmware

    firmware.hold(firmware.configured_dir(data_dir), "migrate")


def private_dir(data_dir: Path) -> None:
    """Make the data directory readable by its owner only, whatever the umask."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)


def private_files(db_path: Path) -> None:
    """Create the database 0600 (it holds password hashes); SQLite gives its -wal and
    -shm the database's mode, and older ones are narrowed here."""
    os.close(os.open(db_path, os.O_WRONLY | os.O_CREAT, 0o600))
    for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        if path.exists():
            os.chmod(path, 0o600)


def secret_key(data_dir: Path) -> bytes:
    """The per-device secret, created on first start with mode 0600 and never shown."""
    path = data_dir / SECRET_KEY_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        key = secrets.token_bytes(32)
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    return key


class Transaction:
    """The connection of one write transaction, and the events it commits with it."""

    def __init__(self, conn: sqlite3.Connection, new_event: NewEvent, log_events: bool = True):
        self.conn = conn
        self.events: list[Event] = []
        self._new_event = new_event
        self._log_events = log_events

    def execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        """Run one statement inside the transaction."""
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows) -> sqlite3.Cursor:
        """Run one statement for each row inside the transaction."""
        return self.conn.executemany(sql, rows)

    def event(
        self, topic: str, source: dict | None = None, data: dict | None = None, key=None
    ) -> Event:
        """Log an event in this transaction: it is on disk exactly when the change is."""
        event = self._new_event(topic, source, data, key)
        if self._log_events:
            self.conn.execute(INSERT_EVENT, event_row(event))
        self.events.append(event)
        return event


def transact(
    conn, new_event: NewEvent, change: Change, args: tuple, first=None, log_events=True
) -> tuple:
    """Run `change(tx, *args)` in BEGIN IMMEDIATE .. COMMIT; return its result and events.

    `first(conn)` writes in the same transaction and is committed even when the change
    fails: the event log puts its queued events there (a group commit). Without
    `log_events` the events are only returned (the engine process's: the web logs them).
    """
    tx = Transaction(conn, new_event, log_events)
    conn.execute("BEGIN IMMEDIATE")
    try:
        if first is not None:
            first(conn)
        conn.execute("SAVEPOINT change")
        try:
            result = change(tx, *args)
        except Exception:
            conn.execute("ROLLBACK TO change")
            conn.execute("COMMIT")
            raise
        conn.execute("COMMIT")
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    return result, tx.events


def event_row(event: Event) -> tuple:
    """An event as a row of the events table."""
    return (
        event.id,
        event.time,
        event.topic,
        json.dumps(event.source),
        json.dumps(event.data),
        json.dumps(event.key),
        int(event.property),
    )


class Store:
    """The device's database connection, migrated and ready.

    Reads run on the caller's connection; writes go through `write()`, which the event
    log points at its own thread so that no commit (nor SQLite's busy wait) stalls the hub.
    """

    def __init__(self, data_dir: Path):
        private_dir(data_dir)
        self.path = data_dir / DB_NAME
        private_files(self.path)
        self.conn = connect(self.path)
        self.version = migrate(self.conn, lambda: _test_hold(data_dir))
        self.writer: Callable = self._write_here
        self.reader: Callable = self._read_here

    def execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        """Run one statement in autocommit mode (reads)."""
        return self.conn.execute(sql, params)

    def read(self, query: Callable, *args):
        """`query(conn, *args)` for a read that may scan many rows (a search, a page far
        in): the event log runs it on its reading thread, so the hub never waits for it."""
        return self.reader(query, *args)

    def write(self, change: Change, *args, after=None):
        """Run `change(tx, *args)` as one transaction with the events it logs; its result.

        `after(result)` runs once the change is on disk, before its events are published:
        a service takes a new record into use before anyone hears of the change.
        """
        return self.writer(change, *args, after=after)

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite)."""
        self.conn.close()

    def _read_here(self, query: Callable, *args):
        return query(self.conn, *args)

    def _write_here(self, change: Change, *args, after=None):
        """A store on its own (no event log): write on this connection, number events
        after the stored ones, and tell no one."""
        result = transact(self.conn, self._next_event, change, args)[0]
        if after is not None:
            after(result)
        return result

    def _next_event(self, topic: str, source=None, data=None, key=None) -> Event:
        last = self.conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
        return Event(last + 1, time.time(), topic, source or {}, data or {}, key or {})
