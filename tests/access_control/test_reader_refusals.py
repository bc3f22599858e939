"""A reader refusing the controller's LED and buzzer commands: shown, published, still reading."""

from __future__ import annotations

import pytest
from support_osdp import wait_until

from doorctl.core.access_control.readers import refused
from doorctl.core.access_control.readers.topics import COMMAND_REFUSED
from doorctl.hal.wiegand import encode_card

# The tests reach the OSDP bus object itself.
pytestmark = [pytest.mark.peer, pytest.mark.engine_in_process]
CARD_BITS = encode_card("H10301", 12, 345)
# No buzzer, and its application refuses LED commands (libosdp NAKs both).
REFUSING = {"address": 1, "secure": False, "without": ["AudibleControl"], "refuse": ["led"]}


def ann(doorctl, card):
    access = doorctl.access
    holder = access.cardholders.create({"name": "Ann"})
    access.credentials.create({"cardholder_id": holder["id"], "card": card})
    access.rules.create({"cardholder_ids": [holder["id"]], "authentication": "card"})


def naks(api) -> dict:
    return api.get("/api/v1/readers/front").json["naks"]


def test_refused_led_and_buzzer_are_counted_published_once_and_cards_still_open(
    doorctl, admin_api, line, spawn
):
    ann(doorctl, {"format": "H10301", "facility": 12, "number": 345})
    refusals, granted = [], []
    doorctl.bus.subscribe(refusals.append, COMMAND_REFUSED)
    doorctl.bus.subscribe(granted.append, "tns1:AccessControl/AccessGranted/")
    child = spawn(REFUSING)
    admin_api.post("/api/v1/readers", {"id": "front", "port": line.path, "address": 1})
    wait_until(lambda: admin_api.get("/api/v1/readers/front").json["online"])
    for reads in (1, 2):
        child.send(cmd="card", bits=CARD_BITS)
        wait_until(lambda n=reads: len(granted) == n, what="access granted")
        wait_until(lambda n=reads: naks(admin_api).get("osdp_BUZ", {}).get("count") == n)
    found = naks(admin_api)
    assert found["osdp_LED"] == {"count": 2, "code": 9, "error": "Unable to process command record"}
    assert found["osdp_BUZ"]["code"] == 3
    # One event per command in the minute, however often the reader refuses it.
    by_command = {e.data["command"]: e for e in refusals}
    assert sorted(by_command) == ["osdp_BUZ", "osdp_LED"] and len(refusals) == 2
    led = by_command["osdp_LED"]
    assert led.source["reader"] == "front" and led.data["times"] == 1
    assert led.data["error"] == "Unable to process command record"
    assert doorctl.board.outputs["relay"].read()


def test_after_the_quiet_time_the_next_refusal_says_how_many_there_were(
    doorctl, admin_api, line, spawn, monkeypatch
):
    monkeypatch.setattr(refused, "REFUSED_EVERY", 0.0)
    refusals = []
    doorctl.bus.subscribe(refusals.append, COMMAND_REFUSED)
    spawn(REFUSING)
    admin_api.post("/api/v1/readers", {"id": "front", "port": line.path, "address": 1})
    wait_until(lambda: admin_api.get("/api/v1/readers/front").json["online"])
    bus = doorctl.readers.buses[line.path].bus
    for _ in range(3):
        bus.led(1, temporary={"on_color": "red"}).get(timeout=2)
    assert [e.data["times"] for e in refusals] == [1, 1, 1]


def test_the_page_shows_what_a_reader_refused(doorctl, logged_in, admin_api, line, spawn):
    spawn(REFUSING)
    admin_api.post("/api/v1/readers", {"id": "front", "port": line.path, "address": 1})
    wait_until(lambda: admin_api.get("/api/v1/readers/front").json["online"])
    doorctl.readers.buses[line.path].bus.buzzer(1).get(timeout=2)
    html = logged_in.get("/peripherals/readers").get_data(as_text=True)
    assert 'data-command="osdp_BUZ"' in html
    expected = "osdp_BUZ: 1 NAK, last: Unknown command code: command not implemented by the PD"
    assert "Refused commands:" in html and expected in html
