"""The Access control editing pages: rules and schedules edited in place, groups, the
access settings, and errors that name each field by its label, all at once."""

from __future__ import annotations

import re

import pytest
from support import csrf_token

HTMX = {"HX-Request": "true"}
VALIDITY = "Enter a date (2026-12-31) or a date and time (2026-12-31T17:00), or leave empty."
# A field's message as ui.field shows it: after its icon, in the field's own block.
FIELD = re.compile(
    r'data-field="([^"]+)">(?:(?!data-field=).)*?role="alert">(?:<svg.*?</svg>)?(.*?)</small>',
    re.S,
)
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def field_errors(html: str) -> dict[str, str]:
    """Each field's message on a page, by the field's id."""
    return dict(FIELD.findall(html))


@pytest.fixture
def office(doorctl):
    """A cardholder, a group with her in it, a schedule and a rule for the group."""
    access = doorctl.access
    ann = access.cardholders.create({"name": "Ann Berg"})
    staff = access.cardholders.create_group({"name": "Staff", "cardholder_ids": [ann["id"]]})
    week = [{"days": WEEKDAYS, "start": "08:00", "end": "17:00"}]
    hours = access.schedules.create({"name": "Office hours", "intervals": week})
    rule = access.rules.create(
        {"name": "Staff in", "group_ids": [staff["id"]], "schedule_id": hours.id}
    )
    return {"ann": ann, "staff": staff, "hours": hours, "rule": rule}


def test_rules_read_in_words_and_are_edited_in_place(logged_in, doorctl, office):
    rule_id = office["rule"]["id"]
    page = logged_in.get("/access/rules").get_data(as_text=True)
    row = page[page.index(f'id="rule-{rule_id}"') :]
    row = row[: row.index("</tr>")]
    for words in ("Staff in", "Staff", "Office hours", "Entry and exit readers", "Card"):
        assert words in row
    editor = logged_in.get(f"/access/rules/{rule_id}/edit").get_data(as_text=True)
    assert 'value="Staff in"' in editor and "Card and PIN" in editor
    token = csrf_token(logged_in, "/access/rules")
    form = {"csrf_token": token, "name": "Staff in", "door_id": "1", "direction": "entry"}
    refused = logged_in.post(
        f"/access/rules/{rule_id}", data={**form, "authentication": "face"}, headers=HTMX
    )
    assert refused.status_code == 422
    assert field_errors(refused.get_data(as_text=True)) == {
        f"rule-{rule_id}-authentication": "Choose one of: card, pin, card+pin.",
        f"rule-{rule_id}-cardholder_ids": "Choose at least one cardholder or group.",
    }
    assert doorctl.access.rules.get(rule_id) == office["rule"]
    form |= {"group_ids": str(office["staff"]["id"]), "authentication": "card+pin"}
    saved = logged_in.post(f"/access/rules/{rule_id}", data=form, headers=HTMX)
    assert saved.status_code == 200
    assert "Card and PIN" in saved.get_data(as_text=True)
    assert "Entry reader" in saved.get_data(as_text=True)
    assert "Access rule saved." in saved.headers["HX-Trigger"]
    stored = doorctl.access.rules.get(rule_id)
    assert (stored["authentication"], stored["direction"]) == ("card+pin", "entry")


def test_a_schedules_interval_is_edited_in_place_with_its_error_by_label(
    logged_in, doorctl, admin_api, office
):
    schedule_id = office["hours"].id
    card = logged_in.get(f"/access/schedules/{schedule_id}/row").get_data(as_text=True)
    assert "Mon–Fri" in card and "08:00–17:00" in card
    editor = logged_in.get(f"/access/schedules/{schedule_id}/edit").get_data(as_text=True)
    assert 'aria-label="Interval 1: start"' in editor and 'value="08:00"' in editor
    token = csrf_token(logged_in, "/access/schedules")
    form = {"csrf_token": token, "name": "Office hours", "interval-0-days": WEEKDAYS}
    bad = {**form, "interval-0-start": "25:00", "interval-0-end": "17:00"}
    bad |= {"interval-1-days": "sat", "interval-1-start": "10:00", "interval-1-end": "10:00"}
    refused = logged_in.post(f"/access/schedules/{schedule_id}", data=bad, headers=HTMX)
    assert refused.status_code == 422
    prefix = f"schedule-{schedule_id}-interval-"
    assert field_errors(refused.get_data(as_text=True)) == {
        prefix + "0-start": "Enter a time as HH:MM, from 00:00 to 24:00.",
        prefix + "1-end": "Enter an end that differs from the start.",
    }
    assert 'value="25:00"' in refused.get_data(as_text=True)
    good = {**form, "interval-0-start": "7:30", "interval-0-end": "17:00"}
    saved = logged_in.post(f"/access/schedules/{schedule_id}", data=good, headers=HTMX)
    assert saved.status_code == 200 and "07:30–17:00" in saved.get_data(as_text=True)
    stored = admin_api.get(f"/api/v1/schedules/{schedule_id}").json["intervals"]
    assert stored == [{"days": WEEKDAYS, "start": "07:30", "end": "17:00"}]


def test_the_api_error_names_fields_by_their_labels(admin_api):
    body = {"name": "", "intervals": [{"days": ["mon"], "start": "8", "end": "17:00"}]}
    response = admin_api.post("/api/v1/schedules", json=body)
    assert response.status_code == 400
    assert response.json["fields"] == {
        "name": "Enter 1 to 64 characters.",
        "intervals[0].start": "Enter a time as HH:MM, from 00:00 to 24:00.",
    }
    assert response.json["error"] == (
        "Name: Enter 1 to 64 characters. "
        "Interval 1: start: Enter a time as HH:MM, from 00:00 to 24:00."
    )
    holidays = {"name": "H", "exceptions": [{"date": "2026-02-30"}]}
    answer = admin_api.post("/api/v1/schedules", json=holidays).json
    assert answer["error"].startswith("Holiday 1: date: Enter a date as YYYY-MM-DD")


def test_a_query_number_says_a_range_a_person_types(admin_api):
    response = admin_api.get("/api/v1/credentials", query_string={"cardholder_id": "0"})
    assert response.json["fields"] == {"cardholder_id": "Enter a whole number of 1 or more."}
    paged = admin_api.get("/api/v1/cardholders", query_string={"limit": "5000"})
    assert paged.json["fields"] == {"limit": "Enter a whole number from 1 to 1000."}


def test_a_cardholder_and_its_card_are_checked_together(logged_in, doorctl):
    token = csrf_token(logged_in, "/access/cardholders")
    form = {
        "csrf_token": token,
        "name": "Bo",
        "valid_from": "2026-02-01",
        "valid_until": "2026-01-01",
        "card_format": "H10301",
        "card_facility": "12",
        "card_number": "lots",
        "pin": "12",
    }
    refused = logged_in.post("/access/cardholders", data=form)
    assert refused.status_code == 422
    assert field_errors(refused.get_data(as_text=True)) == {
        "valid_until": "Must be after Valid from.",
        "card_number": "Enter a whole number, 0 or more.",
        "pin": "Enter 4 to 12 digits.",
    }
    assert 'value="lots"' in refused.get_data(as_text=True)
    assert doorctl.store.execute("SELECT count(*) FROM cardholders").fetchone()[0] == 0


def test_the_cardholders_page_speaks_in_words(logged_in, doorctl):
    doorctl.access.cardholders.create({"name": "Ann", "enabled": False})
    page = logged_in.get("/access/cardholders").get_data(as_text=True)
    assert "1 cardholder<" in page and "Disabled" in page and "Always" in page
    doorctl.access.cardholders.create({"name": "Bo", "valid_until": "2026-12-31"})
    page = logged_in.get("/access/cardholders").get_data(as_text=True)
    assert "2 cardholders" in page and "Until 2026-12-31" in page


def test_groups_through_the_api(operator_api, office):
    staff, ann = office["staff"], office["ann"]
    url = f"/api/v1/cardholder-groups/{staff['id']}"
    assert operator_api.get(url).json == {
        "id": staff["id"],
        "name": "Staff",
        "members": 1,
        "rules": 1,
        "cardholder_ids": [ann["id"]],
    }
    bo = operator_api.post("/api/v1/cardholders", json={"name": "Bo"}).json
    renamed = operator_api.patch(url, json={"name": "Day staff", "cardholder_ids": [bo["id"]]})
    assert (renamed.json["name"], renamed.json["cardholder_ids"]) == ("Day staff", [bo["id"]])
    assert operator_api.get(f"/api/v1/cardholders/{ann['id']}").json["group_ids"] == []
    unknown = operator_api.patch(url, json={"cardholder_ids": [999]})
    assert unknown.status_code == 400
    assert unknown.json["error"] == "Members: There is no cardholder with id 999."
    night = operator_api.post("/api/v1/cardholder-groups", json={"name": "Night"})
    assert night.status_code == 201
    same = operator_api.patch(url, json={"name": "night"})
    assert same.status_code == 409 and "name" in same.json["fields"]
    assert operator_api.delete(url).status_code == 204
    rule = operator_api.get(f"/api/v1/access-rules/{office['rule']['id']}").json
    assert rule["group_ids"] == []
    assert operator_api.get(f"/api/v1/cardholders/{bo['id']}").status_code == 200


def test_the_groups_pages(logged_in, doorctl, office):
    staff = office["staff"]
    listing = logged_in.get("/access/groups").get_data(as_text=True)
    assert "1 member" in listing and "Named by 1 rule" in listing
    assert (
        "Delete the group Staff? Its 1 member stays a cardholder. The access rule Staff in "
        "names it and no longer lets its members in."
    ) in listing
    token = csrf_token(logged_in, "/access/groups")
    added = logged_in.post("/access/groups", data={"csrf_token": token, "name": " "})
    assert field_errors(added.get_data(as_text=True)) == {"name": "Enter 1 to 64 characters."}
    bo = doorctl.access.cardholders.create({"name": "Bo"})
    members = f"/access/groups/{staff['id']}/members"
    form = {"csrf_token": token, "cardholder_ids": str(bo["id"])}
    assert logged_in.post(members, data=form).status_code == 303
    group = logged_in.get(f"/access/groups/{staff['id']}").get_data(as_text=True)
    assert "2 members" in group and "Bo" in group
    removed = logged_in.post(f"{members}/{bo['id']}/delete", data={"csrf_token": token})
    assert removed.status_code == 303
    assert doorctl.access.cardholders.group(staff["id"])["cardholder_ids"] == [office["ann"]["id"]]
    rename = {"csrf_token": token, "name": "Day staff"}
    renamed = logged_in.post(f"/access/groups/{staff['id']}", data=rename)
    assert renamed.location == f"/access/groups/{staff['id']}"
    assert doorctl.access.cardholders.group(staff["id"])["name"] == "Day staff"
    deleted = logged_in.post(f"/access/groups/{staff['id']}/delete", data={"csrf_token": token})
    assert deleted.status_code == 303 and doorctl.access.cardholders.groups() == []


def test_access_settings_page_and_api(logged_in, admin_api, doorctl):
    token = csrf_token(logged_in, "/access/settings")
    form = {"csrf_token": token, "pin_timeout": "ten"}
    refused = logged_in.post("/access/settings", data=form)
    assert refused.status_code == 422
    assert field_errors(refused.get_data(as_text=True)) == {
        "pin_timeout": "Enter a number of seconds, for example 7 or 7.5.",
    }
    form = {"csrf_token": token, "pin_timeout": "7,5"}
    assert logged_in.post("/access/settings", data=form).status_code == 303
    doorctl.settings.update("date_time", {"time_zone": "Europe/Stockholm"})
    assert admin_api.get("/api/v1/access-settings").json == {
        "time_zone": "Europe/Stockholm",
        "pin_timeout": 7.5,
    }
    # the zone moved to Date and time: shown here, read only, and changed there
    page = logged_in.get("/access/settings").get_data(as_text=True)
    assert 'value="Europe/Stockholm" readonly' in page and 'href="/date-time"' in page
    same = {"time_zone": "Europe/Stockholm", "pin_timeout": 7.5}
    assert admin_api.put("/api/v1/access-settings", json=same).status_code == 200
    moved = admin_api.put("/api/v1/access-settings", json={"time_zone": "Asia/Tokyo"})
    assert moved.status_code == 400
    assert moved.json["fields"] == {
        "time_zone": "The time zone is set under System > Date and time (PUT /api/v1/date-time)."
    }
    assert doorctl.access.tz.key == "Europe/Stockholm"
    assert 'value="7.5"' in logged_in.get("/access/settings").get_data(as_text=True)
    too_long = admin_api.patch("/api/v1/access-settings", json={"pin_timeout": 500})
    assert too_long.json == {
        "error": "PIN entry timeout: Enter 1 to 120 seconds.",
        "fields": {"pin_timeout": "Enter 1 to 120 seconds."},
    }
    document = admin_api.get("/api/v1/openapi.json").json
    schema = document["paths"]["/api/v1/access-settings"]["patch"]["requestBody"]
    properties = schema["content"]["application/json"]["schema"]["properties"]
    assert properties["pin_timeout"]["maximum"] == 120


def test_the_menu_leads_to_groups_and_access_settings(logged_in):
    menu = logged_in.get("/status").get_data(as_text=True)
    assert 'href="/access/groups"' in menu and 'href="/access/settings"' in menu


def test_the_cardholder_forms_send_the_switches_by_their_names(logged_in, doorctl):
    doorctl.access.cardholders.create({"name": "Ann", "long_access": True})
    switches = re.compile(r'role="switch" id="([^"]+)" name="([^"]+)"( checked)?')
    page = logged_in.get("/access/cardholders").get_data(as_text=True)
    assert switches.findall(page) == [
        ("enabled", "enabled", " checked"),
        ("long_access", "long_access", ""),
    ]
    editor = logged_in.get("/access/cardholders/1/edit").get_data(as_text=True)
    assert switches.findall(editor) == [
        ("holder-1-enabled", "enabled", " checked"),
        ("holder-1-long_access", "long_access", " checked"),
    ]


def test_a_cardholder_is_edited_in_place_and_keeps_what_was_typed(logged_in, doorctl):
    ann = doorctl.access.cardholders.create({"name": "Ann"})
    staff = doorctl.access.cardholders.create_group({"name": "Staff"})
    night = doorctl.access.cardholders.create_group({"name": "Night"})
    token = csrf_token(logged_in, "/access/cardholders")
    form = {
        "csrf_token": token,
        "name": "Ann Berg",
        "enabled": "on",
        "group_ids": [str(night["id"])],
    }
    url = f"/access/cardholders/{ann['id']}"
    refused = logged_in.post(url, data={**form, "valid_from": "soon"}, headers=HTMX)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert field_errors(html) == {f"holder-{ann['id']}-valid_from": str(VALIDITY)}
    assert f'value="{night["id"]}" checked' in html and f'value="{staff["id"]}" checked' not in html
    saved = logged_in.post(url, data=form, headers=HTMX)
    assert saved.status_code == 200 and "Ann Berg" in saved.get_data(as_text=True)
    stored = doorctl.access.cardholders.get(ann["id"])
    assert (stored["name"], stored["enabled"], stored["group_ids"]) == (
        "Ann Berg",
        True,
        [night["id"]],
    )
