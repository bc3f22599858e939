"""Access log (Logs): granted and refused decisions, filtered and paged, new rows live.

The cardholder filter takes a name, with suggestions from the cardholders as one
types (`/logs/access/names`); the REST API takes the name or the cardholder's id.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request, url_for
from flask_babel import lazy_gettext

from doorctl.blueprints.common import allow, appliance, render
from doorctl.blueprints.logs.events import _sse, event_stream, refuse
from doorctl.blueprints.logs.filters import access_filters
from doorctl.blueprints.logs.rows import door_names, live_rows, row_helpers
from doorctl.core.logs import access_log

MENU_ITEMS = [("Logs", lazy_gettext("Access log"), "access_log.page")]
bp = Blueprint("access_log", __name__)
PAGE_ROWS = 50


def _filters(limit: int):
    store = appliance().store
    named = lambda name: access_log.cardholders_named(store, name)  # noqa: E731
    return access_filters(request.args, appliance().access.tz, named, limit)


def _query(filters: dict):
    appliance().event_log.flush()
    return access_log.query(appliance().event_log, filters, filters["before"], filters["limit"])


@bp.route("/logs/access")
@allow("viewer")
def page():
    """Logs > Access log: who was let in or refused where, filtered and paged."""
    filters, errors = _filters(PAGE_ROWS)
    events, cursor = _query(filters)
    return render(
        "logs/access_log/page.html",
        400 if errors else 200,
        events=events,
        next=cursor,
        args=request.args,
        filter_errors=errors,
        doors=door_names(),
        live=not errors and filters["before"] is None and filters["until"] is None,
        log_url=url_for("access_log.page"),
        **row_helpers(),
    )


@bp.route("/logs/access/names")
@allow("viewer")
def names():
    """The cardholder names that start with what was typed, as a datalist's options."""
    typed = request.args.get("cardholder", "")[:64]
    found = access_log.suggestions(appliance().store, typed)
    return render_template("logs/access_log/_names.html", names=found)


@bp.route("/logs/access/stream")
@allow("viewer")
def rows_stream():
    """New access log rows as SSE for the page, filtered like the page."""
    wanted, errors = _filters(PAGE_ROWS)
    refuse(errors)
    row = live_rows("logs/access_log/_row.html", log_url=url_for("access_log.page"))

    def message(event) -> str:
        return _sse(event, row(event), "row") if access_log.matches(event, wanted) else ""

    return event_stream((access_log.PREFIX,), message)


@bp.route("/api/v1/access-log")
@allow("viewer")
def api_list():
    """Access decisions newest first: `{"events": [...], "next": cursor}`."""
    filters, errors = _filters(100)
    refuse(errors)
    events, cursor = _query(filters)
    # Events are dataclasses: the JSON provider turns them into objects as it encodes,
    # on a thread when there are many (json_answers.py).
    return jsonify(events=events, next=cursor)
