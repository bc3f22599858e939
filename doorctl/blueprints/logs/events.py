"""The event log (manual: "Logs"): the history of events, paged, and live over SSE.

`/api/v1/events` pages through the log newest first; `/api/v1/events/stream` sends
each new event as Server-Sent Events, and replays what a browser missed when it
reconnects with Last-Event-ID. The Logs page uses the same stream, as table rows,
each event as a sentence (sentences/), and holds the log's retention setting.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from flask import Blueprint, Response, flash, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user

from doorctl.blueprints.common import allow, appliance, json_body, render
from doorctl.blueprints.logs.filters import Errors, event_filters
from doorctl.blueprints.logs.rows import live_rows, row_helpers
from doorctl.core.appliance import Appliance
from doorctl.core.errors import Invalid
from doorctl.core.eventlog import SECTION
from doorctl.core.events import Event, Subscription
from doorctl.core.inbound import whole_number
from doorctl.core.logs.kinds import KINDS

MENU_ITEMS = [("Logs", lazy_gettext("Event log"), "events.page")]
bp = Blueprint("events", __name__)
KEEPALIVE_SECONDS = 15
REPLAY_LIMIT = 500
PAGE_ROWS = 100


def refuse(errors: Errors) -> None:
    """The API's answer to bad filters: 400 with each one's message."""
    if errors:
        raise Invalid(dict(errors), _("Some filters are not valid; see each field."))


def topics() -> tuple[str, ...]:
    """The topic prefixes the URL filters by (`?topic=` given any number of times)."""
    return tuple(t for t in request.args.getlist("topic") if t)


def _filters(limit: int = PAGE_ROWS) -> tuple[dict, Errors]:
    return event_filters(request.args, appliance().access.tz, limit)


@bp.route("/api/v1/events")
@allow("viewer")
def api_list():
    """Events newest first: `{"events": [...], "next": cursor}` (cursor for `before`)."""
    filters, errors = _filters()
    refuse(errors)
    log = appliance().event_log
    log.flush()
    events, cursor = log.query(**filters)
    # Events are dataclasses: the JSON provider turns them into objects as it encodes,
    # on a thread when there are many (json_answers.py).
    return jsonify(events=events, next=cursor)


def _sse(event: Event, payload: str, name: str | None = None) -> str:
    """One SSE message: the event's id, `name` (the topic by default) and the payload."""
    lines = "".join(f"data: {line}\n" for line in payload.splitlines() or [""])
    return f"id: {event.id}\nevent: {name or event.topic}\n{lines}\n"


def _replay(doorctl: Appliance, prefixes: tuple, last_id: int | None) -> list[Event]:
    """What a reconnecting browser missed since Last-Event-ID, oldest first."""
    if last_id is None:
        return []
    doorctl.event_log.flush()
    events, _cursor = doorctl.event_log.query(prefixes, after=last_id, limit=REPLAY_LIMIT)
    return events[::-1]


def event_stream(prefixes: tuple, fmt: Callable[[Event], str]) -> Response:
    """An SSE response of the events matching `prefixes`, each formatted by `fmt`."""
    doorctl = appliance()
    subscription = Subscription(doorctl.bus, prefixes)
    last = request.headers.get("Last-Event-ID", "")
    missed = _replay(doorctl, prefixes, whole_number(last))
    session_id = session.get("sid")

    def generate() -> Iterator[str]:
        replayed = {event.id for event in missed}  # an import's event comes after higher ids
        try:
            yield "retry: 2000\n: doorctl events\n\n"
            for event in missed:
                yield fmt(event)
            # a session an administrator ends stops watching at its next event or keep-alive
            while not doorctl.ended_sessions.ended(session_id):
                event = subscription.get(KEEPALIVE_SECONDS)
                if event is None:
                    yield ": keep-alive\n\n"
                elif event.id not in replayed:
                    yield fmt(event)
        finally:
            subscription.close()

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(generate(), mimetype="text/event-stream", headers=headers)


@bp.route("/api/v1/events/stream")
@allow("viewer")
def api_stream():
    """Live events as SSE: `event: <topic>`, `data: <event JSON>`; `?topic=` filters."""
    return event_stream(topics(), lambda e: _sse(e, json.dumps(e.to_dict())))


def _page(status: int = 200, form=None, errors: dict | None = None):
    """The Event log: the filtered rows, the filters' errors, the retention form."""
    filters, filter_errors = _filters()
    log = appliance().event_log
    log.flush()
    events, cursor = log.query(**filters)
    return render(
        "logs/events/page.html",
        status if not filter_errors else 400,
        events=events,
        next=cursor,
        args=request.args,
        filter_errors=filter_errors,
        kinds=KINDS,
        live=not filter_errors and filters["before"] is None and filters["until"] is None,
        stream_args=_stream_args(filters),
        form=form or appliance().settings.form(SECTION),
        errors=errors or {},
        may_change=current_user.role == "administrator",
        **row_helpers(),
    )


def _stream_args(filters: dict) -> dict:
    """The live rows' URL arguments: the page's kind and topics, when they are good."""
    return {"topic": list(filters["prefixes"])} if filters["prefixes"] else {}


@bp.route("/logs/events")
@allow("viewer")
def page():
    """Logs > Event log: filter by kind and time, page back, new rows arrive live."""
    return _page()


@bp.route("/logs/events/stream")
@allow("viewer")
def rows_stream():
    """New log rows as SSE for the Logs page (htmx's SSE extension swaps them in)."""
    row = live_rows("logs/events/_row.html")
    return event_stream(topics(), lambda event: _sse(event, row(event), "row"))


@bp.route("/logs/events/settings", methods=["POST"])
def save_settings():
    """Save the event log's retention (administrator); a bad value is marked in place."""
    settings = appliance().settings
    form = settings.form(SECTION, request.form)
    try:
        settings.save(SECTION, form)
    except Invalid as error:
        return _page(422, form=form, errors=error.fields)
    flash(_("Event log settings saved."))
    return redirect(url_for("events.page"), 303)


@bp.route("/api/v1/event-log/settings")
def api_settings():
    """The event log's settings: how many events it keeps."""
    return jsonify(appliance().settings.get(SECTION))


@bp.route("/api/v1/event-log/settings", methods=["PUT", "PATCH"])
def api_settings_update():
    """Change how many events the log keeps: `{"retention": events}`."""
    return jsonify(appliance().settings.update(SECTION, json_body()))
