"""Peripherals (Access control): the readers, live, with add, configure, remove and upgrade.

REST: /api/v1/readers (list, add), /api/v1/readers/<id> (get, configure, remove),
/api/v1/readers/<id>/upgrade (POST a firmware file: 202; GET the progress).
"""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for

from doorctl.blueprints.common import (
    allow,
    appliance,
    form_failed,
    form_number,
    json_body,
    render,
)
from doorctl.core.access_control.readers import DIRECTIONS, FIELDS, SECURE_CHANNEL_MODES
from doorctl.core.errors import DoorctlError, Invalid
from doorctl.hal.osdp.bus import BAUD_RATES

MENU_ITEMS = [("Access control", "Peripherals", "peripherals.page")]
bp = Blueprint("peripherals", __name__)
WHOLE_FIELDS = ("baud", "address", "poll_interval", "door_id")


def _readers():
    return appliance().readers


def _page(status: int = 200, **context):
    return render(
        "access_control/peripherals/page.html",
        status,
        readers=_readers().list(),
        doors={d.id: d.settings["name"] for d in appliance().doors.values()},
        bauds=BAUD_RATES,
        modes=SECURE_CHANNEL_MODES,
        directions=DIRECTIONS,
        errors=context.pop("errors", {}),
        **context,
    )


def form_body(form) -> dict:
    """A reader from the page's form; whole numbers stay text if they are not digits."""
    body = {name: form[name].strip() for name in FIELDS if name in form}
    for name in WHOLE_FIELDS:
        if name in body:
            body[name] = form_number(body[name])
    return body


def _refused(error: DoorctlError, **context):
    """The page again with the request's values and each field's message."""
    return form_failed(_page, error, **context)


@bp.route("/peripherals")
@allow("viewer")
def page():
    """The Peripherals page."""
    return _page()


@bp.route("/peripherals/readers")
@allow("viewer")
def live():
    """The live readers table (the page polls it)."""
    return render_template("access_control/peripherals/_readers.html", readers=_readers().list())


@bp.route("/peripherals/readers", methods=["POST"])
def add():
    """Add a reader from the page."""
    try:
        _readers().add(form_body(request.form))
    except DoorctlError as error:
        return _refused(error, values=request.form)
    flash("Reader added.")
    return redirect(url_for("peripherals.page"), 303)


@bp.route("/peripherals/readers/<reader_id>", methods=["POST"])
def configure(reader_id: str):
    """Configure a reader from the page."""
    try:
        _readers().update(reader_id, {**form_body(request.form), "id": reader_id})
    except DoorctlError as error:
        return _refused(error, editing=reader_id, edited=request.form)
    flash(f"Reader {reader_id} saved.")
    return redirect(url_for("peripherals.page"), 303)


@bp.route("/peripherals/readers/<reader_id>/delete", methods=["POST"])
def remove(reader_id: str):
    """Remove a reader from the page."""
    try:
        _readers().remove(reader_id)
    except DoorctlError as error:
        return _refused(error)
    flash(f"Reader {reader_id} removed.")
    return redirect(url_for("peripherals.page"), 303)


@bp.route("/peripherals/upgrade", methods=["POST"])
def upgrade():
    """Upgrade readers: start with the uploaded file; the live table shows the progress."""
    reader_id = request.form.get("reader", "")
    try:
        _readers().upgrade(reader_id, _firmware())
    except DoorctlError as error:
        return _refused(error, upgrading=reader_id)
    flash(f"Upgrading reader {reader_id}.")
    return redirect(url_for("peripherals.page"), 303)


def _firmware() -> bytes:
    """The firmware of an upgrade request: a multipart `file`, or the raw body."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise Invalid({"file": "Choose a firmware file."})
        return upload.read()
    if request.mimetype == "application/octet-stream":
        return request.get_data()
    raise DoorctlError("Send the file as multipart/form-data or application/octet-stream.")


@bp.route("/api/v1/readers")
@allow("viewer")
def api_list():
    """Every reader: configuration and live state."""
    return jsonify(_readers().list())


@bp.route("/api/v1/readers", methods=["POST"])
def api_add():
    """Add an OSDP reader: id, port, baud, address, secure channel, poll interval, door..."""
    return jsonify(_readers().add(json_body())), 201


@bp.route("/api/v1/readers/<reader_id>")
@allow("viewer")
def api_get(reader_id: str):
    """One reader."""
    return jsonify(_readers().get(reader_id))


@bp.route("/api/v1/readers/<reader_id>", methods=["PUT", "PATCH"])
def api_configure(reader_id: str):
    """Change a reader's configuration; only its bus restarts."""
    return jsonify(_readers().update(reader_id, json_body()))


@bp.route("/api/v1/readers/<reader_id>", methods=["DELETE"])
def api_remove(reader_id: str):
    """Remove an OSDP reader."""
    _readers().remove(reader_id)
    return "", 204


@bp.route("/api/v1/readers/<reader_id>/upgrade", methods=["POST"])
def api_upgrade(reader_id: str):
    """Start an upgrade (multipart `file` or application/octet-stream): 202 and the progress."""
    progress = _readers().upgrade(reader_id, _firmware())
    location = url_for("peripherals.api_upgrade_status", reader_id=reader_id)
    return jsonify(progress), 202, {"Location": location}


api_upgrade.doorctl_upload = True  # auth lets multipart and octet-stream through to this view


@bp.route("/api/v1/readers/<reader_id>/upgrade")
@allow("viewer")
def api_upgrade_status(reader_id: str):
    """The progress of the reader's last upgrade."""
    return jsonify(_readers().upgrade_status(reader_id))
