"""Sentences of Access control's events: decisions, doors, tamper alarms and readers."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext

from doorctl.blueprints.logs.sentences import Context, capital, door_name, says, text
from doorctl.core.access_control import access, alarms
from doorctl.core.access_control.readers import topics
from doorctl.core.events import Event

# Why a decision refused, as the chip and the sentence say it after "Refused: ".
REASONS = {
    "unknown_credential": lazy_gettext("unknown credential"),
    "disabled": lazy_gettext("credential or cardholder disabled"),
    "not_yet_valid": lazy_gettext("cardholder not valid yet"),
    "expired": lazy_gettext("cardholder's validity ended"),
    "no_access_rule": lazy_gettext("no access rule for this reader"),
    "outside_schedule": lazy_gettext("outside schedule"),
    "wrong_pin": lazy_gettext("wrong PIN"),
    "pin_timeout": lazy_gettext("no PIN entered in time"),
    "no_pin": lazy_gettext("the card has no PIN"),
    "door_blocked": lazy_gettext("door blocked"),
    "door_locked_down": lazy_gettext("door locked down"),
}
DIRECTIONS = {"entry": lazy_gettext("entry"), "exit": lazy_gettext("exit")}


def card_text(card: dict | None) -> str:
    """A card as a person reads it: "H10301 12:345", "raw 26-bit 12345"."""
    if not card:
        return _("no card")
    if card.get("format") == "raw":
        return _("raw %(bits)s-bit %(number)s", bits=text(card.get("bits")), number=card["number"])
    facility = card.get("facility")
    number = (
        f"{facility}:{card.get('number')}" if facility is not None else text(card.get("number"))
    )
    return f"{card.get('format')} {number}"


def reason_words(event: Event) -> str:
    """Why access was refused, in words."""
    reason = event.data.get("reason")
    return str(REASONS.get(reason, event.data.get("message") or text(reason)))


def decision(event: Event) -> tuple[str, str]:
    """The access log's chip for a decision: (state, words) such as
    ("ok", "Granted") or ("error", "Refused: outside schedule")."""
    if event.topic.startswith(topics.GRANTED_PREFIX):
        return "ok", _("Granted")
    return "error", _("Refused: %(reason)s", reason=reason_words(event))


def _who(event: Event) -> str:
    data = event.data
    return data.get("cardholder") or card_text(data.get("card"))


def _where(event: Event, context: Context) -> dict:
    direction = event.source.get("direction")
    return {
        "door": door_name(event, context),
        "direction": DIRECTIONS.get(direction, text(direction)),
    }


def place(event: Event, context: Context) -> str:
    """Where a decision was made: "Front door (entry)"."""
    return capital(_("%(door)s (%(direction)s)", **_where(event, context)))


@says(access.GRANTED_TOPIC)
def _granted(event: Event, context: Context) -> str:
    return _(
        "Access granted to %(who)s at %(door)s (%(direction)s)",
        who=_who(event),
        **_where(event, context),
    )


@says(access.DENIED_TOPIC)
def _denied(event: Event, context: Context) -> str:
    return _(
        "Access refused to %(who)s at %(door)s (%(direction)s): %(reason)s",
        who=_who(event),
        reason=reason_words(event),
        **_where(event, context),
    )


@says(access.NOT_FOUND_CARD)
def _unknown_card(event: Event, context: Context) -> str:
    return _(
        "Unknown card %(card)s refused at %(door)s (%(direction)s)",
        card=card_text(event.data.get("card")),
        **_where(event, context),
    )


@says(access.NOT_FOUND_PIN)
def _unknown_pin(event: Event, context: Context) -> str:
    return _("Unknown PIN refused at %(door)s (%(direction)s)", **_where(event, context))


@says(access.BAD_FRAME_TOPIC)
def _bad_frame(event: Event, context: Context) -> str:
    return _(
        "Reader %(reader)s could not read a card: %(reason)s",
        reader=text(event.source.get("reader")),
        reason=text(event.data.get("reason")),
    )


# --- doors ---------------------------------------------------------------------------

MODES = {
    "locked": lazy_gettext("locked"),
    "unlocked": lazy_gettext("unlocked"),
    "accessed": lazy_gettext("unlocked for one access"),
    "blocked": lazy_gettext("blocked"),
    "locked_down": lazy_gettext("locked down"),
    "locked_open": lazy_gettext("locked open"),
}
# What set a mode, when no person did.
CAUSES = {
    "start": lazy_gettext("at start"),
    "restored after restart": lazy_gettext("as it was before the restart"),
    "settings": lazy_gettext("after a change of its settings"),
    "schedule": lazy_gettext("by its schedule"),
    "io_settings": lazy_gettext("after a change of the I/O ports"),
    "door_closed": lazy_gettext("after the door closed"),
    "access_time": lazy_gettext("after the access time"),
}


def cause_words(cause: dict) -> str:
    """Who or what set a door's mode: "by root", "by a card", "by the exit button"."""
    by = cause.get("by")
    if by == "operator":
        return _("by %(user)s", user=text(cause.get("user")))
    if by == "credential":
        return _("by a card or PIN at reader %(reader)s", reader=text(cause.get("reader")))
    if by == "rex":
        return _("by the exit button")
    if cause.get("client_id"):
        return _("by MQTT client %(client)s", client=cause["client_id"])
    return str(CAUSES.get(cause.get("reason"), ""))


@says("tns1:Door/State/DoorMode")
def _mode(event: Event, context: Context) -> str:
    mode = event.data.get("mode")
    words = MODES.get(mode, text(event.data.get("state")))
    cause = cause_words(event.data.get("cause") or {})
    door = capital(door_name(event, context))
    if cause:
        return _("%(door)s %(mode)s %(cause)s", door=door, mode=words, cause=cause)
    return _("%(door)s %(mode)s", door=door, mode=words)


@says("tns1:Door/State/LockPhysicalState")
def _lock(event: Event, context: Context) -> str:
    door = door_name(event, context)
    if event.data.get("lock") == "unlocked":
        return _("Lock of %(door)s released", door=door)
    return _("Lock of %(door)s locked", door=door)


@says("tns1:Door/State/DoorPosition")
def _position(event: Event, context: Context) -> str:
    door = capital(door_name(event, context))
    if event.data.get("door_position") == "open":
        return _("%(door)s opened", door=door)
    return _("%(door)s closed", door=door)


@says("tns1:Door/State/DoorAlarm")
def _door_alarm(event: Event, context: Context) -> str:
    door, state = door_name(event, context), event.data.get("state")
    if state == "Normal":
        return _("Alarms of %(door)s ended", door=door)
    door = capital(door)
    if state == "DoorForcedOpen":
        return _("%(door)s was forced open", door=door)
    if state == "DoorOpenTooLong":
        return _("%(door)s has been open too long", door=door)
    if state == "DoorOpenTooLongPreAlarm":
        return _("%(door)s will soon have been open too long", door=door)
    return _("%(door)s is in alarm: %(state)s", door=door, state=text(state))


@says("tns1:Door/State/DoorTamper")
def _door_tamper(event: Event, context: Context) -> str:
    door = door_name(event, context)
    if event.data.get("state") == "TamperDetected":
        return _("The door monitor of %(door)s was tampered with", door=door)
    return _("The door monitor of %(door)s is no longer tampered with", door=door)


# --- tamper alarms (Alarms page) -----------------------------------------------------

ALARMS = {
    "device_motion": lazy_gettext("Device motion"),
    "casing_open": lazy_gettext("Casing open"),
    "external_tamper": lazy_gettext("External tamper"),
    "reader_tamper": lazy_gettext("Reader tamper"),
    "reader_secure_channel": lazy_gettext("Reader secure channel"),
}


@says(alarms.TOPIC)
def _tamper_alarm(event: Event, context: Context) -> str:
    alarm = event.source.get("alarm")
    name = ALARMS.get(alarm, event.source.get("name") or text(alarm))
    if event.data.get("state"):
        return _("Alarm “%(alarm)s” triggered", alarm=name)
    return _("Alarm “%(alarm)s” ended", alarm=name)


# --- readers (Peripherals) -----------------------------------------------------------


def _reader(event: Event) -> str:
    return text(event.source.get("reader"))


@says(topics.ONLINE)
def _online(event: Event, context: Context) -> str:
    if event.data.get("online"):
        return _("Reader %(reader)s is online", reader=_reader(event))
    reason = event.data.get("reason")
    if reason:
        return _("Reader %(reader)s went offline: %(reason)s", reader=_reader(event), reason=reason)
    return _("Reader %(reader)s went offline", reader=_reader(event))


@says(topics.SECURE_CHANNEL)
def _secure_channel(event: Event, context: Context) -> str:
    state, reader = event.data.get("state"), _reader(event)
    if state == "up":
        return _("Secure channel with reader %(reader)s is up", reader=reader)
    if state == "failed":
        reason = text(event.data.get("reason") or event.data.get("cause"), _("no reason given"))
        return _(
            "Secure channel with reader %(reader)s failed: %(reason)s", reader=reader, reason=reason
        )
    return _("Secure channel with reader %(reader)s is down", reader=reader)


@says(topics.SECURE_CHANNEL_FAILURE)
def _secure_channel_failure(event: Event, context: Context) -> str:
    if event.data.get("failing"):
        return _(
            "Reader %(reader)s can't set up its required secure channel: %(reason)s",
            reader=_reader(event),
            reason=text(event.data.get("reason")),
        )
    return _("Reader %(reader)s has its required secure channel again", reader=_reader(event))


@says(topics.TAMPER)
def _reader_tamper(event: Event, context: Context) -> str:
    if event.data.get("tamper"):
        return _("Reader %(reader)s was tampered with", reader=_reader(event))
    return _("Reader %(reader)s is no longer tampered with", reader=_reader(event))


@says(topics.POWER)
def _reader_power(event: Event, context: Context) -> str:
    if event.data.get("power_failure"):
        return _("Reader %(reader)s reports a power failure", reader=_reader(event))
    return _("Reader %(reader)s has power again", reader=_reader(event))


@says(topics.CARD_READ)
def _card_read(event: Event, context: Context) -> str:
    card_format = event.data.get("card_format") or _("an unknown format")
    return _(
        "Reader %(reader)s read a card in %(format)s", reader=_reader(event), format=card_format
    )


KEY_SOURCES = {
    "install": lazy_gettext("at installation"),
    "rotation": lazy_gettext("by a key change"),
    "administrator": lazy_gettext("by an administrator"),
    "upgrade": lazy_gettext("from an earlier version"),
}


@says(topics.KEY_SET)
def _key_set(event: Event, context: Context) -> str:
    by = event.data.get("by")
    return _(
        "A secure channel key was stored for reader %(reader)s %(by)s",
        reader=_reader(event),
        by=KEY_SOURCES.get(by, text(by)),
    )


@says(topics.KEY_CLEARED)
def _key_cleared(event: Event, context: Context) -> str:
    return _("The secure channel key of reader %(reader)s was cleared", reader=_reader(event))


@says(topics.KEY_ROTATION)
def _key_rotation(event: Event, context: Context) -> str:
    if event.data.get("state") == "unknown":
        return _("Reader %(reader)s did not confirm its new key", reader=_reader(event))
    return _(
        "Key change of reader %(reader)s failed: %(reason)s",
        reader=_reader(event),
        reason=text(event.data.get("reason")),
    )


@says(topics.PORT_ERROR)
def _port_error(event: Event, context: Context) -> str:
    return _(
        "The port %(port)s of reader %(reader)s could not be opened: %(error)s",
        port=text(event.data.get("port")),
        reader=_reader(event),
        error=text(event.data.get("error")),
    )


@says(topics.UPGRADE)
def _upgrade(event: Event, context: Context) -> str:
    state, reader = event.data.get("state"), _reader(event)
    if state == "running":
        return _("Firmware upgrade of reader %(reader)s started", reader=reader)
    if state == "done":
        return _("Firmware upgrade of reader %(reader)s finished", reader=reader)
    error = text(event.data.get("error"), _("no reason given"))
    return _("Firmware upgrade of reader %(reader)s failed: %(error)s", reader=reader, error=error)


@says(topics.COMMAND_REFUSED)
def _command_refused(event: Event, context: Context) -> str:
    times = event.data.get("times") or 1
    return ngettext(
        "Reader %(reader)s refused the command %(command)s",
        "Reader %(reader)s refused the command %(command)s %(num)d times",
        times,
        reader=_reader(event),
        command=text(event.data.get("command")),
    )


@says(topics.CAPTURE)
def _capture(event: Event, context: Context) -> str:
    if event.data.get("state") == "recording":
        return _(
            "Recording the bus of reader %(reader)s for %(seconds)s s",
            reader=_reader(event),
            seconds=text(event.data.get("duration")),
        )
    return ngettext(
        "Recording of the bus of reader %(reader)s ended with %(num)d frame",
        "Recording of the bus of reader %(reader)s ended with %(num)d frames",
        event.data.get("frames") or 0,
        reader=_reader(event),
    )
