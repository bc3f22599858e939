"""Credentials: cards, PINs, duplicates refused clearly, PINs never stored in clear."""

from __future__ import annotations

import pytest


@pytest.fixture
def holder(operator_api):
    return operator_api.post("/api/v1/cardholders", json={"name": "Ann"}).json


CARD = {"format": "H10301", "facility": 12, "number": 345}


def test_card_credential_shape(operator_api, holder):
    created = operator_api.post(
        "/api/v1/credentials", json={"cardholder_id": holder["id"], "card": CARD, "pin": "1234"}
    )
    assert created.status_code == 201
    assert created.json == {
        "id": created.json["id"],
        "cardholder_id": holder["id"],
        "enabled": True,
        "card": CARD,
        "pin": None,
        "has_pin": True,
    }
    listed = operator_api.get(f"/api/v1/credentials?cardholder_id={holder['id']}").json
    assert listed == [created.json]


def test_raw_card(operator_api, holder):
    raw = {"format": "raw", "number": 12345, "bits": 40}
    created = operator_api.post(
        "/api/v1/credentials", json={"cardholder_id": holder["id"], "card": raw}
    )
    assert created.json["card"] == {**raw, "facility": None}


def test_duplicate_card_is_refused_with_the_owner_named(operator_api, holder):
    operator_api.post("/api/v1/credentials", json={"cardholder_id": holder["id"], "card": CARD})
    other = operator_api.post("/api/v1/cardholders", json={"name": "Bo"}).json
    duplicate = operator_api.post(
        "/api/v1/credentials", json={"cardholder_id": other["id"], "card": CARD}
    )
    assert duplicate.status_code == 409
    assert duplicate.json["error"] == "The card H10301 12:345 belongs to Ann already."
    assert "card" in duplicate.json["fields"]


def test_duplicate_pin_only_is_refused_but_card_pins_may_repeat(operator_api, holder):
    body = {"cardholder_id": holder["id"], "pin": "2468"}
    assert operator_api.post("/api/v1/credentials", json=body).status_code == 201
    again = operator_api.post("/api/v1/credentials", json=body)
    assert again.status_code == 409 and "pin" in again.json["fields"]
    with_card = {**body, "card": CARD}
    assert operator_api.post("/api/v1/credentials", json=with_card).status_code == 201


def test_pins_are_stored_only_as_keyed_hashes(operator_api, holder, doorctl):
    operator_api.post("/api/v1/credentials", json={"cardholder_id": holder["id"], "pin": "97531"})
    operator_api.post(
        "/api/v1/credentials", json={"cardholder_id": holder["id"], "card": CARD, "pin": "97531"}
    )
    hashes = [r[0] for r in doorctl.store.execute("SELECT pin_hash FROM credentials")]
    assert len(set(hashes)) == 2 and all(len(h) == 64 for h in hashes)
    assert b"97531" not in doorctl.store.path.read_bytes()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"card": {"format": "H10301", "facility": 256, "number": 1}}, "card.facility"),
        ({"card": {"format": "H10301", "facility": 1, "number": 70000}}, "card.number"),
        ({"card": {"format": "XYZ", "number": 1}}, "card.format"),
        ({"card": {"format": "H10301", "facility": 1}}, "card.number"),
        ({"card": {"format": "raw", "number": 1, "bits": 2}}, "card.bits"),
        ({"pin": "12"}, "pin"),
        ({"pin": 1234}, "pin"),
        ({}, "card"),
        ({"enabled": "yes", "pin": "1234"}, "enabled"),
    ],
)
def test_bad_credentials_name_the_field(operator_api, holder, body, field):
    response = operator_api.post(
        "/api/v1/credentials", json={"cardholder_id": holder["id"], **body}
    )
    assert response.status_code == 400
    assert field in response.json["fields"], response.json


def test_unknown_cardholder_is_a_field_error(operator_api):
    response = operator_api.post("/api/v1/credentials", json={"cardholder_id": 99, "pin": "1234"})
    assert response.status_code == 400 and "cardholder_id" in response.json["fields"]


def test_update_keeps_the_pin_unless_the_card_changes(operator_api, holder, doorctl):
    made = operator_api.post(
        "/api/v1/credentials", json={"cardholder_id": holder["id"], "card": CARD, "pin": "1234"}
    ).json
    url = f"/api/v1/credentials/{made['id']}"
    assert operator_api.patch(url, json={"enabled": False}).json["enabled"] is False
    moved = operator_api.patch(url, json={"card": {**CARD, "number": 346}})
    assert moved.status_code == 400 and "pin" in moved.json["fields"]
    ok = operator_api.patch(url, json={"card": {**CARD, "number": 346}, "pin": "4321"})
    assert ok.json["card"]["number"] == 346
    assert operator_api.delete(url).status_code == 204
    assert operator_api.get(url).status_code == 404


def test_viewers_cannot_read_credentials(viewer_api):
    assert viewer_api.get("/api/v1/credentials").status_code == 403
