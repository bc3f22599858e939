"""What a log row shows a person: the sentence, the time in the device's zone, the raw
event behind its details; the same for a page's rows and the rows that arrive live."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime

from babel.dates import format_datetime
from flask import current_app, render_template, request
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from doorctl.blueprints.common import appliance
from doorctl.blueprints.logs.sentences import Context, sentence
from doorctl.blueprints.logs.sentences.access_control import card_text, decision, place
from doorctl.core.events import Event
from doorctl.core.logs.kinds import KINDS, kind_of


def labels(section: str) -> dict[str, str]:
    """A settings section's field labels by field name, as its page shows them."""
    form_class = appliance().settings.sections.get(section)
    if form_class is None:
        return {}
    return {f.name: str(f.label.text) for f in form_class()}


def door_names() -> dict[int, str]:
    """Each door's name by its id."""
    return {door_id: door.settings["name"] for door_id, door in appliance().doors.items()}


def context() -> Context:
    """What the sentences of this request's rows may name."""
    return Context(doors=door_names(), labels=labels)


def clock() -> Callable[[float], str]:
    """A function that writes a time as the page's language does, in the device's
    time zone; zone and language are looked up once, and each second is formatted
    once (an access writes several events in the same second)."""
    zone, locale = appliance().access.tz, get_locale() or "en"

    @functools.cache
    def second(whole: int) -> str:
        return format_datetime(datetime.fromtimestamp(whole, zone), "medium", locale=locale)

    return lambda epoch: second(int(epoch))


def raw(event: Event) -> str:
    """The event as the API gives it, a line per field, for the row's details (compact
    JSON per field: a hundred rows of indented JSON took most of the page's time)."""
    lines = (
        f"{name}: {json.dumps(value, ensure_ascii=False)}" for name, value in vars(event).items()
    )
    return "\n".join(lines)


# Each kind's icon beside its name in the Event log.
ICONS = {
    "access": "key-round",
    "doors": "door-closed",
    "readers": "radio",
    "io": "activity",
    "alarms": "siren",
    "users": "user",
    "configuration": "settings",
    "network": "wifi",
    "mqtt": "cpu",
    "engine": "activity",
    "maintenance": "shield-check",
    "time": "activity",
}


def kinds() -> Callable[[Event], tuple[str, str]]:
    """A function giving an event's kind as (its name, its icon), the names translated
    once for all the rows."""
    words = {name: (str(label), ICONS[name]) for name, (label, _prefixes) in KINDS.items()}
    other = (_("Other"), "info")
    return lambda event: words.get(kind_of(event.topic), other)


def headings() -> dict[str, str]:
    """The rows' column names and fixed words, translated once for all the rows."""
    return {
        "time": _("Time"),
        "kind": _("Kind"),
        "event": _("Event"),
        "decision": _("Decision"),
        "cardholder": _("Cardholder"),
        "credential": _("Credential"),
        "door": _("Door"),
        "details": _("Details"),
        "pin": _("PIN"),
        "unknown": _("Unknown"),
        "topic": _("Topic"),
    }


def row_helpers() -> dict:
    """The functions and words the row templates use, bound to this request."""
    names = context()
    return {
        "say": lambda event: sentence(event, names),
        "decision": decision,
        "when": clock(),
        "raw": raw,
        "kind": kinds(),
        "card_text": card_text,
        "door_of": lambda event: place(event, names),
        "words": headings(),
    }


def live_rows(template: str, **extra) -> Callable[[Event], str]:
    """A function that renders one row for an SSE stream, after the request has
    ended: in a context of the same request (for its URLs), in its language and with
    the names it had. A row uses the design system's macros (`ui`) of the page that
    includes it; here they are handed to it."""
    app = current_app._get_current_object()
    environ = dict(request.environ)
    locale = str(get_locale() or "en")
    helpers = {**row_helpers(), "ui": app.jinja_env.get_template("ui/macros.html").module}

    def render(event: Event) -> str:
        with app.request_context(environ), force_locale(locale):
            return render_template(template, event=event, **helpers, **extra)

    return render
