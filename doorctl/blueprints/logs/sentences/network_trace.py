"""Sentences of the network trace's events (Logs > Network trace): who recorded the
unit's traffic, on which interface and for how long."""

from __future__ import annotations

from flask_babel import gettext as _

from doorctl.blueprints.logs.sentences import Context, says, text
from doorctl.core.events import Event
from doorctl.core.logs.network_trace import ALL, TOPIC


def _where(event: Event) -> str:
    interface = event.data.get("interface")
    return _("all interfaces") if interface == ALL else text(interface)


@says(TOPIC)
def _trace(event: Event, context: Context) -> str:
    user = text(event.source.get("user"), _("an unknown user"))
    seconds = int(event.data.get("seconds") or 0)
    state = event.data.get("state")
    if state == "started":
        return _(
            "%(user)s started a network trace of %(where)s for %(seconds)d s",
            user=user,
            where=_where(event),
            seconds=seconds,
        )
    if state == "done":
        return _(
            "The network trace of %(where)s ended after %(seconds)d s",
            where=_where(event),
            seconds=seconds,
        )
    if state == "stopped" and event.data.get("reason") == "shutdown":
        return _(
            "The network trace of %(where)s ended after %(seconds)d s: doorctl stopped",
            where=_where(event),
            seconds=seconds,
        )
    if state == "stopped":
        return _(
            "%(user)s stopped the network trace of %(where)s after %(seconds)d s",
            user=user,
            where=_where(event),
            seconds=seconds,
        )
    if state == "full":
        return _(
            "The network trace of %(where)s ended after %(seconds)d s: its file was full "
            "(%(megabytes)d MB)",
            where=_where(event),
            seconds=seconds,
            megabytes=int(event.data.get("megabytes") or 0),
        )
    if state == "abandoned":
        return _(
            "The network trace of %(where)s ended after %(seconds)d s: its browser was closed",
            where=_where(event),
            seconds=seconds,
        )
    return _(
        "The network trace of %(where)s failed after %(seconds)d s",
        where=_where(event),
        seconds=seconds,
    )
