"""The event log (manual: "Logs"): the history of events, paged, and live over SSE.

`/api/v1/events` pages through the log newest first; `/api/v1/events/stream` sends
each new event as Server-Sent Events, and replays what a browser missed when it
reconnects with Last-Event-ID. The Logs page uses the same stream, as table rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime

from flask import Blueprint, Response, current_app, jsonify, render_template, request, session
from flask_babel import lazy_gettext

from doorctl.blueprints.common import allow, appliance, render
from doorctl.core.appliance import Appliance
from doorctl.core.errors import Invalid
from doorctl.core.events import Event, Subscription
from doorctl.core.inbound import whole_number

MENU_ITEMS = [("Logs", lazy_gettext("Event log"), "events.page")]
bp = Blueprint("events", __name__)
KEEPALIVE_SECONDS = 15
REPLAY_LIMIT = 500
TIME_RULE = "Use ISO 8601 (2026-11-25T08:00:00) or seconds since 1970."


def parse_time(name: str, text: str | None) -> float | None:
    """A time filter given as ISO 8601 or epoch seconds; raise Invalid naming the field."""
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise Invalid({name: TIME_RULE}) from None


def parse_int(name: str, text: str | None, default: int | None, low: int, high: int):
    """A whole-number query parameter within limits; raise Invalid naming it."""
    if text in (None, ""):
        return default
    number = whole_number(text)
    if number is None or not low <= number <= high:
        raise Invalid({name: f"Must be a whole number from {low} to {high}."})
    return number


def topics() -> tuple[str, ...]:
    """The topic prefixes the URL filters by (`?topic=` given any number of times)."""
    return tuple(t for t in request.args.getlist("topic") if t)


def query_filters() -> dict:
    """The filters of a log query, from the URL."""
    args = request.args
    return {
        "prefixes": topics(),
        "since": parse_time("since", args.get("since")),
        "until": parse_time("until", args.get("until")),
        "before": parse_int("before", args.get("before"), None, 1, 2**62),
        "limit": parse_int("limit", args.get("limit"), 100, 1, 1000),
    }


@bp.route("/api/v1/events")
@allow("viewer")
def api_list():
    """Events newest first: `{"events": [...], "next": cursor}` (cursor for `before`)."""
    log = appliance().event_log
    log.flush()
    events, cursor = log.query(**query_filters())
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
    events, _ = doorctl.event_log.query(prefixes, after=last_id, limit=REPLAY_LIMIT)
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


@bp.route("/logs/events")
@allow("viewer")
def page():
    """Logs > Event log: filter by topic and time, page back, new rows arrive live."""
    filters = query_filters()
    appliance().event_log.flush()
    events, cursor = appliance().event_log.query(**filters)
    return render(
        "logs/events/page.html",
        events=events,
        next=cursor,
        args=request.args,
        live=filters["before"] is None,
    )


@bp.route("/logs/events/stream")
@allow("viewer")
def rows_stream():
    """New log rows as SSE for the Logs page (htmx's SSE extension swaps them in)."""
    app = current_app._get_current_object()

    def row(event: Event) -> str:
        with app.app_context():
            html = render_template("logs/events/_row.html", event=event)
        return _sse(event, html, "row")

    return event_stream(topics(), row)
