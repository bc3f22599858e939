"""The engine process (what `doorctl serve` runs by default): readers, door and
decisions in a process of their own, reached from the web process through the same
service interfaces."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import gevent
import pytest
from brokers import Broker
from mqtt_helpers import Observer, publish
from pcap_osdp import frames
from support import ROOT_PASSWORD, start_served
from support_osdp import reader_processes, wait_until

from doorctl.app import create_app
from doorctl.core.engine.link import Link
from doorctl.core.engine.parts import Engine
from doorctl.core.engine.process import TOPIC as ENGINE
from doorctl.core.engine.sender import EVENTS_LOST, EventSender
from doorctl.core.events import Event
from doorctl.hal.osdp import messages
from doorctl.hal.wiegand import encode_card

pytestmark = pytest.mark.engine_apart  # the placement `doorctl serve` runs

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


def test_serve_runs_the_engine_apart_and_stops_both(tmp_path):
    server = start_served(tmp_path / "data")
    body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    server.call("POST", "/api/v1/setup", body, auth=None)
    assert server.call("GET", "/api/v1/doors/1")["lock"] == "locked"
    assert server.call("POST", "/api/v1/doors/1/unlock", {})["relay"] is True
    assert server.stop(signal.SIGTERM) == 0
    assert "(engine) started" in server.stderr and "the door engine stops" in server.stderr


def test_every_page_answers_with_the_engine_apart(app, logged_in):
    skipped = ("/login", "/logout", "/setup")
    rules = [r.rule for r in app.url_map.iter_rules() if "GET" in r.methods and not r.arguments]
    # /live is an event stream that needs its panels named.
    pages = [p for p in rules if not p.startswith("/api/") and "stream" not in p and p != "/live"]
    answers = {page: logged_in.get(page).status_code for page in pages if page not in skipped}
    assert {page: code for page, code in answers.items() if code not in (200, 302, 303)} == {}


def test_serve_in_one_process_when_asked(tmp_path):
    server = start_served(tmp_path / "data", "--engine-in-process")
    body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    server.call("POST", "/api/v1/setup", body, auth=None)
    engine = server.call("GET", "/api/v1/device")["door_engine"]
    assert (engine["apart"], engine["state"]) == (False, "running")
    assert server.call("POST", "/api/v1/doors/1/unlock", {})["relay"] is True
    assert server.stop(signal.SIGTERM) == 0
    assert "(whole) started" in server.stderr and "(engine) started" not in server.stderr


def test_a_restart_is_logged_with_its_cause_and_shown_while_it_lasts(
    doorctl, admin_api, logged_in, events
):
    os.kill(doorctl.engine.status()["pid"], signal.SIGKILL)
    wait_until(lambda: doorctl.engine.status()["restarts"] == 1, what="engine noticed dead")
    engine = admin_api.get("/api/v1/device").json["door_engine"]
    assert (engine["state"], engine["last_end"]["cause"]) == (
        "restarting",
        "killed by signal SIGKILL",
    )
    assert "Restarting (killed by signal SIGKILL)" in logged_in.get("/status/device").text
    assert logged_in.get("/status").status_code == 200  # its menu asks nothing of the engine
    assert logged_in.get("/doors").status_code == 503
    wait_until(lambda: doorctl.engine.status()["running"], timeout=30, what="engine back")
    card = logged_in.get("/status/device").text
    assert "Running; restarted 1 time, last killed by signal SIGKILL" in card
    doorctl.event_log.flush()
    logged = doorctl.event_log.query((ENGINE,))[0]
    assert [(e.data["state"], e.data.get("cause")) for e in reversed(logged)] == [
        ("restarting", "killed by signal SIGKILL"),
        ("running", None),
    ]


def test_the_engine_builds_only_its_own_services(data_dir):
    """No users, event log, MQTT (its outbox) or HTTPS in the engine: the web has them."""
    engine = Engine(data_dir, "sim")
    try:
        for web_only in ("users", "event_log", "mqtt", "https", "certificates", "security"):
            assert not hasattr(engine, web_only), web_only
        assert {"door", "readers", "simulator", "schedules"} <= set(engine.engine_targets())
    finally:
        engine.board.close()
        engine.store.close()


@pytest.mark.peer
def test_a_card_is_decided_while_an_engine_write_waits_for_the_database(
    doorctl, admin_api, line, events
):
    """The engine's store writes (a reader added) wait for SQLite on a thread: the reader
    loop and the decisions go on meanwhile."""
    ann(doorctl)
    holder = sqlite3.connect(doorctl.store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    reader = {"id": "front", "port": line.path, "baud": 115200, "address": 1}
    adding = gevent.spawn(admin_api.post, "/api/v1/readers", reader)
    gevent.sleep(0.5)
    doorctl.simulator.card("H10301", 12, 345)
    wait_until(lambda: granted(events), timeout=10, what="access granted")
    assert not adding.ready()  # decided while the engine's write still waits
    holder.execute("ROLLBACK")
    holder.close()
    assert adding.get(timeout=15).status_code == 201


def test_a_web_that_reads_slowly_never_holds_up_the_engine():
    """The sender queues (never waits); past its bound it drops and counts, and the
    EventsLost event tells the web how many, where they were lost."""
    import socket as plain

    ours, theirs = plain.socketpair()
    received: list[dict] = []
    engine_end = Link(_gevent_socket(ours), lambda message: None)
    sender = EventSender(engine_end, limit=100)
    sender.start()
    try:
        # nobody reads: a put that waited for the reader would never return
        with gevent.Timeout(30, AssertionError("a put waited for the reader")):
            for number in range(20_000):  # far more than the socket and the queue hold
                sender.put(Event(0, time.time(), "tns1:Door/State/DoorMode", {}, {"n": number}))
                if number % 50 == 0:
                    gevent.sleep(0)  # the sender runs, and fills the socket nobody reads
        assert sender.status()["queued"] == 100 and sender.status()["dropped"] > 0
        dropped = sender.status()["dropped"]
        web_end = Link(_gevent_socket(theirs), received.append)
        wait_until(lambda: sender.status()["queued"] == 0, what="the queue sent")
        sender.put(Event(0, time.time(), "tns1:Door/State/DoorMode", {}, {"n": "last"}))
        wait_until(lambda: received and received[-1]["event"]["data"] == {"n": "last"})
        web_end.close()
    finally:
        sender.stop()
        engine_end.close()
    topics = [m["event"]["topic"] for m in received]
    lost = [m["event"] for m in received if m["event"]["topic"] == EVENTS_LOST]
    assert lost == [lost[0]] and lost[0]["data"] == {"count": dropped, "limit": 100}
    assert topics.index(EVENTS_LOST) == len(topics) - 2  # the gap is where it was
    numbers = [m["event"]["data"]["n"] for m in received if m["event"]["topic"] != EVENTS_LOST]
    assert numbers == [*range(20_000 - dropped), "last"]  # in order, none lost but those told


def _gevent_socket(sock):
    from gevent import socket

    return socket.socket(fileno=sock.detach())


PREFIX = "dc/engine"


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


def connect_with_home_assistant(doorctl, broker) -> None:
    """The web process connected to a real mosquitto, Home Assistant discovery on."""
    client = {"connect": True, "host": "127.0.0.1", "port": broker.port, "topic_prefix": PREFIX}
    doorctl.settings.update("mqtt_client", client)
    doorctl.settings.update("mqtt_publication", {"home_assistant": True})
    wait_until(lambda: doorctl.mqtt.connected, what="connected")


@pytest.fixture
def mqtt(doorctl, root, broker):
    connect_with_home_assistant(doorctl, broker)
    return doorctl


@pytest.mark.peer
def test_mqtt_door_commands_drive_the_door_in_the_engine(mqtt, broker, events):
    mqtt.settings.update("mqtt_subscriptions", {"subscriptions": [], "door_commands": True})
    # Home Assistant's status topic is subscribed already: wait for the door commands'.
    door_commands = lambda: any(f.endswith("/command") for f in mqtt.mqtt.status()["subscribed"])  # noqa: E731
    wait_until(door_commands, what="SUBACK of the door command topic")
    publish(broker.port, f"{PREFIX}/door/1/command", "lockdown")
    commands = lambda: [e for e in events if e.topic == "tns1:Door/Command"]  # noqa: E731
    wait_until(commands, what="the command's event")
    assert commands()[0].data["result"] == "accepted"
    assert mqtt.engine.status()["pid"] != os.getpid()
    assert mqtt.doors[1].status()["mode"] == "locked_down"
    publish(broker.port, f"{PREFIX}/door/1/command", json.dumps({"action": "explode"}))
    wait_until(lambda: len(commands()) == 2, what="the refused command's event")
    assert commands()[1].data["result"] == "rejected"
    assert "action" in commands()[1].data["reason"].lower()


@pytest.mark.peer
def test_home_assistant_sees_an_osdp_reader_of_the_engine(
    doorctl, root, broker, admin_api, line, tmp_path
):
    serial = doorctl.device.serial
    config = f"homeassistant/binary_sensor/doorctl_{serial}/reader_front_online/config"
    watch = Observer(broker.port, "#")
    try:
        with reader_processes(line.master, tmp_path, 0.005) as spawn:
            spawn({"address": 1, "secure": False})
            reader = {"id": "front", "port": line.path, "baud": 115200, "address": 1}
            assert admin_api.post("/api/v1/readers", reader).status_code == 201
            wait_until(lambda: admin_api.get("/api/v1/readers/front").json["online"])
            connect_with_home_assistant(doorctl, broker)
            wait_until(lambda: watch.payloads(config), what="the reader's entity")
            state = json.loads(watch.payloads(config)[-1])["state_topic"]
            wait_until(lambda: watch.payloads(state)[-1:] == [b"ON"], what="reader online")
    finally:
        watch.close()
