"""Network (System > Network): IPv4, IPv6, hostname and DNS servers; administrators.

A change applies at once under a NetworkManager checkpoint and must be confirmed from
the new address within the confirmation time, or the previous settings come back: the
page moves the browser to the new address and asks there; the API answers 202 with
the deadline and the URL to POST the confirmation to.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _

from doorctl.blueprints.common import appliance, json_body, render
from doorctl.blueprints.system.network import ip_context, pending_answer, render_page
from doorctl.core.errors import DoorctlError
from doorctl.core.system.network.ip_form import IpSettings

bp = Blueprint("network_ip", __name__)
CONFIRM_API = "/api/v1/network/confirm"


def _ip():
    return appliance().ip_network


def _host() -> str:
    return urlsplit("//" + request.host).hostname or "localhost"


def new_address(record: dict) -> str:
    """Where this browser finds the pages under `record`: the new static address on the
    same scheme and port, else the address it used."""
    host = _host()
    if not record["ipv4_automatic"] and record["ip_address"]:
        host = record["ip_address"].strip()
    host = f"[{host}]" if ":" in host else host
    port = request.environ.get("SERVER_PORT") or ""
    standard = {"http": "80", "https": "443"}[request.scheme]
    return f"{request.scheme}://{host}" + ("" if port in ("", standard) else f":{port}")


@bp.route("/network/ip", methods=["POST"])
def save():
    """Apply the page's IP settings under a checkpoint, then confirm at the new address."""
    ip = _ip()
    form = IpSettings(formdata=request.form, data=ip.in_force)
    try:
        pending = ip.change(ip.check(form))
    except DoorctlError as error:
        errors = error.fields or {"ipv4_automatic": error.message}
        return render_page(422 if error.fields else error.status, **ip_context(form, errors))
    if pending is None:
        flash(_("The IP settings are those in force; nothing waits for a confirmation."))
        return redirect(url_for("network.page"), 303)
    address = new_address(pending.new) + url_for("network_ip.confirm_page")
    moving = pending.to_dict(ip.clock())
    return render("system/network/moving.html", 200, address=address, pending=moving, kind="ip")


@bp.route("/network/ip/confirm")
def confirm_page():
    """The new address asks for the confirmation, with the time left."""
    return render(
        "system/network/confirm.html",
        200,
        pending=_ip().status()["pending"],
        here=_host(),
        kind="ip",
    )


@bp.route("/network/ip/confirm", methods=["POST"])
def confirm():
    """Keep the change: this request came through the new address."""
    try:
        _ip().confirm(_host())
    except DoorctlError as error:
        flash(error.message)
        return redirect(url_for("network_ip.confirm_page"), 303)
    flash(_("The new IP settings are kept."))
    return redirect(url_for("network.page"), 303)


@bp.route("/api/v1/network")
def api_get():
    """IP settings in force (a change waiting for its confirmation too)."""
    return jsonify(_ip().in_force)


@bp.route("/api/v1/network/state")
def api_state():
    """The addresses in use, the change waiting, and why the settings are read-only.

    `read_only` is null where NetworkManager runs."""
    return jsonify(_ip().status())


@bp.route("/api/v1/network", methods=["PUT", "PATCH"])
def api_update():
    """Apply new IP settings at once, kept when confirmed from the new address.

    202 until confirmed; 200 when nothing changed; 409 where NetworkManager does not run.
    """
    ip = _ip()
    pending = ip.change(ip.validated(json_body()))
    if pending is None:
        return jsonify(ip.in_force)
    answer = pending_answer(pending, ip.clock(), new_address(pending.new), CONFIRM_API)
    return jsonify(answer), 202


@bp.route(CONFIRM_API, methods=["POST"])
def api_confirm():
    """Keep the change waiting for its confirmation; call it through the new address."""
    return jsonify(_ip().confirm(_host()))
