"""System > Security (manual): brute-force blocking, the IP address filter, IEEE 802.1x
and the custom-signed firmware certificate (the owner's key for firmware).

`admit` runs first for every request (the IP address filter); `authenticate` (and
`change_own_password`, for the current password) is how the login form, HTTP Basic and
a change of one's own password check a password, so each failure counts toward a
block and a blocked address answers 429 with Retry-After, without a password hash.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, jsonify, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user

from doorctl.blueprints.common import appliance, error_answer, is_api, json_body, render
from doorctl.blueprints.system import ieee8021x
from doorctl.core.errors import DoorctlError, Invalid, unknown_fields
from doorctl.core.system.security import SECTION, Blocked
from doorctl.core.system.security.dot1x_form import SECTION as IEEE_8021X
from doorctl.core.system.security.ip_filter import own_address_error
from doorctl.core.system.users import User

MENU_ITEMS = [("System", lazy_gettext("Security"), "security.page")]
bp = Blueprint("security", __name__)


def admit():
    """Refuse, before anything else, a client the IP address filter keeps out."""
    if appliance().security.admits(request.remote_addr):
        return None
    message = _("Your address is not allowed to reach this device (IP address filter).")
    return error_answer(403, _("Not allowed"), message)


def authenticate(username: str, password: str, method: str) -> User | None:
    """Check a password from this request's address; raise Blocked while it is blocked."""
    security = appliance().security
    return security.authenticate(username, password, request.remote_addr, _rule(), method)


def change_own_password(username: str, old: object, password: object) -> User:
    """A new password for `username`, the current one checked (and counted) as a login."""
    security = appliance().security
    return security.change_own_password(username, old, password, request.remote_addr, _rule())


def _rule() -> str:
    """The page, for the page-level count: the route's rule, or the path without one."""
    return request.url_rule.rule if request.url_rule else request.path


def with_retry_after(response, error: Blocked):
    """The answer to a blocked client, with the seconds it has to wait."""
    response = make_response(response)
    response.headers["Retry-After"] = str(error.seconds)
    return response


@bp.after_app_request
def _note_user(response):
    """Name the request's user for the connected clients (only when it logged in)."""
    user = g.get("_login_user")
    if user is not None and user.is_authenticated:
        request.environ["REMOTE_USER"] = user.username
    return response


@bp.app_errorhandler(Blocked)
def _blocked(error: Blocked):
    """429 with Retry-After; the login page says so in its own form."""
    if not is_api() and request.endpoint == "auth.login":
        username = request.form.get("username", "")
        next_page = request.form.get("next", "")
        response = render(
            "auth/login.html", 429, error=error.message, username=username, next=next_page
        )
    else:
        response = error_answer(429, _("Too many failed logins"), error.message)
    return with_retry_after(response, error)


def _page(status: int = 200, form=None, **context):
    return render(
        "system/security/page.html",
        status,
        form=form or appliance().settings.form(SECTION),
        blocked=appliance().security.status()["blocked"],
        address=request.remote_addr,
        errors=context.pop("errors", {}),
        firmware_key=appliance().firmware_key.get(),
        key_errors=context.pop("key_errors", {}),
        **(context.pop("dot1x", None) or ieee8021x.context()),
        **context,
    )


def _refuse_own_shutout(record: dict) -> None:
    """Raise Invalid when the filter would shut out the address making the change."""
    problem = own_address_error(record, request.remote_addr)
    if problem:
        raise Invalid({"addresses": problem})


@bp.route("/security")
def page():
    """The Security page: brute-force blocking and the IP address filter."""
    return _page()


@bp.route("/security", methods=["POST"])
def save():
    """Save the page's settings; a filter that would shut out this address is refused."""
    settings = appliance().settings
    form = settings.form(SECTION, request.form)
    try:
        if form.validate():
            _refuse_own_shutout(form.data)
        settings.save(SECTION, form)
    except DoorctlError as error:
        return _page(422, form=form, errors=error.fields, message=error.message)
    flash(_("Security settings saved."))
    return redirect(url_for("security.page"), 303)


@bp.route("/api/v1/security")
def api_get():
    """The stored security settings."""
    return jsonify(appliance().settings.get(SECTION))


@bp.route("/api/v1/security", methods=["PUT", "PATCH"])
def api_update():
    """Change security settings; a filter that would shut out the caller is refused."""
    settings = appliance().settings
    body = json_body()
    candidate = {**settings.get(SECTION), **body}
    if isinstance(candidate.get("addresses"), list) and isinstance(
        candidate.get("use_filter"), bool
    ):
        _refuse_own_shutout(candidate)
    return jsonify(settings.update(SECTION, body))


@bp.route("/security/ieee8021x", methods=["POST"])
def ieee8021x_save():
    """Save the IEEE 802.1x card and apply it to the wired connection."""
    form = appliance().settings.form(IEEE_8021X, request.form)
    try:
        appliance().ieee8021x.save(form)
    except DoorctlError as error:
        dot1x = ieee8021x.context(form, error.fields)
        return _page(422, dot1x=dot1x, dot1x_message=error.message)
    flash(_("IEEE 802.1x settings saved."))
    return redirect(url_for("security.page") + "#ieee8021x", 303)


@bp.route("/security/firmware-key", methods=["POST"])
def firmware_key_install():
    """Install the owner's public key pasted in the page's card."""
    typed = request.form.get("key", "")
    try:
        appliance().firmware_key.install(typed, current_user.username, request.remote_addr)
    except Invalid as error:
        kept = "" if "PRIVATE KEY" in typed else typed  # a private key is never sent back
        return _page(422, key_errors=error.fields, typed_key=kept)
    flash(_("Custom-signed firmware certificate installed."))
    return redirect(url_for("security.page"), 303)


@bp.route("/security/firmware-key/remove", methods=["POST"])
def firmware_key_remove():
    """Remove the owner's key: only release-signed firmware installs from now on."""
    appliance().firmware_key.remove(current_user.username, request.remote_addr)
    flash(_("Custom-signed firmware certificate removed."))
    return redirect(url_for("security.page"), 303)


@bp.route("/api/v1/firmware/owner-key")
def api_firmware_key():
    """The owner's firmware key: whether one is installed, its fingerprint and PEM."""
    return jsonify(appliance().firmware_key.get())


@bp.route("/api/v1/firmware/owner-key", methods=["PUT"])
def api_firmware_key_install():
    """Install the owner's Ed25519 public key `{"key": PEM}`, replacing one before."""
    body = json_body()
    extra = unknown_fields(body, ("key",))
    if extra:
        raise Invalid(extra)
    firmware_key = appliance().firmware_key
    return jsonify(
        firmware_key.install(body.get("key"), current_user.username, request.remote_addr)
    )


@bp.route("/api/v1/firmware/owner-key", methods=["DELETE"])
def api_firmware_key_remove():
    """Remove the owner's key; bundles signed with it are refused from now on."""
    appliance().firmware_key.remove(current_user.username, request.remote_addr)
    return "", 204
