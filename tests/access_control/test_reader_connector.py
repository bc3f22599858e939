"""The reader connector carries OSDP readers or the Wiegand reader, never both at once."""

from __future__ import annotations

import re

import pytest
from support import csrf_token
from support_osdp import Line

from doorctl.hal.wiegand import encode_card

CARD_BITS = encode_card("H10301", 12, 345)


# The board's reader connector is set on the in-memory board.
pytestmark = pytest.mark.engine_in_process


@pytest.fixture
def connector(doorctl, line):
    """The board's reader connector is the pty's RS-485 line."""
    doorctl.board.rs485_port = line.path
    doorctl.readers.test_ports = True
    return line.path


def osdp(port: str, reader_id: str = "front") -> dict:
    return {"id": reader_id, "port": port, "address": 1}


def test_an_osdp_reader_on_the_connector_is_refused_while_the_wiegand_reader_is_in_use(
    admin_api, connector
):
    refused = admin_api.post("/api/v1/readers", osdp(connector))
    assert refused.status_code == 409
    assert set(refused.json["fields"]) == {"port"}
    assert "reader connector" in refused.json["fields"]["port"]
    assert connector in refused.json["fields"]["port"]
    assert [r["id"] for r in admin_api.get("/api/v1/readers").json] == ["wiegand"]


def test_the_wiegand_reader_out_of_use_leaves_the_connector_to_osdp(doorctl, admin_api, connector):
    answer = admin_api.patch("/api/v1/readers/wiegand", {"enabled": False})
    assert answer.status_code == 200 and answer.json["enabled"] is False
    assert admin_api.post("/api/v1/readers", osdp(connector)).status_code == 201
    refused = admin_api.patch("/api/v1/readers/wiegand", {"enabled": True})
    assert refused.status_code == 409
    message = refused.json["fields"]["enabled"]
    assert connector in message and "front" in message
    assert admin_api.get("/api/v1/readers/wiegand").json["enabled"] is False
    # Out of use, the Wiegand lines decide nothing.
    decisions = []
    doorctl.bus.subscribe(decisions.append, "tns1:AccessControl/")
    doorctl.board.inject_wiegand(CARD_BITS).join()
    assert decisions == []


def test_an_osdp_reader_moving_onto_the_connector_is_refused(admin_api, connector):
    other = Line()
    try:
        assert admin_api.post("/api/v1/readers", osdp(other.path)).status_code == 201
        refused = admin_api.patch("/api/v1/readers/front", {"port": connector})
        assert refused.status_code == 409 and "reader connector" in refused.json["fields"]["port"]
        assert admin_api.get("/api/v1/readers/front").json["port"] == other.path
    finally:
        other.close()


def test_osdp_readers_elsewhere_and_the_wiegand_reader_are_fine_together(admin_api, line, doorctl):
    doorctl.board.rs485_port = "/dev/ttyAMA0"  # the connector: not the pty
    doorctl.readers.test_ports = True
    assert admin_api.post("/api/v1/readers", osdp(line.path)).status_code == 201
    assert admin_api.get("/api/v1/readers/wiegand").json["enabled"] is True


def test_the_page_names_the_connector_next_to_the_field(doorctl, logged_in, connector):
    token = csrf_token(logged_in, "/peripherals")
    form = {"csrf_token": token, "protocol": "osdp", **osdp(connector), "baud": "115200"}
    answer = logged_in.post("/peripherals/readers", data=form)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 409 and 'data-field="port"' in page
    assert f"{connector} is the reader connector" in page
    # Taking the Wiegand reader out of use from its form: the unticked box is sent as "off".
    off = {"csrf_token": token, "door_id": "1", "direction": "entry", "enabled": "off"}
    assert logged_in.post("/peripherals/readers/wiegand", data=off).status_code == 303
    assert doorctl.readers.get("wiegand")["enabled"] is False
    assert "Not in use" in logged_in.get("/peripherals/readers").get_data(as_text=True)


def test_a_refused_wiegand_save_shows_the_box_as_it_was_sent(logged_in, line):
    token = csrf_token(logged_in, "/peripherals")
    off = {"csrf_token": token, "door_id": "1", "direction": "sideways", "enabled": "off"}
    answer = logged_in.post("/peripherals/readers/wiegand", data=off)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'data-field="direction"' in page
    box = re.search(r'<input type="checkbox" role="switch" name="enabled"[^>]*>', page).group()
    assert "checked" not in box
