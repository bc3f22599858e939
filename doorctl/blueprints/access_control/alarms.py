"""Alarms (manual: "Access control > Alarms"): device motion, casing open, external tamper."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.blueprints.common import allow, appliance, json_body, render, save_section
from doorctl.core.access_control.alarms import SECTION

MENU_ITEMS = [("Access control", lazy_gettext("Alarms"), "alarms.page")]
bp = Blueprint("alarms", __name__)


def _page(status: int = 200, form=None, **context):
    return render(
        "access_control/alarms/page.html",
        status,
        alarms=appliance().alarms.status()["alarms"],
        form=form or appliance().settings.form(SECTION),
        errors=context.pop("errors", {}),
        **context,
    )


@bp.route("/alarms")
@allow("viewer")
def page():
    """The Alarms page: each alarm on or off, and whether it is triggered now."""
    return _page()


def table_html() -> str:
    """The alarms table, for the page's live panel."""
    return render_template(
        "access_control/alarms/_alarms.html", alarms=appliance().alarms.status()["alarms"]
    )


@bp.route("/alarms/state")
@allow("viewer")
def state():
    """The alarms table alone."""
    return table_html()


@bp.route("/alarms", methods=["POST"])
def save():
    """Turn alarms on or off (an unticked switch is not sent: off) and set the threshold."""
    return save_section(SECTION, _page, _("Alarm settings saved."), "alarms.page")


@bp.route("/api/v1/alarms")
@allow("viewer")
def api_get():
    """Each alarm: enabled, whether this board has its sensor, triggered now."""
    return jsonify(appliance().alarms.status())


@bp.route("/api/v1/alarms", methods=["PUT", "PATCH"])
def api_update():
    """Turn alarms on or off, or set the device motion threshold in g; the others stay."""
    appliance().settings.update(SECTION, json_body())
    return jsonify(appliance().alarms.status())
