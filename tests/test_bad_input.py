"""Bad input of the wrong JSON type or size gets a clear error naming the field, never a 500."""

import pytest
from support import csrf_token

HUGE = 10**30


@pytest.mark.parametrize(
    "path",
    [f"/api/v1/cardholders/{HUGE}", f"/api/v1/credentials/{HUGE}", f"/api/v1/access-rules/{HUGE}"],
)
def test_ids_larger_than_a_record_id_are_not_found(admin_api, path):
    assert admin_api.get(path).status_code == 404
    deleted = admin_api.delete(path)
    assert deleted.status_code in (404, 405)
    assert set(deleted.json) == {"error", "fields"}


def test_a_huge_number_in_a_body_is_a_clear_400(admin_api):
    response = admin_api.post("/api/v1/credentials", {"cardholder_id": HUGE, "pin": "1234"})
    assert response.status_code == 400
    assert "too large" in response.json["error"]


@pytest.mark.parametrize(
    ("path", "body", "field", "message"),
    [
        ("/api/v1/mqtt/client", {"host": 1}, "host", "Must be text."),
        ("/api/v1/mqtt/client", {"port": "1883"}, "port", "Must be a number."),
        ("/api/v1/mqtt/client", {"clean_session": "yes"}, "clean_session", "true or false"),
        ("/api/v1/mqtt/publication", {"conditions": None}, "conditions", "Must be a list."),
        ("/api/v1/mqtt/publication", {"custom_prefix": -1}, "custom_prefix", "Must be text."),
        ("/api/v1/mqtt/subscriptions", {"subscriptions": True}, "subscriptions", "a list."),
        ("/api/v1/doors/1/settings", {"access_time": "7"}, "access_time", "number"),
        ("/api/v1/doors/1/settings", {"name": ["Front"]}, "name", "Must be text."),
    ],
)
def test_settings_of_the_wrong_type_name_the_field(admin_api, path, body, field, message):
    before = admin_api.get(path).json
    response = admin_api.put(path, body)
    assert response.status_code == 400, response.json
    assert message in response.json["fields"][field]
    assert admin_api.get(path).json == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "r1", "port": None}, "port"),
        ({"id": "r1", "port": 7}, "port"),
        ({"id": 5, "port": "/dev/ttyUSB0"}, "id"),
        ({"id": "r1", "port": "/dev/ttyUSB0", "address": "one"}, "address"),
    ],
)
def test_readers_of_the_wrong_type_name_the_field(admin_api, body, field):
    response = admin_api.post("/api/v1/readers", {"protocol": "osdp", **body})
    assert response.status_code == 400, response.json
    assert field in response.json["fields"]


def test_access_rule_door_id_must_be_a_door(admin_api):
    holder = admin_api.post("/api/v1/cardholders", {"name": "Ann"}).json
    for door_id in ([], {}, "1", True):
        body = {"cardholder_ids": [holder["id"]], "door_id": door_id}
        response = admin_api.post("/api/v1/access-rules", body)
        assert response.status_code == 400
        assert "door" in response.json["fields"]["door_id"].lower()


def test_cardholder_group_ids_must_be_a_list(admin_api):
    for value in ({}, "1", 3):
        response = admin_api.post("/api/v1/cardholders", {"name": "Ann", "group_ids": value})
        assert response.status_code == 400
        assert "list of ids" in response.json["fields"]["group_ids"]


def test_schedule_with_an_unknown_field_is_refused(admin_api):
    body = {"name": "S", "spans": [{"days": ["mon"], "start": "08:00", "end": "17:00"}]}
    response = admin_api.post("/api/v1/schedules", body)
    assert response.status_code == 400
    assert response.json["fields"]["spans"] == "unknown field"
    assert admin_api.get("/api/v1/schedules").json == []


def test_simulated_resistance_of_the_wrong_type(admin_api):
    for value in ([], {}, "lots", -5):
        response = admin_api.post("/api/v1/sim/inputs/door_monitor", {"resistance": value})
        assert response.status_code == 400
        assert "resistance" in response.json["fields"]


def test_request_bodies_over_32_mib_are_refused(admin_api):
    body = b"x" * (32 * 1024 * 1024 + 1)
    response = admin_api.client.post(
        "/api/v1/cardholders/import",
        data=body,
        content_type="text/csv",
        headers=admin_api.headers,
    )
    assert response.status_code == 413
    assert set(response.json) == {"error", "fields"}


def test_a_failed_login_names_only_a_real_user(client, doorctl, root):
    seen = []
    doorctl.bus.subscribe(seen.append, "tns1:Device/User/LoginFailed")
    for typed in ("root", "my secret password"):
        token = csrf_token(client)
        client.post("/login", data={"username": typed, "password": "x", "csrf_token": token})
    assert [e.source["user"] for e in seen] == ["root", None]
