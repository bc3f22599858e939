"""Maintenance > Maintenance (manual: Maintenance): restart, restore, factory default.

Administrators only. Each action answers at once (the page shows "Restarting..." and
static/js/maintenance.js waits for the appliance to answer again; the API answers
202) and doorctl then stops, changes what the action changes and starts again.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user

from doorctl.blueprints.common import appliance, form_failed, json_body, render
from doorctl.core.errors import DoorctlError, Invalid, unknown_fields
from doorctl.core.maintenance.kept import NETWORK_SECTIONS, network_words
from doorctl.core.maintenance.maintenance import CONFIRMATION

MENU_ITEMS = [("Maintenance", lazy_gettext("Maintenance"), "maintenance.page")]
bp = Blueprint("maintenance", __name__)
START_HEADER = "X-Doorctl-Start"
BODIES = {"restart": ("device",), "restore": (), "factory_default": ("confirmation",)}
ACTIONS = ("restart", "restore", "factory_default")
# The OpenAPI document's words for these routes (api_routes/maintenance.py).
STATUS_SCHEMA = {
    "type": "object",
    "required": ["can_restart", "device_restart", "pending", "restore_keeps"],
    "properties": {
        "can_restart": {"type": "boolean"},
        "device_restart": {"type": "boolean"},
        "pending": {"enum": [*ACTIONS, None]},
        "restore_keeps": {"type": "array", "items": {"type": "string"}},
    },
}
RESTARTING_SCHEMA = {
    "type": "object",
    "required": ["action", "state"],
    "properties": {"action": {"enum": list(ACTIONS)}, "state": {"const": "restarting"}},
}


def _maintenance():
    return appliance().maintenance


def kept_words() -> list[str]:
    """What a restore keeps of the settings, as the page lists it."""
    return network_words()


@bp.after_app_request
def _start_token(response):
    """Each start of doorctl has its own token: the restarting page waits for a new one."""
    response.headers[START_HEADER] = _maintenance().start_token
    return response


def _page(status: int = 200, **context):
    return render(
        "maintenance/maintenance/page.html",
        status,
        maintenance=_maintenance().status(),
        kept=kept_words(),
        confirmation_word=CONFIRMATION,
        errors=context.pop("errors", {}),
        **context,
    )


def _restarting(action: str):
    return render(
        "maintenance/maintenance/restarting.html",
        200,
        action=action,
        start=_maintenance().start_token,
    )


@bp.route("/maintenance")
def page():
    """The Maintenance page: restart, restore and factory default."""
    return _page()


@bp.route("/maintenance/restart", methods=["POST"])
def restart():
    """Restart doorctl (or the whole device) from the page."""
    return _from_page("restart", lambda: _maintenance().restart(_user(), _device(request.form)))


@bp.route("/maintenance/restore", methods=["POST"])
def restore():
    """Restore the factory settings, the network's kept, from the page."""
    return _from_page("restore", lambda: _maintenance().restore(_user()))


@bp.route("/maintenance/factory-default", methods=["POST"])
def factory_default():
    """Everything back to new, once the confirmation word is typed."""
    confirmation = request.form.get("confirmation")
    return _from_page(
        "factory_default", lambda: _maintenance().factory_default(_user(), confirmation)
    )


def _from_page(action: str, ask):
    try:
        ask()
    except DoorctlError as error:
        return form_failed(_page, error, form_id=action)
    return _restarting(action)


def _user() -> str:
    return current_user.username


def _device(form) -> bool:
    return form.get("device") == "y"


@bp.route("/api/v1/maintenance")
def api_status():
    """Whether doorctl can restart (and the whole device), and what a restore keeps."""
    return jsonify({**_maintenance().status(), "restore_keeps": list(NETWORK_SECTIONS)})


@bp.route("/api/v1/maintenance/restart", methods=["POST"])
def api_restart():
    """Restart doorctl; {"device": true} restarts the whole device where it can."""
    body = _body("restart")
    device = body.get("device", False)
    if not isinstance(device, bool):
        raise Invalid({"device": _("Must be true or false.")})
    _maintenance().restart(_user(), device)
    return _accepted("restart")


@bp.route("/api/v1/maintenance/restore", methods=["POST"])
def api_restore():
    """Settings back to factory values, the network's kept; doorctl restarts."""
    _body("restore")
    _maintenance().restore(_user())
    return _accepted("restore")


@bp.route("/api/v1/maintenance/factory-default", methods=["POST"])
def api_factory_default():
    """Everything back to new; the body must hold {"confirmation": "default"}."""
    body = _body("factory_default")
    _maintenance().factory_default(_user(), body.get("confirmation"))
    return _accepted("factory_default")


def _body(action: str) -> dict:
    """The JSON body (an empty one may be left out), its fields known."""
    body = json_body() if request.get_data(cache=True) else {}
    unknown = unknown_fields(body, BODIES[action])
    if unknown:
        raise Invalid(unknown)
    return body


def _accepted(action: str):
    return jsonify({"action": action, "state": "restarting"}), 202
