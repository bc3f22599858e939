"""MQTT (manual: "MQTT"): the MQTT client, MQTT publication and MQTT subscriptions tabs.

Each tab is a page of its own URL (loaded with htmx inside the MQTT page); the status
line refreshes every 2 s. The REST API uses the same field names in snake_case.
"""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.blueprints.common import allow, appliance, json_body, render
from doorctl.core.errors import DoorctlError, Invalid
from doorctl.core.system.mqtt import tls
from doorctl.core.system.mqtt.forms import (
    PROTOCOLS,
    client_changes,
    subscription_errors,
)
from doorctl.core.system.mqtt.service import CLIENT, PUBLICATION, SUBSCRIPTIONS

MENU_ITEMS = [("System", lazy_gettext("MQTT"), "mqtt.page")]
bp = Blueprint("mqtt", __name__)
TABS = (("client", lazy_gettext("MQTT client")), ("publication", lazy_gettext("MQTT publication")))
TABS += (("subscriptions", lazy_gettext("MQTT subscriptions")),)
SECTIONS = {"client": CLIENT, "publication": PUBLICATION, "subscriptions": SUBSCRIPTIONS}


def _service():
    return appliance().mqtt


def _extra(tab: str) -> dict:
    """What a tab shows besides its form."""
    service = _service()
    if tab == "client":
        return {
            "defaults": PROTOCOLS,
            "password_set": appliance().settings.public(CLIENT)["password_set"],
            "certificates": tls.choices(service.certificates),
        }
    if tab == "publication":
        return {"topics": service.known_topics(appliance().event_log)}
    return {"add": {}, "states": service.states}


def _tab(tab: str, status: int = 200, form=None, **context):
    """One tab of the MQTT page, with the stored values or the form that failed."""
    settings = appliance().settings
    context = {**_extra(tab), **context}
    return render(
        f"system/mqtt/{tab}.html",
        status,
        tab=tab,
        tabs=TABS,
        form=form or settings.form(SECTIONS[tab]),
        status_info=_service().status(),
        errors=context.pop("errors", {}),
        **context,
    )


def _saved(tab: str, form):
    """Store a posted tab; on bad input show the tab again with each field's error."""
    try:
        appliance().settings.save(SECTIONS[tab], form)
    except DoorctlError as error:
        return _tab(tab, 422, form=form, errors=error.fields, message=error.message)
    flash(_("Saved."))
    return redirect(url_for(f"mqtt.{tab}"), 303)


@bp.route("/mqtt")
def page():
    """The MQTT page opens on its first tab."""
    return redirect(url_for("mqtt.client"))


@bp.route("/mqtt/client")
def client():
    """MQTT client tab."""
    return _tab("client")


@bp.route("/mqtt/client", methods=["POST"])
def client_save():
    """Save the MQTT client tab; an empty password keeps the stored one."""
    settings = appliance().settings
    form = settings.posted_form(CLIENT, request.form)
    return _saved("client", form)


@bp.route("/mqtt/publication")
def publication():
    """MQTT publication tab."""
    return _tab("publication")


@bp.route("/mqtt/publication", methods=["POST"])
def publication_save():
    """Save the MQTT publication tab."""
    return _saved("publication", appliance().settings.form(PUBLICATION, request.form))


@bp.route("/mqtt/subscriptions")
def subscriptions():
    """MQTT subscriptions tab."""
    return _tab("subscriptions")


@bp.route("/mqtt/subscriptions", methods=["POST"])
def subscriptions_save():
    """Save the subscriptions tab's settings (remote door commands)."""
    settings = appliance().settings
    changes = {"door_commands": request.form.get("door_commands") == "y"}
    try:
        settings.update(SUBSCRIPTIONS, changes)
    except DoorctlError as error:
        return _tab("subscriptions", 422, errors=error.fields)
    flash(_("Saved."))
    return redirect(url_for("mqtt.subscriptions"), 303)


@bp.route("/mqtt/subscriptions/add", methods=["POST"])
def subscription_add():
    """Add subscription."""
    item = {
        "filter": request.form.get("filter", ""),
        "use_prefix": request.form.get("use_prefix") == "y",
        "type": request.form.get("type", "stateless"),
        "qos": request.form.get("qos", "0"),
    }
    item, errors = subscription_errors(item)
    settings = appliance().settings
    try:
        if errors:
            raise Invalid(errors)
        current = settings.get(SUBSCRIPTIONS)["subscriptions"]
        settings.update(SUBSCRIPTIONS, {"subscriptions": [*current, item]})
    except DoorctlError as error:
        return _tab("subscriptions", 422, errors=error.fields, add=item)
    flash(_("Subscription %(filter)s added.", filter=item["filter"]))
    return redirect(url_for("mqtt.subscriptions"), 303)


@bp.route("/mqtt/subscriptions/<int:number>/delete", methods=["POST"])
def subscription_delete(number: int):
    """Delete a subscription (numbered from 1 as on the page)."""
    settings = appliance().settings
    current = settings.get(SUBSCRIPTIONS)["subscriptions"]
    if 1 <= number <= len(current):
        settings.update(SUBSCRIPTIONS, {"subscriptions": current[: number - 1] + current[number:]})
    return redirect(url_for("mqtt.subscriptions"), 303)


@bp.route("/mqtt/status")
@allow("viewer")
def status_line():
    """The status line alone, for its 2 s refresh ("Not configured" before a host is set)."""
    return render_template("system/mqtt/_status.html", status_info=_service().status())


@bp.route("/api/v1/mqtt/status")
@allow("viewer")
def api_status():
    """The MQTT client's live status."""
    return jsonify(_service().status())


@bp.route("/api/v1/mqtt/client")
def api_client():
    """The MQTT client settings (never the password)."""
    return jsonify(appliance().settings.public(CLIENT))


@bp.route("/api/v1/mqtt/client", methods=["PUT", "PATCH"])
def api_client_update():
    """Change MQTT client settings; an empty or absent password keeps the stored one."""
    settings = appliance().settings
    changes = client_changes(settings.get(CLIENT), settings.keeping_secrets(CLIENT, json_body()))
    return jsonify(settings.public(CLIENT, settings.update(CLIENT, changes)))


@bp.route("/api/v1/mqtt/<any(publication, subscriptions):tab>")
def api_section(tab: str):
    """The MQTT publication or subscriptions settings."""
    return jsonify(appliance().settings.get(SECTIONS[tab]))


@bp.route("/api/v1/mqtt/<any(publication, subscriptions):tab>", methods=["PUT", "PATCH"])
def api_section_update(tab: str):
    """Change the MQTT publication or subscriptions settings."""
    return jsonify(appliance().settings.update(SECTIONS[tab], json_body()))
