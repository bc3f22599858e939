"""First access (manual: "Set a new password for the root account").

Until root has a password every page leads here and every API call answers 403
naming this page; afterwards the page is gone for good.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, request, url_for

from doorctl.blueprints.auth import log_in
from doorctl.blueprints.common import appliance, check_repeat, json_body, public, render
from doorctl.core.errors import DoorctlError

bp = Blueprint("setup", __name__)


def first_access(view):
    """Mark a view as reachable while no user exists."""
    view.doorctl_setup = True
    return public(view)


def set_root_password(password, repeat):
    """Check the retype, then create root; raise Invalid or Conflict."""
    check_repeat(password, repeat)
    return appliance().users.set_root_password(password)


@bp.route("/setup", methods=["GET", "POST"])
@first_access
def page():
    """The page that sets root's password, with the plain-HTTP warning of the manual."""
    if appliance().users.count():
        return redirect(url_for("auth.login"), 303)
    if request.method == "GET":
        return render("setup/page.html", errors={})
    try:
        user = set_root_password(
            request.form.get("password", ""), request.form.get("password_repeat", "")
        )
    except DoorctlError as error:
        return render("setup/page.html", 422, errors=error.fields, message=error.message)
    log_in(user)
    return redirect(url_for("status.page"), 303)


@bp.route("/api/v1/setup", methods=["POST"])
@first_access
def api():
    """Set root's password over REST: `{"password", "password_repeat"}`."""
    body = json_body()
    user = set_root_password(body.get("password"), body.get("password_repeat"))
    return jsonify(user.to_dict()), 201
