"""The SQLite store: one file in the data directory, migrated by `PRAGMA user_version`.

WAL with synchronous FULL so that an acknowledged write survives a power cut; the
Pi's SD card is the only disk most installations have.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
from importlib import resources
from pathlib import Path

DB_NAME = "doorctl.sqlite3"
SECRET_KEY_NAME = "secret_key"
MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


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


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration newer than the database's user_version; return the version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, script in migrations():
        if number > version:
            conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
            version = number
    return version


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


class Store:
    """The device's database connection, migrated and ready."""

    def __init__(self, data_dir: Path):
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_NAME
        self.conn = connect(self.path)
        self.version = migrate(self.conn)

    def execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        """Run one statement in autocommit mode."""
        return self.conn.execute(sql, params)

    def transaction(self) -> sqlite3.Connection:
        """A `with` block that commits on success and rolls back on error."""
        return _Transaction(self.conn)

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite)."""
        self.conn.close()


class _Transaction:
    """BEGIN IMMEDIATE .. COMMIT, so that concurrent writers wait instead of failing."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
