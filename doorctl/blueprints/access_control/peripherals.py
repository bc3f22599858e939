"""Peripherals (Access control): the readers, live, with add, configure, remove and upgrade.

REST: /api/v1/readers (list, add), /api/v1/readers/<id> (get, configure, remove),
/api/v1/readers/<id>/upgrade (POST a firmware file: 202; GET the progress),
/api/v1/readers/<id>/rotate-key (POST: the reader gets a new secure channel key),
/api/v1/readers/<id>/secure-channel-key (DELETE: the stored key is cleared),
/api/v1/readers/<id>/capture (POST {"duration"}: 202; GET the state; DELETE ends it)
and /api/v1/readers/<id>/capture/file (the pcap), for the reader's bus.
The secure channel key is write-only: a reader shows only when its key was set.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.blueprints.common import (
    allow,
    appliance,
    form_failed,
    form_number,
    json_body,
    render,
)
from doorctl.blueprints.form_schema import form_schema
from doorctl.blueprints.resource import WRITES, Page, Resource, register, store_of
from doorctl.core.access_control.readers import (
    DIRECTIONS,
    FIELDS,
    SECURE_CHANNEL_MODES,
    ReaderForm,
)
from doorctl.core.access_control.readers.capture import DURATIONS
from doorctl.core.access_control.readers.form import KEY_FIELD, KEY_SET_FIELD
from doorctl.core.errors import DoorctlError, Invalid
from doorctl.hal.osdp.bus import BAUD_RATES

MENU_ITEMS = [("Access control", lazy_gettext("Peripherals"), "peripherals.page")]
bp = Blueprint("peripherals", __name__)
WHOLE_FIELDS = ("baud", "address", "poll_interval", "door_id")


def _readers():
    return appliance().readers


# The fields the page's forms show with their own errors; a refusal naming another
# (or none) is told above the forms.
SHOWN_FIELDS = {*FIELDS, KEY_FIELD, "file", "duration", "reader"} - {"protocol"}


def _doors() -> dict:
    return {d.id: d.settings["name"] for d in appliance().doors.values()}


def _page(status: int = 200, **context):
    errors = context.pop("errors", {})
    if errors and set(errors) <= SHOWN_FIELDS:
        context["message"] = None  # each error is shown once, next to its field
    return render(
        "access_control/peripherals/page.html",
        status,
        readers=_readers().list(),
        doors=_doors(),
        bauds=BAUD_RATES,
        modes=SECURE_CHANNEL_MODES,
        directions=DIRECTIONS,
        captures=_capture_rows(),
        durations=DURATIONS,
        errors=errors,
        **context,
    )


def form_body(form) -> dict:
    """A reader from the page's form; whole numbers stay text if they are not digits."""
    body = {name: form[name].strip() for name in (*FIELDS, KEY_FIELD) if name in form}
    for name in WHOLE_FIELDS:
        if name in body:
            body[name] = form_number(body[name])
    if "enabled" in form:
        # A hidden "off" before the checkbox: an unticked box still says so.
        body["enabled"] = "on" in form.getlist("enabled")
    return body


def _failed_context(operation: str, reader_id: str | None) -> dict:
    """A refused change shows its reader's form open again with what was sent (never
    the key: a password field is not filled in again)."""
    sent = {k: v for k, v in form_body(request.form).items() if k != KEY_FIELD}
    if operation == "update":
        # The add form stays closed: the values are the reader's being configured.
        return {"editing": reader_id, "edited": sent, "values": None}
    return {"values": sent} if operation == "create" else {}


def _refused(error: DoorctlError, **context):
    """The page again with the request's values and each field's message."""
    return form_failed(_page, error, **context)


@bp.route("/peripherals/readers")
@allow("viewer")
def live():
    """The readers table alone (the page has it pushed by live.py)."""
    return readers_html()


def readers_html() -> str:
    """The readers' live section: each reader's state, identity and refusals."""
    return render_template(
        "access_control/peripherals/_readers.html", readers=_readers().list(), doors=_doors()
    )


@bp.route("/peripherals/upgrade", methods=["POST"])
def upgrade():
    """Upgrade readers: start with the uploaded file; the live table shows the progress."""
    reader_id = request.form.get("reader", "")
    try:
        _readers().upgrade(reader_id, _firmware())
    except DoorctlError as error:
        return _refused(error, upgrading=reader_id)
    flash(_("Upgrading reader %(reader)s.", reader=reader_id))
    return redirect(url_for("peripherals.page"), 303)


@bp.route("/peripherals/readers/<reader_id>/rotate-key", methods=["POST"])
def rotate_key(reader_id: str):
    """Give the reader a new secure channel key; the page says how it went."""
    try:
        _readers().rotate_key(reader_id)
    except DoorctlError as error:
        return _refused(error, editing=reader_id, edited=_readers().get(reader_id), values=None)
    flash(_("Reader %(reader)s has a new secure channel key.", reader=reader_id))
    return redirect(url_for("peripherals.page"), 303)


@bp.route("/api/v1/readers/<reader_id>/rotate-key", methods=["POST"])
def api_rotate_key(reader_id: str):
    """Give the reader a new random key in its secure channel; answer once it holds it."""
    return jsonify(_readers().rotate_key(reader_id))


@bp.route("/peripherals/readers/<reader_id>/clear-key", methods=["POST"])
def clear_key(reader_id: str):
    """Clear the reader's stored secure channel key (the page asks first)."""
    try:
        _readers().clear_key(reader_id)
    except DoorctlError as error:
        return _refused(error, editing=reader_id, edited=_readers().get(reader_id), values=None)
    flash(_("The secure channel key of reader %(reader)s was cleared.", reader=reader_id))
    return redirect(url_for("peripherals.page"), 303)


@bp.route("/api/v1/readers/<reader_id>/secure-channel-key", methods=["DELETE"])
def api_clear_key(reader_id: str):
    """Clear the reader's stored secure channel key; its bus restarts without it.

    A key a rotation offered the reader goes too. Keys are write-only: a new one is
    set with the reader's fields (secure_channel_key)."""
    _readers().clear_key(reader_id)
    return "", 204


def _firmware() -> bytes:
    """The firmware of an upgrade request: a multipart `file`, or the raw body."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise Invalid({"file": _("Choose a firmware file.")})
        return upload.read()
    if request.mimetype == "application/octet-stream":
        return request.get_data()
    raise DoorctlError(_("Send the file as multipart/form-data or application/octet-stream."))


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


# --- OSDP capture: a reader's bus recorded for a while, downloaded as a pcap file ------

PCAP = "application/vnd.tcpdump.pcap"


def _pcap_answer(reader_id: str):
    name, data = _readers().capture_file(reader_id)
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(data, 200, headers, mimetype=PCAP)


@bp.route("/peripherals/capture", methods=["POST"])
def capture():
    """Start recording the chosen reader's bus for the chosen time."""
    reader_id = request.form.get("reader", "")
    try:
        _readers().start_capture(reader_id, form_number(request.form.get("duration", "")))
    except DoorctlError as error:
        return _refused(error, capturing=reader_id, capture_values=request.form)
    flash(_("Recording the bus of reader %(reader)s.", reader=reader_id))
    return redirect(url_for("peripherals.page"), 303)


@bp.route("/peripherals/capture/stop", methods=["POST"])
def capture_stop():
    """End a capture before its time."""
    reader_id = request.form.get("reader", "")
    try:
        _readers().stop_capture(reader_id)
    except DoorctlError as error:
        return _refused(error)
    flash(_("Capture stopped."))
    return redirect(url_for("peripherals.page"), 303)


@bp.route("/peripherals/captures")
def captures():
    """The captures' state (the section polls itself while one records)."""
    return render_template("access_control/peripherals/_captures.html", captures=_capture_rows())


@bp.route("/peripherals/capture/<reader_id>/file")
def capture_file(reader_id: str):
    """Download a finished capture."""
    return _pcap_answer(reader_id)


def _capture_rows() -> list[dict]:
    """Each bus's last capture with a reader on it to name it by in links."""
    readers = {r["port"]: r["id"] for r in _readers().list() if r["protocol"] == "osdp"}
    rows = [{**c, "reader": readers.get(port)} for port, c in _readers().captures().items()]
    return [row for row in rows if row["reader"]]


@bp.route("/api/v1/readers/<reader_id>/capture", methods=["POST"])
def api_capture(reader_id: str):
    """Record the reader's bus for `duration` seconds: 202 and the capture's state."""
    status = _readers().start_capture(reader_id, json_body().get("duration"))
    location = url_for("peripherals.api_capture_status", reader_id=reader_id)
    return jsonify(status), 202, {"Location": location}


@bp.route("/api/v1/readers/<reader_id>/capture")
def api_capture_status(reader_id: str):
    """The state of the last capture of the reader's bus."""
    return jsonify(_readers().capture_status(reader_id))


@bp.route("/api/v1/readers/<reader_id>/capture", methods=["DELETE"])
def api_capture_stop(reader_id: str):
    """End the capture of the reader's bus now; it can then be downloaded."""
    _readers().stop_capture(reader_id)
    return "", 204


@bp.route("/api/v1/readers/<reader_id>/capture/file")
def api_capture_file(reader_id: str):
    """The finished capture as a pcap file (LINKTYPE_USER15, libosdp's OSDP traces)."""
    return _pcap_answer(reader_id)


MAYBE_TEXT = {"type": ["string", "null"]}
MAYBE_FLAG = {"type": ["boolean", "null"]}
LIVE = {
    "online": {**MAYBE_FLAG, "description": "null for the Wiegand reader"},
    "state": {"type": "string"},
    "sc": {"enum": ["up", "down", "failed", "off", "unsupported", None]},
    "sc_cause": {
        "enum": ["no_key", "wrong_key", "no_secure_answer", "mac", None],
        "description": "Why the secure channel failed, while sc is failed: no key stored, "
        "the reader has another key, the reader does not answer in secure mode, or its "
        "replies fail their MAC check.",
    },
    "vendor": {
        "type": ["string", "null"],
        "description": "The vendor code (IEEE OUI) as 6 hex digits in the OUI's usual "
        "order: 00-CA-FE is 00cafe.",
    },
    "model": {},
    "version": {},
    "serial": {},
    "firmware": {},
    "capabilities": {
        "type": "object",
        "description": "What the reader reported (osdp_PDCAP), by function: its code, "
        "its name in the OSDP specification, compliance level and items as reported, and "
        "a summary of what they mean.",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "function": {"type": "integer", "minimum": 1},
                "name": {"type": "string", "examples": ["OSDP version"]},
                "compliance": {"type": "integer"},
                "items": {"type": "integer"},
                "summary": {"type": "string", "examples": ["SIA OSDP 2.2"]},
            },
        },
    },
    "tamper": MAYBE_FLAG,
    "power": {**MAYBE_FLAG, "description": "true: power failure"},
    "error": {**MAYBE_TEXT, "description": "The port can't be opened; retried every 5 s."},
    "upgradable": {"type": "boolean"},
    "upgrade": {"type": ["object", "null"]},
    "naks": {
        "type": "object",
        "description": "Commands the reader refused (osdp_NAK), by name (osdp_LED, "
        "osdp_BUZ, ...): count, and the last error code with its words in the OSDP "
        "specification.",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "count": {"type": "integer"},
                "code": {"type": "integer"},
                "error": {"type": "string"},
            },
        },
    },
}
BODY = form_schema(ReaderForm)
BODY["properties"][KEY_FIELD]["writeOnly"] = True
KEY_SET = {
    **MAYBE_TEXT,
    "format": "date-time",
    "description": "When the secure channel key was set; null: none is stored.",
}
RECORD = {
    "type": "object",
    "required": [*FIELDS, KEY_SET_FIELD],
    "properties": {
        **{k: v for k, v in BODY["properties"].items() if k != KEY_FIELD},
        **LIVE,
        KEY_SET_FIELD: KEY_SET,
    },
}
RESOURCE = Resource(
    name="reader",
    plural="readers",
    api="/api/v1/readers",
    key="reader_id",
    converter="string",
    record=RECORD,
    body=BODY,
    roles={"list": "viewer", "read": "viewer", **dict.fromkeys(WRITES, "administrator")},
    store=store_of(
        _readers,
        create=lambda body: _readers().add(body),
        delete=lambda reader_id: _readers().remove(reader_id),
    ),
    conflicts=WRITES,
    key_example="front",
    summaries={
        "list": "Every reader: configuration and live state.",
        "create": "Add an OSDP reader.",
        "update": "Change a reader's configuration; only its bus restarts.",
        "delete": "Remove an OSDP reader.",
    },
    example={"id": "front", "port": "/dev/ttyAMA0", "address": 1, "baud": 115200},
    page=Page(
        path="/peripherals",
        render=_page,
        form_body=form_body,
        messages={
            "create": lazy_gettext("Reader {id} added."),
            "update": lazy_gettext("Reader {reader_id} saved."),
            "delete": lazy_gettext("Reader {reader_id} removed."),
        },
        operations=("list", "create", "update", "delete"),
        forms="/peripherals/readers",
        update_body=lambda form, reader_id: {**form_body(form), "id": reader_id},
        failed_context=_failed_context,
        endpoints={"update": "configure", "delete": "remove"},
    ),
)
register(bp, RESOURCE)
