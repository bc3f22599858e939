"""Sentences of Maintenance's events: restart, restore, factory default."""

from __future__ import annotations

from flask_babel import gettext as _

from doorctl.blueprints.logs.sentences import Context, says, text
from doorctl.core.events import Event
from doorctl.core.maintenance.maintenance import FACTORY_DEFAULT, RESTART, RESTORE


def _user(event: Event) -> str:
    return text(event.source.get("user"), _("an unknown user"))


@says(RESTART)
def _restart(event: Event, context: Context) -> str:
    if event.data.get("device"):
        return _("%(user)s restarted the device", user=_user(event))
    return _("%(user)s restarted doorctl", user=_user(event))


@says(RESTORE)
def _restore(event: Event, context: Context) -> str:
    return _(
        "%(user)s restored the factory settings; the network settings were kept",
        user=_user(event),
    )


@says(FACTORY_DEFAULT)
def _factory_default(event: Event, context: Context) -> str:
    if event.data.get("state") != "done":
        return _("%(user)s reset the device to factory default", user=_user(event))
    if event.data.get("how") == "button":
        return _("The device was reset to factory default with the control button")
    return _("The device was reset to factory default by %(user)s", user=_user(event))
