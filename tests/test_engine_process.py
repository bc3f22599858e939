"""`doorctl serve --engine-process`: readers, door and decisions in a process of their
own, reached from the web process through the same service interfaces."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from pcap_osdp import frames
from support import ROOT_PASSWORD, start_served
from support_osdp import reader_processes, wait_until

from doorctl.app import create_app
from doorctl.hal.osdp import messages
from doorctl.hal.wiegand import encode_card

CARD = {"format": "H10301", "facility": 12, "number": 345}
GRANTED = "tns1:AccessControl/AccessGranted/Credential"
CAPTURE = "/api/v1/readers/front/capture"


@pytest.fixture
def app(data_dir: Path):
    """The app with its engine process started, on the simulated board."""
    config = {"DATA_DIR": str(data_dir), "HARDWARE": "sim", "TESTING": True}
    app = create_app({**config, "READER_TEST_PORTS": True, "ENGINE_PROCESS": True})
    doorctl = app.extensions["doorctl"]
    doorctl.start()
    yield app
    doorctl.stop()
    doorctl.store.close()


@pytest.fixture
def events(doorctl) -> list:
    seen: list = []
    doorctl.bus.subscribe(seen.append)
    return seen


def ann(doorctl) -> None:
    """A cardholder with one card and a rule for door 1."""
    access = doorctl.access
    holder = access.cardholders.create({"name": "Ann"})
    access.credentials.create({"cardholder_id": holder["id"], "card": CARD})
    access.rules.create({"cardholder_ids": [holder["id"]]})


def granted(events: list) -> list:
    return [e for e in events if e.topic == GRANTED]


def test_the_board_and_the_door_run_in_another_process(doorctl):
    engine = doorctl.engine.status()
    assert engine["running"] and engine["pid"] not in (None, os.getpid())
    assert doorctl.doors[1].status()["lock"] == "locked"


def test_a_card_decided_in_the_engine_is_logged_and_numbered_by_the_web(doorctl, admin_api, events):
    ann(doorctl)
    admin_api.post("/api/v1/sim/wiegand", {"format": "H10301", "facility": 12, "card": 345})
    wait_until(lambda: granted(events), what="access granted")
    ids = [e.id for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    doorctl.event_log.flush()
    logged = admin_api.get(f"/api/v1/events?topic={GRANTED}").json
    assert [e["id"] for e in logged["events"]] == [granted(events)[0].id]


def test_door_settings_saved_in_the_web_reach_the_engine(admin_api):
    saved = admin_api.put("/api/v1/doors/1/settings", {"name": "Front door"})
    assert saved.status_code == 200, saved.json
    assert admin_api.get("/api/v1/doors/1").json["name"] == "Front door"


def test_a_door_action_runs_in_the_engine(admin_api, events):
    answer = admin_api.post("/api/v1/doors/1/unlock", {})
    assert answer.status_code == 200, answer.json
    assert answer.json["mode"] == "unlocked" and answer.json["relay"] is True


def test_bad_input_refused_by_the_engine_names_the_field(admin_api):
    answer = admin_api.post("/api/v1/readers", {"id": "front", "port": "/etc/passwd"})
    assert answer.status_code == 400
    assert "port" in answer.json["fields"]


def test_a_dead_engine_is_restarted_and_decides_again(doorctl, admin_api, events):
    ann(doorctl)
    first = doorctl.engine.status()["pid"]
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: doorctl.engine.status()["restarts"] == 1, what="engine noticed dead")
    wait_until(lambda: doorctl.engine.status()["running"], timeout=30, what="engine back")
    assert doorctl.engine.status()["pid"] != first
    doorctl.simulator.card("H10301", 12, 345)
    wait_until(lambda: granted(events), what="access granted after the restart")


@pytest.mark.peer
def test_an_osdp_card_opens_the_door_from_the_engine(doorctl, admin_api, line, tmp_path, events):
    ann(doorctl)
    with reader_processes(line.master, tmp_path, 0.005) as spawn:
        child = spawn({"address": 1, "secure": False})
        reader = {"id": "front", "port": line.path, "baud": 115200, "address": 1}
        assert admin_api.post("/api/v1/readers", reader).status_code == 201
        wait_until(lambda: admin_api.get("/api/v1/readers/front").json["online"])
        assert admin_api.post(CAPTURE, {"duration": 60}).status_code == 202
        child.send(cmd="card", bits=encode_card("H10301", 12, 345))
        wait_until(lambda: granted(events), what="access granted")
        assert granted(events)[0].source == {"door": 1, "reader": "front", "direction": "entry"}
        assert child.expect(lambda e: e.get("command") == "led")["on_color"] == 2  # green
        assert admin_api.delete(CAPTURE).status_code == 204
    pcap = admin_api.get(f"{CAPTURE}/file")
    assert pcap.status_code == 200 and pcap.mimetype == "application/vnd.tcpdump.pcap"
    raws = [f for f in frames(pcap.data) if f.reply and f.code == messages.RAW]
    assert [messages.parse_reply(messages.RAW, f.data)[1]["bit_string"] for f in raws] == [
        encode_card("H10301", 12, 345)
    ]


def test_serve_with_the_engine_process_answers_and_stops_both(tmp_path):
    server = start_served(tmp_path / "data", "--engine-process")
    body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    server.call("POST", "/api/v1/setup", body, auth=None)
    assert server.call("GET", "/api/v1/doors/1")["lock"] == "locked"
    assert server.call("POST", "/api/v1/doors/1/unlock", {})["relay"] is True
    assert server.stop(signal.SIGTERM) == 0
    assert "(engine) started" in server.stderr and "the door engine stops" in server.stderr


def test_every_page_answers_with_the_engine_apart(app, logged_in):
    skipped = ("/login", "/logout", "/setup")
    rules = [r.rule for r in app.url_map.iter_rules() if "GET" in r.methods and not r.arguments]
    pages = [p for p in rules if not p.startswith("/api/") and "stream" not in p]
    answers = {page: logged_in.get(page).status_code for page in pages if page not in skipped}
    assert {page: code for page, code in answers.items() if code not in (200, 302)} == {}
