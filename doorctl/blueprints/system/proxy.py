"""Proxy settings (manual: One-click cloud connection > Proxy settings), under System.

One form definition (core's ProxySettings) checks the page, the JSON and the store,
and describes the section in the OpenAPI document. The password is never shown back:
an empty one keeps the stored password, and clearing the login clears it.
"""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.blueprints.common import appliance, json_body, render
from doorctl.core.errors import DoorctlError
from doorctl.core.system import proxy

MENU_ITEMS = [("System", lazy_gettext("Proxy"), "proxy.page")]
bp = Blueprint("proxy", __name__)


def _page(status: int = 200, form=None, **context):
    """The page with the stored record, or the form that was refused."""
    settings = appliance().settings
    record = settings.get(proxy.SECTION)
    mqtt = appliance().mqtt
    return render(
        "system/proxy/page.html",
        status,
        form=form or settings.form(proxy.SECTION),
        password_set=settings.public(proxy.SECTION, record)["password_set"],
        mqtt_proxy=_mqtt_proxy(record, mqtt.client),
        errors=context.pop("errors", {}),
        **context,
    )


def _mqtt_proxy(record: dict, client: dict) -> str | None:
    """The proxy the MQTT client connects through, when it connects at all."""
    if not client["connect"] or not client["host"]:
        return None
    return proxy.used_for(record, client["host"])


@bp.route("/proxy")
def page():
    """The Proxy page."""
    return _page()


@bp.route("/proxy", methods=["POST"])
def save():
    """Save the page; an empty password keeps the stored one unless the login is cleared."""
    settings = appliance().settings
    form = settings.posted_form(proxy.SECTION, request.form)
    if not form.login.data and not request.form.get("password"):
        form.password.data = ""  # a login cleared clears its password
    try:
        settings.save(proxy.SECTION, form)
    except DoorctlError as error:
        return _page(422, form=form, errors=error.fields, message=error.message)
    flash(_("Proxy settings saved."))
    return redirect(url_for("proxy.page"), 303)


@bp.route("/api/v1/proxy")
def api_get():
    """The proxy settings (never the password, only whether one is set)."""
    return jsonify(appliance().settings.public(proxy.SECTION))


@bp.route("/api/v1/proxy", methods=["PUT", "PATCH"])
def api_update():
    """Change the proxy settings; an empty or absent password keeps the stored one."""
    settings = appliance().settings
    given = settings.keeping_secrets(proxy.SECTION, json_body())
    record = settings.update(proxy.SECTION, proxy.changes(given))
    return jsonify(settings.public(proxy.SECTION, record))
