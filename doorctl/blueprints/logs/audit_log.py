"""Audit log (Logs > Reports and logs): who changed what, when and from where, and
every login, failed login and logout; administrators only, as on commercial
controllers. A view of the event log (core/logs/audit_log.py), also as JSON and CSV.
"""

from __future__ import annotations

import csv
import io
import time
from datetime import datetime

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.datastructures import MultiDict

from doorctl.blueprints.common import appliance, render
from doorctl.blueprints.logs.events import refuse
from doorctl.blueprints.logs.filters import Errors, page_filters
from doorctl.blueprints.logs.rows import row_helpers
from doorctl.core.access_control.cardholder_csv import neutralised
from doorctl.core.events import Event
from doorctl.core.logs import audit_log
from doorctl.core.logs.audit_log import actor_of
from doorctl.core.waiting import computed_here

MENU_ITEMS = [("Logs", lazy_gettext("Audit log"), "audit_log.page")]
bp = Blueprint("audit_log", __name__)  # no allow(): administrators only
PAGE_ROWS = 100
DOWNLOAD_ROWS = 10_000
MAX_USER = 64


def audit_filters(args: MultiDict, tz, limit: int = PAGE_ROWS) -> tuple[dict, Errors]:
    """The Audit log's filters (user, time, page) and the errors of bad ones."""
    errors = Errors()
    user = (args.get("user") or "").strip()
    if len(user) > MAX_USER:
        errors["user"] = _("User: at most %(count)d characters.", count=MAX_USER)
        user = ""
    return {"user": user or None, **page_filters(args, tz, errors, limit)}, errors


def _query(limit: int = PAGE_ROWS):
    """The filtered audit events, the next page's cursor and the filters' errors."""
    filters, errors = audit_filters(request.args, appliance().access.tz, limit)
    log = appliance().event_log
    log.flush()
    events, cursor = audit_log.query(log, **filters)
    return events, cursor, filters, errors


@bp.route("/logs/audit")
def page():
    """Logs > Audit log: changes, logins and failed logins, with who and from where."""
    events, cursor, filters, errors = _query()
    return render(
        "logs/audit_log/page.html",
        400 if errors else 200,
        events=events,
        next=cursor,
        args=request.args,
        filter_errors=errors,
        actor_of=actor_of,
        **row_helpers(),
    )


def _entry(event: Event, say) -> dict:
    """An audit entry as the API and the CSV give it."""
    return {
        "id": event.id,
        "time": event.time,
        **actor_of(event),
        "what": say(event),
        "topic": event.topic,
        "data": event.data,
    }


@bp.route("/api/v1/logs/audit")
def api_list():
    """Audit entries newest first: `{"entries": [...], "next": cursor}`."""
    events, cursor, _filters, errors = _query()
    refuse(errors)
    say = row_helpers()["say"]
    return jsonify(entries=[_entry(e, say) for e in events], next=cursor)


@bp.route("/logs/audit/download")
def download():
    """The filtered audit entries as CSV, newest first; a cell a spreadsheet would run
    as a formula (a user name "=...") gets a quote in front."""
    events, _cursor, _filters, errors = _query(DOWNLOAD_ROWS)
    refuse(errors)
    say, zone = row_helpers()["say"], appliance().access.tz
    text = computed_here(_csv, events, say, zone)  # 10,000 sentences: off the hub
    name = f"doorctl-audit-log-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(text, mimetype="text/csv", headers=headers)


def _csv(events: list[Event], say, zone) -> str:
    """The audit entries as CSV text, a row each under a heading row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["time", "user", "address", "via", "what", "topic"])
    for event in events:
        who = actor_of(event)
        stamp = datetime.fromtimestamp(event.time, zone).isoformat(timespec="seconds")
        row = [stamp, who["user"] or "", who["address"] or "", who["via"] or ""]
        writer.writerow([neutralised(cell) for cell in (*row, say(event), event.topic)])
    return out.getvalue()
