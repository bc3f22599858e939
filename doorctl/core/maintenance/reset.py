"""Restore and factory default (manual: Maintenance): what goes back to new, what stays.

Both run after doorctl has stopped (no service holds the database, the board's
outputs are at their normal state) and before it starts again.

Restore returns every settings section to its factory values except the network's
(kept.NETWORK_SECTIONS), and forgets the door modes and the MQTT messages waiting for
the old broker. It keeps users and their sessions (a restore from afar must not leave
the device to whoever reaches its first-visit setup first), the access data
(cardholders, credentials, groups, schedules, rules), the readers and their keys (an
OSDP reader would otherwise have to be visited to pair again), the certificates and
keys, the owner's firmware key, and the event and access logs.

Factory default deletes everything in the data directory except the installed
software (`firmware/`, less its database copies: no rollback survives it) and the
wiring (`hardware.toml`, which describes the board, not a setting): settings, users,
access data, logs, certificates and keys, the device's secret and the owner's
firmware signing key. The next start begins the new log with one event saying when
and how the reset was asked for.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import time
from pathlib import Path

from doorctl.core.maintenance import firmware
from doorctl.core.maintenance.kept import NETWORK_SECTIONS
from doorctl.core.store import DB_NAME

log = logging.getLogger(__name__)

RESTORE_CLEARS = ("door_modes", "mqtt_outbox")
"""Tables of settings-like state that a restore empties besides the settings."""

FACTORY_KEEPS = ("firmware", "hardware.toml")
"""What a factory default leaves in the data directory."""

DONE_NAME = "factory-default-done.json"
"""The note a factory default leaves for the next start's first event."""


def restore(data_dir: Path) -> None:
    """Settings back to factory values, the network's kept (doorctl is stopped)."""
    conn = sqlite3.connect(data_dir / DB_NAME, isolation_level=None, timeout=10)
    try:
        conn.execute("BEGIN IMMEDIATE")
        marks = ", ".join("?" for _ in NETWORK_SECTIONS)
        conn.execute(f"DELETE FROM settings WHERE section NOT IN ({marks})", NETWORK_SECTIONS)
        for table in RESTORE_CLEARS:
            conn.execute(f"DELETE FROM {table}")  # noqa: S608 (names from the tuple above)
        conn.execute("COMMIT")
    finally:
        conn.close()
    log.warning("restore: settings are back to factory values, the network's kept")


def factory_default(data_dir: Path, requested: dict) -> None:
    """Delete everything but the installed software and the wiring (doorctl is
    stopped); leave a note of `requested` (who, how, when) for the next start."""
    for entry in data_dir.iterdir():
        if entry.name in FACTORY_KEEPS:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    firmware.forget_database_copies(firmware.configured_dir(data_dir))
    (data_dir / DONE_NAME).write_text(json.dumps(requested), encoding="utf-8")
    log.warning("factory default: the data directory is back to new")


def requested_by(user: str | None, how: str) -> dict:
    """The note of a factory default: who asked (None: the control button), how, when."""
    return {"user": user, "how": how, "time": time.time()}


def take_done_note(data_dir: Path) -> dict | None:
    """The note a factory default left, read once; None when there is none."""
    path = data_dir / DONE_NAME
    try:
        note = json.loads(path.read_text(encoding="utf-8"))
        path.unlink()
    except (OSError, ValueError):
        return None
    return note if isinstance(note, dict) else None
