"""Sentences of Maintenance's events: restart, restore, factory default, and the
phases of a firmware upgrade and rollback."""

from __future__ import annotations

from flask_babel import gettext as _

from doorctl.blueprints.logs.sentences import Context, says, text
from doorctl.core.events import Event
from doorctl.core.maintenance.firmware import TOPIC as FIRMWARE
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


def why_failed(data: dict) -> str:
    """Why an upgrade failed, as the event's sentence and the Firmware page say it."""
    reason = data.get("reason")
    if reason == "refused":
        return text(data.get("detail"), _("the bundle was refused"))
    if reason == "install_failed":
        return _("it could not be installed (the system log has the report)")
    if reason == "not_healthy":
        return _(
            "it did not report healthy within %(seconds)d seconds",
            seconds=int(data.get("seconds") or 0),
        )
    if reason == "exited" and data.get("exit_code") is not None:
        return _(
            "it stopped (exit code %(code)d) before it reported healthy",
            code=int(data["exit_code"]),
        )
    return _("it stopped before it reported healthy")


@says(FIRMWARE)
def _firmware(event: Event, context: Context) -> str:
    data = event.data
    version, old = text(data.get("version"), _("a new version")), text(data.get("from_version"))
    phase = data.get("phase")
    if phase == "receiving":
        return _("Firmware upgrade: receiving a bundle (running %(old)s)", old=old)
    if phase == "verifying":
        return _("Firmware upgrade: checking the bundle's signature and wheels")
    if phase == "installing":
        return _("Firmware upgrade: installing doorctl %(version)s", version=version)
    if phase == "switching":
        return _(
            "Firmware upgrade: switching from %(old)s to %(version)s", old=old, version=version
        )
    if phase == "healthy":
        return _("Firmware upgraded from %(old)s to %(version)s", old=old, version=version)
    if phase == "rolled_back":
        return _("Firmware rolled back from %(old)s to %(version)s", old=old, version=version)
    if data.get("reason") == "refused":
        return _("Firmware upgrade refused: %(why)s", why=why_failed(data))
    return _(
        "Firmware upgrade to %(version)s failed, %(old)s runs again: %(why)s",
        version=version,
        old=old,
        why=why_failed(data),
    )
