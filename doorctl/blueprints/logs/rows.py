"""What a log row shows a person: the sentence, the time in the device's zone, the raw
event behind its details; the same for a page's rows and the rows that arrive live."""

from __future__ import annotations

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


def when(epoch: float) -> str:
    """A time as the page's language writes it, in the device's time zone."""
    moment = datetime.fromtimestamp(epoch, appliance().access.tz)
    return format_datetime(moment, "medium", locale=get_locale() or "en")


def raw(event: Event) -> str:
    """The event as the API gives it, for the row's details."""
    return json.dumps(event.to_dict(), indent=2, ensure_ascii=False, sort_keys=True)


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
}


def kind(event: Event) -> tuple[str, str]:
    """The kind of an event as (its name, its icon) for the row."""
    name = kind_of(event.topic)
    if name is None:
        return _("Other"), "info"
    return str(KINDS[name][0]), ICONS[name]


def row_helpers() -> dict:
    """The functions a row template calls, bound to this request's names."""
    names = context()
    return {
        "say": lambda event: sentence(event, names),
        "decision": decision,
        "when": when,
        "raw": raw,
        "kind": kind,
        "card_text": card_text,
        "door_of": lambda event: place(event, names),
    }


def live_rows(template: str, **extra) -> Callable[[Event], str]:
    """A function that renders one row for an SSE stream, after the request has
    ended: in a context of the same request (for its URLs), in its language and with
    the names it had."""
    app = current_app._get_current_object()
    environ = dict(request.environ)
    locale = str(get_locale() or "en")
    helpers = row_helpers()

    def render(event: Event) -> str:
        with app.request_context(environ), force_locale(locale):
            return render_template(template, event=event, **helpers, **extra)

    return render
