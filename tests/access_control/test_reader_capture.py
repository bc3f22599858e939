"""OSDP capture from the API and the Peripherals page, with a libosdp reader on the bus."""

from __future__ import annotations

import pytest
from pcap_osdp import frames
from support import basic, csrf_token, make_user
from support_osdp import wait_until

from doorctl.core.access_control.readers import capture as capture_module
from doorctl.core.access_control.readers.topics import CAPTURE
from doorctl.hal.osdp import messages as m
from doorctl.hal.wiegand import encode_card

pytestmark = pytest.mark.peer
CARD_BITS = encode_card("H10301", 12, 345)
URL = "/api/v1/readers/front/capture"


@pytest.fixture
def front(admin_api, line, spawn):
    """A libosdp reader online as `front`; the child process is returned."""
    child = spawn({"address": 1, "secure": False})
    admin_api.post("/api/v1/readers", {"id": "front", "port": line.path, "address": 1})
    wait_until(lambda: admin_api.get("/api/v1/readers/front").json["online"])
    return child


def test_a_capture_during_a_card_read_holds_that_exchange(doorctl, admin_api, line, front):
    events, reads = [], []
    doorctl.bus.subscribe(events.append, CAPTURE)
    doorctl.bus.subscribe(reads.append, "tns1:Device/Reader/CardRead")
    started = admin_api.post(URL, {"duration": 60})
    assert started.status_code == 202, started.json
    assert started.headers["Location"].endswith(URL)
    assert (started.json["state"], started.json["port"], started.json["duration"]) == (
        "recording",
        line.path,
        60,
    )
    assert admin_api.get(f"{URL}/file").status_code == 409  # not while it records
    front.send(cmd="card", bits=CARD_BITS)
    wait_until(lambda: reads, what="the card read")
    assert admin_api.delete(URL).status_code == 204
    status = admin_api.get(URL).json
    assert status["state"] == "done" and status["frames"] > 2 and status["ended"]
    answer = admin_api.get(f"{URL}/file")
    assert answer.status_code == 200 and answer.mimetype == "application/vnd.tcpdump.pcap"
    assert answer.headers["Content-Disposition"].endswith('.pcap"')
    raws = [f for f in frames(answer.data) if f.reply and f.code == m.RAW]
    assert [m.parse_reply(m.RAW, f.data)[1]["bit_string"] for f in raws] == [CARD_BITS]
    assert [e.data["state"] for e in events] == ["recording", "done"]
    assert events[0].source["reader"] == "front" and events[1].data["frames"] == status["frames"]


@pytest.mark.engine_in_process  # it reaches into the engine's own objects
def test_a_capture_ends_by_itself_after_its_time(doorctl, admin_api, front, monkeypatch):
    monkeypatch.setattr(capture_module, "DURATIONS", (1, 600))
    assert admin_api.post(URL, {"duration": 1}).status_code == 202
    assert admin_api.post(URL, {"duration": 1}).status_code == 409  # one at a time per bus
    wait_until(lambda: admin_api.get(URL).json["state"] == "done", what="capture ended")
    assert admin_api.get(f"{URL}/file").status_code == 200


@pytest.mark.parametrize("duration", [5, 601, "60", True, None, 1.5])
def test_a_bad_duration_is_refused_naming_the_field(admin_api, front, duration):
    answer = admin_api.post(URL, {"duration": duration})
    assert answer.status_code == 400
    assert answer.json["fields"] == {"duration": "Use a whole number of seconds from 10 to 600."}
    assert admin_api.get(URL).status_code == 404  # nothing was started


def test_only_osdp_readers_of_an_open_bus_and_only_administrators(client, doorctl, admin_api):
    assert admin_api.post("/api/v1/readers/wiegand/capture", {"duration": 10}).status_code == 409
    assert admin_api.post("/api/v1/readers/nobody/capture", {"duration": 10}).status_code == 404
    for role in ("viewer", "operator"):
        headers = basic(*make_user(doorctl, role))
        assert client.get(URL, headers=headers).status_code == 403
        answer = client.post(URL, json={"duration": 10}, headers=headers)
        assert answer.status_code == 403


def test_capture_from_the_page(doorctl, logged_in, front):
    token = csrf_token(logged_in, "/peripherals")
    page = logged_in.get("/peripherals").get_data(as_text=True)
    assert 'id="osdp-capture"' in page and "Start capture" in page
    refused = logged_in.post(
        "/peripherals/capture", data={"csrf_token": token, "reader": "front", "duration": "3"}
    )
    assert refused.status_code == 422 and 'data-field="duration"' in refused.get_data(as_text=True)
    form = {"csrf_token": token, "reader": "front", "duration": "30"}
    assert logged_in.post("/peripherals/capture", data=form).status_code == 303
    live = logged_in.get("/peripherals/captures").get_data(as_text=True)
    assert 'data-state="recording"' in live and 'hx-trigger="every 2s"' in live
    stop = {"csrf_token": token, "reader": "front"}
    assert logged_in.post("/peripherals/capture/stop", data=stop).status_code == 303
    page = logged_in.get("/peripherals").get_data(as_text=True)
    assert 'id="capture-download-front"' in page and "every 2s" not in page
    download = logged_in.get("/peripherals/capture/front/file")
    assert download.status_code == 200 and download.data[:4] == bytes.fromhex("d4c3b2a1")


def test_a_capture_goes_on_through_a_restart_of_its_bus(doorctl, admin_api, front):
    reads = []
    doorctl.bus.subscribe(reads.append, "tns1:Device/Reader/CardRead")
    assert admin_api.post(URL, {"duration": 60}).status_code == 202
    # A new poll interval restarts the bus (a new port object); the capture follows it.
    assert admin_api.patch("/api/v1/readers/front", {"poll_interval": 40}).status_code == 200
    wait_until(lambda: admin_api.get("/api/v1/readers/front").json["online"])
    front.send(cmd="card", bits=CARD_BITS)
    wait_until(lambda: reads, what="the card read after the restart")
    assert admin_api.delete(URL).status_code == 204
    found = frames(admin_api.get(f"{URL}/file").data)
    assert [f for f in found if f.reply and f.code == m.RAW]
    assert (False, m.ID) in [(f.reply, f.code) for f in found]  # the link starting again
