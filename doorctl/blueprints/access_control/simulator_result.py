"""The Simulator's answer in words: what the controller decided for a card or a PIN.

The simulator sends Wiegand pulses; the decision is an event on the bus a few
milliseconds later. The panel waits for it (briefly) and says it as a person would:
"Granted: Alice Smith, Front door unlocked for 7 s", "Refused: unknown card 1234".
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.blueprints.common import appliance
from doorctl.core.errors import NotFound
from doorctl.core.events import Event, Subscription

GRANTED, DENIED, BAD_FRAME = (
    "tns1:AccessControl/AccessGranted/",
    "tns1:AccessControl/Denied/",
    "tns1:Device/Reader/BadFrame",
)
TOPICS = (GRANTED, DENIED, BAD_FRAME)
# A decision is two indexed SELECTs; on a busy Pi it still comes well within this.
DECISION_SECONDS = 2.0
REASONS = {
    "disabled": lazy_gettext("the credential or its cardholder is disabled"),
    "not_yet_valid": lazy_gettext("the cardholder is not valid yet"),
    "expired": lazy_gettext("the cardholder's validity has expired"),
    "no_access_rule": lazy_gettext("no access rule lets this credential through this reader"),
    "outside_schedule": lazy_gettext("outside the schedule of the cardholder's access rules"),
    "wrong_pin": lazy_gettext("wrong PIN"),
    "pin_timeout": lazy_gettext("no PIN was entered in time"),
    "no_pin": lazy_gettext("the rule asks for card and PIN, and this card has no PIN"),
    "door_blocked": lazy_gettext("the door is blocked"),
    "door_locked_down": lazy_gettext("the door is locked down"),
}


def decided(heard: Subscription, action: str, form) -> tuple[str, str]:
    """(sentence, tone) for the decision on what was just presented at the reader."""
    event = heard.get(DECISION_SECONDS)
    if event is None:
        if action == "keys" and not form.get("keys", "").endswith("#"):
            return _("Keys sent; a PIN ends with #."), "info"
        return _("The reader sent it; the controller waits for a PIN (type it, then #)."), "info"
    if event.topic.startswith(GRANTED):
        return _granted(event), "ok"
    if event.topic.startswith(BAD_FRAME):
        return _("The reader could not read the frame: %(why)s.", why=event.data["reason"]), "warn"
    return _refused(event), "danger"


def _granted(event: Event) -> str:
    """Who came in, at which door, for how long."""
    door = appliance().doors.get(event.source.get("door"))
    name = event.data.get("cardholder") or _("PIN")
    if door is None:
        return _("Granted: %(name)s.", name=name)
    settings = door.settings
    long = _long_access(event.data.get("cardholder_id"))
    time = settings["long_access_time" if long else "access_time"]
    return _(
        "Granted: %(name)s, %(door)s unlocked for %(time)s s.",
        name=name,
        door=settings["name"],
        time=_seconds(time),
    )


def _refused(event: Event) -> str:
    """Why the controller said no, naming the card or the cardholder."""
    data = event.data
    if data.get("reason") == "unknown_credential":
        card = data.get("card")
        if card is None:
            return _("Refused: unknown PIN.")
        if card.get("facility") is not None:
            return _(
                "Refused: unknown card %(card)s (facility %(facility)s).",
                card=card["number"],
                facility=card["facility"],
            )
        return _("Refused: unknown card %(card)s.", card=card["number"])
    why = REASONS.get(data.get("reason"), data.get("message", ""))
    if data.get("cardholder"):
        return _("Refused: %(name)s, %(why)s.", name=data["cardholder"], why=why)
    return _("Refused: %(why)s.", why=why)


def _long_access(cardholder_id) -> bool:
    """Whether the cardholder gets the long access time."""
    if cardholder_id is None:
        return False
    try:
        return bool(appliance().access.cardholders.get(cardholder_id).get("long_access"))
    except NotFound:  # deleted since: the usual access time
        return False


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def told(action: str, form) -> str:
    """What a control of the board did, for the controls that decide nothing."""
    name = form.get("name", "").replace("_", " ")
    if action == "door":
        return _("Door opened.") if form.get("position") == "open" else _("Door closed.")
    if action == "input":
        if form.get("active") == "1":
            return _("%(input)s: circuit closed.", input=name.capitalize())
        return _("%(input)s: circuit opened.", input=name.capitalize())
    return {
        "rex": _("REX pressed and released."),
        "resistance": _(
            "%(input)s loop set to %(value)s.", input=name, value=form.get("resistance")
        ),
        "button": _("Control button held for %(seconds)s s.", seconds=form.get("seconds")),
        "shake": _("Controller shaken by %(g)s g.", g=form.get("g")),
    }[action]
