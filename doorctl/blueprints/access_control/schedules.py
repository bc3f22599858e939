"""Schedules (Access control): weekly intervals and holidays; Administrators edit them."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, request, url_for

from doorctl.blueprints.common import allow, appliance, form_failed, json_body, render
from doorctl.core.access_control.schedules import DAYS
from doorctl.core.errors import DoorctlError, Invalid
from doorctl.core.inbound import parse

MENU_ITEMS = [("Access control", "Schedules", "schedules.page")]
bp = Blueprint("schedules", __name__)


def _schedules():
    return appliance().access.schedules


def week_blocks(schedule) -> dict[str, list[dict]]:
    """Each weekday's intervals as percentages of the day, for the week view."""
    blocks: dict[str, list[dict]] = {day: [] for day in DAYS}
    for index, day in enumerate(DAYS):
        for start, end in schedule.weekly[index]:
            stop = end if end > start else 1440
            blocks[day].append(_block(start, stop))
            if end < start:
                blocks[DAYS[(index + 1) % 7]].append(_block(0, end))
    return blocks


def _block(start: int, end: int) -> dict:
    label = f"{start // 60:02d}:{start % 60:02d}–{end // 60:02d}:{end % 60:02d}"
    return {"left": start / 14.4, "width": (end - start) / 14.4, "label": label}


def _page(status: int = 200, **context):
    schedules = list(_schedules().all().values())
    return render(
        "access_control/schedules/page.html",
        status,
        schedules=schedules,
        blocks={s.id: week_blocks(s) for s in schedules},
        days=DAYS,
        errors=context.pop("errors", {}),
        **context,
    )


def _form_body(form) -> dict:
    """A schedule from the page's form: name, day checkboxes, one interval, holidays."""
    intervals = []
    days = form.getlist("days")
    if days or form.get("start") or form.get("end"):
        intervals.append({"days": days, "start": form.get("start"), "end": form.get("end")})
    extra = form.get("more_intervals", "").strip()
    more = parse(extra, "more_intervals") if extra else []
    if not isinstance(more, list):
        raise Invalid({"more_intervals": "Give a JSON list of intervals."})
    intervals += more
    dates = [d.strip() for d in form.get("holidays", "").split(",") if d.strip()]
    return {
        "name": form.get("name", ""),
        "intervals": intervals,
        "exceptions": [{"date": d} for d in dates],
    }


@bp.route("/access/schedules")
@allow("operator")
def page():
    """The Schedules page with a week view of each schedule."""
    return _page()


@bp.route("/access/schedules", methods=["POST"])
def add():
    """Add a schedule from the page."""
    try:
        schedule = _schedules().create(_form_body(request.form))
    except DoorctlError as error:
        return form_failed(_page, error)
    flash(f"Schedule {schedule.name} added.")
    return redirect(url_for("schedules.page"), 303)


@bp.route("/access/schedules/<int:schedule_id>/delete", methods=["POST"])
def delete(schedule_id: int):
    """Delete a schedule that no rule uses."""
    try:
        _schedules().delete(schedule_id)
    except DoorctlError as error:
        return _page(error.status, message=error.message)
    flash("Schedule deleted.")
    return redirect(url_for("schedules.page"), 303)


@bp.route("/api/v1/schedules")
@allow("operator")
def api_list():
    """Every schedule."""
    return jsonify([s.to_dict() for s in _schedules().all().values()])


@bp.route("/api/v1/schedules", methods=["POST"])
def api_create():
    """Add a schedule: `{"name", "intervals": [...], "exceptions": [...]}`."""
    return jsonify(_schedules().create(json_body()).to_dict()), 201


@bp.route("/api/v1/schedules/<int:schedule_id>")
@allow("operator")
def api_get(schedule_id: int):
    """One schedule."""
    return jsonify(_schedules().get(schedule_id).to_dict())


@bp.route("/api/v1/schedules/<int:schedule_id>", methods=["PUT", "PATCH"])
def api_update(schedule_id: int):
    """Change a schedule's name, intervals or exceptions."""
    return jsonify(_schedules().update(schedule_id, json_body()).to_dict())


@bp.route("/api/v1/schedules/<int:schedule_id>", methods=["DELETE"])
def api_delete(schedule_id: int):
    """Delete a schedule that no rule uses."""
    _schedules().delete(schedule_id)
    return "", 204
