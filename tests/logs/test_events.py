"""The event bus, the event log and its API and SSE stream."""

import json
import os
import sqlite3

import gevent
from gevent.fileobject import FileObject

from doorctl.core.access_control.cardholder_import import IMPORTED, import_csv
from doorctl.core.access_control.credentials import card_key
from doorctl.core.eventlog import EventLog
from doorctl.core.events import EventBus
from doorctl.core.store import Store, connect


def test_failing_subscriber_never_breaks_the_others():
    bus = EventBus()
    seen = []
    bus.subscribe(lambda e: 1 / 0)
    bus.subscribe(seen.append, "tns1:Door/")
    bus.publish("tns1:Door/State/DoorMode", data={"mode": "access"})
    bus.publish("tns1:Device/Trigger/Relay")
    assert [e.topic for e in seen] == ["tns1:Door/State/DoorMode"]


def test_event_log_keeps_events_and_trims_to_retention(tmp_path):
    bus = EventBus()
    log = EventLog(Store(tmp_path), bus, retention=50)
    log.start()
    for n in range(120):
        bus.publish("tns1:Test/Tick", data={"n": n})
    log.flush()
    events, cursor = log.query(limit=100)
    assert [e.data["n"] for e in events] == list(range(119, 69, -1))
    assert cursor is None
    log.stop()


def test_event_log_survives_a_restart_and_ids_go_on(tmp_path, app):
    doorctl = app.extensions["doorctl"]
    first = doorctl.bus.publish("tns1:Test/One")
    doorctl.event_log.flush()
    from doorctl.core.appliance import Appliance

    again = Appliance(doorctl.data_dir)
    assert again.bus.publish("tns1:Test/Two").id == first.id + 1
    assert again.event_log.query()[0][0].topic == "tns1:Test/One"


def test_events_api_filters_and_pages(doorctl, viewer_api):
    for n in range(5):
        doorctl.bus.publish("tns1:Test/Paged/One", data={"n": n})
        doorctl.bus.publish("tns1:Test/Other", data={"n": n})
    page = viewer_api.get("/api/v1/events?topic=tns1:Test/Paged/&limit=3").json
    assert [e["data"]["n"] for e in page["events"]] == [4, 3, 2]
    assert set(page["events"][0]) == {"id", "time", "topic", "source", "data", "key", "property"}
    rest = viewer_api.get(f"/api/v1/events?topic=tns1:Test/Paged/&before={page['next']}").json
    assert [e["data"]["n"] for e in rest["events"]] == [1, 0]
    assert rest["next"] is None


def test_events_api_rejects_bad_filters_by_name(viewer_api):
    bad_time = viewer_api.get("/api/v1/events?since=yesterday")
    assert bad_time.status_code == 400
    assert "“yesterday” is not a date and time" in bad_time.json["fields"]["since"]
    assert "limit" in viewer_api.get("/api/v1/events?limit=0").json["fields"]


def test_events_api_time_filter(doorctl, viewer_api):
    doorctl.bus.publish("tns1:Test/Old")
    gevent.sleep(0.05)
    doorctl.event_log.flush()
    cut = doorctl.event_log.query()[0][0].time + 0.01
    doorctl.bus.publish("tns1:Test/New")
    topics = [e["topic"] for e in viewer_api.get(f"/api/v1/events?since={cut}").json["events"]]
    assert topics == ["tns1:Test/New"]


def read_sse(response, count):
    """The first `count` events of an SSE response as (id, topic, data)."""
    events, buffer = [], ""
    for chunk in response.response:
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            fields = dict(
                line.split(": ", 1)
                for line in block.splitlines()
                if ": " in line and not line.startswith(":")
            )
            if "data" in fields:
                events.append((int(fields["id"]), fields["event"], json.loads(fields["data"])))
        if len(events) >= count:
            return events
    return events


def test_sse_stream_sends_new_events_and_filters(doorctl, viewer_api):
    response = viewer_api.get("/api/v1/events/stream?topic=tns1:Door/", buffered=False)
    assert response.mimetype == "text/event-stream"
    doorctl.bus.publish("tns1:Device/Trigger/Relay")
    doorctl.bus.publish("tns1:Door/State/DoorMode", data={"mode": "unlocked"})
    ((event_id, topic, data),) = read_sse(response, 1)
    assert topic == "tns1:Door/State/DoorMode"
    assert data["data"] == {"mode": "unlocked"}
    response.close()


def test_sse_stream_replays_after_last_event_id(doorctl, viewer_api):
    first = doorctl.bus.publish("tns1:Test/A")
    doorctl.bus.publish("tns1:Test/B")
    doorctl.bus.publish("tns1:Test/C")
    response = viewer_api.get(
        "/api/v1/events/stream",
        headers={"Last-Event-ID": str(first.id)},
        buffered=False,
    )
    assert [t for _, t, _ in read_sse(response, 2)] == ["tns1:Test/B", "tns1:Test/C"]
    response.close()


def test_a_stream_opened_during_an_import_still_sends_its_event(doorctl, viewer_api):
    """The import's event is numbered when it starts, and sent after later ones."""
    before = doorctl.bus.publish("tns1:Test/Before")
    read_end, write_end = os.pipe()
    source = FileObject(read_end, "rb")
    importing = gevent.spawn(import_csv, doorctl.event_log, doorctl.data_dir, source, "utf-8")
    gevent.sleep(0)
    during = doorctl.bus.publish("tns1:Test/During")
    response = viewer_api.get(
        "/api/v1/events/stream", headers={"Last-Event-ID": str(before.id)}, buffered=False
    )
    os.write(write_end, b"name\nAnn\n")
    os.close(write_end)
    assert importing.get(timeout=30).cardholders == 1
    sent = []
    with gevent.Timeout(5, False):
        sent = read_sse(response, 2)
    assert [(i, t) for i, t, _ in sent] == [(during.id, during.topic), (before.id + 1, IMPORTED)]
    response.close()


def test_logs_page_lists_events(doorctl, logged_in):
    doorctl.bus.publish("tns1:Door/State/DoorMode", data={"mode": "locked"})
    page = logged_in.get("/logs/events?topic=tns1:Door/").get_data(as_text=True)
    assert "tns1:Door/State/DoorMode" in page  # in the row's details
    assert "mode=locked" not in page
    assert 'sse-connect="/logs/events/stream?topic=tns1:Door/"' in page


def test_logs_page_stream_sends_each_event_as_a_row(doorctl, logged_in):
    response = logged_in.get("/logs/events/stream?topic=tns1:Door/", buffered=False)
    source = {"door": 1, "name": "Front"}
    event = doorctl.bus.publish("tns1:Door/State/DoorMode", source, {"mode": "locked"})
    chunks = iter(response.response)
    next(chunks)  # the retry and comment lines
    message = next(chunks)
    message = message.decode() if isinstance(message, bytes) else message
    assert message.startswith(f"id: {event.id}\nevent: row\ndata: ")
    assert '<summary class="sentence">Door Front locked</summary>' in message  # as on the page
    assert "tns1:Door/State/DoorMode" in message
    response.close()


def test_the_door_opens_while_the_disk_is_busy_and_its_events_follow(doorctl):
    holder = doorctl.access.cardholders.create({"name": "Ann"})
    card = {"format": "H10301", "facility": 12, "number": 345}
    doorctl.access.credentials.create({"cardholder_id": holder["id"], "card": card})
    doorctl.access.rules.create({"cardholder_ids": [holder["id"]]})
    blocker = sqlite3.connect(doorctl.store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database
    decision = doorctl.access.present_card("wiegand", card_key("H10301", 12, 345))
    assert decision.granted
    assert doorctl.doors[1].status()["lock"] == "unlocked"
    blocker.execute("COMMIT")
    doorctl.event_log.flush()
    granted, _ = doorctl.event_log.query(("tns1:AccessControl/AccessGranted/",))
    assert [e.data["cardholder_id"] for e in granted] == [holder["id"]]


def test_events_queued_while_the_lock_outlasts_the_busy_wait_are_written_later(
    tmp_path, monkeypatch
):
    # The busy wait is 10 s on the device; a short one makes SQLite give up at once.
    def quick(path):
        conn = connect(path)
        conn.execute("PRAGMA busy_timeout = 50")
        return conn

    monkeypatch.setattr("doorctl.core.diskwriter.connect", quick)
    monkeypatch.setattr("doorctl.core.diskwriter.RETRY_DELAY", 0.05, raising=False)
    bus = EventBus()
    log = EventLog(Store(tmp_path), bus)
    log.start()
    blocker = sqlite3.connect(log.store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # an import, say, holds the database
    bus.publish("tns1:Test/Tick", data={"n": 1})
    gevent.sleep(0.3)  # the writer gave up at least once
    blocker.execute("COMMIT")
    bus.publish("tns1:Test/Tick", data={"n": 2})
    log.flush(timeout=2)
    events, _ = log.query()
    assert [e.data["n"] for e in events] == [2, 1]
    log.stop()


def test_events_of_a_failed_write_stay_queued_for_the_next(tmp_path, monkeypatch):
    monkeypatch.setattr("doorctl.core.diskwriter.RETRY_DELAY", 0.05)
    bus = EventBus()
    log = EventLog(Store(tmp_path), bus)
    log.start()
    other = sqlite3.connect(log.store.path, isolation_level=None)
    # a disk that refuses the write, as a full SD card does
    other.execute(
        "CREATE TRIGGER full BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'full'); END"
    )
    bus.publish("tns1:Test/Tick", data={"n": 1})
    gevent.sleep(0.2)
    other.execute("DROP TRIGGER full")
    log.flush(timeout=2)
    assert [e.data["n"] for e in log.query()[0]] == [1]
    log.stop()
