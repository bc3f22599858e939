"""Schedules: weekly intervals, across midnight, DST changes and holidays."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from doorctl.core.access_control.schedules import Schedule, validate
from doorctl.core.errors import Conflict, Invalid

TZ = ZoneInfo("Europe/Stockholm")
UTC = ZoneInfo("UTC")


def build(intervals, exceptions=()) -> Schedule:
    name, intervals, exceptions = validate(
        {"name": "s", "intervals": intervals, "exceptions": list(exceptions)}
    )
    return Schedule.build(1, name, intervals, exceptions)


def at(text: str) -> float:
    """A Stockholm wall-clock time (fold=0: the first of a repeated hour) as epoch."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp()


OFFICE = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "17:00"}]


@pytest.mark.parametrize(
    ("moment", "active"),
    [
        ("2026-06-10T07:59:59", False),
        ("2026-06-10T08:00:00", True),
        ("2026-06-10T16:59:59", True),
        ("2026-06-10T17:00:00", False),
        ("2026-06-13T12:00:00", False),  # Saturday
    ],
)
def test_weekly_office_hours(moment, active):
    assert build(OFFICE).active(at(moment), TZ) is active


@pytest.mark.parametrize(
    ("moment", "active"),
    [
        ("2026-06-12T21:59:00", False),  # Friday evening
        ("2026-06-12T22:00:00", True),
        ("2026-06-13T05:59:00", True),  # Saturday morning: Friday's night shift
        ("2026-06-13T06:00:00", False),
        ("2026-06-13T23:00:00", False),  # Saturday night: no shift starts
        ("2026-06-15T03:00:00", False),  # Monday 03:00: Sunday has no shift
    ],
)
def test_night_shift_runs_across_midnight(moment, active):
    night = [{"days": ["fri"], "start": "22:00", "end": "06:00"}]
    assert build(night).active(at(moment), TZ) is active


def test_until_midnight_with_24_00():
    late = build([{"days": ["sun"], "start": "20:00", "end": "24:00"}])
    assert late.active(at("2026-06-14T23:59:59"), TZ)
    assert not late.active(at("2026-06-15T00:00:00"), TZ)


def test_spring_forward_skips_the_missing_hour():
    """2026-03-29 in Stockholm: 02:00 CET jumps to 03:00 CEST."""
    early = build([{"days": ["sun"], "start": "00:00", "end": "02:30"}])
    last_cet = datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC).timestamp()  # 01:59:59 CET
    assert early.active(last_cet, TZ)
    assert not early.active(last_cet + 1, TZ)  # 03:00:00 CEST
    office = build([{"days": ["sun"], "start": "08:00", "end": "17:00"}])
    opens = datetime(2026, 3, 29, 6, 0, tzinfo=UTC).timestamp()  # 08:00 CEST
    assert not office.active(opens - 1, TZ) and office.active(opens, TZ)


def test_fall_back_counts_the_repeated_hour_twice():
    """2026-10-25 in Stockholm: 03:00 CEST goes back to 02:00 CET; 02:00-02:30 happens twice."""
    half_hour = build([{"days": ["sun"], "start": "02:00", "end": "02:30"}])
    first = datetime(2026, 10, 25, 0, 15, tzinfo=UTC).timestamp()  # 02:15 CEST
    second = first + 3600  # 02:15 CET
    assert half_hour.active(first, TZ) and half_hour.active(second, TZ)
    assert not half_hour.active(first + 1800, TZ)  # 02:45 CEST
    office = build([{"days": ["sun"], "start": "08:00", "end": "17:00"}])
    assert office.active(datetime(2026, 10, 25, 7, 0, tzinfo=UTC).timestamp(), TZ)  # 08:00 CET


def test_holiday_closes_the_day_and_a_dated_exception_gives_other_hours():
    schedule = build(
        OFFICE,
        [
            {"date": "2026-12-25", "name": "Christmas Day"},
            {"date": "2026-12-24", "intervals": [{"start": "08:00", "end": "12:00"}]},
        ],
    )
    assert not schedule.active(at("2026-12-25T10:00:00"), TZ)
    assert schedule.active(at("2026-12-24T11:00:00"), TZ)
    assert not schedule.active(at("2026-12-24T13:00:00"), TZ)
    assert schedule.active(at("2026-12-23T13:00:00"), TZ)


def test_night_before_a_holiday_still_ends_in_the_morning():
    """An interval belongs to the day it starts: Thursday's shift runs into the holiday."""
    night = build([{"days": ["thu"], "start": "22:00", "end": "06:00"}], [{"date": "2026-12-25"}])
    assert night.active(at("2026-12-25T05:00:00"), TZ)
    assert not night.active(at("2026-12-25T22:30:00"), TZ)


def test_week_of_evaluations_matches_a_naive_reference():
    """Every 7 minutes for a week: the schedule agrees with a direct wall-clock check."""
    schedule = build(OFFICE + [{"days": ["sat"], "start": "23:00", "end": "01:00"}])
    start = datetime(2026, 6, 8, tzinfo=TZ)
    for step in range(0, 7 * 24 * 60, 7):
        local = start + timedelta(minutes=step)
        weekday, minute = local.weekday(), local.hour * 60 + local.minute
        office = weekday < 5 and 480 <= minute < 1020
        night = (weekday == 5 and minute >= 1380) or (weekday == 6 and minute < 60)
        assert schedule.active_at(local) is (office or night), local


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"intervals": [{"days": ["mon"], "start": "8:00", "end": "17:00"}]}, "intervals[0].start"),
        ({"intervals": [{"days": ["mon"], "start": "08:00", "end": "25:00"}]}, "intervals[0].end"),
        (
            {"intervals": [{"days": ["funday"], "start": "08:00", "end": "09:00"}]},
            "intervals[0].days",
        ),
        ({"intervals": [{"days": ["mon"], "start": "08:00", "end": "08:00"}]}, "intervals[0].end"),
        ({"exceptions": [{"date": "2026-02-30"}]}, "exceptions[0].date"),
        ({"name": ""}, "name"),
        ({"intervals": "always"}, "intervals"),
    ],
)
def test_bad_schedules_name_the_field(body, field):
    with pytest.raises(Invalid) as error:
        validate({"name": "s", **body})
    assert field in error.value.fields


def test_schedules_api_crud_and_duplicate(admin_api):
    body = {"name": "Office", "intervals": OFFICE, "exceptions": [{"date": "2026-12-25"}]}
    created = admin_api.post("/api/v1/schedules", json=body)
    assert created.status_code == 201
    schedule = created.json
    assert schedule["intervals"] == OFFICE
    assert schedule["exceptions"] == [{"date": "2026-12-25", "name": "", "intervals": []}]
    duplicate = admin_api.post("/api/v1/schedules", json=body)
    assert duplicate.status_code == 409 and "exists already" in duplicate.json["error"]
    bad = admin_api.post("/api/v1/schedules", json={"name": "x", "intervals": [{"days": []}]})
    assert bad.status_code == 400 and "intervals[0].days" in bad.json["fields"]
    url = f"/api/v1/schedules/{schedule['id']}"
    assert admin_api.patch(url, json={"name": "Day"}).json["name"] == "Day"
    assert admin_api.get("/api/v1/schedules").json[0]["name"] == "Day"
    assert admin_api.delete(url).status_code == 204
    assert admin_api.get(url).status_code == 404


def test_a_schedule_in_use_cannot_be_deleted(doorctl):
    access = doorctl.access
    schedule = access.schedules.create({"name": "Office", "intervals": OFFICE})
    holder = access.cardholders.create({"name": "Ann"})
    access.rules.create({"cardholder_ids": [holder["id"]], "schedule_id": schedule.id})
    with pytest.raises(Conflict, match="used by an access rule"):
        access.schedules.delete(schedule.id)


def test_operators_read_schedules_only_administrators_write(operator_api):
    assert operator_api.get("/api/v1/schedules").status_code == 200
    body = {"name": "Office", "intervals": OFFICE}
    assert operator_api.post("/api/v1/schedules", json=body).status_code == 403
