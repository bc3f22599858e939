"""Remote system log (Logs): the syslog servers, each with its live state; administrators.

REST: /api/v1/logs/remote-syslog/servers (list, add) and .../servers/<id> (get,
change, remove); a server's record carries its live state.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext

from doorctl.blueprints.common import allow, appliance, form_number, render
from doorctl.blueprints.form_schema import form_schema
from doorctl.blueprints.resource import OPERATIONS, Page, Resource, register, store_of
from doorctl.core.logs.remote_syslog.servers import (  # noqa: F401  (KIND: live.py's)
    FIELDS,
    KIND,
    PORTS,
    SEVERITY_NAMES,
    ServerForm,
)
from doorctl.core.system.certificates.chosen import CA_CERTIFICATE, choices

MENU_ITEMS = [("Logs", lazy_gettext("Remote system log"), "remote_syslog.page")]
bp = Blueprint("remote_syslog", __name__)
STATES = {
    "connected": lazy_gettext("Connected"),
    "connecting": lazy_gettext("Connecting"),
    "stopped": lazy_gettext("Stopped"),
}


def _syslog():
    return appliance().remote_syslog


def _context() -> dict:
    return {
        "servers": _syslog().list(),
        "form": ServerForm(),
        "severities": SEVERITY_NAMES,
        "states": STATES,
        "ports": PORTS,
        "cas": choices(appliance().certificates)[CA_CERTIFICATE],
    }


def _page(status: int = 200, **context):
    return render(
        "logs/remote_syslog/page.html",
        status,
        errors=context.pop("errors", {}),
        **(_context() | context),
    )


@bp.route("/logs/remote-syslog/status")
@allow("administrator")
def live():
    """The servers' table alone (the page has it pushed by live.py)."""
    return servers_html()


def servers_html() -> str:
    """Each server with its live state: connected or why not, sent, waiting, dropped."""
    return render_template("logs/remote_syslog/_servers.html", **_context())


def form_body(form) -> dict:
    """A server from the page's form; the port stays text when it is not a number."""
    body = {name: form[name].strip() for name in FIELDS if name in form}
    if "port" in body:
        body["port"] = form_number(body["port"]) if body["port"] else None
    return body


BODY = form_schema(ServerForm)
BODY["required"] = ["host"]
BODY["properties"]["port"] = {**BODY["properties"]["port"], "type": ["integer", "null"]}
LIVE = {
    "state": {
        "enum": ["connected", "connecting", "stopped"],
        "description": "connecting: not connected now; `reason` says why in words.",
    },
    "reason": {"type": "string", "examples": ["Connection refused: nothing listens on 514."]},
    "sent": {"type": "integer", "description": "Messages written to the server."},
    "queued": {"type": "integer", "description": "Messages waiting in the buffer."},
    "dropped": {"type": "integer", "description": "Messages dropped: the buffer was full."},
}
RECORD = {
    "type": "object",
    "required": ["id", *FIELDS, *LIVE],
    "properties": {
        "id": {"type": "integer"},
        **{k: v for k, v in BODY["properties"].items() if k != "port"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        **LIVE,
    },
}
RESOURCE = Resource(
    name="remote syslog server",
    plural="remote syslog servers",
    api="/api/v1/logs/remote-syslog/servers",
    key="server_id",
    converter="int",
    record=RECORD,
    body=BODY,
    roles=dict.fromkeys(OPERATIONS, "administrator"),
    store=store_of(_syslog),
    conflicts=("create",),
    example={"host": "syslog.example.com", "format": "rfc5424", "protocol": "tls"},
    summaries={
        "list": "Every remote syslog server with its live state.",
        "create": "Add a syslog server; the port defaults to 514 (UDP, TCP) or 6514 (TLS).",
        "update": "Change a server: the fields given, the others stay; it reconnects.",
        "delete": "Remove a server; the messages waiting for it are dropped.",
    },
    page=Page(
        path="/logs/remote-syslog",
        render=_page,
        form_body=form_body,
        forms="/logs/remote-syslog/servers",
        messages={
            "create": lazy_gettext("Server {host} added."),
            "delete": lazy_gettext("Server removed."),
        },
    ),
)
register(bp, RESOURCE)
