"""The Peripherals page: readers listed live, added, configured, removed; errors per field."""

from __future__ import annotations

import pytest
from support import basic, csrf_token, make_user
from support_osdp import Line


def test_page_lists_the_wiegand_reader_and_stays_live(logged_in):
    page = logged_in.get("/peripherals").get_data(as_text=True)
    assert 'id="reader-wiegand"' in page and 'sse-swap="readers"' in page
    live = logged_in.get("/peripherals/readers").get_data(as_text=True)
    assert 'id="readers-live"' in live


def test_add_configure_and_remove_a_reader_from_the_page(logged_in, doorctl):
    line = Line()
    try:
        token = csrf_token(logged_in, "/peripherals")
        form = {"csrf_token": token, "id": "front", "protocol": "osdp", "port": line.path}
        form.update(baud="9600", address="3", secure_channel="off", door_id="1")
        form.update(poll_interval="30")
        added = logged_in.post("/peripherals/readers", data={**form, "direction": "entry"})
        assert added.status_code == 303
        assert doorctl.readers.get("front")["baud"] == 9600
        assert doorctl.readers.get("front")["poll_interval"] == 30
        assert "every 30 ms" in logged_in.get("/peripherals").get_data(as_text=True)
        saved = logged_in.post("/peripherals/readers/front", data={**form, "direction": "exit"})
        assert saved.status_code == 303 and doorctl.readers.get("front")["direction"] == "exit"
        removed = logged_in.post("/peripherals/readers/front/delete", data={"csrf_token": token})
        assert removed.status_code == 303 and len(doorctl.readers.list()) == 1
    finally:
        doorctl.readers.stop()
        line.close()


def test_bad_input_comes_back_per_field(logged_in):
    token = csrf_token(logged_in, "/peripherals")
    form = {"csrf_token": token, "id": "x", "protocol": "osdp", "port": "/dev/doorctl-none"}
    answer = logged_in.post("/peripherals/readers", data={**form, "baud": "1200", "address": "1"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'data-error="baud"' in page
    answer = logged_in.post("/peripherals/readers", data={**form, "poll_interval": "2"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'data-error="poll_interval"' in page
    assert 'value="2"' in page


def test_every_error_is_shown_once_next_to_its_field(logged_in, admin_api):
    """Bad baud, address, interval, key and a port that is not a serial device: all at once,
    each under its own field, none joined into a summary above the form."""
    token = csrf_token(logged_in, "/peripherals")
    form = {"csrf_token": token, "id": "x", "protocol": "osdp", "port": "/etc/passwd"}
    form.update(baud="1200", address="300", poll_interval="2", secure_channel_key="12ab")
    answer = logged_in.post("/peripherals/readers", data=form)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    for name in ("port", "baud", "address", "poll_interval", "secure_channel_key"):
        assert page.count(f'data-error="{name}"') == 1, name
    assert "Use 10 to 1000 ms." in page and page.count("Use 10 to 1000 ms.") == 1
    assert "; " not in page.split('id="add-reader"')[0].split("<main")[-1]
    assert 'id="peripherals-error"' not in page
    api = admin_api.post("/api/v1/readers", {"id": "x", "port": "/etc/passwd", "baud": 1200})
    assert set(api.json["fields"]) == {"port", "baud"}
    assert (
        api.json["error"].startswith("Port (serial device): ")
        and "Baud rate: " in api.json["error"]
    )


def test_viewers_see_the_page_but_can_not_change_readers(client, doorctl, root):
    headers = basic(*make_user(doorctl, "viewer"))
    assert client.get("/api/v1/readers", headers=headers).status_code == 200
    refused = client.post("/api/v1/readers", json={"id": "x"}, headers=headers)
    assert refused.status_code == 403


@pytest.mark.engine_in_process  # it reaches into the engine's own objects
def test_a_key_entered_on_the_page_is_stored_and_never_shown_again(logged_in, doorctl):
    line = Line()
    key = "8b:ad:f0:0d:01:23:45:67:89:ab:cd:ef:fe:dc:ba:98"
    try:
        token = csrf_token(logged_in, "/peripherals")
        form = {"csrf_token": token, "id": "front", "protocol": "osdp", "port": line.path}
        form.update(address="1", secure_channel="required", secure_channel_key=key)
        assert logged_in.post("/peripherals/readers", data=form).status_code == 303
        assert doorctl.readers.keys.get("front") == bytes.fromhex(key.replace(":", ""))
        page = logged_in.get("/peripherals").get_data(as_text=True)
        assert "A key is set" in page and "8bad" not in page and "8b:ad" not in page
        kept = {**form, "secure_channel_key": "", "direction": "exit"}
        assert logged_in.post("/peripherals/readers/front", data=kept).status_code == 303
        assert doorctl.readers.keys.get("front") == bytes.fromhex(key.replace(":", ""))
        rotate = logged_in.post("/peripherals/readers/front/rotate-key", data={"csrf_token": token})
        text = rotate.get_data(as_text=True)
        assert rotate.status_code == 409 and "wait until it is up" in text
    finally:
        doorctl.readers.stop()
        line.close()
