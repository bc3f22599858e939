"""SNMP (manual: System > Network > SNMP), a page of its own under System.

One form definition (core's SnmpSettings) checks the page, the JSON and the store,
and describes the section in the OpenAPI document. Communities are never shown back:
an empty one keeps the stored one. The v3 users are added, changed and removed on
this page too, by their own resource (snmp_users.py).
"""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.blueprints.common import allow, appliance, json_body, render
from doorctl.core.errors import DoorctlError, Invalid
from doorctl.core.system.snmp import settings as snmp
from doorctl.core.system.snmp.engine import SYS_OBJECT_ID, sys_descr
from doorctl.core.system.snmp.mib import MODULE_NAME
from doorctl.core.system.snmp.users import UserForm

MENU_ITEMS = [("System", lazy_gettext("SNMP"), "snmp.page")]
bp = Blueprint("snmp", __name__)


def _page(status: int = 200, form=None, **context):
    """The page with the stored record and the v3 users, or the form that was refused
    (`failed` names a refused user form: create or update, and `failed_id`)."""
    settings = appliance().settings
    record = settings.get(snmp.SECTION)
    return render(
        "system/snmp/page.html",
        status,
        form=form or settings.form(snmp.SECTION),
        secrets_set={name: bool(record[name]) for name in settings.secrets[snmp.SECTION]},
        status_info=appliance().snmp.status(),
        sys_descr=sys_descr(),
        sys_object_id=SYS_OBJECT_ID,
        sys_object_name=f"{MODULE_NAME}::doorctlController",
        users=appliance().snmp_users.list(),
        user_form=UserForm(),
        errors=context.pop("errors", {}),
        **context,
    )


@bp.route("/snmp")
def page():
    """The SNMP page."""
    return _page()


@bp.route("/snmp", methods=["POST"])
def save():
    """Save the page; an empty community or password keeps the stored one."""
    settings = appliance().settings
    form = settings.posted_form(snmp.SECTION, request.form)
    try:
        settings.save(snmp.SECTION, form)
    except DoorctlError as error:
        return _page(422, form=form, errors=error.fields, message=error.message)
    flash(_("SNMP settings saved."))
    return redirect(url_for("snmp.page"), 303)


@bp.route("/api/v1/snmp")
def api_get():
    """The SNMP settings (never a community or password, only whether each is set)."""
    return jsonify(appliance().settings.public(snmp.SECTION))


@bp.route("/api/v1/snmp", methods=["PUT", "PATCH"])
def api_update():
    """Change the SNMP settings; an empty or absent secret keeps the stored one."""
    settings = appliance().settings
    body = json_body()
    if snmp.moved_fields(body):
        raise Invalid(snmp.moved_fields(body))
    changes = settings.keeping_secrets(snmp.SECTION, body)
    return jsonify(settings.public(snmp.SECTION, settings.update(snmp.SECTION, changes)))


@bp.route("/api/v1/snmp/status")
@allow("viewer")
def api_status():
    """Whether snmpd runs, its port and engine ID, and why it does not run."""
    return jsonify(appliance().snmp.status())
