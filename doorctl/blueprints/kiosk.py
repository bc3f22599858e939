"""The kiosk display: a full-screen page for the Pi's own screen (System > Kiosk display).

The page shows each door's state in big status colours with words, the active alarms,
the last access decisions and the time, kept live by the SSE panels `kiosk-doors`,
`kiosk-alarms` and `kiosk-decisions` (blueprints/live.py). The kiosk logs in at
/kiosk/login?token=... from the Pi itself only (core/system/kiosk.py says why and how); operator
actions, when on, ask for the operator PIN on an on-screen keypad.
"""

from __future__ import annotations

import time
from datetime import datetime

from babel.dates import format_time
from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from doorctl.blueprints.access_control.doors import ACTION_DONE, ACTION_LABELS, find_door
from doorctl.blueprints.auth import log_in
from doorctl.blueprints.common import allow, appliance, error_answer, public
from doorctl.blueprints.logs.rows import row_helpers
from doorctl.blueprints.status import status
from doorctl.core.errors import DoorctlError, Forbidden
from doorctl.core.logs import access_log
from doorctl.core.system import kiosk
from doorctl.core.system.kiosk import TooManyPins, WrongPin

bp = Blueprint("kiosk", __name__)
# The actions the kiosk offers, in the order; the others stay on the Doors page.
ACTIONS = ("access", "lock", "unlock", "lockdown")
DECISIONS = 6


def _context() -> dict:
    record = appliance().kiosk.record()
    actions = record["operator_actions"] and current_user.role == kiosk.ROLE
    return {
        "record": record,
        "actions": ACTIONS if actions else (),
        "labels": ACTION_LABELS,
    }


def _turned_off() -> bool:
    """The kiosk was turned off while its page is open: its live panels go blank (the
    next load of the page asks for a login, which is refused)."""
    return current_user.role == kiosk.ROLE and not appliance().kiosk.record()["enabled"]


def doors_html() -> str:
    """The door tiles: each door's mode as a big word on its status colour."""
    if _turned_off():
        return render_template("kiosk/_off.html")
    return render_template("kiosk/_doors.html", doors=status.doors(), **_context())


def alarms_html() -> str:
    """The alarms standing now (door and device), or a calm 'No alarm'."""
    if _turned_off():
        return ""
    return render_template("kiosk/_alarms.html", alarms=status.alarms(status.doors()))


def decisions_html() -> str:
    """The last access decisions, newest first."""
    if _turned_off():
        return ""
    appliance().event_log.flush()
    events, _next = access_log.query(appliance().event_log, {}, None, DECISIONS)
    tz = appliance().access.tz
    return render_template(
        "kiosk/_decisions.html",
        events=events,
        at=lambda epoch: format_time(datetime.fromtimestamp(epoch, tz), locale=get_locale()),
        **row_helpers(),
    )


@bp.route("/kiosk/login")
@public
def login():
    """The kiosk's own login: no password; from the Pi itself with the install's token
    only (the launcher's URL carries it); then its page."""
    try:
        user = appliance().kiosk.log_in(request.remote_addr, request.args.get("token"))
    except Forbidden as error:
        return error_answer(403, _("Kiosk login refused"), error.message)
    log_in(user, remember=True)
    return redirect(url_for("kiosk.page"), 303)


@bp.route("/kiosk")
@allow("kiosk")
def page():
    """The kiosk page: full screen, no menu, the doors, alarms and decisions live."""
    return render_template(
        "kiosk/page.html",
        doors=doors_html(),
        alarms=alarms_html(),
        decisions=decisions_html(),
        now=time.time(),
        now_text=format_time(datetime.now(appliance().access.tz), "short", locale=get_locale()),
        **_context(),
    )


@bp.route("/kiosk/doors/<int:door_id>/<action>", methods=["POST"])
@allow("kiosk")
def act(door_id: int, action: str):
    """An operator action from the kiosk's screen, with the operator PIN."""
    if current_user.role != kiosk.ROLE:
        message = _("Operator actions on the kiosk page are the kiosk display's own.")
        return jsonify(error=message), 403
    if action not in ACTIONS:
        return jsonify(error=_("The kiosk offers Access, Lock, Unlock and Lock down.")), 404
    door = find_door(door_id)
    try:
        appliance().kiosk.check_pin(request.form.get("pin"), request.remote_addr)
        door.command(action, {"by": "operator", "user": kiosk.NAME})
    except WrongPin as error:
        return _refused(error)
    except DoorctlError as error:
        return jsonify(error=error.message), error.status
    return jsonify(message=ACTION_DONE[action] % {"door": door.settings["name"]})


def _refused(error: WrongPin):
    response = jsonify(error=error.message)
    response.status_code = error.status
    if isinstance(error, TooManyPins):
        response.headers["Retry-After"] = str(error.seconds)
    return response
