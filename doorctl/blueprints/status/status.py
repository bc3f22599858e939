"""Status (manual: "Status"): the dashboard an installer reads at a glance.

Each door's state in one line of large chips, then what needs attention (alarms),
the readers' links and the device info. The page's panels are live: live.py pushes
each one again when its state changes.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_babel import lazy_gettext

from doorctl.blueprints.common import allow, appliance, render
from doorctl.core.engine.process import Unavailable

MENU_ITEMS = [("Status", lazy_gettext("Status"), "status.page")]
bp = Blueprint("status", __name__)


@bp.route("/")
@allow("viewer")
def index():
    """The device's front page is its status."""
    return redirect(url_for("status.page"))


def doors() -> list[dict] | None:
    """Each door's view as the Status page and the kiosk show it, or None while the
    door engine restarts (it holds their state)."""
    from doorctl.blueprints.access_control.doors import view

    try:
        return [view(door) for door in appliance().doors.values()]
    except Unavailable:
        return None


def alarms(views: list[dict] | None) -> list[dict] | None:
    """What needs attention now, for the Status page and the kiosk: each alarm of the
    door views given and each triggered device alarm; None while the engine restarts
    (it watches the inputs and holds the doors)."""
    try:
        device_alarms = appliance().alarms.status()["alarms"]
    except Unavailable:
        return None
    if views is None:
        return None
    found = [{"state": alarm, "where": door["name"]} for door in views for alarm in door["alarms"]]
    for alarm in device_alarms:
        if alarm["triggered"] and alarm["enabled"]:
            found.append({"state": "alarm", "word": alarm["label"], "where": None})
    return found


def _readers() -> list[dict] | None:
    """Each reader in use, with the state its chip shows; None while the engine restarts."""
    try:
        listed = appliance().readers.list()
    except Unavailable:
        return None
    readers = []
    for reader in listed:
        if reader["protocol"] == "wiegand":
            state = "wiegand" if reader["enabled"] else None
        else:
            state = "error" if reader["error"] else ("online" if reader["online"] else "offline")
        if state:
            readers.append({**reader, "state": state})
    return readers


def doors_html() -> str:
    """The doors panel of the Status page."""
    return render_template("status/_doors.html", doors=doors())


def alarms_html() -> str:
    """The attention panel of the Status page."""
    return render_template("status/_alarms.html", alarms=alarms(doors()))


def readers_html() -> str:
    """The readers panel of the Status page."""
    return render_template("status/_readers.html", readers=_readers())


def device_html() -> str:
    """The Device info card."""
    return render_template("status/_device.html", info=_info())


@bp.route("/status")
@allow("viewer")
def page():
    """The Status page: doors, alarms, readers and device info, kept live."""
    return render(
        "status/page.html",
        doors=(views := doors()),
        alarms=alarms(views),
        readers=_readers(),
        sync=appliance().date_time.status(),
        info=_info(),
    )


@bp.route("/status/device")
@allow("viewer")
def device_card():
    """The Device info card alone."""
    return device_html()


@bp.route("/api/v1/device")
@allow("viewer")
def api_device():
    """Device info as JSON, with the door engine's state."""
    return jsonify(_info())


def _info() -> dict:
    """Device info, and the door engine's state: a restarting engine shows here."""
    doorctl = appliance()
    return {**doorctl.device.to_dict(), "door_engine": doorctl.door_engine()}
