"""Maintenance > Firmware (manual: Maintenance, Upgrade the firmware): the running and
previous versions, the last upgrade's outcome, upgrade from a bundle, firmware rollback.

REST: /api/v1/firmware (GET: versions, last outcome, the phase under way),
/api/v1/firmware/upgrade (POST the bundle as application/octet-stream, ?allow_older=1
for an older version: 202, then doorctl restarts into it) and /api/v1/firmware/rollback
(POST: 202, then doorctl restarts into the previous version and its database copy).
The bundle goes to a file in the firmware folder as it arrives, never into memory.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.blueprints.auth import upload_gate
from doorctl.blueprints.common import render
from doorctl.blueprints.logs.sentences import capital
from doorctl.blueprints.logs.sentences.maintenance import why_failed
from doorctl.core.errors import DoorctlError
from doorctl.core.maintenance import firmware as fw
from doorctl.core.maintenance.upgrade import Firmware, Refused
from doorctl.server import UPLOAD_ENV

MENU_ITEMS = [("Maintenance", lazy_gettext("Firmware"), "firmware.page")]
bp = Blueprint("firmware", __name__)
UPGRADE_PATH = "/api/v1/firmware/upgrade"
# A bundle for one target is tens of MiB; this leaves room for larger dependencies.
MAX_BUNDLE = 256 * 1024 * 1024


def upload_route(app) -> tuple:
    """The upgrade route's body limit, the folder its body goes to, and the check of
    the headers before any of it is written (server.Limits)."""
    folder = str(fw.incoming(Path(app.config["FIRMWARE_DIR"])))
    return (UPGRADE_PATH, MAX_BUNDLE, folder, upload_gate(app))


def _firmware() -> Firmware:
    return current_app.extensions["doorctl.firmware"]


@bp.route("/maintenance/firmware")
def page():
    """The Firmware page: versions, last outcome, upload, rollback."""
    firmware = _firmware().status()
    return render(
        "maintenance/firmware/page.html",
        firmware=firmware,
        why=capital(why_failed(firmware["last"] or {})),
        max_bundle=MAX_BUNDLE,
        upgrade_url=UPGRADE_PATH,
    )


@bp.route("/maintenance/firmware/rollback", methods=["POST"])
def rollback_form():
    """Firmware rollback from the page (its dialog confirmed the loss of changes)."""
    try:
        answer = _firmware().rollback()
    except DoorctlError as error:
        flash(error.message, "error")
        return redirect(url_for("firmware.page"), 303)
    flash(_("Rolling back to doorctl %(version)s: the device restarts.", version=answer["version"]))
    return redirect(url_for("firmware.page", restarting=1), 303)


@bp.route("/api/v1/firmware")
def api_status():
    """The running and previous versions, the last outcome and the phase under way."""
    return jsonify(_firmware().status())


@bp.route(UPGRADE_PATH, methods=["POST"])
def api_upgrade():
    """Upgrade from the bundle in the body: 202 once switched; doorctl then restarts."""
    upload = request.environ.get(UPLOAD_ENV)
    if not upload or not Path(upload).stat().st_size:
        message = _("Send the firmware bundle as the body (application/octet-stream).")
        raise Refused({"bundle": message}, message)
    if request.mimetype != "application/octet-stream":
        raise DoorctlError(_("Send the bundle as application/octet-stream."))
    allow_older = request.args.get("allow_older") in ("1", "true")
    return jsonify(_firmware().upgrade(Path(upload), allow_older)), 202


api_upgrade.doorctl_upload = True  # auth lets application/octet-stream through to this view


@bp.route("/api/v1/firmware/rollback", methods=["POST"])
def api_rollback():
    """Back to the previous version and its database copy: 202; doorctl then restarts."""
    return jsonify(_firmware().rollback()), 202
