"""Configuration changes as events, so the log says who-changed-what for access data.

Topics follow ONVIF's access-control configuration events:
`tns1:Configuration/<Kind>/Changed` after a create or update, `.../Removed` after a
delete, with the record's id in the key. The event is logged inside the change's own
transaction (`Store.write`): no change is on disk without its event, nor the reverse.
"""

from __future__ import annotations

from doorctl.core.store import Transaction

PREFIX = "tns1:Configuration/"


def topic(kind: str, action: str) -> str:
    """The topic of a change: Removed for a delete, Changed otherwise."""
    return f"{PREFIX}{kind}/{'Removed' if action == 'delete' else 'Changed'}"


def audit(tx: Transaction, kind: str, action: str, record_id, data: dict | None = None) -> None:
    """Log the change of one record in the transaction that makes it."""
    body = {"id": record_id, "action": action, **(data or {})}
    tx.event(topic(kind, action), {}, body, {"id": record_id})
