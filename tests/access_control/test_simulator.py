"""The simulator panel and its REST API: sim board only, administrators only."""

from __future__ import annotations

import pytest
from support import csrf_token


def test_board_snapshot_shape(admin_api):
    board = admin_api.get("/api/v1/sim/board").json
    assert board["inputs"]["door_monitor"] == {"active": True, "resistance": None}
    assert board["outputs"]["relay"] == {"active": False}
    assert set(board["outputs"]) >= {"relay", "reader_led_red", "reader_led_green", "reader_buzzer"}


def test_inputs_door_and_rex_drive_the_door(admin_api, doorctl):
    admin_api.put("/api/v1/doors/1/settings", json={"access_time": 0.2})
    admin_api.post("/api/v1/sim/door", json={"position": "open"})
    assert doorctl.doors[1].status()["alarms"] == ["forced_open"]
    admin_api.post("/api/v1/sim/inputs/door_monitor", json={"active": True})
    assert doorctl.doors[1].status()["door_position"] == "closed"
    admin_api.post("/api/v1/sim/rex")
    assert admin_api.get("/api/v1/sim/board").json["outputs"]["relay"]["active"]


def test_supervised_resistance(admin_api):
    not_supervised = admin_api.post("/api/v1/sim/inputs/aux3", json={"resistance": 4700})
    assert not_supervised.status_code == 400 and "resistance" in not_supervised.json["fields"]
    admin_api.put("/api/v1/io/ports/aux3", json={"supervised": True})
    cut = admin_api.post("/api/v1/sim/inputs/aux3", json={"resistance": "cut"})
    assert cut.status_code == 200 and cut.json["inputs"]["aux3"]["resistance"] is None
    short = admin_api.post("/api/v1/sim/inputs/aux3", json={"resistance": 0})
    assert short.json["inputs"]["aux3"] == {"active": True, "resistance": 0.0}
    digital = admin_api.post("/api/v1/sim/inputs/aux3", json={"active": True})
    assert digital.status_code == 400 and "supervised" in digital.json["fields"]["active"]


def test_wiegand_card_bits_and_keys_go_through_the_decoder(admin_api):
    card = admin_api.post(
        "/api/v1/sim/wiegand", json={"format": "H10301", "facility": 12, "card": 3456}
    )
    assert card.status_code == 200
    assert card.json["reads"][0] | {"time": 0} == {
        "time": 0,
        "kind": "card",
        "format": "H10301",
        "facility": 12,
        "card": 3456,
        "bits": 26,
    }
    keys = admin_api.post("/api/v1/sim/wiegand", json={"keys": "12#"})
    assert keys.json["reads"][0]["key"] == "#"
    bits = admin_api.post("/api/v1/sim/wiegand", json={"bits": "1" * 26})
    assert bits.json["reads"][0]["kind"] == "bad"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"bits": "01x"}, "bits"),
        ({"format": "H99999", "card": 1}, "format"),
        ({"format": "H10301", "facility": 999, "card": 1}, "facility"),
        ({"format": "H10301", "facility": 1, "card": "one"}, "card"),
        ({"keys": "12a"}, "keys"),
        ({}, "bits"),
    ],
)
def test_bad_wiegand_input_names_the_field(admin_api, body, field):
    response = admin_api.post("/api/v1/sim/wiegand", json=body)
    assert response.status_code == 400
    assert field in response.json["fields"], response.json


def test_button_and_bad_input(admin_api, doorctl):
    assert admin_api.post("/api/v1/sim/button", json={"seconds": 2}).status_code == 200
    assert list(doorctl.simulator.presses) == [2]
    bad = admin_api.post("/api/v1/sim/button", json={"seconds": "long"})
    assert bad.json["fields"] == {"seconds": "Enter a number of seconds."}
    assert admin_api.post("/api/v1/sim/inputs/nowhere", json={"active": True}).status_code == 404
    bad = admin_api.post("/api/v1/sim/inputs/rex", json={"active": "yes"})
    assert bad.json["fields"] == {"active": "Must be true or false."}
    bad = admin_api.post("/api/v1/sim/door", json={"position": "ajar"})
    assert "position" in bad.json["fields"]


def test_operator_cannot_use_the_simulator(operator_api):
    assert operator_api.get("/api/v1/sim/board").status_code == 403
    assert operator_api.post("/api/v1/sim/rex").status_code == 403


def test_simulator_panel_page_and_menu(logged_in):
    page = logged_in.get("/simulator").get_data(as_text=True)
    assert 'id="sim-door-open"' in page and ">Simulator<" in page
    token = csrf_token(logged_in, "/simulator")
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    panel = logged_in.post("/simulator/door", data={"position": "open"}, headers=headers)
    assert 'id="sim-door-position">open<' in panel.get_data(as_text=True)
    bad = logged_in.post("/simulator/keys", data={"keys": "x"}, headers=headers)
    assert "Type digits" in bad.get_data(as_text=True)


def test_simulator_is_404_on_real_hardware(doorctl, admin_api, logged_in):
    doorctl.board.kind = "rpi"  # what the rpi backend reports; its pins cannot run here
    try:
        response = admin_api.get("/api/v1/sim/board")
        assert response.status_code == 404
        assert "only on the simulated board" in response.json["error"]
        assert ">Simulator<" not in logged_in.get("/status").get_data(as_text=True)
    finally:
        doorctl.board.kind = "sim"
