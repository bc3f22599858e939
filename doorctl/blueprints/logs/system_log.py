"""System log (Logs > Reports and logs): doorctl's own log records, filtered by level
and text, paged, new ones live; the same as JSON and as a text download.

Operators and administrators read it: it says why a reader went offline or the engine
restarted, and no record holds a secret (the design's rule for every log).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import gevent.event
from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    session,
    stream_with_context,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.datastructures import MultiDict

from doorctl.blueprints.common import allow, appliance, render
from doorctl.blueprints.logs.events import KEEPALIVE_SECONDS, refuse
from doorctl.blueprints.logs.filters import Errors, page_filters, parse_int
from doorctl.blueprints.logs.rows import clock
from doorctl.core.inbound import whole_number
from doorctl.core.logs.system_log import LEVELS, Record
from doorctl.core.waiting import computed

MENU_ITEMS = [("Logs", lazy_gettext("System log"), "system_log.page")]
bp = Blueprint("system_log", __name__)
PAGE_ROWS = 100
DOWNLOAD_ROWS = 20_000
MAX_SEARCH = 200
REPLAY_LIMIT = 500
ROLE = "operator"
# Each level's chip: its tone, icon and word.
LOOKS = {
    "DEBUG": ("neutral", "info", lazy_gettext("Debug")),
    "INFO": ("info", "info", lazy_gettext("Info")),
    "WARNING": ("warn", "triangle-alert", lazy_gettext("Warning")),
    "ERROR": ("danger", "circle-x", lazy_gettext("Error")),
    "CRITICAL": ("danger", "siren", lazy_gettext("Critical")),
}
PROCESSES = {"hub": lazy_gettext("Web"), "engine": lazy_gettext("Door engine")}


def system_filters(args: MultiDict, tz, limit: int = PAGE_ROWS) -> tuple[dict, Errors]:
    """The System log's filters (level, text, time, page) and the errors of bad ones."""
    errors = Errors()
    level = (args.get("level") or "").strip().upper() or None
    if level is not None and level not in LEVELS:
        names = ", ".join(LEVELS)
        errors["level"] = _("Level: choose one from the list (%(names)s).", names=names)
        level = None
    search = (args.get("search") or "").strip()
    if len(search) > MAX_SEARCH:
        errors["search"] = _("Search: at most %(count)d characters.", count=MAX_SEARCH)
        search = ""
    page = page_filters(args, tz, errors, limit, older=_("Older than record"))
    return {"level": level, "search": search or None, **page}, errors


def _filters(limit: int = PAGE_ROWS) -> tuple[dict, Errors]:
    return system_filters(request.args, appliance().access.tz, limit)


def _records(filters: dict) -> tuple[list[Record], int | None]:
    """A page of records and the next page's cursor (None on the last page)."""
    log = appliance().system_log
    log.flush()
    found = log.recent(**{**filters, "limit": filters["limit"] + 1})
    more = len(found) > filters["limit"]
    found = found[: filters["limit"]]
    return found, (found[-1].id if more else None)


def _live_filters(filters: dict) -> dict:
    """The URL arguments of the live rows: the level and text of the page."""
    return {k: filters[k] for k in ("level", "search") if filters[k]}


def _newest_id() -> int:
    """The id of the newest stored record (0 when none): live rows start after it, so
    that one logged while the page loads is not missed."""
    newest = appliance().system_log.recent(limit=1)
    return newest[0].id if newest else 0


@bp.route("/logs/system")
@allow(ROLE)
def page():
    """Logs > System log: filter by level, text and time, page back, new rows live."""
    filters, errors = _filters()
    records, cursor = _records(filters)
    return render(
        "logs/system_log/page.html",
        400 if errors else 200,
        records=records,
        next=cursor,
        args=request.args,
        filter_errors=errors,
        levels=LEVELS,
        stats=appliance().system_log.stats(),
        live=not errors and filters["before"] is None and filters["until"] is None,
        stream_args={**_live_filters(filters), "after": _newest_id()},
        **_helpers(clock()),
    )


def _helpers(when) -> dict:
    """What a row shows beside the record: its time's words, level chip, process name."""
    return {"when": when, "looks": LOOKS, "processes": PROCESSES}


@bp.route("/logs/system/stream")
@allow(ROLE)
def rows_stream():
    """New rows as SSE for the page (htmx's SSE extension puts them on top)."""
    filters, errors = _filters()
    refuse(errors)
    helpers = _helpers(clock())
    helpers["ui"] = current_app.jinja_env.get_template("ui/macros.html").module  # the page's

    def row(record: Record) -> str:
        html = render_template("logs/system_log/_row.html", record=record, **helpers)
        lines = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
        return f"id: {record.id}\nevent: row\n{lines}\n"

    last = whole_number(request.headers.get("Last-Event-ID", ""))
    if last is None:
        last = parse_int(request.args, "after", "after", Errors(), high=2**62)
    return _stream(_live_filters(filters), last, row)


def _stream(filters: dict, last: int | None, row) -> Response:
    """Records after `last` (the newest now when None), oldest first, as they arrive."""
    log = appliance().system_log
    ended, session_id = appliance().ended_sessions.ended, session.get("sid")
    if last is None:
        newest = log.recent(limit=1)
        last = newest[0].id if newest else 0
    written = gevent.event.Event()
    stop = log.listen(written.set)

    def generate() -> Iterator[str]:
        nonlocal last
        try:
            yield "retry: 2000\n: doorctl system log\n\n"
            while not ended(session_id):
                found = log.recent(limit=REPLAY_LIMIT, after=last, **filters)
                for record in reversed(found):
                    yield row(record)
                last = found[0].id if found else last
                if not found and not written.wait(KEEPALIVE_SECONDS):
                    yield ": keep-alive\n\n"
                written.clear()
        finally:
            stop()

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(stream_with_context(generate()), mimetype="text/event-stream", headers=headers)


@bp.route("/logs/system/download")
@allow(ROLE)
def download():
    """The filtered records as a text file, one line each, oldest first."""
    filters, errors = _filters(DOWNLOAD_ROWS)
    refuse(errors)
    records, _cursor = _records({**filters, "limit": filters["limit"] or DOWNLOAD_ROWS})
    text = computed(_text, records)  # 20,000 lines: off the hub
    name = f"doorctl-system-log-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.txt"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(text, mimetype="text/plain", headers=headers)


def _text(records: list[Record]) -> str:
    """The download's text: the records oldest first, a line each."""
    return "".join(_line(r) for r in reversed(records))


def _line(record: Record) -> str:
    """One record as a line of the download (a traceback's lines indented under it)."""
    stamp = record.time.isoformat(timespec="milliseconds")
    message = record.message.replace("\n", "\n    ")
    return f"{stamp} {record.level} {record.process} {record.logger}: {message}\n"


@bp.route("/api/v1/logs/system")
@allow(ROLE)
def api_list():
    """System log records newest first: `{"records": [...], "next": cursor, "removed"}`."""
    filters, errors = _filters()
    refuse(errors)
    records, cursor = _records(filters)
    stats = appliance().system_log.stats()
    return jsonify(records=[r.to_dict() for r in records], next=cursor, removed=stats["removed"])
