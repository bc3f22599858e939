"""Cardholders (Access control): people, their credentials and groups; CSV in and out.

Operators and Administrators manage cardholders and credentials.
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
from flask_babel import lazy_gettext, ngettext

from doorctl.blueprints.api_schemas import PAGING
from doorctl.blueprints.common import (
    allow,
    appliance,
    form_failed,
    form_ids,
    query_number,
    render,
)
from doorctl.blueprints.resource import OPERATIONS, Page, Resource, register
from doorctl.core.access_control.cardholder_csv import export_rows
from doorctl.core.access_control.cardholder_import import (
    ENCODINGS,
    encoding_named,
    import_csv,
)
from doorctl.core.access_control.cardholders import (
    FIELDS,
    LABELS,
    NAME_MAX,
    NOTES_MAX,
    VALIDITY_RULE,
    validate,
)
from doorctl.core.access_control.credentials import (
    FORMATS,
    PIN_RULE,
    card_and_pin,
    describe_card,
)
from doorctl.core.access_control.credentials import LABELS as CREDENTIAL_LABELS
from doorctl.core.errors import DoorctlError, Invalid
from doorctl.core.inbound import whole_number
from doorctl.core.store import connect
from doorctl.core.waiting import computed

MENU_ITEMS = [("Access control", lazy_gettext("Cardholders"), "cardholders.page")]
bp = Blueprint("cardholders", __name__)
PAGE_SIZE = 25


def _access():
    return appliance().access


def _shared() -> dict:
    """What a cardholder's row and its form need besides the cardholder."""
    return {
        "groups": _access().cardholders.groups(),
        "formats": FORMATS,
        "pin_rule": PIN_RULE,
        "labels": {**LABELS, **CREDENTIAL_LABELS},
        "describe": describe_card,
        "holder_values": holder_body,
    }


def _page(status: int = 200, **context):
    args = request.args
    text = args.get("q", "")
    number = query_number("page", args.get("page"), 1, 1, 10**9)
    holders, total = _access().cardholders.search(text, (number - 1) * PAGE_SIZE, PAGE_SIZE)
    credentials = {h["id"]: _access().credentials.of(h["id"]) for h in holders}
    return render(
        "access_control/cardholders/page.html",
        status,
        holders=holders,
        credentials=credentials,
        total=total,
        q=text,
        page=number,
        pages=max(1, -(-total // PAGE_SIZE)),
        encodings=ENCODINGS,
        errors=context.pop("errors", {}),
        **_shared(),
        **context,
    )


def _row(cardholder_id: int) -> str:
    """One cardholder's row: name, state, validity and credentials in words."""
    holder = _access().cardholders.get(cardholder_id)
    credentials = {cardholder_id: _access().credentials.of(cardholder_id)}
    template = "access_control/cardholders/_row.html"
    return render_template(template, h=holder, credentials=credentials, **_shared())


def _editor(cardholder_id: int, errors: dict, values=None, message: str = "") -> str:
    """One cardholder's forms in place of the row: the cardholder, a new credential."""
    holder = _access().cardholders.get(cardholder_id)
    credentials = {cardholder_id: _access().credentials.of(cardholder_id)}
    form_id = f"holder-{cardholder_id}" if values is not None else ""
    return render_template(
        "access_control/cardholders/_editor.html",
        h=holder,
        credentials=credentials,
        errors=errors,
        values=values or {},
        form_id=form_id,
        **_shared(),
    )


def _failed(error: DoorctlError, form_id: str):
    """The page again, with the error under each field of the form that failed."""
    return form_failed(_page, error, form_id=form_id)


def holder_body(form) -> dict:
    """A cardholder from the page's form."""
    return {
        "name": form.get("name", ""),
        "enabled": form.get("enabled") == "on",
        "valid_from": form.get("valid_from") or None,
        "valid_until": form.get("valid_until") or None,
        "long_access": form.get("long_access") == "on",
        "notes": form.get("notes", ""),
        "group_ids": form_ids(form, "group_ids"),
    }


def credential_body(form, cardholder_id: int, errors: dict | None = None) -> dict:
    """A credential from the page's form: a card, a PIN, or both. A number that is not
    one is told in `errors` (raised when none is given), next to the others."""
    found: dict[str, str] = {}
    card = None
    if form.get("card_format"):
        card = {"format": form["card_format"]}
        for name in ("facility", "number", "bits"):
            text = form.get(f"card_{name}", "").strip()
            card[name] = whole_number(text)
            if text and card[name] is None:
                found[f"card.{name}"] = _("Enter a whole number, 0 or more.")
                card[name] = 0
    if errors is not None:
        errors.update(found)
    elif found:
        raise Invalid(found, labels=CREDENTIAL_LABELS)
    return {"cardholder_id": cardholder_id, "card": card, "pin": form.get("pin") or None}


def _check_whole_form(form) -> None:
    """The cardholder and the first credential checked together: every field's message
    at once, before either is added."""
    errors: dict[str, str] = {}
    try:
        validate(holder_body(form))
    except Invalid as error:
        errors.update(error.fields)
    if form.get("card_format") or form.get("pin"):
        found: dict[str, str] = {}
        card_and_pin(credential_body(form, 0, found), found)
        errors.update({k: v for k, v in found.items() if k not in errors})
    if errors:
        raise Invalid(errors, labels={**LABELS, **CREDENTIAL_LABELS})


def _done(message: str):
    flash(message)
    return redirect(url_for("cardholders.page", q=request.args.get("q") or None), 303)


@bp.route("/access/cardholders", methods=["POST"])
@allow("operator")
def add():
    """Add cardholder, optionally with a first card and PIN."""
    try:
        _check_whole_form(request.form)
        holder = _access().cardholders.create(holder_body(request.form))
    except DoorctlError as error:
        return _failed(error, "add")
    if request.form.get("card_format") or request.form.get("pin"):
        try:
            _access().credentials.create(credential_body(request.form, holder["id"]))
        except DoorctlError as error:
            _access().cardholders.delete(holder["id"])
            return _failed(error, "add")
    return _done(_("Cardholder %(name)s added.", name=holder["name"]))


@bp.route("/access/cardholders/<int:cardholder_id>/credentials", methods=["POST"])
@allow("operator")
def add_credential(cardholder_id: int):
    """Add a card, a PIN or both to a cardholder."""
    try:
        _access().credentials.create(credential_body(request.form, cardholder_id))
    except DoorctlError as error:
        return _failed(error, f"credential-{cardholder_id}")
    return _done(_("Credential added."))


@bp.route("/access/credentials/<int:credential_id>/delete", methods=["POST"])
@allow("operator")
def delete_credential(credential_id: int):
    """Delete a credential."""
    _access().credentials.delete(credential_id)
    return _done(_("Credential deleted."))


@bp.route("/access/cardholders/import", methods=["POST"])
@allow("operator")
def import_page():
    """Import a CSV file from the page, in the encoding chosen; the first bad rows are listed."""
    upload = request.files.get("file")
    try:
        if upload is None:
            raise Invalid({"file": _("Choose a CSV file.")})
        result = run_import(upload.stream, encoding_named(request.form.get("encoding")))
    except DoorctlError as error:
        return _failed(error, "import")
    if result.error_count:
        return _page(
            422,
            import_errors=result.errors,
            form_id="import",
            message=ngettext(
                "%(num)d bad row; nothing was imported.",
                "%(num)d bad rows; nothing was imported.",
                result.error_count,
            ),
        )
    holders = ngettext("%(num)d cardholder", "%(num)d cardholders", result.cardholders)
    credentials = ngettext("%(num)d credential", "%(num)d credentials", result.credentials)
    return _done(
        _("Imported %(holders)s and %(credentials)s.", holders=holders, credentials=credentials)
    )


def run_import(source, encoding: str):
    """The import in a child process with its own connection: readers keep running."""
    doorctl = appliance()
    return import_csv(doorctl.event_log, doorctl.data_dir, source, encoding)


# --- REST -------------------------------------------------------------------------------


def _search() -> dict:
    """Cardholders by name: `?q=` searches names, `?offset=&limit=` pages."""
    args = request.args
    offset = query_number("offset", args.get("offset"), 0, 0, 10**9)
    limit = query_number("limit", args.get("limit"), 100, 1, 1000)
    holders, total = _access().cardholders.search(args.get("q", ""), offset, limit)
    return {"cardholders": holders, "total": total}


def _with_credentials(cardholder_id: int) -> dict:
    """One cardholder with its credentials."""
    holder = _access().cardholders.get(cardholder_id)
    return {**holder, "credentials": _access().credentials.of(cardholder_id)}


MAYBE_MOMENT = {"type": ["string", "null"], "description": str(VALIDITY_RULE)}
ID_LIST = {"type": "array", "items": {"type": "integer", "minimum": 1}}
BODY = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX, "title": "Name"},
        "enabled": {"type": "boolean", "default": True, "title": "Enabled"},
        "valid_from": {**MAYBE_MOMENT, "title": "Valid from"},
        "valid_until": {**MAYBE_MOMENT, "title": "Valid until (a date: through that day)"},
        "long_access": {"type": "boolean", "default": False, "title": "Long access"},
        "notes": {"type": "string", "maxLength": NOTES_MAX, "title": "Notes"},
        "group_ids": {**ID_LIST, "title": "Groups"},
    },
    "additionalProperties": False,
}
RECORD = {
    "type": "object",
    "required": ["id", *FIELDS],
    "properties": {"id": {"type": "integer"}, **BODY["properties"]},
}
RESOURCE = Resource(
    name="cardholder",
    plural="cardholders",
    api="/api/v1/cardholders",
    key="cardholder_id",
    converter="int",
    record=RECORD,
    body=BODY,
    roles=dict.fromkeys(OPERATIONS, "operator"),
    store={
        "list": _search,
        "read": _with_credentials,
        "create": lambda body: _access().cardholders.create(body),
        "update": lambda cardholder_id, body: _access().cardholders.update(cardholder_id, body),
        "delete": lambda cardholder_id: _access().cardholders.delete(cardholder_id),
    },
    answers={
        "list": {
            "type": "object",
            "required": ["cardholders", "total"],
            "properties": {
                "cardholders": {"type": "array", "items": RECORD},
                "total": {"type": "integer", "minimum": 0},
            },
        },
        "read": {
            **RECORD,
            "required": [*RECORD["required"], "credentials"],
            "properties": {
                **RECORD["properties"],
                "credentials": {"type": "array", "items": {"type": "object"}},
            },
        },
    },
    list_query=[
        {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "Name contains."},
        *PAGING,
    ],
    example={"name": "Ada Lovelace", "valid_until": "2026-12-31", "group_ids": []},
    summaries={
        "list": "Cardholders by name: `?q=` searches names, `?offset=&limit=` pages.",
        "read": "One cardholder with its credentials.",
        "delete": "Delete a cardholder and its credentials.",
    },
    page=Page(
        path="/access/cardholders",
        render=_page,
        form_body=holder_body,
        messages={
            "update": lazy_gettext("Cardholder {name} saved."),
            "delete": lazy_gettext("Cardholder deleted."),
        },
        operations=("list", "update", "delete"),
        failed_context=lambda operation, key: {"form_id": f"holder-{key}"},
        done=lambda message: _done(message),
        row=_row,
        editor=_editor,
    ),
)
register(bp, RESOURCE)


@bp.route("/api/v1/cardholders/import", methods=["POST"])
@allow("operator")
def api_import():
    """Import CSV (text/csv body or a multipart `file`, `?encoding=`): all rows or none."""
    encoding = encoding_named(request.args.get("encoding") or request.form.get("encoding"))
    upload = request.files.get("file")
    result = run_import(upload.stream if upload is not None else request.stream, encoding)
    if result.error_count:
        body = {
            "error": ngettext(
                "%(num)d bad row; nothing was imported.",
                "%(num)d bad rows; nothing was imported.",
                result.error_count,
            ),
            "fields": {},
            **result.to_dict(),
        }
        return jsonify(body), 400
    return jsonify(result.to_dict())


api_import.doorctl_upload = True  # auth lets CSV and multipart through to this view


@bp.route("/api/v1/cardholders/export")
@allow("operator")
def api_export():
    """Every cardholder with its credentials as CSV (no PINs)."""
    conn = connect(appliance().store.path)

    def generate():
        # Each piece is read and formatted on a thread: a 100,000-row export is
        # seconds of SQLite and CSV work that would otherwise stall reader polling.
        rows = export_rows(conn)
        try:
            while (piece := computed(next, rows, None)) is not None:
                yield piece
        finally:
            rows.close()
            conn.close()

    headers = {"Content-Disposition": "attachment; filename=cardholders.csv"}
    return Response(generate(), mimetype="text/csv", headers=headers)
