"""SNMP v3 users (System > SNMP): added, changed and removed on the SNMP page; administrators.

REST: /api/v1/snmp/users (list, add) and .../users/<id> (get, change, remove). The keys
are write-only: a record says only whether each is stored (`auth_key_set`,
`privacy_key_set`), and an empty or absent key on a change keeps the stored one.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_babel import lazy_gettext

from doorctl.blueprints.common import appliance
from doorctl.blueprints.form_schema import form_schema
from doorctl.blueprints.resource import OPERATIONS, Page, Resource, register, store_of
from doorctl.blueprints.system.snmp import _page
from doorctl.core.system.snmp.settings import USERS_API
from doorctl.core.system.snmp.users import FIELDS, KEYS, UserForm

bp = Blueprint("snmp_users", __name__)
SWITCHES = ("read", "notify")


def _users():
    return appliance().snmp_users


def form_body(form) -> dict:
    """A user from the page's form: its text fields as given, its switches on or off."""
    body = {name: form[name] for name in FIELDS if name in form and name not in SWITCHES}
    return body | {name: name in form for name in SWITCHES}


BODY = form_schema(UserForm)
BODY["required"] = ["name", *KEYS]
for _key in KEYS:
    BODY["properties"][_key] |= {"writeOnly": True, "minLength": 8, "maxLength": 255}
BODY["properties"]["name"] |= {"minLength": 1, "maxLength": 32}
RECORD = {
    "type": "object",
    "required": ["id", "name", "authentication", "read", "notify", "auth_key_set"],
    "properties": {
        "id": {"type": "integer"},
        **{k: v for k, v in BODY["properties"].items() if k not in KEYS},
        "auth_key_set": {"type": "boolean", "description": "An authentication key is stored."},
        "privacy_key_set": {"type": "boolean", "description": "A privacy key is stored."},
    },
}
RECORD["required"].append("privacy_key_set")
RESOURCE = Resource(
    name="SNMP v3 user",
    plural="SNMP v3 users",
    api=USERS_API,
    key="user_id",
    converter="int",
    record=RECORD,
    body=BODY,
    roles=dict.fromkeys(OPERATIONS, "administrator"),
    store=store_of(_users),
    conflicts=("create", "delete"),
    example={
        "name": "nms",
        "authentication": "SHA-256",
        "auth_key": "auth-pass-1",
        "privacy_key": "priv-pass-1",
        "read": True,
    },
    summaries={
        "list": "Every SNMP v3 user (never a key: only whether each is stored).",
        "create": "Add an SNMP v3 user; the first one added sends the traps; snmpd restarts.",
        "update": "Change a user: the fields given, the others stay (an empty key too).",
        "delete": "Remove a user; the one that sends the traps stays while v3 sends any.",
    },
    page=Page(
        path="/snmp",
        render=_page,
        form_body=form_body,
        forms="/snmp/users",
        operations=("create", "update", "delete"),
        failed_context=lambda operation, key: {"failed": operation, "failed_id": key},
        done=lambda message: _done(message),  # the page is the SNMP page
        messages={
            "create": lazy_gettext("SNMP user {name} added."),
            "update": lazy_gettext("SNMP user {name} changed."),
            "delete": lazy_gettext("SNMP user removed."),
        },
    ),
)


def _done(message: str):
    """Back to the SNMP page (303), saying what was done."""
    flash(message)
    return redirect(url_for("snmp.page"), 303)


register(bp, RESOURCE)
