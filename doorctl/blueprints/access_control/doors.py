"""Doors (manual: "Access control"): live door state, operator actions, door settings."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext
from flask_login import current_user

from doorctl.blueprints.common import allow, appliance, json_body, render
from doorctl.core.access_control.door import Door
from doorctl.core.access_control.door_modes import ACTIONS
from doorctl.core.access_control.door_settings import SECTION
from doorctl.core.errors import DoorctlError, Invalid, NotFound

MENU_ITEMS = [("Access control", lazy_gettext("Doors"), "doors.page")]
bp = Blueprint("doors", __name__)
ACTION_LABELS = {
    "access": "Access",
    "lock": "Lock",
    "unlock": "Unlock",
    "block": "Block",
    "lockdown": "Lock down",
    "lockopen": "Lock open",
    "release": "Return to normal",
}


def find_door(door_id: int) -> Door:
    """The door with this id; raise NotFound naming the ones that exist."""
    door = appliance().doors.get(door_id)
    if door is None:
        known = ", ".join(str(i) for i in appliance().doors)
        raise NotFound(f"There is no door {door_id}; doors are {known}.")
    return door


def _source() -> dict:
    """Who asked, for the event log."""
    return {"by": "operator", "user": current_user.username}


def _card(door: Door, message: str = "", status: int = 200):
    html = render_template(
        "access_control/doors/_door.html", door=door.status(), labels=ACTION_LABELS, message=message
    )
    return html, status


@bp.route("/doors")
@allow("viewer")
def page():
    """The Doors page: each door's live state and, for operators, its actions."""
    doors = [d.status() for d in appliance().doors.values()]
    return render("access_control/doors/page.html", doors=doors, labels=ACTION_LABELS)


@bp.route("/doors/<int:door_id>/state")
@allow("viewer")
def state(door_id: int):
    """One door's card alone, for its live refresh."""
    return _card(find_door(door_id))


@bp.route("/doors/card")
@allow("viewer")
def status_card():
    """The Doors card of the Status page."""
    doors = [d.status() for d in appliance().doors.values()]
    return render_template("access_control/doors/_status_card.html", doors=doors)


@bp.route("/doors/<int:door_id>/<action>", methods=["POST"])
@allow("operator")
def act(door_id: int, action: str):
    """An action button: the card comes back with the new state or why it was refused."""
    door = find_door(door_id)
    try:
        door.command(action, _source())
    except DoorctlError as error:
        if not request.headers.get("HX-Request"):
            raise
        return _card(door, error.message, 200)
    if request.headers.get("HX-Request"):
        return _card(door, f"{ACTION_LABELS.get(action, action)}: done.")
    return redirect(url_for("doors.page"), 303)


@bp.route("/doors/<int:door_id>/settings", methods=["GET", "POST"])
def settings_page(door_id: int):
    """Door settings: lock type, times, relock, door monitor and REX."""
    door = find_door(door_id)
    settings = appliance().settings
    schedules = list(appliance().access.schedules.all().values())
    if request.method == "GET":
        form = settings.form(SECTION)
        return render(
            "access_control/doors/settings.html", door=door.status(), form=form, schedules=schedules
        )
    form = settings.form(SECTION, request.form)
    try:
        settings.save(SECTION, form)
    except Invalid as error:
        return render(
            "access_control/doors/settings.html",
            422,
            door=door.status(),
            form=form,
            schedules=schedules,
            message=error,
        )
    flash("Door settings saved.")
    return redirect(url_for("doors.settings_page", door_id=door_id), 303)


@bp.route("/api/v1/doors")
@allow("viewer")
def api_list():
    """Every door's state."""
    return jsonify([d.status() for d in appliance().doors.values()])


@bp.route("/api/v1/doors/<int:door_id>")
@allow("viewer")
def api_get(door_id: int):
    """One door's state."""
    return jsonify(find_door(door_id).status())


@bp.route("/api/v1/doors/<int:door_id>/<action>", methods=["POST"])
@allow("operator")
def api_act(door_id: int, action: str):
    """Run an action: access, lock, unlock, block, lockdown, lockopen or release."""
    door = find_door(door_id)
    if action not in ACTIONS:
        raise NotFound(f"There is no door action {action!r}; actions are {', '.join(ACTIONS)}.")
    door.command(action, _source())
    return jsonify(door.status())


@bp.route("/api/v1/doors/<int:door_id>/settings")
def api_settings(door_id: int):
    """The door's settings."""
    find_door(door_id)
    return jsonify(appliance().settings.get(SECTION))


@bp.route("/api/v1/doors/<int:door_id>/settings", methods=["PUT", "PATCH"])
def api_update_settings(door_id: int):
    """Change some or all door settings; errors name each field."""
    find_door(door_id)
    return jsonify(appliance().settings.update(SECTION, json_body()))
