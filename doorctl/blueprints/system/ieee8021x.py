"""System > Security > IEEE 802.1x (manual): what its card on the Security page shows,
and its API (the card's form posts to the Security page).

The settings are one form (`Ieee8021xSettings`) for the card, the API and OpenAPI;
a change reaches NetworkManager before it is stored, so a refused one changes nothing.
"""

from __future__ import annotations

import datetime

from flask import Blueprint, jsonify

from doorctl.blueprints.common import appliance, json_body
from doorctl.core.system.security.dot1x_form import SECTION

bp = Blueprint("ieee8021x", __name__)


def context(form=None, errors=None) -> dict:
    """What the Security page's 802.1X card shows: the form, the certificates each list
    offers, the state."""
    dot1x = appliance().ieee8021x
    return {
        "dot1x_form": form or appliance().settings.form(SECTION),
        "dot1x_errors": errors or {},
        "dot1x_choices": _choices(),
        "dot1x_status": dot1x.status(),
    }


def _choices() -> dict[str, list[dict]]:
    """The store's certificates by kind, each marked when it has expired."""
    now = datetime.datetime.now(datetime.UTC)
    listed = [
        {**c, "expired": datetime.datetime.fromisoformat(c["not_after"]) < now}
        for c in appliance().certificates.list()
    ]
    return {
        "client_certificate": [c for c in listed if c["kind"] == "client_server"],
        "ca_certificate": [c for c in listed if c["kind"] == "ca"],
    }


@bp.route("/api/v1/ieee8021x")
def api_get():
    """The stored 802.1X settings."""
    return jsonify(appliance().ieee8021x.get())


@bp.route("/api/v1/ieee8021x", methods=["PUT", "PATCH"])
def api_update():
    """Change the 802.1X settings: applied to the connection, then stored."""
    return jsonify(appliance().ieee8021x.update(json_body()))


@bp.route("/api/v1/ieee8021x/status")
def api_status():
    """Whether the port let this unit in: authorized, in progress, unauthorized, off."""
    return jsonify(appliance().ieee8021x.status())
