"""Schedules: weekly time intervals plus dated exceptions (holidays).

Times are wall-clock times in the device's time zone. An interval belongs to the day
it starts on; one whose end is before its start runs across midnight into the next
day ("22:00"-"06:00"). An exception date replaces that day's weekly intervals (none:
closed all day). Because evaluation converts the instant to local wall-clock time
with zoneinfo, "08:00-17:00" means 08:00 to 17:00 on DST change days too: the hour
that does not exist in spring is simply skipped, the repeated autumn hour counts twice.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.core.errors import Conflict, Invalid, NotFound, unknown_fields
from doorctl.core.logs.audit import audit
from doorctl.core.store import Store, Transaction

KIND = "Schedule"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
TIME_RULE = lazy_gettext("Enter a time as HH:MM, from 00:00 to 24:00.")
DAY_WORDS = {
    "mon": lazy_gettext("Mon"),
    "tue": lazy_gettext("Tue"),
    "wed": lazy_gettext("Wed"),
    "thu": lazy_gettext("Thu"),
    "fri": lazy_gettext("Fri"),
    "sat": lazy_gettext("Sat"),
    "sun": lazy_gettext("Sun"),
}
LABELS = {
    "name": lazy_gettext("Name"),
    "intervals": lazy_gettext("Intervals"),
    "intervals[]": lazy_gettext("Interval %(number)d"),
    "exceptions": lazy_gettext("Holidays"),
    "exceptions[]": lazy_gettext("Holiday %(number)d"),
    "start": lazy_gettext("start"),
    "end": lazy_gettext("end"),
    "days": lazy_gettext("days"),
    "date": lazy_gettext("date"),
}
NAME_MAX = 64
MAX_INTERVALS = 100
MAX_EXCEPTIONS = 400

Span = tuple[int, int]  # (start, end) in minutes after midnight; end < start: overnight


def minutes(text: str) -> int:
    """'08:30' as 510 minutes after midnight."""
    hours, mins = text.split(":")
    return int(hours) * 60 + int(mins)


@dataclass(frozen=True)
class Schedule:
    """A validated schedule, ready to answer "is it active at this instant?"."""

    id: int
    name: str
    intervals: list[dict]
    exceptions: list[dict]
    weekly: dict[int, list[Span]] = field(default_factory=dict, compare=False)
    dated: dict[date, list[Span]] = field(default_factory=dict, compare=False)

    @classmethod
    def build(cls, id: int, name: str, intervals: list[dict], exceptions: list[dict]):
        """A schedule with its lookup tables precomputed from the JSON shapes."""
        weekly: dict[int, list[Span]] = {d: [] for d in range(7)}
        for interval in intervals:
            for day in interval["days"]:
                weekly[DAYS.index(day)].append(_span(interval))
        dated = {
            date.fromisoformat(e["date"]): [_span(i) for i in e.get("intervals", [])]
            for e in exceptions
        }
        return cls(id, name, intervals, exceptions, weekly, dated)

    def spans(self, day: date) -> list[Span]:
        """The intervals that start on `day`: its exception's, else its weekday's."""
        found = self.dated.get(day)
        return found if found is not None else self.weekly[day.weekday()]

    def active_at(self, local: datetime) -> bool:
        """True when the local wall-clock time falls inside one of the intervals."""
        now = local.hour * 60 + local.minute + local.second / 60
        today = local.date()
        for start, end in self.spans(today):
            if start <= now < end or (end < start and now >= start):
                return True
        return any(end < start and now < end for start, end in self.spans(today - _DAY))

    def active(self, epoch: float, tz: ZoneInfo) -> bool:
        """True when the schedule is active at `epoch` in the time zone `tz`."""
        return self.active_at(datetime.fromtimestamp(epoch, tz))

    def to_dict(self) -> dict:
        """The schedule as the REST API shows it."""
        return {
            "id": self.id,
            "name": self.name,
            "intervals": self.intervals,
            "exceptions": self.exceptions,
        }


_DAY = timedelta(days=1)


def _span(interval: dict) -> Span:
    return minutes(interval["start"]), minutes(interval["end"])


# --- validation -------------------------------------------------------------------------


def _times(item: object, where: str, errors: dict) -> dict | None:
    """An interval's start and end, checked; errors keyed like 'intervals[0].start'."""
    if not isinstance(item, dict):
        errors[where] = _("Give the interval as an object with start and end.")
        return None
    clean = {}
    for name in ("start", "end"):
        value = item.get(name)
        if not isinstance(value, str) or not TIME.match(value):
            errors[f"{where}.{name}"] = str(TIME_RULE)
        else:
            clean[name] = value
    if len(clean) == 2 and clean["start"] == clean["end"]:
        errors[f"{where}.end"] = _("Enter an end that differs from the start.")
    if len(clean) == 2 and clean["start"] == "24:00":
        errors[f"{where}.start"] = _("An interval can't start at 24:00; enter 00:00.")
    return clean


def _weekly(item: object, where: str, errors: dict) -> dict | None:
    clean = _times(item, where, errors)
    if clean is None:
        return None
    days = item.get("days")
    if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
        errors[f"{where}.days"] = _("Choose one or more days.")
    else:
        clean = {"days": [d for d in DAYS if d in days], **clean}
    return clean


def _exception(item: object, where: str, errors: dict) -> dict | None:
    """A dated exception: {"date", "name"?, "intervals"?: [{"start", "end"}]}."""
    if not isinstance(item, dict):
        errors[where] = _("Give the holiday as an object with a date.")
        return None
    try:
        day = date.fromisoformat(item.get("date") or "").isoformat()
    except (TypeError, ValueError):
        errors[f"{where}.date"] = _("Enter a date as YYYY-MM-DD, for example 2026-12-25.")
        day = None
    name = item.get("name") or ""
    if not isinstance(name, str) or len(name) > NAME_MAX:
        errors[f"{where}.name"] = _("Use text of up to %(max)d characters.", max=NAME_MAX)
    spans = item.get("intervals") or []
    if not isinstance(spans, list):
        errors[f"{where}.intervals"] = _("Give a list of intervals (empty: closed all day).")
        spans = []
    clean_spans = [_times(s, f"{where}.intervals[{i}]", errors) for i, s in enumerate(spans)]
    return {"date": day, "name": name, "intervals": clean_spans}


def _list(body: dict, name: str, limit: int, errors: dict) -> list:
    value = body.get(name, [])
    if not isinstance(value, list):
        errors[name] = _("Give a list.")
        return []
    if len(value) > limit:
        errors[name] = _("Give at most %(max)d.", max=limit)
    return value


SCHEDULE_FIELDS = ("id", "name", "intervals", "exceptions")


def validate(body: dict) -> tuple[str, list[dict], list[dict]]:
    """Name, intervals and exceptions from a request; raise Invalid naming each bad field."""
    errors = unknown_fields(body, SCHEDULE_FIELDS)
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= NAME_MAX:
        errors["name"] = _("Enter 1 to %(max)d characters.", max=NAME_MAX)
    raw = _list(body, "intervals", MAX_INTERVALS, errors)
    intervals = [_weekly(item, f"intervals[{i}]", errors) for i, item in enumerate(raw)]
    raw = _list(body, "exceptions", MAX_EXCEPTIONS, errors)
    exceptions = [_exception(item, f"exceptions[{i}]", errors) for i, item in enumerate(raw)]
    dates = [e["date"] for e in exceptions if e and e["date"]]
    if len(dates) != len(set(dates)):
        errors["exceptions"] = _("Give each date once.")
    if errors:
        raise Invalid(errors, labels=LABELS)
    return name.strip(), intervals, sorted(exceptions, key=lambda e: e["date"])


# --- store ------------------------------------------------------------------------------


class Schedules:
    """The schedules, kept in memory as well so that a decision never parses JSON."""

    def __init__(self, store: Store):
        self.store = store
        self._cache: dict[int, Schedule] | None = None
        self.users: list[Callable[[int], str | None]] = []

    def all(self) -> dict[int, Schedule]:
        """Every schedule by id (loaded once, reloaded after each change)."""
        if self._cache is None:
            rows = self.store.execute("SELECT * FROM schedules ORDER BY name").fetchall()
            self._cache = {r["id"]: _from_row(r) for r in rows}
        return self._cache

    def forget(self) -> None:
        """Read the schedules again at the next use: another process changed them."""
        self._cache = None

    def get(self, schedule_id: int) -> Schedule:
        """One schedule; raise NotFound."""
        try:
            return self.all()[schedule_id]
        except KeyError:
            raise NotFound(_("There is no schedule with id %(id)d.", id=schedule_id)) from None

    def create(self, body: dict) -> Schedule:
        """Add a schedule; raise Invalid or Conflict (duplicate name)."""
        name, intervals, exceptions = validate(body)
        params = (name, json.dumps(intervals), json.dumps(exceptions))
        return self.get(self._write(_write, INSERT, params, name, "create"))

    def update(self, schedule_id: int, changes: dict) -> Schedule:
        """Replace the given fields of a schedule."""
        current = self.get(schedule_id).to_dict()
        name, intervals, exceptions = validate({**current, **changes})
        params = (name, json.dumps(intervals), json.dumps(exceptions), schedule_id)
        self._write(_write, UPDATE, params, name, "update")
        return self.get(schedule_id)

    def delete(self, schedule_id: int) -> None:
        """Remove a schedule that no access rule and no door uses."""
        schedule = self.get(schedule_id)
        for uses in self.users:
            reason = uses(schedule_id)
            if reason:
                message = _(
                    "The schedule %(name)s is in use: %(reason)s", name=schedule.name, reason=reason
                )
                raise Conflict(message)
        self._write(_delete, schedule_id, schedule.name)

    def _write(self, change, *args):
        """A change in the store; the cache is read again afterwards."""
        try:
            return self.store.write(change, *args)
        finally:
            self._cache = None


INSERT = "INSERT INTO schedules (name, intervals, exceptions) VALUES (?, ?, ?)"
UPDATE = "UPDATE schedules SET name = ?, intervals = ?, exceptions = ? WHERE id = ?"


def _write(tx: Transaction, sql: str, params: tuple, name: str, action: str) -> int:
    """Insert or update a schedule with its audit event; its id."""
    try:
        cursor = tx.execute(sql, params)
    except sqlite3.IntegrityError:
        message = _("A schedule named %(name)s exists already; choose another name.", name=name)
        raise Conflict(message, {"name": message}) from None
    schedule_id = params[3] if action == "update" else cursor.lastrowid
    if not cursor.rowcount:
        raise NotFound(_("There is no schedule with id %(id)d.", id=schedule_id))
    audit(tx, KIND, action, schedule_id)
    return schedule_id


def _delete(tx: Transaction, schedule_id: int, name: str) -> None:
    try:
        cursor = tx.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,))
    except sqlite3.IntegrityError:
        message = _("The schedule %(name)s is used by an access rule; change the rule first.")
        raise Conflict(message % {"name": name}) from None
    if not cursor.rowcount:
        raise NotFound(_("There is no schedule with id %(id)d.", id=schedule_id))
    audit(tx, KIND, "delete", schedule_id)


def _from_row(row: sqlite3.Row) -> Schedule:
    return Schedule.build(
        row["id"], row["name"], json.loads(row["intervals"]), json.loads(row["exceptions"])
    )
