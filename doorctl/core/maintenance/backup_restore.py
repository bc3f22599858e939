"""Restoring a backup: migrate its tables forward, seal its secrets with this unit's
key, and replace the configuration in one transaction.

The backup's rows go first into a scratch database in memory built by the real
migrations up to the backup's schema; the newer migrations then run over them, so a
backup of any older version arrives at this version's schema exactly as an upgraded
unit's database would. Nothing of it touches the disk in clear: the secrets are sealed
with this unit's device key before the one write transaction that swaps the
configuration in. Certificates' private keys are files: they are written sealed to a
directory beside the store's and swapped in after the commit.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

from flask_babel import gettext as _

from doorctl.core.access_control.pin_key import sealed_pin_key
from doorctl.core.maintenance.backup import (
    KIND,
    LATER_TABLES,
    SEALED_COLUMNS,
    TABLES,
    TOPIC_RESTORED,
    certificate_place,
)
from doorctl.core.maintenance.backup_file import BackupRefused
from doorctl.core.secrets import Sealer
from doorctl.core.store import Transaction, migrations


def refuse_not_backup() -> BackupRefused:
    """The refusal of a file that decrypts but holds no backup this version reads."""
    return BackupRefused("file", _("This file is not a doorctl backup."))


def check(content: dict, unit_schema: int) -> None:
    """Refuse content that is no backup, or one of a newer schema than this unit's."""
    tables = content.get("tables")
    schema = content.get("schema")
    if content.get("kind") != KIND or not isinstance(tables, dict) or not isinstance(schema, int):
        raise refuse_not_backup()
    if schema > unit_schema:
        raise BackupRefused("file", _("This backup was made by a newer version of doorctl."))
    if "settings" not in tables or not set(tables) <= set(TABLES):
        raise refuse_not_backup()


def migrated(content: dict) -> dict[str, list[dict]]:
    """The backup's rows at this version's schema, by table (secrets still in clear);
    a table of LATER_TABLES that the backup does not hold is not among them."""
    scratch = sqlite3.connect(":memory:", isolation_level=None)
    scratch.row_factory = sqlite3.Row
    try:
        later = _migrate(scratch, lambda number: number <= content["schema"])
        scratch.execute("PRAGMA foreign_keys = OFF")
        for table in (t for t in reversed(TABLES) if _exists(scratch, t)):
            scratch.execute(f"DELETE FROM {table}")
        for table in TABLES:
            if table in content["tables"]:
                _insert(scratch, table, content["tables"][table])
        for number, script in later:
            scratch.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
        held = [t for t in TABLES if t in content["tables"] or t not in LATER_TABLES]
        return {t: [dict(r) for r in scratch.execute(f"SELECT * FROM {t}")] for t in held}
    except (sqlite3.Error, TypeError, ValueError, KeyError):
        raise refuse_not_backup() from None
    finally:
        scratch.close()


def _migrate(conn: sqlite3.Connection, up_to) -> list[tuple[int, str]]:
    """Run the migrations `up_to(number)` takes; return the ones left."""
    later = []
    for number, script in migrations():
        if up_to(number):
            conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
        else:
            later.append((number, script))
    return later


def _exists(conn: sqlite3.Connection, table: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
    return found.fetchone() is not None


def _insert(conn: sqlite3.Connection, table: str, data: dict) -> None:
    """Insert a backup's rows; columns this schema lacks make it no backup."""
    columns = data["columns"]
    known = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    if not columns or not set(columns) <= known:
        raise ValueError(table)
    names, marks = ", ".join(columns), ", ".join("?" * len(columns))
    conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", data["rows"])


def sealed(rows: dict[str, list[dict]], content: dict, sealer: Sealer) -> dict:
    """The rows as this unit stores them: each secret sealed with its device key."""
    secret_fields = content.get("secret_fields") or {}
    for row in rows["settings"]:
        names = secret_fields.get(row["section"]) or ()
        if names:
            record = json.loads(row["data"])
            for name in names:
                if isinstance(record.get(name), str):
                    record[name] = sealer.seal(record[name], f"{row['section']}.{name}")
            row["data"] = json.dumps(record)
    for table in SEALED_COLUMNS.keys() & rows.keys():
        secrets, place = SEALED_COLUMNS[table]
        for row in rows[table]:
            for column in secrets:
                if row[column]:
                    row[column] = sealer.seal(row[column], place(row, column))
    return rows


def stage_keys(content: dict, sealer: Sealer, directory: Path) -> Path:
    """Write the certificates' keys, sealed, into a new directory beside the store's."""
    staged = directory.with_name(directory.name + ".restoring")
    shutil.rmtree(staged, ignore_errors=True)
    keys = content.get("certificate_keys") or {}
    if not isinstance(keys, dict) or not all(_key_entry(i, pem) for i, pem in keys.items()):
        raise refuse_not_backup()
    staged.mkdir(mode=0o700)
    for cert_id, pem in keys.items():
        sealed_key = sealer.seal_bytes(pem.encode(), certificate_place(cert_id))
        fd = os.open(staged / f"{cert_id}.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(sealed_key)
            f.flush()
            os.fsync(f.fileno())
    return staged


def _key_entry(cert_id: str, pem: object) -> bool:
    """A certificate key as a backup holds it: PEM text under a plain file name."""
    return isinstance(pem, str) and "/" not in cert_id and not cert_id.startswith(".")


def swap_keys(staged: Path, directory: Path) -> None:
    """Put the staged keys in place of the store's (after the commit)."""
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        os.replace(directory, old)
    os.replace(staged, directory)
    shutil.rmtree(old, ignore_errors=True)


def replace(
    tx: Transaction, rows: dict, kept: tuple[str, ...], pin_key: str, source: dict, about: dict
) -> None:
    """Swap the configuration in: one transaction, so a failure leaves it as it was (the
    tables `rows` lacks stay as they are)."""
    users = {r["username"]: r for r in tx.execute("SELECT * FROM users")}
    swapped = [t for t in TABLES if t in rows and t != "kiosk"]
    for table in reversed(swapped):
        if table == "settings":
            marks = ", ".join("?" * len(kept))
            tx.execute(f"DELETE FROM settings WHERE section NOT IN ({marks})", kept)
        else:
            tx.execute(f"DELETE FROM {table}")
    for table in swapped:
        for row in rows[table]:
            if table == "settings" and row["section"] in kept:
                continue
            if table == "users":
                row = {**row, "sessions": _sessions(row, users.get(row["username"]))}
            names, marks = ", ".join(row), ", ".join("?" * len(row))
            tx.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(row.values()))
    if "kiosk" in rows:
        _kiosk_pin(tx, rows["kiosk"])
    tx.execute("DELETE FROM pin_key")
    tx.execute("INSERT INTO pin_key (id, key) VALUES (1, ?)", (pin_key,))
    tx.event(TOPIC_RESTORED, source, about)


def _kiosk_pin(tx: Transaction, rows: list[dict]) -> None:
    """The backup's operator PIN hash; the kiosk's logins and its wrong-PIN throttle stay
    this unit's."""
    pin_hash = rows[0]["pin_hash"] if rows else None
    tx.execute(
        "INSERT INTO kiosk (id, pin_hash) VALUES (1, ?) "
        "ON CONFLICT (id) DO UPDATE SET pin_hash = excluded.pin_hash",
        (pin_hash,),
    )


def _sessions(restored: dict, current) -> int:
    """A user's session generation: kept when name, password and role are unchanged (the
    sessions stay), else past both (every session of that name ends, as a new password
    ends them)."""
    if current is None:
        return restored["sessions"]
    same = all(restored[k] == current[k] for k in ("password_hash", "role"))
    return current["sessions"] if same else max(current["sessions"], restored["sessions"]) + 1


def pin_key_of(content: dict, sealer: Sealer) -> str:
    """The backup's PIN key, sealed for this unit."""
    try:
        return sealed_pin_key(sealer, bytes.fromhex(content["pin_key"]))
    except (KeyError, TypeError, ValueError):
        raise refuse_not_backup() from None
