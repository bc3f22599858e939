"""Network (System > Network): HTTP and HTTPS, and the connected clients; administrators
(the IP settings' cards and routes are in network_ip.py).

A change of HTTP and HTTPS serves at once and must be confirmed from the new address
within the confirmation time, or the settings in force before come back: the page
moves the browser to the new address (static js) and asks there; the API answers 202
with the new address, the deadline and the URL to POST the confirmation to.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user

from doorctl.blueprints.common import appliance, json_body, render
from doorctl.core.errors import DoorctlError, Invalid, NotFound
from doorctl.core.system.network.http_https import (
    CONFIRM_WARNING,
    HttpHttpsSettings,
    Pending,
    privileged_errors,
)
from doorctl.core.system.network.ip_form import IpSettings

MENU_ITEMS = [("System", lazy_gettext("Network"), "network.page")]
bp = Blueprint("network", __name__)
CONFIRM_API = "/api/v1/network/http-https/confirm"
KIND = "http_https"  # the words and routes of the templates shared with the IP settings


def _http_https():
    return appliance().http_https


def ip_context(form: IpSettings | None = None, errors: dict | None = None) -> dict:
    """What the Network page's IP cards show: the form, the addresses in use, why the
    settings are read-only here (if they are) and the change waiting for a confirmation."""
    ip = appliance().ip_network
    return {
        "ip_form": form or IpSettings(data=ip.in_force),
        "ip_errors": errors or {},
        "ip_status": ip.status(),
    }


def render_page(status: int = 200, form=None, **context):
    """The Network page; `context` carries a refused IP form's own (ip_form, ip_errors)."""
    http_https = _http_https()
    return render(
        "system/network/page.html",
        status,
        form=form or HttpHttpsSettings(data=http_https.in_force),
        certificates=appliance().certificates.list(""),
        pending=http_https.status()["pending"],
        confirm_seconds=http_https.confirm_seconds,
        clients=appliance().security.clients.clients(),
        own_session=session.get("sid"),
        errors=context.pop("errors", {}),
        **(context if "ip_form" in context else {**ip_context(), **context}),
    )


def new_address(record: dict) -> str:
    """Where this browser finds the pages under `record`: same host, its scheme while
    the record allows it (else the other), that scheme's port."""
    scheme = request.scheme
    if record["protocols"] not in ("both", scheme):
        scheme = "https" if scheme == "http" else "http"
    host = urlsplit("//" + request.host).hostname or "localhost"
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{record[f'{scheme}_port']}"


def pending_answer(pending: Pending, now: float, address: str, confirm_api: str) -> dict:
    """The API's 202 body for a change that waits to be confirmed (HTTP and HTTPS, IP
    settings): the new settings, where to go and until when to confirm."""
    return {**pending.to_dict(now), "address": address + "/", "confirm": address + confirm_api}


def _own_port() -> int:
    return int(request.environ.get("SERVER_PORT") or 0)


@bp.route("/network")
def page():
    """The Network page: HTTP and HTTPS, and the connected clients."""
    return render_page()


@bp.route("/network/http-https", methods=["POST"])
def save():
    """Serve the page's HTTP and HTTPS settings at once, then confirm at the new address."""
    http_https = _http_https()
    form = HttpHttpsSettings(formdata=request.form, data=http_https.in_force)
    privileged = request.form.get("privileged_ports") == "y"
    try:
        pending = http_https.change(http_https.check(form, privileged))
    except DoorctlError as error:
        warned = privileged_errors(form.data, http_https.in_force)
        asks = any(error.fields.get(name) == text for name, text in warned.items())
        return render_page(422, form=form, errors=error.fields, privileged_warning=asks)
    if pending is None:
        flash(_("HTTP and HTTPS serve the stored settings; nothing waits for a confirmation."))
        return redirect(url_for("network.page"), 303)
    address = new_address(pending.new) + url_for("network.confirm_page")
    moving = pending.to_dict(http_https.clock())
    return render("system/network/moving.html", 200, address=address, pending=moving, kind=KIND)


@bp.route("/network/confirm")
def confirm_page():
    """The new address asks for the confirmation, with the time left."""
    return render(
        "system/network/confirm.html",
        200,
        pending=_http_https().status()["pending"],
        here=new_address(_http_https().in_force),
        kind=KIND,
    )


@bp.route("/network/confirm", methods=["POST"])
def confirm():
    """Keep the change: this request came through the new settings."""
    try:
        _http_https().confirm(request.scheme, _own_port())
    except DoorctlError as error:
        flash(error.message)
        return redirect(url_for("network.confirm_page"), 303)
    flash(_("The new HTTP and HTTPS settings are kept."))
    return redirect(url_for("network.page"), 303)


@bp.route("/network/sessions/end", methods=["POST"])
def end_session():
    """End the session of one connected client, from the page."""
    try:
        _end(request.form.get("session", ""))
    except DoorctlError as error:
        flash(error.message)
        return redirect(url_for("network.page"), 303)
    flash(_("The session is ended: its browser has to log in again."))
    return redirect(url_for("network.page"), 303)


def _end(session_id: str) -> None:
    """End a connected client's session; raise NotFound if no client has it."""
    clients = {c["session"]: c for c in appliance().security.clients.clients() if c["session"]}
    client = clients.get(session_id)
    if client is None:
        raise NotFound(_("No connected client has this session (it may have ended already)."))
    user, address = current_user.username, request.remote_addr
    appliance().ended_sessions.end(session_id, client["user"], user, address)


@bp.route("/api/v1/network/http-https")
def api_get():
    """HTTP and HTTPS settings in force (a change waiting for its confirmation too)."""
    return jsonify(_http_https().in_force)


@bp.route("/api/v1/network/http-https", methods=["PUT", "PATCH"])
def api_update():
    """Serve new HTTP and HTTPS settings at once: 202 until confirmed from the new address
    (`privileged_ports: true` allows a port in 1-1023); 200 when nothing changed."""
    body = json_body()
    privileged = body.pop("privileged_ports", False)
    if not isinstance(privileged, bool):
        raise Invalid({"privileged_ports": _("Must be true or false.")})
    http_https = _http_https()
    try:
        pending = http_https.change(http_https.validated(body, privileged))
    except Invalid as error:
        raise Invalid({k: _api_warning(v) for k, v in error.fields.items()}) from None
    if pending is None:
        return jsonify(http_https.in_force)
    answer = pending_answer(pending, http_https.clock(), new_address(pending.new), CONFIRM_API)
    return jsonify(answer), 202


def _api_warning(message: str) -> str:
    """The page's warning about ports 1-1023, as the API confirms it."""
    return message.replace(str(CONFIRM_WARNING), _('send "privileged_ports": true to use it'))


@bp.route(CONFIRM_API, methods=["POST"])
def api_confirm():
    """Keep the change waiting for its confirmation; call it through the new address."""
    return jsonify(_http_https().confirm(request.scheme, _own_port()))


@bp.route("/api/v1/network/clients")
def api_clients():
    """Every client connected now: address, user, protocol, since, last request, streams,
    session."""
    return jsonify(appliance().security.clients.clients())


@bp.route("/api/v1/network/sessions/<string:session_id>", methods=["DELETE"])
def api_end_session(session_id: str):
    """End a connected client's session: its cookie logs nobody in from now on."""
    _end(session_id)
    return "", 204
