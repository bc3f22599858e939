"""Access rules (Access control): who may open which door, when and how (Administrator)."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, request, url_for

from doorctl.blueprints.common import (
    allow,
    appliance,
    form_failed,
    form_ids,
    form_number,
    json_body,
    render,
)
from doorctl.core.access_control.access_rules import AUTHENTICATIONS, DIRECTIONS
from doorctl.core.errors import DoorctlError

MENU_ITEMS = [("Access control", "Access rules", "access_rules.page")]
bp = Blueprint("access_rules", __name__)
PICK_LIMIT = 500


def _rules():
    return appliance().access.rules


def _page(status: int = 200, **context):
    access = appliance().access
    holders, _ = access.cardholders.search("", 0, PICK_LIMIT)
    return render(
        "access_control/access_rules/page.html",
        status,
        rules=_rules().list(),
        holders={h["id"]: h["name"] for h in holders},
        groups={g["id"]: g["name"] for g in access.cardholders.groups()},
        schedules={s.id: s.name for s in access.schedules.all().values()},
        doors={d.id: d.settings["name"] for d in appliance().doors.values()},
        directions=DIRECTIONS,
        authentications=AUTHENTICATIONS,
        errors=context.pop("errors", {}),
        **context,
    )


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


@bp.route("/access/rules")
@allow("operator")
def page():
    """The Access rules page."""
    return _page()


@bp.route("/access/rules", methods=["POST"])
def add():
    """Add an access rule from the page."""
    try:
        _rules().create(rule_body(request.form))
    except DoorctlError as error:
        return form_failed(_page, error)
    flash("Access rule added.")
    return redirect(url_for("access_rules.page"), 303)


@bp.route("/access/rules/<int:rule_id>/delete", methods=["POST"])
def delete(rule_id: int):
    """Delete an access rule."""
    _rules().delete(rule_id)
    flash("Access rule deleted.")
    return redirect(url_for("access_rules.page"), 303)


@bp.route("/api/v1/access-rules")
@allow("operator")
def api_list():
    """Every access rule."""
    return jsonify(_rules().list())


@bp.route("/api/v1/access-rules", methods=["POST"])
def api_create():
    """Add a rule: cardholder_ids, group_ids, door_id, direction, schedule_id, authentication."""
    return jsonify(_rules().create(json_body())), 201


@bp.route("/api/v1/access-rules/<int:rule_id>")
@allow("operator")
def api_get(rule_id: int):
    """One access rule."""
    return jsonify(_rules().get(rule_id))


@bp.route("/api/v1/access-rules/<int:rule_id>", methods=["PUT", "PATCH"])
def api_update(rule_id: int):
    """Change an access rule."""
    return jsonify(_rules().update(rule_id, json_body()))


@bp.route("/api/v1/access-rules/<int:rule_id>", methods=["DELETE"])
def api_delete(rule_id: int):
    """Delete an access rule."""
    _rules().delete(rule_id)
    return "", 204
