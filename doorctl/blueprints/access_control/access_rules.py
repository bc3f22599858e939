"""Access rules (Access control): who may open which door, when and how (Administrator).

Each rule is a row of the page, edited in its place: Edit swaps the row for its form
(htmx), Save answers the row again or the form with every field's message.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext

from doorctl.blueprints.common import appliance, form_ids, form_number, render
from doorctl.blueprints.resource import WRITES, Page, Resource, register, store_of
from doorctl.core.access_control.access_rules import (
    AUTHENTICATION_WORDS,
    AUTHENTICATIONS,
    DIRECTION_WORDS,
    DIRECTIONS,
    FIELDS,
    LABELS,
    NAME_MAX,
)

MENU_ITEMS = [("Access control", lazy_gettext("Access rules"), "access_rules.page")]
bp = Blueprint("access_rules", __name__)
PICK_LIMIT = 500


def _rules():
    return appliance().access.rules


def choices() -> dict:
    """What a rule can name, by id: cardholders, groups, schedules and doors; and the
    words for its directions and authentications."""
    access = appliance().access
    holders, _ = access.cardholders.search("", 0, PICK_LIMIT)
    return {
        "holders": {h["id"]: h["name"] for h in holders},
        "groups": {g["id"]: g["name"] for g in access.cardholders.groups()},
        "schedules": {s.id: s.name for s in access.schedules.all().values()},
        "doors": {d.id: d.settings["name"] for d in appliance().doors.values()},
        "directions": DIRECTION_WORDS,
        "authentications": AUTHENTICATION_WORDS,
        "labels": LABELS,
    }


def _page(status: int = 200, **context):
    return render(
        "access_control/access_rules/page.html",
        status,
        rules=_rules().list(),
        errors=context.pop("errors", {}),
        rule_values=rule_values,
        **choices(),
        **context,
    )


def _row(rule_id: int) -> str:
    """One rule's row, in words."""
    template = "access_control/access_rules/_row.html"
    return render_template(template, rule=_rules().get(rule_id), **choices())


def _editor(rule_id: int, errors: dict, values=None, message: str = "") -> str:
    """One rule's form in place of its row: the stored rule, or the values sent."""
    rule = _rules().get(rule_id)
    shown = rule_values(values) if values is not None else rule
    template = "access_control/access_rules/_editor.html"
    return render_template(template, rule=rule, v=shown, errors=errors, **choices())


def rule_values(form) -> dict:
    """The values a rule's form sent, as the form shows them again."""
    return {
        "name": form.get("name", ""),
        "cardholder_ids": form_ids(form, "cardholder_ids"),
        "group_ids": form_ids(form, "group_ids"),
        "door_id": form_number(form.get("door_id") or ""),
        "direction": form.get("direction", ""),
        "schedule_id": form_number(form.get("schedule_id") or "") or None,
        "authentication": form.get("authentication", ""),
    }


def rule_body(form) -> dict:
    """A rule from the page's form."""
    schedule = form.get("schedule_id", "")
    return {
        "name": form.get("name", ""),
        "cardholder_ids": form_ids(form, "cardholder_ids"),
        "group_ids": form_ids(form, "group_ids"),
        "door_id": form_number(form.get("door_id") or "1"),
        "direction": form.get("direction", "both"),
        "schedule_id": form_number(schedule) if schedule else None,
        "authentication": form.get("authentication", "card"),
    }


ID_LIST = {"type": "array", "items": {"type": "integer", "minimum": 1}, "uniqueItems": True}
BODY = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": NAME_MAX, "title": "Name"},
        "cardholder_ids": {**ID_LIST, "title": "Cardholders"},
        "group_ids": {**ID_LIST, "title": "Groups"},
        "door_id": {"type": "integer", "title": "Door", "default": 1},
        "direction": {"enum": list(DIRECTIONS), "title": "Direction", "default": "both"},
        "schedule_id": {"type": ["integer", "null"], "title": "Schedule (null: always)"},
        "authentication": {
            "enum": list(AUTHENTICATIONS),
            "title": "Authentication",
            "default": "card",
        },
    },
    "additionalProperties": False,
    "description": "Give at least one cardholder or group.",
}
RECORD = {
    **BODY,
    "required": ["id", *FIELDS],
    "properties": {"id": {"type": "integer"}, **BODY["properties"]},
}
RESOURCE = Resource(
    name="access rule",
    plural="access rules",
    api="/api/v1/access-rules",
    key="rule_id",
    converter="int",
    record=RECORD,
    body=BODY,
    roles={"list": "operator", "read": "operator", **dict.fromkeys(WRITES, "administrator")},
    store=store_of(_rules),
    example={"name": "Staff", "group_ids": [1], "door_id": 1, "schedule_id": None},
    page=Page(
        path="/access/rules",
        render=_page,
        form_body=rule_body,
        messages={
            "create": lazy_gettext("Access rule added."),
            "update": lazy_gettext("Access rule saved."),
            "delete": lazy_gettext("Access rule deleted."),
        },
        operations=("list", "create", "update", "delete"),
        failed_context=lambda operation, key: {"form_id": operation},
        row=_row,
        editor=_editor,
    ),
)
register(bp, RESOURCE)
