"""Scheduled unlock: a door named in its settings' schedule is unlocked while it is active."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import gevent
import pytest
from support import csrf_token

from doorctl.core.access_control.schedules import DAYS
from doorctl.core.appliance import Appliance

TZ = ZoneInfo("Europe/Stockholm")
MONDAY_9 = datetime(2026, 6, 8, 9, 0, tzinfo=TZ).timestamp()
MONDAY_18 = datetime(2026, 6, 8, 18, 0, tzinfo=TZ).timestamp()
OFFICE = {"name": "Office", "intervals": [{"days": ["mon"], "start": "08:00", "end": "17:00"}]}
# The scheduled unlock runs on a fixed clock set in the test's process.
pytestmark = pytest.mark.engine_in_process


@pytest.fixture
def office(doorctl):
    """The Office schedule, Stockholm time, and a door that unlocks by it."""
    doorctl.settings.update("date_time", {"time_zone": "Europe/Stockholm"})
    schedule = doorctl.access.schedules.create(OFFICE)
    doorctl.settings.update("door", {"unlock_schedule_id": schedule.id})
    return schedule


def at(doorctl, epoch):
    doorctl.scheduled_unlock.clock = lambda: epoch
    doorctl.scheduled_unlock.update()
    return doorctl.doors[1]


def test_door_is_unlocked_inside_the_schedule_and_locked_outside(doorctl, office, board):
    door = at(doorctl, MONDAY_9)
    assert door.mode() == "unlocked"
    assert board.outputs["relay"].read()
    door = at(doorctl, MONDAY_18)
    assert door.mode() == "locked"
    assert not board.outputs["relay"].read()


def test_first_person_in_waits_for_a_valid_card(doorctl, office):
    doorctl.settings.update("door", {"first_person_in": True, "access_time": 0.2})
    door = at(doorctl, MONDAY_9)
    assert door.mode() == "locked"
    door.grant(source={"reader": "wiegand"})
    gevent.sleep(0.3)  # past the access time: the schedule now holds the door open
    assert at(doorctl, MONDAY_9).mode() == "unlocked"


def test_taking_the_schedule_away_locks_the_door(doorctl, office):
    assert at(doorctl, MONDAY_9).mode() == "unlocked"
    doorctl.settings.update("door", {"unlock_schedule_id": None})
    assert at(doorctl, MONDAY_9).mode() == "locked"


def test_unknown_schedule_is_refused_per_field(admin_api, doorctl):
    response = admin_api.put("/api/v1/doors/1/settings", json={"unlock_schedule_id": 99})
    assert response.status_code == 400
    assert response.json["fields"] == {"unlock_schedule_id": "There is no schedule with id 99."}
    bad_type = admin_api.put("/api/v1/doors/1/settings", json={"unlock_schedule_id": "office"})
    assert "whole number" in bad_type.json["fields"]["unlock_schedule_id"]
    assert doorctl.settings.get("door")["unlock_schedule_id"] is None


def test_a_schedule_a_door_unlocks_by_cannot_be_deleted(admin_api, office):
    response = admin_api.delete(f"/api/v1/schedules/{office.id}")
    assert response.status_code == 409
    assert "Door 1 unlocks by this schedule" in response.json["error"]


def test_settings_page_offers_the_schedules_and_reports_a_bad_one(logged_in, doorctl, office):
    page = logged_in.get("/doors/1/settings").get_data(as_text=True)
    assert f'<option value="{office.id}" selected>Office</option>' in page
    token = csrf_token(logged_in, "/doors/1/settings")
    form = {**doorctl.settings.get("door"), "unlock_schedule_id": "77", "csrf_token": token}
    form = {k: v for k, v in form.items() if v not in (False, None)}
    response = logged_in.post("/doors/1/settings", data=form)
    assert response.status_code == 422
    assert 'data-field="unlock_schedule_id">There is no schedule with id 77.' in response.get_data(
        as_text=True
    )


def _off_during_a_scheduled_unlock(data_dir, keep_schedule: bool) -> None:
    """An appliance whose door is under a scheduled unlock (on another day than today)
    when it goes off; without `keep_schedule` the door's schedule was taken away just
    before, too late for the once-a-second check."""
    that_day = (datetime.now(TZ) + timedelta(days=3)).replace(hour=12, minute=0)
    first = Appliance(data_dir)
    first.scheduled_unlock.clock = that_day.timestamp
    first.settings.update("date_time", {"time_zone": "Europe/Stockholm"})
    interval = {"days": [DAYS[that_day.weekday()]], "start": "00:00", "end": "24:00"}
    schedule = first.access.schedules.create({"name": "Another day", "intervals": [interval]})
    first.settings.update("door", {"unlock_schedule_id": schedule.id})
    first.start()
    first.scheduled_unlock.update()
    assert first.doors[1].mode() == "unlocked"
    first.scheduled_unlock.stop()
    if not keep_schedule:
        first.settings.update("door", {"unlock_schedule_id": None})
    first.stop()
    first.store.close()


@pytest.mark.parametrize("keep_schedule", [True, False], ids=["ended", "taken away"])
def test_a_scheduled_unlock_that_ended_while_off_ends_at_start(tmp_path, keep_schedule):
    _off_during_a_scheduled_unlock(tmp_path / "data", keep_schedule)
    second = Appliance(tmp_path / "data")
    second.start()  # nothing has yielded to the hub yet: no reader could have been heard
    try:
        door = second.doors[1]
        relay = second.board.outputs["relay"].read()
        assert (door.mode(), door.scheduled, relay) == ("locked", False, False)
    finally:
        second.stop()
        second.store.close()
