"""Date and time where chrony is not reachable (a PC in development): the page says so
and the time zone still applies; the zone kept by an older version's Access settings
moves here."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from support import csrf_token, rewind
from support_osdp import wait_until

from doorctl.core.store import DB_NAME, Store


def test_without_chrony_the_page_says_so_and_the_time_zone_still_applies(
    logged_in, doorctl, tmp_path
):
    doorctl.date_time.chrony.socket = str(tmp_path / "nothing-here.sock")
    page = logged_in.get("/date-time").get_data(as_text=True)
    assert 'id="chrony-unreachable"' in page
    assert "chrony, the time service, is not reachable on this machine" in page
    assert 'list="time-zones"' in page and '<option value="Europe/Stockholm">' in page
    token = csrf_token(logged_in, "/date-time")
    form = {"csrf_token": token, "synchronization": "dhcp", "time_zone": "Asia/Tokyo"}
    assert logged_in.post("/date-time", data=form).status_code == 303
    assert doorctl.settings.get("date_time")["time_zone"] == "Asia/Tokyo"
    assert doorctl.access.tz.key == "Asia/Tokyo"  # the schedules' and the logs' zone
    status = logged_in.get("/status").get_data(as_text=True)
    assert "Not in sync" in status and "chrony is not reachable: chronyd is not running" in status
    assert 'id="time-sync-zone">Asia/Tokyo<' in status


def test_the_menu_and_the_live_panel_lead_to_date_and_time(logged_in):
    menu = logged_in.get("/status").get_data(as_text=True)
    assert 'href="/date-time"' in menu and "time-sync" in menu
    stream = logged_in.get("/live?panel=time-sync", buffered=False)
    first = next(chunk for chunk in stream.response if b"event: time-sync" in chunk)
    assert b'id="time-sync"' in first
    stream.close()


def test_the_zone_of_access_settings_moves_to_date_and_time(tmp_path):
    store = Store(tmp_path)
    store.close()
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        record = json.dumps({"time_zone": "Europe/Oslo", "pin_timeout": 9})
        db.execute("INSERT INTO settings (section, data) VALUES ('access', ?)", (record,))
        rewind(db.execute, 20)
    Store(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        rows = dict(db.execute("SELECT section, data FROM settings"))
    assert json.loads(rows["date_time"]) == {"time_zone": "Europe/Oslo"}
    assert json.loads(rows["access"]) == {"pin_timeout": 9}


DECIDED = ("tns1:AccessControl/AccessGranted/", "tns1:AccessControl/Denied/")


@pytest.mark.engine_apart
def test_the_door_engine_decides_in_the_zone_date_and_time_sets(doorctl, admin_api):
    """A schedule of this hour in Tokyo: refused in UTC, granted once Tokyo is the zone."""
    access, decided = doorctl.access, []
    doorctl.bus.subscribe(decided.append, *DECIDED)
    holder = access.cardholders.create({"name": "Ann"})
    card = {"format": "H10301", "facility": 12, "number": 345}
    access.credentials.create({"cardholder_id": holder["id"], "card": card})
    tokyo = datetime.now(ZoneInfo("Asia/Tokyo"))
    start, end = max(tokyo.hour - 1, 0), min(tokyo.hour + 2, 24)
    hours = {"start": f"{start:02d}:00", "end": f"{end:02d}:00"}
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[tokyo.weekday()]
    now = access.schedules.create({"name": "Now in Tokyo", "intervals": [{"days": [day], **hours}]})
    access.rules.create({"cardholder_ids": [holder["id"]], "schedule_id": now.id})
    admin_api.put("/api/v1/date-time", json={"time_zone": "UTC"})
    swipe = {"format": "H10301", "facility": 12, "card": 345}
    for zone, topic in (("UTC", "Denied"), ("Asia/Tokyo", "AccessGranted")):
        assert admin_api.put("/api/v1/date-time", json={"time_zone": zone}).status_code == 200
        decided.clear()
        admin_api.post("/api/v1/sim/wiegand", swipe)
        wait_until(lambda: decided, what=f"a decision in {zone}")
        assert f"/{topic}/" in decided[0].topic, (zone, decided[0].topic)
