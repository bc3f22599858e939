"""I/O ports (manual: "Accessories > I/O ports"): rename, direction, normal state, supervision.

Operators see the live state and can activate outputs; administrators change the
settings, after which every output goes back to its normal position.
"""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext

from doorctl.blueprints.common import allow, appliance, json_body, render
from doorctl.core.accessories.io_ports import CIRCUITS, SECTION, WIRING_LABELS
from doorctl.core.errors import DoorctlError, Invalid

MENU_ITEMS = [("Accessories", lazy_gettext("I/O ports"), "io_ports.page")]
bp = Blueprint("io_ports", __name__)


def _update_port(port: str, changes: dict) -> dict:
    """Store one port's changes; errors come back under the port's own field names."""
    io = appliance().io_ports
    flat = io.settings_changes(port, changes)
    try:
        appliance().settings.update(SECTION, flat)
    except Invalid as error:
        prefix = f"{port}_"
        raise Invalid({k.removeprefix(prefix): v for k, v in error.fields.items()}) from None
    return io.port(port)


def _form_changes(port: str) -> dict:
    """The page's form for one port as changes (an unticked checkbox is not sent)."""
    info = appliance().io_ports.port(port)
    changes = {"name": request.form.get("name", "")}
    if info["configurable"]:
        changes["direction"] = request.form.get("direction", "")
    if info["normal_state_set_by"] is None:
        changes["normal_state"] = request.form.get("normal_state", "")
    if info["supervisable"]:
        changes["supervised"] = request.form.get("supervised") == "on"
    return changes


def _page(status: int = 200, **context):
    return render(
        "accessories/io_ports/page.html",
        status,
        ports=appliance().io_ports.ports(),
        circuits=CIRCUITS,
        wirings=WIRING_LABELS,
        wiring=appliance().io_ports.settings["supervised_wiring"],
        errors=context.pop("errors", {}),
        **context,
    )


@bp.route("/io")
@allow("operator")
def page():
    """The I/O ports page."""
    return _page()


def table_html() -> str:
    """The ports table, for the page's live panel."""
    return render_template("accessories/io_ports/_ports.html", ports=appliance().io_ports.ports())


@bp.route("/io/ports")
@allow("operator")
def table():
    """The ports table alone."""
    return table_html()


@bp.route("/io/ports/<port>", methods=["POST"])
def update(port: str):
    """Save one port's settings from its row."""
    try:
        _update_port(port, _form_changes(port))
    except DoorctlError as error:
        return _page(422, errors=error.fields, message=error.message, form_port=port, failed=True)
    flash("Saved; the outputs are back at their normal positions.")
    return redirect(url_for("io_ports.page"), 303)


@bp.route("/io/wiring", methods=["POST"])
def wiring():
    """The end-of-line resistor connection used by supervised inputs."""
    try:
        appliance().settings.update(SECTION, {"supervised_wiring": request.form.get("wiring")})
    except Invalid as error:
        message = error.fields.get("supervised_wiring", error.message)
        return _page(422, message=message, failed=True)
    flash("Saved; the outputs are back at their normal positions.")
    return redirect(url_for("io_ports.page"), 303)


@bp.route("/io/ports/<port>/activate", methods=["POST"])
@allow("operator")
def activate(port: str):
    """Activate or deactivate an output from the page."""
    try:
        appliance().io_ports.activate(port, request.form.get("active") == "1")
    except DoorctlError as error:
        return _page(409, message=error.message, failed=True)
    return table_html()


@bp.route("/api/v1/io/ports")
@allow("viewer")
def api_list():
    """Every port with its settings and live state."""
    return jsonify(appliance().io_ports.ports())


@bp.route("/api/v1/io/ports/<port>")
@allow("viewer")
def api_get(port: str):
    """One port."""
    return jsonify(appliance().io_ports.port(port))


@bp.route("/api/v1/io/ports/<port>", methods=["PUT", "PATCH"])
def api_update(port: str):
    """Rename a port, set its direction, normal state or supervision."""
    return jsonify(_update_port(port, json_body()))


@bp.route("/api/v1/io/ports/<port>/activate", methods=["POST"])
@allow("operator")
def api_activate(port: str):
    """`{"active": true|false}`: activate or deactivate an output port."""
    body = json_body()
    if "active" not in body:
        raise Invalid({"active": "This field is required."})
    return jsonify(appliance().io_ports.activate(port, body["active"]))


@bp.route("/api/v1/io/settings")
@allow("viewer")
def api_settings():
    """The whole I/O ports section, flat, as stored."""
    return jsonify(appliance().settings.get(SECTION))


@bp.route("/api/v1/io/settings", methods=["PUT", "PATCH"])
def api_update_settings():
    """Change the flat I/O ports section (e.g. `supervised_wiring`)."""
    return jsonify(appliance().settings.update(SECTION, json_body()))
