"""The access log: the event log's access decisions, filtered by who, where, what, when."""

from __future__ import annotations

from doorctl.core.eventlog import EventLog
from doorctl.core.events import Event

PREFIX = "tns1:AccessControl/"
RESULTS = {"granted": "tns1:AccessControl/AccessGranted/", "denied": "tns1:AccessControl/Denied/"}


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
    # Each filter has its index (migration 0014); with both, the cardholder's is the
    # one to walk (a door has half the log, a cardholder a few events), and a unary +
    # keeps SQLite, which has no statistics, from choosing the door's instead.
    door = "json_extract(source, '$.door') = ?"
    if filters.get("cardholder_id") is not None:
        door = "+" + door
    match = (
        ("json_extract(data, '$.cardholder_id') = ?", filters.get("cardholder_id")),
        (door, filters.get("door_id")),
    )
    prefix = RESULTS.get(filters.get("result") or "", PREFIX)
    return log.query(
        (prefix,), filters.get("since"), filters.get("until"), before, limit, match=match
    )
