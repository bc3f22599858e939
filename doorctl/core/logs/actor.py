"""Who acts: the user and the address behind the change an event records.

The web layer says, for each request, how to name its actor (`acting`); every event
created while that request runs carries it as `data["actor"]` ({"user", "address",
"via"}), and so does every event of a change the request hands to the store's writer
thread (the event log captures the actor before the hand-over). The Audit log reads
who, from where and through what from there.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

Who = Callable[[], dict | None]
_current: ContextVar[Who | None] = ContextVar("doorctl_actor", default=None)


def acting(who: Who) -> None:
    """From now on in this greenlet (a request's), `who()` names the actor."""
    _current.set(who)


def done() -> None:
    """The request ended: nobody acts here any more."""
    _current.set(None)


def current() -> dict | None:
    """The actor of this greenlet's request, None outside one."""
    who = _current.get()
    return who() if who is not None else None


def stamped(data: dict | None, actor: dict | None) -> dict:
    """An event's data with its actor (data that names one already is kept)."""
    data = data or {}
    if actor is None or "actor" in data:
        return data
    return {**data, "actor": actor}
