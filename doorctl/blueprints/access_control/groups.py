"""Groups (Access control): cardholder groups, their names and members.

A rule that names a group lets each of its members in; the page says so before a
group goes. Operators and Administrators manage groups, as they do cardholders.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext

from doorctl.blueprints.common import allow, appliance, form_failed, form_ids, render
from doorctl.blueprints.resource import OPERATIONS, Page, Resource, register
from doorctl.core.access_control.cardholders import LABELS, NAME_MAX
from doorctl.core.errors import DoorctlError, Invalid

MENU_ITEMS = [("Access control", lazy_gettext("Groups"), "groups.page")]
bp = Blueprint("groups", __name__)
PICK_LIMIT = 500


def _holders():
    return appliance().access.cardholders


def _page(status: int = 200, **context):
    if context.get("form_id") == "update":
        return _group_page(context.pop("group_id"), status, **context)
    groups = _holders().groups()
    return render(
        "access_control/groups/page.html",
        status,
        groups=groups,
        questions={g["id"]: delete_question(g) for g in groups},
        labels=LABELS,
        errors=context.pop("errors", {}),
        **context,
    )


def _group_page(group_id: int, status: int = 200, **context):
    """One group: its name and its members, with the cardholders that could join."""
    group = _holders().group(group_id)
    members = _holders().members(group_id)
    holders, total = _holders().search("", 0, PICK_LIMIT)
    inside = set(group["cardholder_ids"])
    return render(
        "access_control/groups/group.html",
        status,
        group=group,
        members=members,
        candidates=[h for h in holders if h["id"] not in inside],
        more=total > PICK_LIMIT,
        rules=_holders().group_rules(group_id),
        question=delete_question(group),
        labels=LABELS,
        errors=context.pop("errors", {}),
        **context,
    )


def delete_question(group: dict) -> str:
    """What the confirmation asks: the group by name, and what its rules lose."""
    rules = _holders().group_rules(group["id"])
    names = ", ".join(r["name"] or _("Rule %(number)d", number=r["id"]) for r in rules)
    members = ngettext(
        "Its %(num)d member stays a cardholder.",
        "Its %(num)d members stay cardholders.",
        group["members"],
    )
    if not rules:
        return _("Delete the group %(name)s? %(members)s", name=group["name"], members=members)
    lose = ngettext(
        "The access rule %(names)s names it and no longer lets its members in.",
        "The access rules %(names)s name it and no longer let its members in.",
        len(rules),
        names=names,
    )
    return " ".join([_("Delete the group %(name)s?", name=group["name"]), members, lose])


def group_body(form) -> dict:
    """A new group from the page's form: its name."""
    return {"name": form.get("name", "")}


def _done(message: str):
    """Back to the group just changed (or to the list after an add or a delete)."""
    flash(message)
    group_id = (request.view_args or {}).get("group_id")
    if group_id is not None and request.endpoint == "groups.update":
        return redirect(url_for("groups.group_page", group_id=group_id), 303)
    return redirect(url_for("groups.page"), 303)


@bp.route("/access/groups/<int:group_id>")
@allow("operator")
def group_page(group_id: int):
    """One group's page: rename it, see and change its members."""
    return _group_page(group_id)


@bp.route("/access/groups/<int:group_id>/members", methods=["POST"])
@allow("operator")
def add_members(group_id: int):
    """Put the cardholders chosen into the group."""
    chosen = form_ids(request.form, "cardholder_ids")
    try:
        if not chosen:
            raise_none_chosen()
        _holders().add_members(group_id, chosen)
    except DoorctlError as error:
        return form_failed(_page, error, form_id="update", group_id=group_id)
    flash(ngettext("%(num)d member added.", "%(num)d members added.", len(chosen)))
    return redirect(url_for("groups.group_page", group_id=group_id), 303)


def raise_none_chosen() -> None:
    """Add with nobody chosen: say where to choose."""
    raise Invalid({"cardholder_ids": _("Choose one or more cardholders.")}, labels=LABELS)


@bp.route("/access/groups/<int:group_id>/members/<int:cardholder_id>/delete", methods=["POST"])
@allow("operator")
def remove_member(group_id: int, cardholder_id: int):
    """Take one cardholder out of the group (the cardholder stays)."""
    name = _holders().get(cardholder_id)["name"]
    _holders().remove_member(group_id, cardholder_id)
    flash(_("%(name)s is no longer a member.", name=name))
    return redirect(url_for("groups.group_page", group_id=group_id), 303)


ID_LIST = {"type": "array", "items": {"type": "integer", "minimum": 1}, "uniqueItems": True}
BODY = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX, "title": "Name"},
        "cardholder_ids": {**ID_LIST, "title": "Members", "description": "All of them."},
    },
    "additionalProperties": False,
}
COUNT = {"type": "integer", "minimum": 0}
LISTED = {
    "type": "object",
    "required": ["id", "name", "members", "rules"],
    "properties": {
        "id": {"type": "integer"},
        "name": BODY["properties"]["name"],
        "members": {**COUNT, "description": "How many cardholders are in it."},
        "rules": {**COUNT, "description": "How many access rules name it."},
    },
}
RECORD = {
    **LISTED,
    "required": [*LISTED["required"], "cardholder_ids"],
    "properties": {**LISTED["properties"], "cardholder_ids": ID_LIST},
}
RESOURCE = Resource(
    name="cardholder group",
    plural="cardholder groups",
    api="/api/v1/cardholder-groups",
    key="group_id",
    converter="int",
    record=RECORD,
    body={**BODY, "required": ["name"]},
    roles=dict.fromkeys(OPERATIONS, "operator"),
    store={
        "list": lambda: _holders().groups(),
        "read": lambda group_id: _holders().group(group_id),
        "create": lambda body: _holders().create_group(body),
        "update": lambda group_id, body: _holders().update_group(group_id, body),
        "delete": lambda group_id: _holders().delete_group(group_id),
    },
    answers={"list": {"type": "array", "items": LISTED}},
    conflicts=("create", "update"),
    example={"name": "Staff", "cardholder_ids": []},
    summaries={
        "list": "Every cardholder group with its member and rule counts.",
        "read": "One group with its members' ids.",
        "update": "Rename a group or replace its members: the fields given, the others stay.",
        "delete": "Delete a group: its members stay, the rules that name it lose it.",
    },
    page=Page(
        path="/access/groups",
        render=_page,
        form_body=group_body,
        messages={
            "create": lazy_gettext("Group {name} added."),
            "update": lazy_gettext("Group {name} saved."),
            "delete": lazy_gettext("Group deleted."),
        },
        operations=("list", "create", "update", "delete"),
        failed_context=lambda operation, key: {"form_id": operation, "group_id": key},
        done=_done,
    ),
)
register(bp, RESOURCE)
