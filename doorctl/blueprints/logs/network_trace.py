"""Network trace (manual: Logs > Network trace): record the unit's traffic with tcpdump
for a chosen time, then download it as a pcap file; administrators only.

A trace is started, then followed: the page asks for its state every 2 s and offers
the file when it is done, so no request is held open for the minutes a trace runs
(a proxy or a phone's browser would cut it). A trace the page started ends, and its
file goes, when its browser has sent nothing for a minute (it was closed): the page's
own polls and any other page of that login keep it.
REST: POST /api/v1/logs/network-trace ({"duration", "unit", "interface"}: 202), GET
its state, DELETE stops it, GET .../file downloads it.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user

from doorctl.blueprints.api_schemas import record
from doorctl.blueprints.common import appliance, form_number, is_api, json_body, render
from doorctl.core.errors import DoorctlError, Invalid, unknown_fields
from doorctl.core.logs import network_trace as core
from doorctl.core.logs.network_trace import ALL, NetworkTrace, interfaces

MENU_ITEMS = [("Logs", lazy_gettext("Network trace"), "network_trace.page")]
bp = Blueprint("network_trace", __name__)
PCAP = "application/vnd.tcpdump.pcap"
DEFAULTS = {"duration": "30", "unit": "seconds", "interface": ALL}
FIELDS = tuple(DEFAULTS)


def _trace() -> NetworkTrace:
    return appliance().network_trace


def _source() -> dict:
    """Who starts or stops the trace, from where and how: its events' source (Audit log)."""
    via = "api" if is_api() else "web"
    return {"user": current_user.username, "address": request.remote_addr, "via": via}


def _context(values=None, errors=None, message=None) -> dict:
    """What the page shows: the form (as typed), the interfaces and the trace's state."""
    return {
        "values": {**DEFAULTS, **(values or {})},
        "errors": errors or {},
        "message": message,
        "interfaces": [ALL, *interfaces()],
        "units": list(core.UNITS),
        "trace": _trace().status(),
        "limits": core.SECONDS,
        "megabytes": _trace().max_file_mb,
    }


@bp.before_app_request
def _seen() -> None:
    """Any request of the login that started a trace shows that its browser is there."""
    if "sid" in session:
        _trace().seen(session["sid"])


@bp.route("/logs/network-trace")
def page():
    """The Network trace page: the form, and the state of the last trace."""
    return render("logs/network_trace/page.html", **_context())


@bp.route("/logs/network-trace", methods=["POST"])
def start():
    """Start a trace for the duration asked; the page then follows it."""
    form = request.form
    try:
        _trace().begin(
            form_number(form.get("duration", "")),
            form.get("unit", ""),
            form.get("interface", ""),
            _source(),
            watcher=session.get("sid"),
        )
    except DoorctlError as error:
        context = _context(form.to_dict(), error.fields, None if error.fields else error.message)
        return render("logs/network_trace/page.html", 422 if error.fields else 409, **context)
    flash(_("The network trace is running."))
    return redirect(url_for("network_trace.page"), 303)


@bp.route("/logs/network-trace/state")
def state():
    """The trace's panel (the page asks every 2 s while it runs)."""
    return render_template("logs/network_trace/_state.html", trace=_trace().status())


@bp.route("/logs/network-trace/stop", methods=["POST"])
def stop():
    """Stop the running trace now; what it recorded can be downloaded."""
    try:
        _trace().end(_source())
    except DoorctlError as error:
        return render("logs/network_trace/page.html", 409, **_context(message=error.message))
    flash(_("The network trace was stopped."))
    return redirect(url_for("network_trace.page"), 303)


def _download():
    name, path = _trace().file()
    return send_file(path, PCAP, as_attachment=True, download_name=name, max_age=0)


@bp.route("/logs/network-trace/file")
def download():
    """The finished trace as a pcap file; without one, the page says why."""
    try:
        return _download()
    except DoorctlError as error:
        flash(error.message)
        return redirect(url_for("network_trace.page"), 303)


@bp.route("/api/v1/logs/network-trace", methods=["POST"])
def api_start():
    """Start a trace: 202 and its state; 409 while another runs."""
    body = json_body()
    unknown = unknown_fields(body, FIELDS)
    if unknown:
        raise Invalid(unknown)
    trace = _trace().begin(
        body.get("duration"), body.get("unit", "seconds"), body.get("interface", ALL), _source()
    )
    location = url_for("network_trace.api_state")
    return jsonify(trace), 202, {"Location": location}


@bp.route("/api/v1/logs/network-trace")
def api_state():
    """The state of the last trace ("none" before the first)."""
    return jsonify(_trace().status())


@bp.route("/api/v1/logs/network-trace", methods=["DELETE"])
def api_stop():
    """Stop the running trace now (its file can then be downloaded); 409 when none runs."""
    _trace().end(_source())
    return "", 204


@bp.route("/api/v1/logs/network-trace/file")
def api_file():
    """The finished trace as a pcap file; 409 while it runs, 404 when there is none."""
    return _download()


WHEN = {"type": ["string", "null"], "description": "ISO 8601, UTC"}
STATE = record(
    {"state": {"enum": ["none", "running", "done", "full", "stopped", "abandoned", "failed"]}},
    {
        "seconds": {"type": "integer"},
        "interface": {"type": "string", "description": "any: all interfaces"},
        "started": WHEN,
        "ends": WHEN,
        "ended": WHEN,
        "bytes": {"type": "integer"},
        "user": {"type": ["string", "null"]},
        "problem": {"type": ["string", "null"]},
    },
)
BODY = {
    "type": "object",
    "required": ["duration"],
    "properties": {
        "duration": {
            "type": "integer",
            "minimum": 1,
            "description": "In `unit`s; from 1 second to 30 minutes in all.",
        },
        "unit": {"enum": list(core.UNITS), "default": "seconds"},
        "interface": {
            "type": "string",
            "default": ALL,
            "description": "A network interface of the unit, or any (all of them).",
        },
    },
    "additionalProperties": False,
}
API_ROUTES = {
    ("network_trace.api_start", "POST"): {
        "body": BODY,
        "example": {"duration": 2, "unit": "minutes", "interface": ALL},
        "status": "202",
        "answer": STATE,
        "answer_text": "tcpdump records now; GET the state until it is done, then the file.",
        "errors": ("409",),
    },
    ("network_trace.api_state", "GET"): {"answer": STATE},
    ("network_trace.api_stop", "DELETE"): {"errors": ("409",)},
    ("network_trace.api_file", "GET"): {
        "answer_type": PCAP,
        "answer": {"type": "string", "format": "binary"},
        "answer_text": "The finished trace as a pcap file (Wireshark opens it).",
        "errors": ("404", "409"),
    },
}
