"""The audit log: who changed what, when and from where, and every login, failed
login and logout, read from the event log.

The event log already holds each of these with its time, inside the change's own
transaction; every event made during a request names its actor (core/logs/actor.py).
So the audit log is a view of the event log by topic, not a second store: nothing can
be in one and missing from the other, and the event log's retention bounds both.
"""

from __future__ import annotations

from doorctl.core.eventlog import EventLog
from doorctl.core.events import Event
from doorctl.core.logs.actor import AUDITED, OWN_ACTOR

# Changes of settings, users, access data and certificates; logins and sessions;
# blocked addresses and the firmware key; maintenance; confirmed or reverted
# network changes; network traces. Logins and traces name their user in their source.
PREFIXES, OWN_USER = AUDITED, OWN_ACTOR
USER_MATCH = "(json_extract(data, '$.actor.user') = ? OR json_extract(source, '$.user') = ?)"


def actor_of(event: Event) -> dict:
    """Who acted, from which address and through what ("web", "api"); each may be None."""
    actor = event.data.get("actor") or {}
    user = actor.get("user")
    if user is None and event.topic in OWN_USER:
        user = event.source.get("user")
    own = event.source if event.topic in OWN_USER else {}
    address = actor.get("address") or event.data.get("address") or own.get("address")
    via = actor.get("via") or event.data.get("method") or own.get("via")
    return {"user": user, "address": address, "via": via}


def query(
    log: EventLog,
    user: str | None = None,
    since: float | None = None,
    until: float | None = None,
    before: int | None = None,
    limit: int = 100,
) -> tuple[list[Event], int | None]:
    """Audit events newest first, by or about `user`, and the next page's cursor."""
    match = ((USER_MATCH, (user, user)),) if user else ()
    return log.query(PREFIXES, since, until, before, limit, match=match)
