"""Schedules (Access control): weekly intervals and holidays; Administrators edit them."""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext

from doorctl.blueprints.common import appliance, render
from doorctl.blueprints.resource import WRITES, Page, Resource, register
from doorctl.core.access_control.schedules import (
    DAYS,
    MAX_EXCEPTIONS,
    MAX_INTERVALS,
    NAME_MAX,
    TIME,
    TIME_RULE,
)
from doorctl.core.errors import Invalid
from doorctl.core.inbound import parse

MENU_ITEMS = [("Access control", lazy_gettext("Schedules"), "schedules.page")]
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


TIME_OF_DAY = {"type": "string", "pattern": TIME.pattern, "description": TIME_RULE}
SPAN = {
    "type": "object",
    "required": ["start", "end"],
    "properties": {"start": TIME_OF_DAY, "end": TIME_OF_DAY},
}
WEEKLY = {
    **SPAN,
    "required": ["days", "start", "end"],
    "properties": {
        "days": {"type": "array", "items": {"enum": list(DAYS)}, "minItems": 1},
        **SPAN["properties"],
    },
}
EXCEPTION = {
    "type": "object",
    "required": ["date"],
    "properties": {
        "date": {"type": "string", "format": "date"},
        "name": {"type": "string", "maxLength": NAME_MAX},
        "intervals": {"type": "array", "items": SPAN, "description": "None: closed that day."},
    },
}
BODY = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX, "title": "Name"},
        "intervals": {"type": "array", "items": WEEKLY, "maxItems": MAX_INTERVALS},
        "exceptions": {"type": "array", "items": EXCEPTION, "maxItems": MAX_EXCEPTIONS},
    },
    "additionalProperties": False,
}
RECORD = {
    **BODY,
    "required": ["id", "name", "intervals", "exceptions"],
    "properties": {"id": {"type": "integer"}, **BODY["properties"]},
}
RESOURCE = Resource(
    name="schedule",
    plural="schedules",
    api="/api/v1/schedules",
    key="schedule_id",
    converter="int",
    record=RECORD,
    body=BODY,
    roles={"list": "operator", "read": "operator", **dict.fromkeys(WRITES, "administrator")},
    store={
        "list": lambda: [s.to_dict() for s in _schedules().all().values()],
        "read": lambda schedule_id: _schedules().get(schedule_id).to_dict(),
        "create": lambda body: _schedules().create(body).to_dict(),
        "update": lambda schedule_id, body: _schedules().update(schedule_id, body).to_dict(),
        "delete": lambda schedule_id: _schedules().delete(schedule_id),
    },
    conflicts=WRITES,
    summaries={"delete": "Delete a schedule that no rule or door uses."},
    example={
        "name": "Office hours",
        "intervals": [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "17:00"}
        ],
        "exceptions": [{"date": "2026-12-25", "name": "Christmas", "intervals": []}],
    },
    page=Page(
        path="/access/schedules",
        render=_page,
        form_body=_form_body,
        messages={"create": "Schedule {name} added.", "delete": "Schedule deleted."},
    ),
)
register(bp, RESOURCE)
