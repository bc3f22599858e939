"""The access log: the event log's access decisions, filtered by who, where, what, when."""

from __future__ import annotations

from doorctl.core.eventlog import EventLog, _row_to_event
from doorctl.core.events import Event

PREFIX = "tns1:AccessControl/"
RESULTS = {"granted": "tns1:AccessControl/AccessGranted/%", "denied": "tns1:AccessControl/Denied/%"}


def matches(event: Event, filters: dict) -> bool:
    """Whether a live event passes the same filters as the query."""
    if not event.topic.startswith(PREFIX):
        return False
    checks = (
        ("cardholder_id", event.data.get("cardholder_id")),
        ("door_id", event.source.get("door")),
    )
    if any(filters.get(name) is not None and filters[name] != value for name, value in checks):
        return False
    result = filters.get("result")
    return not result or ("AccessGranted" in event.topic) == (result == "granted")


def query(log: EventLog, filters: dict, before: int | None = None, limit: int = 50):
    """Access decisions newest first, one page; and the cursor of the next page."""
    where, params = ["topic LIKE ?"], [RESULTS.get(filters.get("result") or "", PREFIX + "%")]
    for clause, value in (
        ("json_extract(data, '$.cardholder_id') = ?", filters.get("cardholder_id")),
        ("json_extract(source, '$.door') = ?", filters.get("door_id")),
        ("time >= ?", filters.get("since")),
        ("time < ?", filters.get("until")),
        ("id < ?", before),
    ):
        if value is not None:
            where.append(clause)
            params.append(value)
    rows = log.select(
        f"SELECT * FROM events WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
        (*params, limit + 1),
    )
    events = [_row_to_event(r) for r in rows[:limit]]
    return events, (events[-1].id if len(rows) > limit else None)
