"""Schedules (Access control): weekly intervals and holidays; Administrators edit them.

Each schedule is a card of the page, edited in its place: its intervals are rows of
days, a start and an end; its holidays are lines of text ("2026-12-25 Christmas").
"""

from __future__ import annotations

import re

from flask import Blueprint, render_template
from flask_babel import lazy_gettext

from doorctl.blueprints.common import appliance, field_errors, render
from doorctl.blueprints.resource import WRITES, Page, Resource, register
from doorctl.core.access_control.schedules import (
    DAY_WORDS,
    DAYS,
    LABELS,
    MAX_EXCEPTIONS,
    MAX_INTERVALS,
    NAME_MAX,
    TIME,
    TIME_RULE,
)

MENU_ITEMS = [("Access control", lazy_gettext("Schedules"), "schedules.page")]
bp = Blueprint("schedules", __name__)
ROW = re.compile(r"^interval-(\d+)-(days|start|end)$")
SPAN = re.compile(r"^(\d{1,2}:\d{2})-(\d{1,2}:\d{2})$")
# Empty interval rows the form offers for new intervals.
BLANK_ROWS = 2


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


def days_text(days: list[str]) -> str:
    """Days as a person writes them: "Mon–Fri, Sun"."""
    runs: list[list[int]] = []
    for index in sorted(DAYS.index(d) for d in days if d in DAYS):
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    words = [str(DAY_WORDS[DAYS[i]]) for i in range(7)]
    return ", ".join(words[r[0]] if len(r) == 1 else f"{words[r[0]]}–{words[r[-1]]}" for r in runs)


def holidays_text(exceptions: list[dict]) -> str:
    """A schedule's exceptions as the lines of the Holidays field."""
    lines = []
    for e in exceptions:
        spans = [f"{i.get('start', '')}-{i.get('end', '')}" for i in e.get("intervals") or []]
        lines.append(" ".join(p for p in (e.get("date") or "", *spans, e.get("name") or "") if p))
    return "\n".join(lines)


def _context() -> dict:
    return {
        "days": DAYS,
        "day_words": DAY_WORDS,
        "labels": LABELS,
        "days_text": days_text,
        "holidays_text": holidays_text,
        "time_rule": TIME_RULE,
        "blank_rows": BLANK_ROWS,
    }


def _page(status: int = 200, **context):
    schedules = list(_schedules().all().values())
    errors = context.pop("errors", {})
    values = context.pop("values", None)
    return render(
        "access_control/schedules/page.html",
        status,
        schedules=schedules,
        blocks={s.id: week_blocks(s) for s in schedules},
        errors=errors,
        v=schedule_body(values) if values else {},
        list_errors=lambda prefix: field_errors(errors, LABELS, prefix),
        **_context(),
        **context,
    )


def _card(schedule_id: int) -> str:
    """One schedule's card: its intervals in words and its week."""
    schedule = _schedules().get(schedule_id)
    template = "access_control/schedules/_schedule.html"
    return render_template(
        template, s=schedule, blocks={schedule.id: week_blocks(schedule)}, **_context()
    )


def _editor(schedule_id: int, errors: dict, values=None, message: str = "") -> str:
    """One schedule's form in place of its card: the stored schedule or the values sent."""
    schedule = _schedules().get(schedule_id)
    shown = schedule_body(values) if values is not None else schedule.to_dict()
    return render_template(
        "access_control/schedules/_editor.html",
        s=schedule,
        v=shown,
        errors=errors,
        list_errors=lambda prefix: field_errors(errors, LABELS, prefix),
        **_context(),
    )


def _intervals(form) -> list[dict]:
    """The interval rows of the form, in their order; a row left empty is no interval."""
    rows: dict[int, dict] = {}
    for key in form:
        match = ROW.match(key)
        if match:
            row = rows.setdefault(int(match[1]), {"days": [], "start": "", "end": ""})
            row[match[2]] = form.getlist(key) if match[2] == "days" else _time(form.get(key))
    return [rows[i] for i in sorted(rows) if rows[i]["days"] or rows[i]["start"] or rows[i]["end"]]


def _time(text: str) -> str:
    """A time as typed, with the leading zero a person leaves out ("8:00" is 08:00)."""
    text = text.strip()
    return "0" + text if re.match(r"^\d:\d\d$", text) else text


def _holiday(line: str) -> dict:
    """One line of the Holidays field: a date, then any "HH:MM-HH:MM", then a name."""
    words = line.split()
    spans = [SPAN.match(w) for w in words[1:]]
    count = next((i for i, m in enumerate(spans) if m is None), len(spans))
    return {
        "date": words[0],
        "name": " ".join(words[1 + count :]),
        "intervals": [{"start": m[1], "end": m[2]} for m in spans[:count]],
    }


def schedule_body(form) -> dict:
    """A schedule from the page's form: name, interval rows and holiday lines."""
    lines = [line.strip() for line in form.get("holidays", "").splitlines() if line.strip()]
    return {
        "name": form.get("name", ""),
        "intervals": _intervals(form),
        "exceptions": [_holiday(line) for line in lines],
    }


TIME_OF_DAY = {"type": "string", "pattern": TIME.pattern, "description": str(TIME_RULE)}
SPAN_SCHEMA = {
    "type": "object",
    "required": ["start", "end"],
    "properties": {"start": TIME_OF_DAY, "end": TIME_OF_DAY},
}
WEEKLY = {
    **SPAN_SCHEMA,
    "required": ["days", "start", "end"],
    "properties": {
        "days": {"type": "array", "items": {"enum": list(DAYS)}, "minItems": 1},
        **SPAN_SCHEMA["properties"],
    },
}
EXCEPTION = {
    "type": "object",
    "required": ["date"],
    "properties": {
        "date": {"type": "string", "format": "date"},
        "name": {"type": "string", "maxLength": NAME_MAX},
        "intervals": {
            "type": "array",
            "items": SPAN_SCHEMA,
            "description": "None: closed that day.",
        },
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
        form_body=schedule_body,
        messages={
            "create": lazy_gettext("Schedule {name} added."),
            "update": lazy_gettext("Schedule {name} saved."),
            "delete": lazy_gettext("Schedule deleted."),
        },
        operations=("list", "create", "update", "delete"),
        failed_context=lambda operation, key: {"form_id": operation},
        row=_card,
        editor=_editor,
    ),
)
register(bp, RESOURCE)
