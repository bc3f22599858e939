"""Credentials (Access control > Cardholders): a cardholder's cards and PINs over REST.

The Cardholders page adds and deletes them in its own forms; Operators and
Administrators manage them.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from doorctl.blueprints.common import allow, appliance, json_body, query_number

bp = Blueprint("credentials", __name__)


def _access():
    return appliance().access


@bp.route("/api/v1/credentials")
@allow("operator")
def api_credentials():
    """Credentials by id, `?cardholder_id=` for one cardholder's, `?offset=&limit=` pages."""
    args = request.args
    if args.get("cardholder_id"):
        holder = query_number("cardholder_id", args["cardholder_id"], None, 1, 2**62)
        return jsonify(_access().credentials.of(holder))
    offset = query_number("offset", args.get("offset"), 0, 0, 10**9)
    limit = query_number("limit", args.get("limit"), 100, 1, 1000)
    return jsonify(_access().credentials.list(offset, limit))


@bp.route("/api/v1/credentials", methods=["POST"])
@allow("operator")
def api_create_credential():
    """Add `{"cardholder_id", "card": {...} | null, "pin": "..." | null, "enabled"}`."""
    return jsonify(_access().credentials.create(json_body())), 201


@bp.route("/api/v1/credentials/<int:credential_id>")
@allow("operator")
def api_get_credential(credential_id: int):
    """One credential (never its PIN)."""
    return jsonify(_access().credentials.get(credential_id))


@bp.route("/api/v1/credentials/<int:credential_id>", methods=["PUT", "PATCH"])
@allow("operator")
def api_update_credential(credential_id: int):
    """Change enabled, card or PIN."""
    return jsonify(_access().credentials.update(credential_id, json_body()))


@bp.route("/api/v1/credentials/<int:credential_id>", methods=["DELETE"])
@allow("operator")
def api_delete_credential(credential_id: int):
    """Delete a credential."""
    _access().credentials.delete(credential_id)
    return "", 204
