"""Access rules: REST shapes, validation and roles."""

from __future__ import annotations

import pytest

from doorctl.core.errors import Invalid


def test_rule_shape_crud_and_validation(admin_api, doorctl):
    holder = doorctl.access.cardholders.create({"name": "Ann"})
    body = {
        "cardholder_ids": [holder["id"]],
        "door_id": 1,
        "schedule_id": None,
        "authentication": "card+pin",
    }
    created = admin_api.post("/api/v1/access-rules", json=body)
    assert created.status_code == 201
    assert created.json == {
        **body,
        "id": created.json["id"],
        "name": "",
        "group_ids": [],
        "direction": "both",
    }
    url = f"/api/v1/access-rules/{created.json['id']}"
    assert admin_api.patch(url, json={"authentication": "card"}).json["authentication"] == "card"
    for bad, field in (
        ({"authentication": "face"}, "authentication"),
        ({"door_id": 7}, "door_id"),
        ({"cardholder_ids": []}, "cardholder_ids"),
        ({"cardholder_ids": [999]}, "cardholder_ids"),
        ({"schedule_id": 999}, "schedule_id"),
        ({"direction": "sideways"}, "direction"),
    ):
        response = admin_api.post("/api/v1/access-rules", json={**body, **bad})
        assert response.status_code == 400 and field in response.json["fields"], bad
    assert admin_api.delete(url).status_code == 204
    assert admin_api.get("/api/v1/access-rules").json == []


def test_operators_read_rules_only_administrators_write(operator_api, doorctl):
    holder = doorctl.access.cardholders.create({"name": "Ann"})
    assert operator_api.get("/api/v1/access-rules").status_code == 200
    body = {"cardholder_ids": [holder["id"]]}
    assert operator_api.post("/api/v1/access-rules", json=body).status_code == 403


def test_access_settings_and_event_log_retention(admin_api, doorctl):
    doorctl.settings.update("date_time", {"time_zone": "Europe/Stockholm"})
    assert str(doorctl.access.tz) == "Europe/Stockholm"
    doorctl.settings.update("event_log", {"retention": 5000})
    assert doorctl.event_log.retention == 5000
    with pytest.raises(Invalid):
        doorctl.settings.update("date_time", {"time_zone": "Mars/Olympus"})
    with pytest.raises(Invalid):
        doorctl.settings.update("event_log", {"retention": 10})
