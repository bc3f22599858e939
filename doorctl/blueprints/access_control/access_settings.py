"""Access settings (Access control): the time zone of schedules and the PIN entry timeout.

One form definition (core's AccessSettings) checks the page, the JSON and the store,
and describes the section in the OpenAPI document.
"""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.blueprints.common import appliance, json_body, render
from doorctl.core.access_control.access import SECTION, system_zone
from doorctl.core.errors import DoorctlError

MENU_ITEMS = [("Access control", lazy_gettext("Access settings"), "access_settings.page")]
bp = Blueprint("access_settings", __name__)


def _page(status: int = 200, form=None, **context):
    return render(
        "access_control/access_settings/page.html",
        status,
        form=form or appliance().settings.form(SECTION),
        system_zone=system_zone(),
        errors=context.pop("errors", {}),
        **context,
    )


@bp.route("/access/settings")
def page():
    """The Access settings page."""
    return _page()


@bp.route("/access/settings", methods=["POST"])
def save():
    """Save the page's settings; each bad field keeps its value and says what is allowed."""
    settings = appliance().settings
    form = settings.form(SECTION, request.form)
    try:
        settings.save(SECTION, form)
    except DoorctlError as error:
        return _page(422, form=form, errors=error.fields, message=error.message)
    flash(_("Access settings saved."))
    return redirect(url_for("access_settings.page"), 303)


@bp.route("/api/v1/access-settings")
def api_get():
    """The access settings: the time zone of schedules and the PIN entry timeout."""
    return jsonify(appliance().settings.get(SECTION))


@bp.route("/api/v1/access-settings", methods=["PUT", "PATCH"])
def api_update():
    """Change some or all access settings; errors name each field."""
    return jsonify(appliance().settings.update(SECTION, json_body()))
