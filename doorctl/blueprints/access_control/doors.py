"""Doors (manual: "Access control"): live door state, operator actions, door settings."""

from __future__ import annotations

import json

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user

from doorctl.blueprints.common import allow, appliance, json_body, render
from doorctl.core.access_control.door import Door
from doorctl.core.access_control.door_modes import ACTIONS, LOCKED_DOWN, LOCKED_OPEN, REFUSED_DURING
from doorctl.core.access_control.door_settings import SECTION
from doorctl.core.errors import DoorctlError, Invalid, NotFound

MENU_ITEMS = [("Access control", lazy_gettext("Doors"), "doors.page")]
bp = Blueprint("doors", __name__)
ACTION_LABELS = {
    "access": lazy_gettext("Access"),
    "lock": lazy_gettext("Lock"),
    "unlock": lazy_gettext("Unlock"),
    "block": lazy_gettext("Block"),
    "lockdown": lazy_gettext("Lock down"),
    "lockopen": lazy_gettext("Lock open"),
    "release": lazy_gettext("Return to normal"),
}
# What each action did, for its toast.
ACTION_DONE = {
    "access": lazy_gettext("%(door)s: unlocked for the access time."),
    "lock": lazy_gettext("%(door)s: locked."),
    "unlock": lazy_gettext("%(door)s: unlocked until another action."),
    "block": lazy_gettext("%(door)s: blocked; cards are refused, REX still lets people out."),
    "lockdown": lazy_gettext("%(door)s: locked down."),
    "lockopen": lazy_gettext("%(door)s: locked open."),
    "release": lazy_gettext("%(door)s: back to normal."),
}
REFUSED_WHY = {
    LOCKED_DOWN: lazy_gettext(
        "Locked down: cards, REX and every action but Return to normal are refused "
        "until the door is returned to normal."
    ),
    LOCKED_OPEN: lazy_gettext(
        "Locked open: Access, Lock, Unlock and Block are refused until the door is "
        "returned to normal."
    ),
}


@bp.app_template_filter("seconds")
def seconds(value) -> str:
    """A time in seconds as a person writes it: 7, not 7.0; 2.5 stays."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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


def view(door: Door) -> dict:
    """The door's state with what its page shows: the actions it refuses now, and why."""
    state = door.status()
    state["refused"] = REFUSED_DURING.get(state["mode"], ())
    state["refused_why"] = REFUSED_WHY.get(state["mode"], "")
    state["access_time"] = door.settings["access_time"]
    return state


def _context() -> dict:
    return {"labels": ACTION_LABELS, "doors": [view(d) for d in appliance().doors.values()]}


def cards_html() -> str:
    """Every door's card, for the Doors page's live panel."""
    return render_template("access_control/doors/_cards.html", **_context())


def _card(door: Door, toast: str, tone: str = "ok"):
    """One door's card, with a toast saying what the action did or why it was refused."""
    html = render_template("access_control/doors/_door.html", door=view(door), labels=ACTION_LABELS)
    trigger = {"doorctl:toast": {"message": toast, "tone": tone}}
    return html, 200, {"HX-Trigger": json.dumps(trigger)}


@bp.route("/doors")
@allow("viewer")
def page():
    """The Doors page: each door's live state and, for operators, its actions."""
    return render("access_control/doors/page.html", **_context())


@bp.route("/doors/<int:door_id>/state")
@allow("viewer")
def state(door_id: int):
    """One door's card alone."""
    return render_template(
        "access_control/doors/_door.html", door=view(find_door(door_id)), labels=ACTION_LABELS
    )


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
        return _card(door, error.message, "danger")
    if request.headers.get("HX-Request"):
        return _card(door, ACTION_DONE[action] % {"door": door.settings["name"]})
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
    flash(_("Door settings saved."))
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
