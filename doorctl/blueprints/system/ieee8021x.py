"""System > Security > IEEE 802.1x (manual): what its card on the Security page shows,
and its API (the card's form posts to the Security page).

The settings are one form (`Ieee8021xSettings`) for the card, the API and OpenAPI;
a change reaches NetworkManager before it is stored, so a refused one changes nothing.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from doorctl.blueprints.common import appliance, json_body
from doorctl.core.system.certificates.chosen import choices
from doorctl.core.system.security.dot1x_form import SECTION

bp = Blueprint("ieee8021x", __name__)


def context(form=None, errors=None) -> dict:
    """What the Security page's 802.1X card shows: the form, the certificates each list
    offers, the state."""
    dot1x = appliance().ieee8021x
    return {
        "dot1x_form": form or appliance().settings.form(SECTION),
        "dot1x_errors": errors or {},
        "dot1x_choices": choices(appliance().certificates),
        "dot1x_status": dot1x.status(),
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
