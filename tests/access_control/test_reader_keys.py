"""Readers' secure channel keys against libosdp readers: entered, rotated, failing."""

from __future__ import annotations

import json
import logging

import pytest
from support_osdp import wait_until

from doorctl.hal.osdp import KeyStore
from doorctl.hal.wiegand import encode_card

# The key store and the failing watch's hold time are the readers' own (in-process) objects.
pytestmark = [pytest.mark.peer, pytest.mark.engine_in_process]
KEY = bytes.fromhex("8badf00d0123456789abcdeffedcba98")
OTHER = bytes.fromhex("00112233445566778899aabbccddeeff")
CARD_BITS = encode_card("H10301", 12, 345)
FAILURE = "tns1:Device/Reader/SecureChannelFailure"


@pytest.fixture
def seen(doorctl):
    events = []
    doorctl.bus.subscribe(events.append)
    return events


@pytest.fixture
def fast_watch(doorctl):
    """The failing state clears after 1 s up instead of a minute."""
    doorctl.readers.hold = 1.0
    return doorctl.readers


def keyed_reader(spawn, tmp_path, key: bytes = KEY, **pd):
    """A libosdp reader that arrives with its own key: it refuses install mode."""
    (tmp_path / "scbk-1.hex").write_text(key.hex())
    return spawn({"address": 1, "serial": 0x90, **pd})


def reader(line, **fields) -> dict:
    return {"id": "front", "port": line.path, "address": 1, "secure_channel": "required", **fields}


def secure(api):
    found = api.get("/api/v1/readers/front").json
    return found if found["online"] and found["sc"] == "up" else None


def spaced(key: bytes) -> str:
    """A key as installers' tools print it: pairs separated by spaces."""
    return " ".join(f"{b:02X}" for b in key)


def granted(doorctl):
    access = doorctl.access
    holder = access.cardholders.create({"name": "Ann"})
    card = {"format": "H10301", "facility": 12, "number": 345}
    access.credentials.create({"cardholder_id": holder["id"], "card": card})
    access.rules.create({"cardholder_ids": [holder["id"]]})


def assert_key_nowhere(key: bytes, answers: list, events: list, logs: str, data_dir) -> None:
    """The key is in no answer, event or log line, and only sealed on disk."""
    for text in (json.dumps(answers), json.dumps([(e.topic, e.source, e.data) for e in events])):
        assert key.hex() not in text.lower() and spaced(key) not in text
    assert key.hex() not in logs.lower()
    for path in data_dir.iterdir():
        if path.is_file():
            raw = path.read_bytes()
            assert key not in raw and key.hex().encode() not in raw.lower(), path.name


def test_a_reader_with_its_own_key_runs_required_with_the_key_entered(
    doorctl, admin_api, line, spawn, tmp_path, seen, data_dir, caplog, logged_in
):
    caplog.set_level(logging.DEBUG)
    granted(doorctl)
    child = keyed_reader(spawn, tmp_path)
    added = admin_api.post("/api/v1/readers", reader(line, secure_channel_key=spaced(KEY)))
    assert added.status_code == 201, added.json
    assert "secure_channel_key" not in added.json and added.json["secure_channel_key_set"]
    found = wait_until(lambda: secure(admin_api), what="required secure channel up")
    assert "secure_channel_key" not in found
    child.send(cmd="status")
    assert child.expect(lambda e: e["event"] == "status")["sc"] is True
    child.send(cmd="card", bits=CARD_BITS)
    wait_until(lambda: doorctl.board.outputs["relay"].read(), what="relay energised")
    key_set = [e for e in seen if e.topic == "tns1:Device/Reader/KeySet"]
    assert [e.data for e in key_set] == [{"by": "administrator"}]
    answers = [added.json, found, admin_api.get("/api/v1/readers").json]
    page = logged_in.get("/peripherals").get_data(as_text=True)
    assert "A key is set" in page and KEY.hex() not in page.lower()
    doorctl.event_log.flush()
    assert_key_nowhere(KEY, answers, seen, caplog.text, data_dir)


def test_a_bad_key_is_refused_naming_the_field_and_nothing_changes(admin_api, line, logged_in):
    cases = {
        "12ab": "32 hex digits, not 4",
        "zz" * 16: "hex digits only",
        "30313233 34353637 38393A3B 3C3D3E3F": "SCBK-D",
        "00" * 17: "not 34",
    }
    for key, message in cases.items():
        answer = admin_api.post("/api/v1/readers", reader(line, secure_channel_key=key))
        assert answer.status_code == 400, key
        assert message in answer.json["fields"]["secure_channel_key"]
    wrong_type = admin_api.post("/api/v1/readers", reader(line, secure_channel_key=123))
    assert wrong_type.json["fields"] == {"secure_channel_key": "Must be text."}
    wiegand = admin_api.patch("/api/v1/readers/wiegand", {"secure_channel_key": KEY.hex()})
    assert "Only OSDP readers" in wiegand.json["fields"]["secure_channel_key"]
    assert [r["id"] for r in admin_api.get("/api/v1/readers").json] == ["wiegand"]
    from support import csrf_token

    form = {"csrf_token": csrf_token(logged_in, "/peripherals"), "protocol": "osdp"}
    form.update(id="front", port=line.path, address="1", secure_channel_key="0f" * 15)
    page = logged_in.post("/peripherals/readers", data=form)
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and 'data-field="secure_channel_key"' in text
    assert "32 hex digits, not 30" in text and "0f" * 15 not in text


def test_rotation_gives_the_reader_a_new_key_stored_once_it_has_it(
    doorctl, admin_api, line, spawn, tmp_path, seen, caplog, data_dir
):
    caplog.set_level(logging.DEBUG)
    granted(doorctl)
    child = keyed_reader(spawn, tmp_path)
    admin_api.post("/api/v1/readers", reader(line, secure_channel_key=KEY.hex()))
    wait_until(lambda: secure(admin_api), what="required secure channel up")
    rotated = admin_api.post("/api/v1/readers/front/rotate-key", {})
    assert rotated.status_code == 200, rotated.json
    assert child.expect(lambda e: e.get("command") == "keyset")
    new = doorctl.readers.keys.get("front")
    assert new != KEY and (tmp_path / "scbk-1.hex").read_text() == new.hex()
    assert doorctl.readers.keys.alternative("front") is None
    found = wait_until(lambda: secure(admin_api), what="secure channel up with the new key")
    assert found["secure_channel_key_set"] == rotated.json["secure_channel_key_set"]
    child.send(cmd="card", bits=CARD_BITS)
    wait_until(lambda: doorctl.board.outputs["relay"].read(), what="card read with the new key")
    by = [e.data["by"] for e in seen if e.topic == "tns1:Device/Reader/KeySet"]
    assert by == ["administrator", "rotation"]
    ups = [e for e in seen if e.topic == "tns1:Device/Reader/SecureChannel"]
    assert [(e.data["state"], e.data["default_key"]) for e in ups] == [("up", False)] * 2
    doorctl.event_log.flush()
    for key in (KEY, new):
        assert_key_nowhere(key, [rotated.json, found], seen, caplog.text, data_dir)


def test_rotation_needs_the_secure_channel_up(admin_api, line):
    admin_api.post("/api/v1/readers", reader(line, secure_channel_key=KEY.hex()))
    refused = admin_api.post("/api/v1/readers/front/rotate-key", {})
    assert refused.status_code == 409 and "secure channel" in refused.json["error"]
    wiegand = admin_api.post("/api/v1/readers/wiegand/rotate-key", {})
    assert wiegand.status_code == 409 and "Only OSDP readers" in wiegand.json["error"]


def alarm(api) -> bool:
    alarms = api.get("/api/v1/alarms").json["alarms"]
    return next(a for a in alarms if a["alarm"] == "reader_secure_channel")["triggered"]


def test_a_reader_with_another_key_raises_the_alarm_once_and_is_never_rekeyed(
    doorctl, admin_api, line, spawn, tmp_path, seen, fast_watch
):
    child = keyed_reader(spawn, tmp_path)
    admin_api.post("/api/v1/readers", reader(line, secure_channel_key=OTHER.hex()))
    wait_until(lambda: alarm(admin_api), what="reader secure channel alarm")
    failure = next(e for e in seen if e.topic == FAILURE)
    assert failure.data["cause"] == "wrong_key" and "wrong key" in failure.data["reason"]
    assert failure.source["reader"] == "front" and failure.property
    # The bus tries again every 5 s; the event and the alarm are told once.
    wait_until(lambda: sum(e.topic.endswith("SecureChannel") for e in seen) >= 1)
    tries = child.frames()
    wait_until(lambda: child.frames() > tries + 4, timeout=12, what="a second attempt")
    assert [e.data["failing"] for e in seen if e.topic == FAILURE] == [True]
    raised = [e.data["state"] for e in seen if e.source.get("alarm") == "reader_secure_channel"]
    assert raised == [True]
    with pytest.raises(AssertionError):
        child.expect(lambda e: e.get("command") == "keyset", timeout=0.5)
    assert (tmp_path / "scbk-1.hex").read_text() == KEY.hex()
    admin_api.patch("/api/v1/readers/front", {"secure_channel_key": KEY.hex()})
    wait_until(lambda: secure(admin_api), what="up with the right key")
    wait_until(lambda: not alarm(admin_api), what="alarm cleared")
    assert [e.data["failing"] for e in seen if e.topic == FAILURE] == [True, False]


def test_no_key_stored_says_so(admin_api, line, spawn, tmp_path, seen):
    keyed_reader(spawn, tmp_path)
    admin_api.post("/api/v1/readers", reader(line))
    wait_until(lambda: alarm(admin_api), what="reader secure channel alarm")
    failure = next(e for e in seen if e.topic == FAILURE)
    assert failure.data["cause"] == "no_key" and "enter its key" in failure.data["reason"]
    assert admin_api.get("/api/v1/readers/front").json["secure_channel_key_set"] is None


def test_a_key_an_earlier_version_stored_in_clear_is_sealed_and_used(
    doorctl, admin_api, line, spawn, tmp_path, data_dir, seen
):
    legacy = KeyStore(data_dir)
    legacy.put("c3b2a1-00000090", KEY)  # vendor bytes in wire order (OUI a1-b2-c3), serial
    keyed_reader(spawn, tmp_path)
    admin_api.post("/api/v1/readers", reader(line))
    wait_until(lambda: secure(admin_api), what="required secure channel up with the old key")
    assert legacy.names() == [] and doorctl.readers.keys.get("front") == KEY
    assert [e.data for e in seen if e.topic.endswith("KeySet")] == [{"by": "upgrade"}]
    assert KEY.hex() not in (data_dir / "osdp-keys.json").read_text()


def test_a_reader_refusing_the_new_key_keeps_its_own_and_the_administrator_is_told(
    doorctl, admin_api, line, spawn, tmp_path, seen
):
    keyed_reader(spawn, tmp_path, refuse=["keyset"])
    admin_api.post("/api/v1/readers", reader(line, secure_channel_key=KEY.hex()))
    wait_until(lambda: secure(admin_api), what="required secure channel up")
    refused = admin_api.post("/api/v1/readers/front/rotate-key", {})
    assert refused.status_code == 409
    assert "did not take the new key" in refused.json["error"] and "NAK" in refused.json["error"]
    assert doorctl.readers.keys.get("front") == KEY
    rotation = [e.data for e in seen if e.topic == "tns1:Device/Reader/KeyRotation"]
    assert rotation == [{"state": "failed", "reason": "The reader kept its key."}]
    assert wait_until(lambda: secure(admin_api), what="secure channel up with the old key")


def test_the_alarm_ends_once_the_channel_has_stayed_up(
    admin_api, line, spawn, tmp_path, seen, fast_watch
):
    first = keyed_reader(spawn, tmp_path)
    admin_api.post("/api/v1/readers", reader(line, secure_channel_key=OTHER.hex()))
    wait_until(lambda: alarm(admin_api), what="reader secure channel alarm")
    first.kill()
    keyed_reader(spawn, tmp_path, OTHER)  # the reader is given the stored key elsewhere
    wait_until(lambda: secure(admin_api), timeout=15, what="up at the next attempt")
    assert alarm(admin_api), "cleared only once the channel has stayed up"
    wait_until(lambda: not alarm(admin_api), timeout=5, what="alarm cleared")
    assert [e.data["failing"] for e in seen if e.topic == FAILURE] == [True, False]


def test_a_reader_not_in_secure_mode_is_named_so_not_offline(
    admin_api, line, spawn, seen, logged_in
):
    spawn({"address": 1, "serial": 0x91, "plain_only": True})
    admin_api.post("/api/v1/readers", reader(line, secure_channel_key=KEY.hex()))
    wait_until(lambda: alarm(admin_api), what="reader secure channel alarm")
    failure = next(e for e in seen if e.topic == FAILURE)
    assert failure.data["cause"] == "no_secure_answer"
    assert failure.data["reason"] == "The reader does not answer in secure mode."
    found = admin_api.get("/api/v1/readers/front").json
    assert (found["sc"], found["sc_cause"]) == ("failed", "no_secure_answer")
    page = logged_in.get("/peripherals").get_data(as_text=True)
    assert "Not answering in secure mode" in page
    assert not [e for e in seen if e.topic.endswith("/Online") and not e.data["online"]]


def test_an_administrator_clears_a_stored_key_and_the_audit_log_says_so(
    doorctl, admin_api, viewer_api, line, spawn, tmp_path, seen, logged_in
):
    keyed_reader(spawn, tmp_path)
    admin_api.post("/api/v1/readers", reader(line, secure_channel_key=KEY.hex()))
    wait_until(lambda: secure(admin_api), what="required secure channel up")
    assert viewer_api.delete("/api/v1/readers/front/secure-channel-key").status_code == 403
    cleared = admin_api.delete("/api/v1/readers/front/secure-channel-key")
    assert cleared.status_code == 204
    found = admin_api.get("/api/v1/readers/front").json
    assert found["secure_channel_key_set"] is None and "secure_channel_key" not in found
    # The session with the old key ends: the required reader now fails for want of a key.
    wait_until(lambda: alarm(admin_api), what="no key: the alarm")
    causes = [e.data.get("cause") for e in seen if e.topic == FAILURE]
    assert causes[-1] == "no_key"
    assert [e.data for e in seen if e.topic.endswith("/KeyCleared")] == [{"by": "administrator"}]
    changed = [e.data for e in seen if e.topic == "tns1:Configuration/Reader/Changed"]
    assert changed[-1]["action"] == "clear_key"
    wiegand = admin_api.delete("/api/v1/readers/wiegand/secure-channel-key")
    assert wiegand.status_code == 409 and "Only OSDP readers" in wiegand.json["error"]
    assert admin_api.delete("/api/v1/readers/nope/secure-channel-key").status_code == 404


def test_the_page_clears_a_key_after_asking_with_the_reader_named(
    doorctl, admin_api, line, logged_in
):
    from support import csrf_token

    admin_api.post("/api/v1/readers", reader(line, secure_channel_key=KEY.hex()))
    page = logged_in.get("/peripherals").get_data(as_text=True)
    assert 'hx-confirm="Clear the secure channel key of reader front?' in page
    token = csrf_token(logged_in, "/peripherals")
    done = logged_in.post("/peripherals/readers/front/clear-key", data={"csrf_token": token})
    assert done.status_code == 303
    shown = logged_in.get("/peripherals").get_data(as_text=True)
    assert "The secure channel key of reader front was cleared." in shown
    assert "No key is stored." in shown
    assert admin_api.get("/api/v1/readers/front").json["secure_channel_key_set"] is None
    assert 'id="clear-key-front"' not in shown
