"""Status (manual: "Status"): Device info now; later sections add their cards."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, url_for

from doorctl.blueprints.common import allow, appliance, render

MENU_ITEMS = [("Status", "Status", "status.page")]
bp = Blueprint("status", __name__)


@bp.route("/")
@allow("viewer")
def index():
    """The device's front page is its status."""
    return redirect(url_for("status.page"))


@bp.route("/status")
@allow("viewer")
def page():
    """The Status page with the Device info card."""
    return render("status/page.html", info=_info())


@bp.route("/status/device")
@allow("viewer")
def device_card():
    """The Device info card alone, for its periodic refresh."""
    return render_template("status/_device.html", info=_info())


@bp.route("/api/v1/device")
@allow("viewer")
def api_device():
    """Device info as JSON, with the door engine's state."""
    return jsonify(_info())


def _info() -> dict:
    """Device info, and the door engine's state: a restarting engine shows here."""
    doorctl = appliance()
    return {**doorctl.device.to_dict(), "door_engine": doorctl.door_engine()}
