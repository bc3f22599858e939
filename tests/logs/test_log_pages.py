"""The Logs pages as a person uses them: sentences, filters marked per field, the
cardholder filter by name, counts and times; and the same filters over the API."""

from __future__ import annotations

import html
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime

from doorctl.core.access_control.credentials import card_key

CARD = {"format": "H10301", "facility": 12}


def people(doorctl, *names):
    """Cardholders with cards 1, 2, ... and a rule letting them all through."""
    access = doorctl.access
    ids = []
    for number, name in enumerate(names, start=1):
        holder = access.cardholders.create({"name": name})
        access.credentials.create(
            {"cardholder_id": holder["id"], "card": {**CARD, "number": number}}
        )
        ids.append(holder["id"])
    access.rules.create({"cardholder_ids": ids})
    return ids


def swipe(doorctl, *numbers):
    for number in numbers:
        doorctl.access.present_card("wiegand", card_key("H10301", 12, number))
    doorctl.event_log.flush()


def field_error(page: str, name: str) -> str | None:
    """The error shown under the filter field `name`, None when it has none."""
    block = re.search(rf'data-field="{name}">(.*?)</div>', page, re.S)
    assert block, f"no field {name}"
    error = re.search(
        r'class="error field-error"[^>]*>(?:<svg.*?</svg>)?(.*?)</small>', block[1], re.S
    )
    return error[1].strip() if error else None


def rows(page: str) -> list[str]:
    return re.findall(r'<tr data-event="\d+"', page)


def test_a_real_history_reads_as_sentences(doorctl, logged_in, admin_api):
    people(doorctl, "Ann Berg")
    doorctl.settings.update("door", {"name": "Front door"})
    swipe(doorctl, 1, 9)
    admin_api.post("/api/v1/doors/1/lockdown")
    admin_api.patch(
        "/api/v1/alarms", {"casing_open": not doorctl.settings.get("alarms")["casing_open"]}
    )
    doorctl.event_log.flush()
    page = logged_in.get("/logs/events").get_data(as_text=True)
    sentences = re.findall(r'<summary class="sentence">([^<]*)</summary>', page)
    assert "Access granted to Ann Berg at Front door (entry)" in sentences
    assert "Unknown card H10301 12:9 refused at Front door (entry)" in sentences
    assert "Front door locked down by root" in sentences
    assert "Settings of Alarms changed: Casing open" in sentences
    assert not [s for s in sentences if s.startswith("Event tns1:")]
    visible = re.sub(r"<details>.*?</summary>.*?</details>", "", page, flags=re.S)
    for raw in ("relay=", "alarms=[]", "cause=", "{'reason'", "None"):
        assert raw not in visible
    assert '"relay": false' in html.unescape(page)  # the raw event, behind the details


def test_bad_filters_are_marked_on_their_fields_and_the_log_still_shows(doorctl, logged_in):
    people(doorctl, "Ann Berg")
    swipe(doorctl, 1)
    answer = logged_in.get("/logs/events?since=garbage&kind=nope&until=2026-02-30")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert field_error(page, "since") == (
        "From: “garbage” is not a date and time. Use 2026-11-25 08:00, a date "
        "(2026-11-25) or seconds since 1970."
    )
    assert "“2026-02-30” is not a date and time" in field_error(page, "until")
    assert field_error(page, "kind").startswith("Kind: choose one from the list")
    assert 'id="since" name="since" aria-invalid="true"' in page
    assert len(rows(page)) > 3  # the log, without the bad filters


def test_a_time_range_that_can_hold_nothing_is_marked(logged_in):
    page = logged_in.get("/logs/events?since=2026-11-25T09:00&until=2026-11-24").get_data(
        as_text=True
    )
    assert field_error(page, "until") == "Until: must be later than From."
    assert field_error(page, "since") is None


def test_the_access_log_marks_its_bad_filters(doorctl, logged_in):
    people(doorctl, "Ann Berg")
    swipe(doorctl, 1)
    answer = logged_in.get("/logs/access?cardholder=Zed&result=maybe&door_id=x")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert field_error(page, "cardholder") == (
        "Cardholder: nobody is named “Zed”. Pick a name from the suggestions."
    )
    assert field_error(page, "result") == "Result: choose Granted or Refused."
    assert "whole number" in field_error(page, "door_id")
    assert field_error(page, "since") is None
    assert len(rows(page)) == 1
    assert "sse-connect" not in page  # no live rows for filters that could not be read


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/api/v1/events?since=garbage&kind=nope", {"since", "kind"}),
        ("/api/v1/events?until=1e400", {"until"}),
        ("/api/v1/events?since=2026-11-26&until=2026-11-25", {"until"}),
        ("/api/v1/access-log?cardholder=Zed&result=maybe", {"cardholder", "result"}),
        ("/api/v1/access-log?since=yesterday", {"since"}),
    ],
)
def test_the_api_refuses_the_same_bad_filters_per_field(viewer_api, path, fields):
    answer = viewer_api.get(path)
    assert answer.status_code == 400
    assert set(answer.json["fields"]) == fields
    assert answer.json["error"]


def test_kind_filter_takes_its_topics(doorctl, viewer_api, logged_in):
    people(doorctl, "Ann Berg")
    swipe(doorctl, 1)
    doors = viewer_api.get("/api/v1/events?kind=doors").json["events"]
    assert doors and {e["topic"].split("/")[0] for e in doors} == {"tns1:Door"}
    page = logged_in.get("/logs/events?kind=access").get_data(as_text=True)
    assert len(rows(page)) == 1
    assert '<option value="access" selected>' in page


def test_the_access_log_filters_by_a_cardholder_name_with_suggestions(
    doorctl, logged_in, viewer_api
):
    ann, anna, bo = people(doorctl, "Ann Berg", "Anna Lind", "Bo Holm")
    swipe(doorctl, 1, 2, 3, 1)
    options = logged_in.get("/logs/access/names?cardholder=an").get_data(as_text=True)
    assert re.findall(r'<option value="([^"]*)">', options) == ["Ann Berg", "Anna Lind"]
    assert "option" not in logged_in.get("/logs/access/names?cardholder=").get_data(as_text=True)
    page = logged_in.get("/logs/access?cardholder=ann+berg").get_data(as_text=True)
    assert len(rows(page)) == 2
    assert "Anna Lind" not in page.split('id="access-rows"')[1]
    by_name = viewer_api.get("/api/v1/access-log?cardholder=Ann Berg").json["events"]
    assert {e["data"]["cardholder_id"] for e in by_name} == {ann}
    by_id = viewer_api.get(f"/api/v1/access-log?cardholder_id={bo}").json["events"]
    assert [e["data"]["cardholder"] for e in by_id] == ["Bo Holm"]


def test_two_cardholders_of_one_name_are_both_found(doorctl, viewer_api):
    people(doorctl, "Ann Berg", "Ann Berg")
    swipe(doorctl, 1, 2)
    found = viewer_api.get("/api/v1/access-log?cardholder=Ann Berg").json["events"]
    assert len({e["data"]["cardholder_id"] for e in found}) == 2


def test_access_log_rows_name_the_cardholder_the_door_and_the_decision(doorctl, logged_in):
    people(doorctl, "Ann Berg")
    doorctl.settings.update("door", {"name": "Front door"})
    doorctl.access.schedules.create({"name": "Never", "intervals": []})
    swipe(doorctl, 1, 9)
    page = logged_in.get("/logs/access").get_data(as_text=True)
    assert '<span class="chip chip-ok" data-state="ok">' in page
    chips = re.findall(r'data-state="(?:ok|error)">.*?<span>([^<]*)</span>', page)
    assert chips == ["Refused: unknown credential", "Granted"]
    assert '<a href="/logs/access?cardholder=Ann%20Berg">Ann Berg</a>' in page
    assert page.count('<td data-label="Door">Front door (entry)</td>') == 2
    assert "H10301 12:9" in page


def test_counts_are_words_with_their_plural(doorctl, logged_in):
    people(doorctl, "Ann Berg")
    swipe(doorctl, 1)
    one = logged_in.get("/logs/events?kind=access").get_data(as_text=True)
    assert re.search(r'id="log-count">\s*1 event\b', one)
    swipe(doorctl, 1, 1)
    three = logged_in.get("/logs/events?kind=access").get_data(as_text=True)
    assert re.search(r'id="log-count">\s*3 events\b', three)
    paged = logged_in.get("/logs/events?kind=access&limit=2").get_data(as_text=True)
    assert "The newest 2 events shown; older ones are on the next page." in paged


def test_times_are_in_the_devices_zone_and_filters_read_it(doorctl, logged_in, viewer_api):
    doorctl.settings.update("date_time", {"time_zone": "Asia/Tokyo"})
    event = doorctl.bus.publish("tns1:Device/User/Login", {"user": "ann"}, {"address": "192.0.2.4"})
    doorctl.event_log.flush()
    tokyo = datetime.fromtimestamp(event.time, ZoneInfo("Asia/Tokyo"))
    shown = format_datetime(tokyo, "medium", locale="en")
    page = logged_in.get("/logs/events?kind=users").get_data(as_text=True)
    assert shown in page
    minute = tokyo.strftime("%Y-%m-%dT%H:%M")
    later = viewer_api.get(f"/api/v1/events?kind=users&since={minute}").json["events"]
    assert event.id in [e["id"] for e in later]
    before = viewer_api.get(f"/api/v1/events?kind=users&until={minute}").json["events"]
    assert event.id not in [e["id"] for e in before]
