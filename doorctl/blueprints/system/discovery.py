"""Network discovery protocols (manual: System > Network > Network discovery protocols),
on a page of its own under System for now.

One form definition (core's NetworkDiscoverySettings) checks the page, the JSON and
the store, and describes the section in the OpenAPI document. The UPnP device
description is served here, where SSDP's LOCATION points.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.blueprints.common import allow, appliance, json_body, public, render, save_section
from doorctl.core.system.discovery.settings import SECTION, default_name, device_uuid
from doorctl.core.system.discovery.upnp import DESCRIPTION_PATH, description_xml

MENU_ITEMS = [("System", lazy_gettext("Network discovery"), "discovery.page")]
bp = Blueprint("discovery", __name__)


def _page(status: int = 200, form=None, **context):
    """The page with the stored record, or the form that was refused."""
    doorctl = appliance()
    return render(
        "system/discovery/page.html",
        status,
        form=form or doorctl.settings.form(SECTION),
        default=default_name(),
        announced=doorctl.discovery.status(),
        errors=context.pop("errors", {}),
        **context,
    )


@bp.route("/network-discovery")
def page():
    """The Network discovery page."""
    return _page()


@bp.route("/network-discovery", methods=["POST"])
def save():
    """Save the page's settings: a new name is announced at once, a protocol turned off
    says goodbye."""
    return save_section(SECTION, _page, _("Network discovery saved."), "discovery.page")


@bp.route("/api/v1/network-discovery")
def api_get():
    """The network discovery settings: Bonjour, UPnP and WS-Discovery, and the names."""
    return jsonify(appliance().settings.get(SECTION))


@bp.route("/api/v1/network-discovery", methods=["PUT", "PATCH"])
def api_update():
    """Change network discovery settings; a rename or a turn-off takes effect at once."""
    return jsonify(appliance().settings.update(SECTION, json_body()))


@bp.route("/api/v1/network-discovery/status")
@allow("viewer")
def api_status():
    """What is announced now: the protocols running, their names, the addresses, and
    why a protocol could not be announced."""
    return jsonify(appliance().discovery.status())


@bp.route(DESCRIPTION_PATH)
@public
def upnp_description():
    """The UPnP device description that SSDP answers point to (UPnP on only)."""
    doorctl = appliance()
    record = doorctl.settings.get(SECTION)
    if not record["upnp"]:
        return Response(status=404)
    serial = doorctl.device.serial
    xml = description_xml(record["upnp_name"], serial, device_uuid(serial), request.host_url)
    return Response(xml, mimetype="text/xml")
