"""Sentences of Maintenance > Backup's events: a backup made, restored, refused."""

from __future__ import annotations

from flask_babel import gettext as _

from doorctl.blueprints.logs.sentences import Context, says, text
from doorctl.core.events import Event
from doorctl.core.maintenance.backup import TOPIC_MADE, TOPIC_REFUSED, TOPIC_RESTORED


def _user(event: Event) -> str:
    return text(event.source.get("user"), _("an unknown user"))


@says(TOPIC_MADE)
def _made(event: Event, context: Context) -> str:
    address = text(event.data.get("address"))
    return _("%(user)s downloaded a backup from %(address)s", user=_user(event), address=address)


@says(TOPIC_RESTORED)
def _restored(event: Event, context: Context) -> str:
    device = text((event.data.get("device") or {}).get("hostname"))
    made = event.data.get("version")
    address = text(event.data.get("address"))
    if event.data.get("kept_network"):
        return _(
            "%(user)s restored a backup of %(device)s (doorctl %(version)s) from %(address)s; "
            "the network settings were kept",
            user=_user(event),
            device=device,
            version=text(made),
            address=address,
        )
    return _(
        "%(user)s restored a backup of %(device)s (doorctl %(version)s) from %(address)s",
        user=_user(event),
        device=device,
        version=text(made),
        address=address,
    )


@says(TOPIC_REFUSED)
def _refused(event: Event, context: Context) -> str:
    return _(
        "A backup was refused for %(user)s from %(address)s: %(reason)s",
        user=_user(event),
        address=text(event.data.get("address")),
        reason=text(event.data.get("reason")),
    )
