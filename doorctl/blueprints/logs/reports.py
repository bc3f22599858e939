"""Reports and logs (manual: Logs > Reports and logs): the server report, and the logs.

The server report (core/logs/report.py) shows in the page and downloads as a text file
named after the device and the time; `/api/v1/logs/report` gives the same text, or its
data as JSON with `?format=json`. Administrators only: it shows every setting.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.blueprints.api_schemas import query
from doorctl.blueprints.common import appliance, render
from doorctl.core.errors import Invalid
from doorctl.core.logs import report

MENU_ITEMS = [("Logs", lazy_gettext("Reports and logs"), "reports.page")]
bp = Blueprint("reports", __name__)
TEXT = "text/plain; charset=utf-8"
# The log pages the page links to, when this version has them (endpoint, title, what).
LOG_PAGES = (
    (
        "events.page",
        lazy_gettext("Event log"),
        lazy_gettext("Everything that happened: doors, readers, inputs, changes."),
    ),
    (
        "access_log.page",
        lazy_gettext("Access log"),
        lazy_gettext("Who was let in or refused, at which door and why."),
    ),
    (
        "system_log.page",
        lazy_gettext("System log"),
        lazy_gettext("What the controller's software did and what went wrong."),
    ),
    (
        "audit_log.page",
        lazy_gettext("Audit log"),
        lazy_gettext("Who changed what, and from where."),
    ),
)


def _device_name() -> str:
    """The device's host name as a file name takes it."""
    hostname = appliance().device.to_dict()["hostname"]
    return "".join(c for c in hostname if c.isalnum() or c in "-_") or "doorctl"


def file_name() -> str:
    """The report's file name: the device's name and the time it was made."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime())
    return f"doorctl-{_device_name()}-{stamp}-server-report.txt"


def _text() -> str:
    return report.as_text(report.build(appliance()))


def _log_pages() -> list[dict]:
    """The log pages this version serves, with their addresses."""
    views = current_app.view_functions
    return [
        {"endpoint": endpoint, "title": title, "about": about, "url": url_for(endpoint)}
        for endpoint, title, about in LOG_PAGES
        if endpoint in views
    ]


@bp.route("/logs/reports")
def page():
    """Reports and logs: the server report to view or download, and the logs."""
    shown = _text() if request.args.get("view") else None
    return render(
        "logs/reports/page.html", report_text=shown, log_pages=_log_pages(), name=file_name()
    )


@bp.route("/logs/reports/server-report")
def download():
    """The server report as a text file named after the device and the time."""
    headers = {"Content-Disposition": f'attachment; filename="{file_name()}"'}
    return Response(_text(), 200, headers, content_type=TEXT)


@bp.route("/api/v1/logs/report")
def api_report():
    """The server report: plain text, or its parts as JSON with `?format=json`."""
    wanted = request.args.get("format", "text")
    if wanted == "json":
        return jsonify(report.build(appliance()))
    if wanted != "text":
        raise Invalid({"format": _("Choose one of: %(choices)s.", choices="text, json")})
    headers = {"Content-Disposition": f'inline; filename="{file_name()}"'}
    return Response(_text(), 200, headers, content_type=TEXT)


API_ROUTES = {
    ("reports.api_report", "GET"): {
        "query": [
            query(
                "format",
                {"enum": ["text", "json"], "default": "text"},
                "text: the report as the page shows it; json: its parts as data.",
            )
        ],
        "answer_type": "text/plain",
        "answer": {"type": "string"},
        "answer_types": {"application/json": {"type": "object"}},
        "answer_text": "The server report: device info and versions, settings (secrets left "
        "out), the doors', readers', alarms' and I/O ports' state, network and time status, "
        "the latest system log and event log. With ?format=json, the same as a JSON object.",
    },
}
