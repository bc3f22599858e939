"""Access log (Logs): granted and denied decisions, filtered and paged, new rows live."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from flask_babel import lazy_gettext

from doorctl.blueprints.common import allow, appliance, render
from doorctl.blueprints.logs.events import _sse, event_stream, parse_int, parse_time
from doorctl.core.errors import Invalid
from doorctl.core.logs import access_log

MENU_ITEMS = [("Logs", lazy_gettext("Access log"), "access_log.page")]
bp = Blueprint("access_log", __name__)


def filters() -> dict:
    """The access log's filters from the URL; raise Invalid naming a bad one."""
    args = request.args
    result = args.get("result") or None
    if result not in (None, "granted", "denied"):
        raise Invalid({"result": "Choose granted or denied."})
    return {
        "cardholder_id": parse_int("cardholder_id", args.get("cardholder_id"), None, 1, 2**62),
        "door_id": parse_int("door_id", args.get("door_id"), None, 1, 2**31),
        "result": result,
        "since": parse_time("since", args.get("since")),
        "until": parse_time("until", args.get("until")),
    }


def _query(limit: int):
    appliance().event_log.flush()
    before = parse_int("before", request.args.get("before"), None, 1, 2**62)
    return access_log.query(appliance().event_log, filters(), before, limit)


@bp.route("/logs/access")
@allow("viewer")
def page():
    """Logs > Access log."""
    events, cursor = _query(parse_int("limit", request.args.get("limit"), 50, 1, 500))
    return render(
        "logs/access_log/page.html",
        events=events,
        next=cursor,
        args=request.args,
        doors={d.id: d.settings["name"] for d in appliance().doors.values()},
        live=not request.args.get("before") and not request.args.get("until"),
        log_url=url_for("access_log.page"),
    )


@bp.route("/logs/access/stream")
@allow("viewer")
def rows_stream():
    """New access log rows as SSE for the page, filtered like the page."""
    wanted = filters()
    app = current_app._get_current_object()
    log_url = url_for("access_log.page")  # rows render outside the request

    def row(event) -> str:
        if not access_log.matches(event, wanted):
            return ""
        with app.app_context():
            html = render_template("logs/access_log/_row.html", event=event, log_url=log_url)
        return _sse(event, html, "row")

    return event_stream((access_log.PREFIX,), row)


@bp.route("/api/v1/access-log")
@allow("viewer")
def api_list():
    """Access decisions newest first: `{"events": [...], "next": cursor}`."""
    events, cursor = _query(parse_int("limit", request.args.get("limit"), 100, 1, 1000))
    # Events are dataclasses: the JSON provider turns them into objects as it encodes,
    # on a thread when there are many (json_answers.py).
    return jsonify(events=events, next=cursor)
