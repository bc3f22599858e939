"""Cardholders: REST shapes, validation, search and paging, groups, CSV import/export."""

from __future__ import annotations

import csv
import io

import gevent
import pytest
from support import csrf_token

from doorctl.core.access_control import decisions
from doorctl.core.access_control.cardholder_csv import COLUMNS


def test_cardholder_shape_and_crud(operator_api):
    body = {"name": "Ann Berg", "valid_from": "2026-01-01", "valid_until": "2026-12-31T17:00"}
    created = operator_api.post("/api/v1/cardholders", json=body)
    assert created.status_code == 201
    assert created.json == {
        "id": created.json["id"],
        "name": "Ann Berg",
        "enabled": True,
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31T17:00:00",
        "long_access": False,
        "notes": "",
        "group_ids": [],
    }
    url = f"/api/v1/cardholders/{created.json['id']}"
    assert operator_api.patch(url, json={"enabled": False}).json["enabled"] is False
    assert operator_api.get(url).json["credentials"] == []
    assert operator_api.delete(url).status_code == 204
    assert operator_api.get(url).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "A", "enabled": "yes"}, "enabled"),
        ({"name": "A", "valid_from": "tomorrow"}, "valid_from"),
        ({"name": "A", "valid_from": "2026-02-01", "valid_until": "2026-01-01"}, "valid_until"),
        ({"name": "A", "colour": "red"}, "colour"),
        ({"name": "A", "group_ids": [42]}, "group_ids"),
    ],
)
def test_bad_cardholders_name_the_field(operator_api, body, field):
    response = operator_api.post("/api/v1/cardholders", json=body)
    assert response.status_code == 400
    assert field in response.json["fields"]


def test_search_and_paging(operator_api, doorctl):
    for name in ("Ann", "Anna", "Bo", "Cy", "Joanna"):
        doorctl.access.cardholders.create({"name": name})
    page = operator_api.get("/api/v1/cardholders?q=ann&limit=2").json
    assert page["total"] == 3
    assert [h["name"] for h in page["cardholders"]] == ["Ann", "Anna"]
    rest = operator_api.get("/api/v1/cardholders?q=ann&limit=2&offset=2").json
    assert [h["name"] for h in rest["cardholders"]] == ["Joanna"]


def test_groups(operator_api):
    group = operator_api.post("/api/v1/cardholder-groups", json={"name": "Staff"})
    assert group.status_code == 201
    again = operator_api.post("/api/v1/cardholder-groups", json={"name": "staff"})
    assert again.status_code == 409
    holder = operator_api.post(
        "/api/v1/cardholders", json={"name": "Ann", "group_ids": [group.json["id"]]}
    ).json
    assert holder["group_ids"] == [group.json["id"]]
    assert operator_api.get("/api/v1/cardholder-groups").json[0]["members"] == 1


def test_viewers_cannot_manage_cardholders(viewer_api):
    assert viewer_api.get("/api/v1/cardholders").status_code == 403
    assert viewer_api.post("/api/v1/cardholders", json={"name": "A"}).status_code == 403


def rows_csv(*rows: dict) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def test_import_then_export_round_trip(operator_api, doorctl):
    text = rows_csv(
        {"ref": "a", "name": "Ann", "card_format": "H10301", "card_facility": 1, "card_number": 2},
        {"ref": "a", "name": "Ann", "pin": "123456"},
        {
            "name": "Bo",
            "valid_until": "2027-01-01",
            "long_access": "yes",
            "card_format": "raw",
            "card_number": 77,
            "card_bits": 40,
        },
        {"name": "Cy"},
    )
    result = operator_api.post("/api/v1/cardholders/import", data=text, content_type="text/csv")
    assert result.status_code == 200, result.json
    assert result.json == {"cardholders": 3, "credentials": 3, "errors": [], "error_count": 0}
    exported = operator_api.get("/api/v1/cardholders/export")
    assert exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [r["name"] for r in rows] == ["Ann", "Ann", "Bo", "Cy"]
    assert rows[2]["long_access"] == "true" and rows[2]["card_bits"] == "40"
    assert all(r["pin"] == "" for r in rows)
    assert (
        doorctl.store.execute("SELECT count(*) FROM credentials WHERE card IS NULL").fetchone()[0]
        == 1
    )
    # The child hashed the PIN with the device secret: a keypad finds it (no rule: denied).
    decision = doorctl.access.keys("wiegand", "123456#")
    assert decision.reason == decisions.NO_RULE and decision.cardholder == "Ann"


def test_import_reports_every_bad_row_and_imports_nothing(operator_api, doorctl):
    doorctl.access.credentials.create(
        {
            "cardholder_id": doorctl.access.cardholders.create({"name": "Old"})["id"],
            "card": {"format": "H10301", "facility": 9, "number": 9},
        }
    )
    text = rows_csv(
        {"name": "Good", "card_format": "H10301", "card_facility": 1, "card_number": 1},
        {"name": "", "card_format": "H10301", "card_facility": 1, "card_number": 2},
        {"name": "Bad card", "card_format": "H10301", "card_facility": 300, "card_number": 3},
        {"name": "Twin", "card_format": "H10301", "card_facility": 1, "card_number": 1},
        {"name": "Bad PIN", "pin": "12"},
        {"name": "Bad date", "valid_from": "someday"},
    )
    result = operator_api.post("/api/v1/cardholders/import", data=text, content_type="text/csv")
    assert result.status_code == 400
    lines = {e["line"]: e["errors"] for e in result.json["errors"]}
    assert set(lines) == {3, 4, 5, 6, 7}
    assert "name" in lines[3] and "card.facility" in lines[4] and "pin" in lines[6]
    assert "line 2" in lines[5]["card"] and "valid_from" in lines[7]
    assert doorctl.store.execute("SELECT count(*) FROM cardholders").fetchone()[0] == 1
    clash = rows_csv({"name": "New", "card_format": "H10301", "card_facility": 9, "card_number": 9})
    result = operator_api.post("/api/v1/cardholders/import", data=clash, content_type="text/csv")
    assert result.json["errors"] == [
        {"line": 2, "errors": {"card": "This card belongs to a cardholder on the device already."}}
    ]


def test_import_bad_header(operator_api):
    result = operator_api.post(
        "/api/v1/cardholders/import", data="who,what\nx,y\n", content_type="text/csv"
    )
    assert result.status_code == 400 and result.json["errors"][0]["line"] == 1


def test_import_as_multipart(operator_api):
    text = rows_csv({"name": "Ann"}).encode()
    result = operator_api.post(
        "/api/v1/cardholders/import", data={"file": (io.BytesIO(text), "people.csv")}
    )
    assert result.json["cardholders"] == 1


def test_import_leaves_the_hub_free(doorctl, operator_api):
    """A 5,000-row import runs in a child process: a 10 ms ticker keeps ticking meanwhile."""
    rows = [
        {"name": f"P{i}", "card_format": "H10301", "card_facility": i % 256, "card_number": i}
        for i in range(5000)
    ]
    ticks = []
    ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.01)) for _ in iter(int, 1)])
    result = operator_api.post(
        "/api/v1/cardholders/import", data=rows_csv(*rows), content_type="text/csv"
    )
    ticker.kill()
    assert result.json["cardholders"] == 5000
    assert len(ticks) > 3


def test_cardholders_page_adds_with_a_card_and_shows_field_errors(logged_in, doorctl):
    token = csrf_token(logged_in, "/access/cardholders")
    form = {
        "csrf_token": token,
        "name": "Ann",
        "enabled": "on",
        "card_format": "H10301",
        "card_facility": "12",
        "card_number": "345",
    }
    assert logged_in.post("/access/cardholders", data=form).status_code == 303
    page = logged_in.get("/access/cardholders?q=ann").get_data(as_text=True)
    assert "Ann" in page and "H10301" in page and "12:345" in page
    bad = logged_in.post("/access/cardholders", data={**form, "name": "Bo"})
    assert bad.status_code == 409
    assert "belongs to Ann already" in bad.get_data(as_text=True)
    invalid = logged_in.post("/access/cardholders", data={**form, "name": "", "card_format": ""})
    assert invalid.status_code == 422
    assert 'data-field="name"' in invalid.get_data(as_text=True)
    assert doorctl.store.execute("SELECT count(*) FROM cardholders").fetchone()[0] == 1


def test_changes_to_access_data_are_configuration_events(doorctl):
    seen = []
    doorctl.bus.subscribe(seen.append, "tns1:Configuration/")
    access = doorctl.access
    holder = access.cardholders.create({"name": "Ann"})
    access.cardholders.update(holder["id"], {"name": "Ann B"})
    card = {"format": "H10301", "facility": 1, "number": 2}
    credential = access.credentials.create({"cardholder_id": holder["id"], "card": card})
    access.credentials.delete(credential["id"])
    access.cardholders.delete(holder["id"])
    assert [(e.topic, e.data["id"]) for e in seen] == [
        ("tns1:Configuration/Cardholder/Changed", holder["id"]),
        ("tns1:Configuration/Cardholder/Changed", holder["id"]),
        ("tns1:Configuration/Credential/Changed", credential["id"]),
        ("tns1:Configuration/Credential/Removed", credential["id"]),
        ("tns1:Configuration/Cardholder/Removed", holder["id"]),
    ]
    assert all("pin" not in e.data for e in seen)
