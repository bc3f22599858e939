"""The access log: the event log's access decisions, filtered by who, where, what, when."""

from __future__ import annotations

import sqlite3

from doorctl.core.eventlog import EventLog
from doorctl.core.events import Event
from doorctl.core.store import Store

PREFIX = "tns1:AccessControl/"
RESULTS = {"granted": "tns1:AccessControl/AccessGranted/", "denied": "tns1:AccessControl/Denied/"}
SUGGESTIONS = 12
# A name is matched as a person types it: any case, as its start (by the name index).
NAMED = "SELECT id FROM cardholders WHERE name = ? COLLATE NOCASE LIMIT 100"
STARTING = (
    "SELECT DISTINCT name FROM cardholders WHERE name >= ? COLLATE NOCASE "
    "AND name < ? COLLATE NOCASE ORDER BY name COLLATE NOCASE LIMIT ?"
)


def matches(event: Event, filters: dict) -> bool:
    """Whether a live event passes the same filters as the query."""
    if not event.topic.startswith(PREFIX):
        return False
    ids = filters.get("cardholder_ids")
    if ids is not None and event.data.get("cardholder_id") not in ids:
        return False
    door = filters.get("door_id")
    if door is not None and event.source.get("door") != door:
        return False
    result = filters.get("result")
    return not result or ("AccessGranted" in event.topic) == (result == "granted")


def query(log: EventLog, filters: dict, before: int | None = None, limit: int = 50):
    """Access decisions newest first, one page; and the cursor of the next page."""
    # Each filter has its index (migration 0014); with both, the cardholder's is the
    # one to walk (a door has half the log, a cardholder a few events), and a unary +
    # keeps SQLite, which has no statistics, from choosing the door's instead.
    ids = filters.get("cardholder_ids")
    door = "json_extract(source, '$.door') = ?"
    if ids is not None:
        door = "+" + door
    match = ((_holders(ids), None if ids is None else tuple(ids)), (door, filters.get("door_id")))
    prefix = RESULTS.get(filters.get("result") or "", PREFIX)
    return log.query(
        (prefix,), filters.get("since"), filters.get("until"), before, limit, match=match
    )


def _holders(ids) -> str:
    """The condition on the cardholder: one id, several, or none (nothing matches)."""
    if not ids:
        return "0"
    marks = ", ".join("?" * len(ids))
    return f"json_extract(data, '$.cardholder_id') {'=' if len(ids) == 1 else 'IN'} ({marks})"


def cardholders_named(store: Store, name: str) -> list[int]:
    """The ids of the cardholders with this name (any case): names need not be unique."""
    return [row[0] for row in store.read(_rows, NAMED, (name.strip(),))]


def suggestions(store: Store, start: str, limit: int = SUGGESTIONS) -> list[str]:
    """Cardholder names that start with `start` (any case), by name, for a datalist."""
    start = start.strip()
    if not start:
        return []
    return [row[0] for row in store.read(_rows, STARTING, (start, start + "\U0010ffff", limit))]


def _rows(conn: sqlite3.Connection, sql: str, params: tuple) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()
