"""The event log's retention: one form for the Event log page, the API and the store."""

from __future__ import annotations

import re

from support import csrf_token

MESSAGE = "Events kept: enter a whole number from 1,000 to 10,000,000."


def save(client, value: str):
    token = csrf_token(client, "/logs/events")
    return client.post("/logs/events/settings", data={"retention": value, "csrf_token": token})


def shown_error(page: str) -> str | None:
    found = re.search(r'id="retention-error"[^>]*>(?:<svg.*?</svg>)?(.*?)</small>', page, re.S)
    return found[1].strip() if found else None


def test_the_page_saves_the_retention_and_the_log_keeps_to_it(doorctl, logged_in):
    answer = save(logged_in, "20,000")
    assert answer.status_code == 303
    assert doorctl.settings.get("event_log") == {"retention": 20000}
    assert doorctl.event_log.retention == 20000
    page = logged_in.get("/logs/events").get_data(as_text=True)
    assert 'name="retention" value="20000"' in page
    assert "Settings of Event log changed: Events kept" in page


def test_a_bad_retention_is_marked_on_its_field_and_nothing_changes(doorctl, logged_in):
    for typed in ("abc", "500", "", "99999999"):
        answer = save(logged_in, typed)
        page = answer.get_data(as_text=True)
        assert answer.status_code == 422
        assert shown_error(page) == MESSAGE
        assert f'name="retention" value="{typed}"' in page
        assert 'id="event-rows"' in page  # the log is still there
    assert doorctl.settings.get("event_log") == {"retention": 100_000}


def test_the_api_takes_the_same_form(doorctl, admin_api, viewer_api):
    assert admin_api.get("/api/v1/event-log/settings").json == {"retention": 100_000}
    refused = admin_api.put("/api/v1/event-log/settings", {"retention": 500})
    assert refused.status_code == 400
    assert refused.json["fields"] == {"retention": MESSAGE}
    wrong_type = admin_api.patch("/api/v1/event-log/settings", {"retention": "many"})
    assert wrong_type.status_code == 400 and "retention" in wrong_type.json["fields"]
    assert viewer_api.put("/api/v1/event-log/settings", {"retention": 5000}).status_code == 403
    assert admin_api.put("/api/v1/event-log/settings", {"retention": 1000}).json == {
        "retention": 1000
    }
    for n in range(1200):
        doorctl.bus.publish("tns1:Test/Tick", data={"n": n})
    doorctl.event_log.flush()
    assert doorctl.store.execute("SELECT count(*) FROM events").fetchone()[0] == 1000


def test_a_viewer_reads_the_retention_without_a_form(doorctl, client, viewer_api):
    form = {"username": "viewer1", "password": "viewer password", "csrf_token": csrf_token(client)}
    assert client.post("/login", data=form).status_code == 303
    page = client.get("/logs/events").get_data(as_text=True)
    assert "The log keeps the newest 100,000 events." in page
    assert 'id="retention-form"' not in page
    token = csrf_token(client, "/logs/events")
    refused = client.post("/logs/events/settings", data={"retention": "5000", "csrf_token": token})
    assert refused.status_code == 403
    assert doorctl.settings.get("event_log") == {"retention": 100_000}
