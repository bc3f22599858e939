"""Maintenance > Backup: download the configuration encrypted with a password, and
restore it here or on a replacement unit (upload, preview, confirm); administrators only.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user

from doorctl.blueprints.common import appliance, check_repeat, json_body, render
from doorctl.core.errors import DoorctlError, Invalid
from doorctl.core.maintenance.backup import COUNTED, PASSWORD_RULE, backup_password_error
from doorctl.core.maintenance.backup_file import Cost
from doorctl.core.maintenance.backups import Backups
from doorctl.core.maintenance.kept import network_words

MENU_ITEMS = [("Maintenance", lazy_gettext("Backup"), "backup.page")]
bp = Blueprint("backup", __name__)
MIME = "application/octet-stream"
MAX_PASSWORD = 1024


def _backups() -> Backups:
    cost = current_app.config.get("BACKUP_COST")
    return Backups(appliance(), Cost(**cost) if cost else None)


def _source() -> dict:
    return {"user": current_user.username, "address": request.remote_addr}


def _page(status: int = 200, **context):
    return render(
        "maintenance/backup/page.html",
        status,
        password_rule=PASSWORD_RULE,
        network_sections=network_words(),
        errors=context.pop("errors", {}),
        **context,
    )


def _new_password(body) -> str:
    """The password a backup is made with, typed twice; raise Invalid."""
    password = body.get("password")
    problem = backup_password_error(password)
    if problem:
        raise Invalid({"password": problem})
    if "password_repeat" in body or not request.is_json:
        check_repeat(password, body.get("password_repeat"))
    return password


def _opening_password(body) -> str:
    """The password an uploaded backup is opened with; raise Invalid."""
    password = body.get("password")
    if not isinstance(password, str) or not password:
        raise Invalid({"password": _("Enter the password the backup was made with.")})
    if len(password) > MAX_PASSWORD:
        raise Invalid({"password": _("The password is too long for a backup's.")})
    return password


def _upload() -> bytes:
    """The uploaded backup file; raise Invalid naming `file`."""
    upload = request.files.get("file")
    data = upload.read() if upload is not None else b""
    if not data:
        raise Invalid({"file": _("Choose a backup file.")})
    return data


def _upload_and_password() -> tuple[bytes, str]:
    """Both fields checked at once, so the page names every problem together."""
    errors, found = {}, {}
    for name, read in (("file", _upload), ("password", lambda: _opening_password(request.form))):
        try:
            found[name] = read()
        except Invalid as error:
            errors.update(error.fields)
    if errors:
        raise Invalid(errors)
    return found["file"], found["password"]


def _download(data: bytes) -> Response:
    hostname = appliance().device.to_dict()["hostname"]
    stamp = time.strftime("%Y%m%d-%H%M", time.localtime())
    name = f"doorctl-{''.join(c for c in hostname if c.isalnum() or c in '-_')}-{stamp}.backup"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(data, 200, headers, mimetype=MIME)


@bp.route("/maintenance/backup")
def page():
    """The Backup page: download a backup, restore one."""
    return _page()


@bp.route("/maintenance/backup", methods=["POST"])
def download():
    """A backup of this unit, encrypted with the password typed twice."""
    try:
        password = _new_password(request.form)
    except DoorctlError as error:
        return _page(422, errors=error.fields, form_id="download")
    return _download(_backups().make(password, _source()))


@bp.route("/maintenance/backup/preview", methods=["POST"])
def preview():
    """Open an uploaded backup and show what it holds; it waits, encrypted, for confirmation."""
    try:
        data, password = _upload_and_password()
        token, about = _backups().hold(data, password, _source())
    except DoorctlError as error:
        return _page(422, errors=error.fields, form_id="restore")
    return _page(preview=about, token=token)


@bp.route("/maintenance/backup/restore", methods=["POST"])
def restore():
    """Restore the previewed backup, keeping this unit's network settings if asked."""
    before = current_user.sessions
    try:
        token = request.form.get("token", "")
        keep = request.form.get("keep_network") is not None
        about = _backups().confirm(token, keep, _source())
    except DoorctlError as error:
        return _page(422, errors=error.fields, form_id="restore")
    logged_out = _still_logged_in(before) is False
    return _page(restored=about, logged_out=logged_out)


def _still_logged_in(generation: int) -> bool:
    """Whether this user's session survived the restore (same name, password and role)."""
    users = appliance().users
    try:
        return users.get(current_user.username).sessions == generation
    except DoorctlError:
        return False


@bp.route("/maintenance/backup/cancel", methods=["POST"])
def cancel():
    """Forget a previewed backup (its file is deleted)."""
    _backups().drop(request.form.get("token", ""))
    return redirect(url_for("backup.page"), 303)


@bp.route("/api/v1/maintenance/backup", methods=["POST"])
def api_backup():
    """A backup of this unit: `{"password"}` in, the encrypted file out."""
    password = _new_password(json_body())
    return _download(_backups().make(password, _source()))


@bp.route("/api/v1/maintenance/backup/preview", methods=["POST"])
def api_preview():
    """What an uploaded backup holds (multipart: file, password); nothing is kept."""
    data, password = _upload_and_password()
    return jsonify(_backups().preview(data, password, _source()))


@bp.route("/api/v1/maintenance/backup/restore", methods=["POST"])
def api_restore():
    """Restore an uploaded backup (multipart: file, password, keep_network)."""
    data, password = _upload_and_password()
    keep = request.form.get("keep_network", "true").lower()
    if keep not in ("true", "false"):
        raise Invalid({"keep_network": _("Must be true or false.")})
    return jsonify(_backups().restore(data, password, keep == "true", _source()))


api_preview.doorctl_upload = True  # auth lets multipart through to this view
api_restore.doorctl_upload = True

# --- what the OpenAPI document says of the three routes (api_routes/maintenance.py) --

COUNT = {"type": "integer", "minimum": 0}
BACKUP_BODY = {
    "type": "object",
    "required": ["password"],
    "properties": {
        "password": {
            "type": "string",
            "minLength": 8,
            "maxLength": 128,
            "description": str(PASSWORD_RULE),
        },
        "password_repeat": {"type": "string", "description": "Checked when given."},
    },
    "additionalProperties": False,
}
UPLOAD = {
    "type": "object",
    "required": ["file", "password"],
    "properties": {
        "file": {"type": "string", "format": "binary"},
        "password": {"type": "string", "maxLength": MAX_PASSWORD},
    },
}
RESTORE_UPLOAD = {
    **UPLOAD,
    "properties": {
        **UPLOAD["properties"],
        "keep_network": {
            "type": "string",
            "enum": ["true", "false"],
            "description": "Keep this unit's network settings (default true).",
        },
    },
}
PREVIEW = {
    "type": "object",
    "required": ["device", "version", "made", "schema", "counts"],
    "properties": {
        "device": {"type": "object", "description": "hostname, serial_number, hardware, product"},
        "version": {"type": "string", "description": "The doorctl version that made it."},
        "made": {"type": "number", "description": "Seconds since the epoch."},
        "schema": {"type": "integer", "description": "Its database schema version."},
        "counts": {"type": "object", "properties": dict.fromkeys(COUNTED, COUNT)},
        "sections": {"type": "array", "items": {"type": "string"}},
    },
}
RESTORED = {
    **PREVIEW,
    "properties": {
        **PREVIEW["properties"],
        "kept_network": {"type": "boolean"},
        "restart_needed": {
            "type": "boolean",
            "description": "A service could not take it running: it applies at the next start.",
        },
        "ports_at_restart": {
            "type": "boolean",
            "description": "The HTTP and HTTPS ports changed: they apply at the next start.",
        },
    },
}
API_ROUTES = {
    ("backup.api_backup", "POST"): {
        "body": BACKUP_BODY,
        "example": {"password": "correct horse battery"},
        "answer_type": MIME,
        "answer": {"type": "string", "format": "binary"},
    },
    ("backup.api_preview", "POST"): {
        "content": {"multipart/form-data": {"schema": UPLOAD}},
        "answer": PREVIEW,
    },
    ("backup.api_restore", "POST"): {
        "content": {"multipart/form-data": {"schema": RESTORE_UPLOAD}},
        "answer": RESTORED,
    },
}
