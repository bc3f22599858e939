"""Kiosk display (System > Kiosk display): on or off, operator actions, PIN, dimming.

One form definition (core's KioskSettings) checks the page, the JSON and the store,
and describes the section in the OpenAPI document. The operator PIN is stored as a
salted slow hash and never shown back: an empty PIN keeps the stored one.
"""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.blueprints.common import appliance, json_body, render
from doorctl.core.errors import DoorctlError
from doorctl.core.system.kiosk import MAX_DIM_MINUTES, SECTION

MENU_ITEMS = [("System", lazy_gettext("Kiosk display"), "kiosk_display.page")]
bp = Blueprint("kiosk_display", __name__)


def _page(status: int = 200, form=None, **context):
    """The page with the stored record, or the form that was refused."""
    kiosk = appliance().kiosk
    return render(
        "system/kiosk/page.html",
        status,
        form=form or appliance().settings.form(SECTION),
        pin_set=kiosk.pin_set(),
        max_dim=MAX_DIM_MINUTES,
        errors=context.pop("errors", {}),
        **context,
    )


@bp.route("/kiosk-display")
def page():
    """The Kiosk display page."""
    return _page()


@bp.route("/kiosk-display", methods=["POST"])
def save():
    """Save the page; an empty PIN keeps the stored one."""
    form = appliance().settings.form(SECTION, request.form)
    try:
        appliance().kiosk.save(form)
    except DoorctlError as error:
        return _page(422, form=form, errors=error.fields, message=error.message)
    flash(_("Kiosk display saved."))
    return redirect(url_for("kiosk_display.page"), 303)


@bp.route("/api/v1/kiosk")
def api_get():
    """The kiosk display's settings (whether a PIN is set, never the PIN)."""
    return jsonify(appliance().kiosk.public())


@bp.route("/api/v1/kiosk", methods=["PUT", "PATCH"])
def api_update():
    """Change the kiosk display's settings; an absent or empty PIN keeps the stored one."""
    appliance().kiosk.update(json_body())
    return jsonify(appliance().kiosk.public())
