"""OSDP readers in the controller, against libosdp readers in child processes over ptys."""

from __future__ import annotations

import hashlib
import os
import select
import socket

import gevent
import pytest
from support_osdp import Line, wait_until

from doorctl.app import create_app
from doorctl.core.access_control.readers import FIELDS
from doorctl.core.errors import Invalid
from doorctl.hal.wiegand import encode_card

pytestmark = pytest.mark.peer
CARD = {"format": "H10301", "facility": 12, "number": 345}
CARD_BITS = encode_card("H10301", 12, 345)
UNKNOWN_BITS = encode_card("H10301", 12, 999)
PTYS = {"READER_TEST_PORTS": True}  # the line is a pseudo-terminal


@pytest.fixture
def events(doorctl):
    seen = []
    doorctl.bus.subscribe(seen.append, "tns1:Device/Reader/", "tns1:AccessControl/")
    return seen


def reader(line, reader_id="front", **fields) -> dict:
    return {"id": reader_id, "port": line.path, "baud": 115200, "address": 1, **fields}


def relay(doorctl) -> bool:
    """The relay as the simulator shows it, wherever the engine runs."""
    return doorctl.simulator.snapshot()["outputs"]["relay"]["active"]


def online(api, reader_id: str):
    found = api.get(f"/api/v1/readers/{reader_id}").json
    return found if found["online"] else None


def ann(doorctl, card=None, pin=None, auth="card"):
    """A cardholder with one credential and a rule for door 1, both directions."""
    access = doorctl.access
    holder = access.cardholders.create({"name": "Ann"})
    access.credentials.create({"cardholder_id": holder["id"], "card": card, "pin": pin})
    access.rules.create({"cardholder_ids": [holder["id"]], "authentication": auth})


def command(child, name: str) -> dict:
    return child.expect(lambda e: e.get("command") == name)


def test_reader_added_over_rest_goes_online_with_its_identity(admin_api, line, spawn, events):
    spawn({"address": 1, "serial": 0x1234, "secure": False, "firmware": 0x030201})
    added = admin_api.post("/api/v1/readers", reader(line))
    assert added.status_code == 201, added.json
    assert added.json["protocol"] == "osdp" and added.json["direction"] == "entry"
    found = wait_until(lambda: online(admin_api, "front"), what="reader online")
    assert (found["serial"], found["vendor"], found["model"]) == ("00001234", "a1b2c3", 7)
    assert found["firmware"] == "3.2.1" and found["capabilities"]["reader_led_control"]
    assert found["sc"] == "off" and found["error"] is None
    topics = [(e.topic, e.source["reader"]) for e in events]
    assert ("tns1:Device/Reader/Online", "front") in topics
    ids = [r["id"] for r in admin_api.get("/api/v1/readers").json]
    assert ids == ["wiegand", "front"]


def test_card_grant_energises_the_relay_and_shows_green_at_the_reader(
    doorctl, admin_api, line, spawn, events
):
    ann(doorctl, CARD)
    child = spawn({"address": 1, "secure": False})
    admin_api.post("/api/v1/readers", reader(line))
    wait_until(lambda: online(admin_api, "front"))
    child.send(cmd="card", bits=CARD_BITS)
    wait_until(lambda: relay(doorctl), what="relay energised")
    assert command(child, "led")["on_color"] == 2  # green
    assert command(child, "buzzer")["rep_count"] == 1
    granted = [e for e in events if e.topic.startswith("tns1:AccessControl/AccessGranted/")]
    assert granted[0].source == {"door": 1, "reader": "front", "direction": "entry"}
    read = next(e for e in events if e.topic == "tns1:Device/Reader/CardRead")
    assert read.data == {"format": "wiegand", "bits": 26, "card_format": "H10301"}


def test_unknown_card_is_denied_with_red_at_the_reader(doorctl, admin_api, line, spawn, events):
    child = spawn({"address": 1, "secure": False})
    admin_api.post("/api/v1/readers", reader(line))
    wait_until(lambda: online(admin_api, "front"))
    child.send(cmd="card", bits=UNKNOWN_BITS)
    assert command(child, "led")["on_color"] == 1  # red
    assert command(child, "buzzer")["rep_count"] == 2
    assert any(e.topic.startswith("tns1:AccessControl/Denied/") for e in events)
    assert not relay(doorctl)


def test_keypad_pin_opens_the_door(doorctl, admin_api, line, spawn):
    ann(doorctl, pin="2468", auth="pin")
    child = spawn({"address": 1, "secure": False})
    admin_api.post("/api/v1/readers", reader(line))
    wait_until(lambda: online(admin_api, "front"))
    child.send(cmd="keypad", keys="2468#")
    wait_until(lambda: relay(doorctl), what="relay energised by PIN")


def test_two_readers_on_one_bus_entry_and_exit_both_decide(doorctl, admin_api, line, spawn, events):
    ann(doorctl, CARD)
    child = spawn({"address": 1, "secure": False}, {"address": 2, "serial": 2, "secure": False})
    admin_api.post("/api/v1/readers", reader(line, "in"))
    admin_api.post("/api/v1/readers", reader(line, "out", address=2, direction="exit"))
    wait_until(lambda: online(admin_api, "in") and online(admin_api, "out"))
    for address in (2, 1):
        child.send(cmd="card", address=address, bits=CARD_BITS)
        assert command(child, "led")["address"] == address
    granted = [e.source for e in events if "AccessGranted" in e.topic]
    assert [(s["reader"], s["direction"]) for s in granted] == [("out", "exit"), ("in", "entry")]


def test_secure_channel_install_then_required_after_a_restart(data_dir, line, spawn, tmp_path):
    child = spawn({"address": 1, "serial": 77, "secure": True})
    first = create_app({"DATA_DIR": str(data_dir), "HARDWARE": "sim", "TESTING": True, **PTYS})
    doorctl = first.extensions["doorctl"]
    doorctl.start()
    doorctl.readers.add(reader(line, secure_channel="install"))
    command(child, "keyset")
    wait_until(
        lambda: (
            doorctl.readers.get("front")["secure_channel_key_set"]
            and doorctl.readers.get("front")["sc"] == "up"
        ),
        what="the reader's own key stored and the secure channel up with it",
    )
    doorctl.readers.update("front", {"secure_channel": "required"})
    doorctl.stop()
    doorctl.store.close()
    again = create_app({"DATA_DIR": str(data_dir), "HARDWARE": "sim", "TESTING": True, **PTYS})
    doorctl = again.extensions["doorctl"]
    doorctl.start()
    try:
        found = wait_until(lambda: online_sc(doorctl), what="required secure channel up")
        assert found["secure_channel"] == "required" and found["serial"] == f"{77:08x}"
    finally:
        doorctl.stop()
        doorctl.store.close()


def online_sc(doorctl):
    found = doorctl.readers.get("front")
    return found if found["online"] and found["sc"] == "up" else None


def test_reader_offline_and_back(doorctl, admin_api, line, spawn, events):
    doorctl.readers.offline_after = 0.5
    first = spawn({"address": 1, "secure": False})
    admin_api.post("/api/v1/readers", reader(line))
    wait_until(lambda: online(admin_api, "front"))
    first.kill()
    wait_until(lambda: not admin_api.get("/api/v1/readers/front").json["online"], what="offline")
    states = [e.data["online"] for e in events if e.topic == "tns1:Device/Reader/Online"]
    assert states == [True, False]
    spawn({"address": 1, "secure": False})
    wait_until(lambda: online(admin_api, "front"), what="back online")


def test_upgrade_arrives_while_the_other_reader_reads_a_card(
    doorctl, admin_api, line, spawn, events
):
    ann(doorctl, CARD)
    child = spawn({"address": 1, "secure": False}, {"address": 2, "serial": 2, "secure": False})
    admin_api.post("/api/v1/readers", reader(line, "in"))
    admin_api.post("/api/v1/readers", reader(line, "out", address=2, direction="exit"))
    wait_until(lambda: online(admin_api, "in") and online(admin_api, "out"))
    firmware = os.urandom(6000)
    started = admin_api.client.post(
        "/api/v1/readers/in/upgrade",
        data=firmware,
        headers={**admin_api.headers, "Content-Type": "application/octet-stream"},
    )
    assert started.status_code == 202, started.json
    assert started.json["sha256"] == hashlib.sha256(firmware).hexdigest()
    child.send(cmd="card", address=2, bits=CARD_BITS)
    wait_until(lambda: relay(doorctl), what="the other reader's card opens the door")
    done = wait_until(
        lambda: (p := admin_api.get("/api/v1/readers/in/upgrade").json)["state"] != "running" and p,
        timeout=30,
    )
    assert (done["state"], done["sent"], done["total"]) == ("done", 6000, 6000)
    arrived = child.expect(lambda e: e["event"] == "file_done")
    assert arrived["sha256"] == hashlib.sha256(firmware).hexdigest()
    assert "in" in [e.source["reader"] for e in events if e.topic.endswith("/Upgrade")]


def test_upgrade_of_an_offline_reader_is_refused(admin_api, line):
    admin_api.post("/api/v1/readers", reader(line))
    refused = admin_api.client.post(
        "/api/v1/readers/front/upgrade",
        data=b"firmware",
        headers={**admin_api.headers, "Content-Type": "application/octet-stream"},
    )
    assert refused.status_code == 409 and "online" in refused.json["error"]


def test_bad_readers_are_refused_naming_the_field(admin_api, line):
    assert admin_api.post("/api/v1/readers", reader(line)).status_code == 201
    assert admin_api.post("/api/v1/readers", reader(line, "b", address=2)).status_code == 201
    cases = [
        (reader(line, "x", baud=1200), 400, "baud"),
        (reader(line, "x", baud="9600"), 400, "baud"),
        (reader(line, "x", address=127), 400, "address"),
        (reader(line, "x", door_id=9), 400, "door_id"),
        (reader(line, "x", direction="up"), 400, "direction"),
        (reader(line, "x", secure_channel="on"), 400, "secure_channel"),
        (reader(line, "x", poll_interval=5), 400, "poll_interval"),
        (reader(line, "x", poll_interval=0.5), 400, "poll_interval"),
        (reader(line, "x bad"), 400, "id"),
        (reader(line, "x", address=3), 409, "port"),
        (reader(line, "front", address=3), 409, "id"),
        ({**reader(line, "x"), "port": "/dev/doorctl-no-such-port"}, 400, "port"),
        ({"id": "w", "protocol": "wiegand"}, 409, "protocol"),
    ]
    for body, status, name in cases:
        answer = admin_api.post("/api/v1/readers", body)
        assert (answer.status_code, name in answer.json["fields"]) == (status, True), body
    moved = admin_api.patch("/api/v1/readers/b", {"address": 1})
    assert moved.status_code == 409 and "address" in moved.json["fields"]
    slower = admin_api.patch("/api/v1/readers/b", {"poll_interval": 100, "baud": 9600})
    assert slower.status_code == 200
    front = admin_api.get("/api/v1/readers/front").json
    assert (front["poll_interval"], front["baud"]) == (100, 9600), "the bus's settings are shared"
    assert admin_api.delete("/api/v1/readers/wiegand").status_code == 409
    assert admin_api.delete("/api/v1/readers/b").status_code == 204
    assert admin_api.get("/api/v1/readers/b").status_code == 404
    joining = admin_api.post("/api/v1/readers", reader(line, "b", address=2, baud=9600))
    assert joining.status_code == 409 and "poll_interval" in joining.json["fields"]
    assert admin_api.get("/api/v1/readers/b").status_code == 404


def test_port_failing_at_run_time_is_an_error_state_not_a_stop(admin_api, doorctl):
    gone = Line()
    doorctl.readers.add({"id": "front", "port": gone.path, "address": 1})
    doorctl.readers.stop()
    gone.close()
    events = []
    doorctl.bus.subscribe(events.append, "tns1:Device/Reader/PortError")
    doorctl.readers.start()
    found = admin_api.get("/api/v1/readers/front").json
    assert found["online"] is False
    assert found["error"] == f"The port {gone.path} can't be opened: No such file or directory."
    assert events[0].source["reader"] == "front"
    assert admin_api.get("/api/v1/doors").status_code == 200


@pytest.mark.engine_in_process  # it reaches into the engine's own objects
def test_wiegand_reader_can_change_direction(doorctl, admin_api):
    changed = admin_api.put("/api/v1/readers/wiegand", {"direction": "exit"})
    assert changed.status_code == 200 and changed.json["online"] is None
    assert doorctl.access.readers["wiegand"].direction == "exit"


def test_reader_online_state_is_a_home_assistant_entity(doorctl, line):
    doorctl.readers.add({"id": "front", "port": line.path, "address": 1})
    entity = next(e for e in doorctl._entities() if e["object_id"] == "reader_front_online")
    assert entity["component"] == "binary_sensor" and entity["device_class"] == "connectivity"


@pytest.mark.engine_in_process  # it reaches into the engine's own objects
def test_the_connector_bus_drives_the_rs485_driver_enable_around_each_frame(
    doorctl, admin_api, line, spawn
):
    """The reader connector's port switches DE on to send and off to hear the reply."""
    levels = []
    doorctl.board.rs485_port = line.path
    doorctl.board.rs485_direction = levels.append
    # The connector carries OSDP readers or the Wiegand reader, not both.
    admin_api.patch("/api/v1/readers/wiegand", {"enabled": False})
    spawn({"address": 1, "secure": False})
    admin_api.post("/api/v1/readers", reader(line))
    wait_until(lambda: online(admin_api, "front"), what="reader online through DE switching")
    assert len(levels) >= 4
    assert levels[:4] == [False, True, False, True]  # listening from the start
    assert all(a != b for a, b in zip(levels, levels[1:], strict=False))


def polls_per_second(child, seconds: float = 2.0) -> float:
    """The rate of frames the controller sends the reader, counted at the reader."""
    before = child.frames()
    gevent.sleep(seconds)
    return (child.frames() - before) / seconds


def test_poll_interval_sets_how_often_an_idle_reader_is_asked_for_cards(
    doorctl, admin_api, line, spawn
):
    child = spawn({"address": 1, "secure": False})
    added = admin_api.post("/api/v1/readers", reader(line))
    assert added.json["poll_interval"] == 15
    wait_until(lambda: online(admin_api, "front"), what="reader online")
    assert 50 <= polls_per_second(child) <= 70
    slower = admin_api.patch("/api/v1/readers/front", {"poll_interval": 200})
    assert slower.status_code == 200 and slower.json["poll_interval"] == 200
    wait_until(lambda: online(admin_api, "front"), what="reader online again")
    assert 4 <= polls_per_second(child) <= 6
    ann(doorctl, card=CARD)
    child.send(cmd="card", bits=CARD_BITS)
    wait_until(lambda: relay(doorctl), what="relay energised at the slow rate")


def reader_tamper(api) -> bool:
    alarms = api.get("/api/v1/alarms").json["alarms"]
    return next(a for a in alarms if a["alarm"] == "reader_tamper")["triggered"]


def test_an_osdp_reader_reporting_tamper_raises_the_reader_tamper_alarm(
    doorctl, admin_api, line, spawn
):
    raised = []
    doorctl.bus.subscribe(raised.append, "tns1:Device/Tamper")
    child = spawn({"address": 1, "secure": False})
    admin_api.post("/api/v1/readers", reader(line))
    wait_until(lambda: online(admin_api, "front"), what="reader online")
    assert reader_tamper(admin_api) is False
    child.send(cmd="status_report", type="local", report=[1, 0])
    wait_until(lambda: reader_tamper(admin_api), what="reader tamper alarm")
    alarm = raised[-1]
    assert alarm.source["alarm"] == "reader_tamper" and alarm.data["state"] is True
    child.send(cmd="status_report", type="local", report=[0, 0])
    wait_until(lambda: not reader_tamper(admin_api), what="reader tamper cleared")
    child.send(cmd="status_report", type="local", report=[1, 0])
    wait_until(lambda: reader_tamper(admin_api), what="reader tamper again")
    assert admin_api.delete("/api/v1/readers/front").status_code == 204
    assert reader_tamper(admin_api) is False, "a removed reader's tamper must not stay"
    assert [a.data["state"] for a in raised] == [True, False, True, False]


@pytest.mark.engine_in_process  # it reaches into the engine's own objects
def test_a_card_waiting_for_its_pin_is_dropped_with_its_reader(doorctl, admin_api, line, spawn):
    doorctl.settings.update("access", {"pin_timeout": 1})
    ann(doorctl, card=CARD, pin="2468", auth="card+pin")
    decided = []
    doorctl.bus.subscribe(decided.append, "tns1:AccessControl/")
    child = spawn({"address": 1, "secure": False})
    admin_api.post("/api/v1/readers", reader(line))
    wait_until(lambda: online(admin_api, "front"), what="reader online")
    child.send(cmd="card", bits=CARD_BITS)
    wait_until(lambda: doorctl.access._entries["front"].pending, what="card waiting for its PIN")
    assert admin_api.delete("/api/v1/readers/front").status_code == 204
    gevent.sleep(1.5)  # past the PIN timeout
    assert decided == [], "a removed reader must not decide a PIN timeout"


def test_a_port_is_a_serial_device_never_a_file_or_the_network(admin_api, tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_text("kept")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        ports = [
            f"spy:///dev/ttyAMA0?file={precious}",
            f"socket://127.0.0.1:{listener.getsockname()[1]}",
            "rfc2217://127.0.0.1:4000",
            "loop://",
            "hwgrep://.*",
            str(precious),
            "/dev/serial/by-id/../../../" + str(precious),
            "/dev/null",
        ]
        answers = [admin_api.post("/api/v1/readers", {"id": "x", "port": p}) for p in ports]
        assert select.select([listener], [], [], 0)[0] == [], "nothing connected"
    assert precious.read_text() == "kept"
    for port, answer in zip(ports, answers, strict=True):
        assert answer.status_code == 400, port
        assert "/dev/ttyAMA0" in answer.json["fields"]["port"], port
    assert [r["id"] for r in admin_api.get("/api/v1/readers").json] == ["wiegand"]


def test_a_missing_port_is_refused_in_words(admin_api):
    """pyserial says "[Errno 2] could not open port ...: [Errno 2] ...: '/dev/ttyUSB9'"."""
    answer = admin_api.post("/api/v1/readers", {"id": "x", "port": "/dev/ttyUSB9"})
    assert answer.status_code == 400
    assert answer.json["fields"]["port"] == "The port can't be opened: No such file or directory."


def test_a_pseudo_terminal_is_a_port_only_when_test_ports_are_on(data_dir, line):
    config = {"DATA_DIR": str(data_dir), "HARDWARE": "sim", "TESTING": True}
    app = create_app({**config, "ENGINE_PROCESS": False})  # the readers' own check, not started
    doorctl = app.extensions["doorctl"]
    with pytest.raises(Invalid) as refused:
        doorctl.readers.add(reader(line))
    assert "/dev/ttyAMA0" in refused.value.fields["port"]
    doorctl.readers.test_ports = True
    assert doorctl.readers.add(reader(line))["port"] == line.path
    doorctl.store.close()


def test_a_stored_port_that_is_no_serial_device_is_never_opened(data_dir, tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_text("kept")
    first = create_app({"DATA_DIR": str(data_dir), "HARDWARE": "sim", "TESTING": True})
    store = first.extensions["doorctl"].store
    row = ("old", "osdp", f"spy:///dev/ttyAMA0?file={precious}", 115200, 1, "off", 15, 1, "entry")
    columns, marks = ", ".join(FIELDS[: len(row)]), ", ".join("?" * len(row))
    store.execute(
        f"INSERT INTO readers ({columns}) VALUES ({marks})",
        row,
    )
    store.close()
    doorctl = create_app({"DATA_DIR": str(data_dir), "HARDWARE": "sim"}).extensions["doorctl"]
    doorctl.start()
    try:
        error = doorctl.readers.get("old")["error"]
    finally:
        doorctl.stop()
        doorctl.store.close()
    assert "is not allowed" in error and "/dev/ttyAMA0," in error
    assert precious.read_text() == "kept"
