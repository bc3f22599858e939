"""Certificates (System > Security): the device's certificate store; administrators only."""

from __future__ import annotations

import base64

from flask import Blueprint, jsonify, request
from flask_babel import lazy_gettext

from doorctl.blueprints.common import appliance, json_body, render
from doorctl.blueprints.resource import OPERATIONS, Page, Resource, register, store_of
from doorctl.core.system.certificates.body import ID, ID_RULE, MAX_DATA, MAX_NAMES
from doorctl.core.system.certificates.x509s import MAX_DAYS
from doorctl.core.system.network.http_https import SECTION as HTTPS

MENU_ITEMS = [("System", lazy_gettext("Certificates"), "certificates.page")]
bp = Blueprint("certificates", __name__)


def _certificates():
    return appliance().certificates


def _page(status: int = 200, **context):
    text = request.args.get("filter", "")
    return render(
        "system/certificates/page.html",
        status,
        certificates=_certificates().list(text),
        https=appliance().settings.get(HTTPS)["certificate"],
        filter=text,
        id_rule=ID_RULE,
        max_days=MAX_DAYS,
        errors=context.pop("errors", {}),
        **context,
    )


def _form_body(form) -> dict:
    """A create body from the page: a self-signed certificate, or an uploaded file."""
    if form.get("source") == "self_signed":
        names = [n.strip() for n in form.get("alternative_names", "").split(",") if n.strip()]
        days = form.get("days", "")
        spec = {"common_name": form.get("common_name", ""), "alternative_names": names}
        return {"id": form.get("id", ""), "self_signed": spec | _days(days)}
    upload = request.files.get("file")
    raw = upload.read(MAX_DATA + 1) if upload else b""
    data = raw.decode() if raw.lstrip().startswith(b"-----BEGIN") else base64.b64encode(raw)
    text = data if isinstance(data, str) else data.decode()
    return {"id": form.get("id", ""), "data": text, "password": form.get("password", "")}


def _days(text: str) -> dict:
    """Days as typed: a number when it is one (the check names the field otherwise)."""
    return {"days": int(text)} if text.isascii() and text.isdigit() else {"days": text or 365}


SELF_SIGNED = {
    "type": "object",
    "properties": {
        "common_name": {"type": "string", "minLength": 1, "maxLength": 64},
        "alternative_names": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 253},
            "maxItems": MAX_NAMES,
        },
        "days": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
    },
    "required": ["common_name"],
    "additionalProperties": False,
}
DATA = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_DATA,
    "description": "PEM text (certificates and an optional private key), or DER or PKCS#12 "
    "as base64.",
}
PASSWORD = {"type": "string", "maxLength": 1024, "description": "Opens an encrypted key."}
ID_SCHEMA = {"type": "string", "pattern": ID.pattern, "description": str(ID_RULE)}
BODY = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": ID_SCHEMA,
        "self_signed": SELF_SIGNED,
        "data": DATA,
        "password": PASSWORD,
    },
    "additionalProperties": False,
}
SIGNING_REQUEST = {
    "type": "object",
    "required": ["common_name"],
    "properties": {k: SELF_SIGNED["properties"][k] for k in ("common_name", "alternative_names")},
    "additionalProperties": False,
}
SIGNING_REQUEST_ANSWER = {
    "type": "object",
    "required": ["pem"],
    "properties": {"pem": {"type": "string", "description": "PKCS#10 request, PEM."}},
}
UPDATE = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": DATA, "password": PASSWORD},
    "additionalProperties": False,
}
TEXT = {"type": "string"}
RECORD = {
    "type": "object",
    "required": ["id", "kind", "subject", "issuer", "fingerprint"],
    "properties": {
        "id": ID_SCHEMA,
        "kind": {"enum": ["client_server", "ca"]},
        "subject": TEXT,
        "issuer": TEXT,
        "alternative_names": {"type": "array", "items": TEXT},
        "not_before": {"type": "string", "format": "date-time"},
        "not_after": {"type": "string", "format": "date-time"},
        "key_type": TEXT,
        "fingerprint": {**TEXT, "description": "SHA-256 of the certificate."},
        "private_key": {"type": "boolean"},
        "used_by": {"type": "array", "items": TEXT},
    },
}
RESOURCE = Resource(
    name="certificate",
    plural="certificates",
    api="/api/v1/certificates",
    key="cert_id",
    converter="string",
    record=RECORD,
    body=BODY,
    roles=dict.fromkeys(OPERATIONS, "administrator"),
    store=store_of(
        _certificates, list=lambda: _certificates().list(request.args.get("filter", ""))
    ),
    list_query=[
        {
            "name": "filter",
            "in": "query",
            "schema": {"type": "string"},
            "description": "Id, subject, issuer or an alternative name contains.",
        }
    ],
    conflicts=("create", "delete"),
    summaries={
        "list": "Client/server and CA certificates; `?filter=` narrows the list.",
        "create": "Create a self-signed certificate (`self_signed`) or import one (`data`).",
        "update": "Replace a certificate by one for the same key (renewed or CA-signed).",
        "delete": "Delete a certificate that nothing uses, with its private key.",
    },
    example={
        "id": "door-https",
        "self_signed": {"common_name": "door", "alternative_names": ["door.local"]},
    },
    key_example="door-https",
    page=Page(
        path="/certificates",
        render=_page,
        form_body=_form_body,
        messages={
            "create": lazy_gettext("Certificate {id} added."),
            "delete": lazy_gettext("Certificate deleted."),
        },
    ),
)
register(bp, RESOURCE)


@bp.route("/api/v1/certificates/<string:cert_id>/signing-request", methods=["POST"])
def api_signing_request(cert_id: str):
    """A signing request for a certificate's key; put the CA's certificate back with PUT."""
    return jsonify(_certificates().signing_request(cert_id, json_body()))
