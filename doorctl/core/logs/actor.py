"""Who acts: the user and the address behind the change an event records.

The web layer says, for each request, how to name its actor (`acting`); every audited
event (a change of settings, users, access data; maintenance) created while that
request runs carries it as `data["actor"]` ({"user", "address", "via"}), and so do the
events of a change the request hands to the store's writer thread or to the engine
process (each captures the actor before the hand-over). The Audit log reads who, from
where and through what from there. Other events (an output switched, an alarm) keep
their data as it was; logins, failed logins and network traces carry their own user
and address.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

Who = Callable[[], dict | None]
# The topics of the Audit log; those of OWN_ACTOR name their user and address themselves.
AUDITED = (
    "tns1:Configuration/",
    "tns1:Device/User/",
    "tns1:Device/Security/",
    "tns1:Device/Maintenance/",
    "tns1:Device/Network/HttpHttps/",
    "tns1:Device/Network/IpSettings/",
    "tns1:Device/Network/Trace",
)
# A network trace can hold other people's credentials: who recorded one is audited. Its
# events name the user and address that started it (a request's or the device's own).
OWN_ACTOR = ("tns1:Device/User/Login", "tns1:Device/User/LoginFailed", "tns1:Device/Network/Trace")
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


def stamped(topic: str, data: dict | None, actor: dict | None) -> dict:
    """An audited event's data with its actor (data that names one already is kept)."""
    data = data or {}
    if actor is None or "actor" in data or not topic.startswith(AUDITED) or topic in OWN_ACTOR:
        return data
    return {**data, "actor": actor}
