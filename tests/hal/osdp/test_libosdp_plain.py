"""The control panel against real libosdp readers, without a secure channel."""

import pytest

from doorctl.hal.osdp import ReaderConfig

pytestmark = pytest.mark.peer

H10301 = "0" + "00001100" + "0000000001111011" + "1"  # facility 12, number 123


def test_id_and_capabilities(spawn_reader, make_bus):
    spawn_reader({"address": 1, "serial": 0x1234, "secure": False})
    bus, events = make_bus(ReaderConfig(1))
    online = events.wait("online", 1)
    assert online["serial"] == "00001234"
    assert online["firmware"] == "1.2.3"
    assert (online["vendor"], online["model"], online["version"]) == ("a1b2c3", 7, 2)
    output = online["capabilities"]["output_control"]
    assert (output["compliance"], output["items"], output["name"]) == (1, 2, "Output control")
    assert bus.readers()[0]["online"] is True


def test_card_read_arrives_with_its_bits(spawn_reader, make_bus):
    reader = spawn_reader({"address": 1, "secure": False})
    _, events = make_bus(ReaderConfig(1))
    events.wait("online", 1)
    reader.send(cmd="card", bits=H10301)
    card = events.wait("card", 1)
    assert card["bit_string"] == H10301
    assert (card["bits"], card["format"]) == (26, "wiegand")
    assert (card["facility"], card["number"]) == (12, 123)


def test_raw_card_of_odd_length(spawn_reader, make_bus):
    reader = spawn_reader({"address": 1, "secure": False})
    _, events = make_bus(ReaderConfig(1))
    events.wait("online", 1)
    reader.send(cmd="card", bits="1011001", format=0)
    card = events.wait("card", 1)
    assert (card["bit_string"], card["format"], card["data"]) == ("1011001", "raw", "b2")


def test_keypad_keys(spawn_reader, make_bus):
    reader = spawn_reader({"address": 1, "secure": False})
    _, events = make_bus(ReaderConfig(1))
    events.wait("online", 1)
    reader.send(cmd="keypad", keys="1234")
    assert events.wait("keypad", 1)["keys"] == "1234"


def test_led_buzzer_text_output_reach_the_reader(spawn_reader, make_bus):
    reader = spawn_reader({"address": 1, "secure": False})
    bus, events = make_bus(ReaderConfig(1))
    events.wait("online", 1)
    led = {"on_color": "green", "on_count": 5, "off_count": 5, "timer": 20}
    assert bus.led(1, temporary=led).get(timeout=2)["ok"]
    got = reader.expect(lambda e: e.get("command") == "led")
    assert (got["on_color"], got["timer_count"], got["temporary"]) == (2, 20, True)
    assert bus.buzzer(1, on_count=3, off_count=2, repeat=4).get(timeout=2)["ok"]
    got = reader.expect(lambda e: e.get("command") == "buzzer")
    assert (got["on_count"], got["off_count"], got["rep_count"]) == (3, 2, 4)
    assert bus.text(1, "Welcome").get(timeout=2)["ok"]
    assert reader.expect(lambda e: e.get("command") == "text")["data"] == "Welcome"
    assert bus.output(1, 1, 2).get(timeout=2)["ok"]
    got = reader.expect(lambda e: e.get("command") == "output")
    assert (got["output_no"], got["control_code"]) == (1, 2)


def test_nak_for_missing_output_is_reported(spawn_reader, make_bus):
    spawn_reader({"address": 1, "secure": False})
    bus, events = make_bus(ReaderConfig(1))
    events.wait("online", 1)
    result = bus.output(1, 7, 2).get(timeout=2)
    assert (result["ok"], result["reply"]) == (False, "nak")
    assert events.wait("nak", 1)["command"] == 0x68


def test_lstat_and_mfgrep(spawn_reader, make_bus):
    reader = spawn_reader({"address": 1, "secure": False})
    bus, events = make_bus(ReaderConfig(1))
    events.wait("online", 1)
    result = bus.status(1).get(timeout=2)
    assert (result["reply"], result["tamper"], result["power"]) == ("lstat", False, False)
    reader.send(cmd="mfgrep", vendor_code=0x0A0B0C, data="c0ffee")
    assert events.wait("mfgrep", 1) == {"vendor_code": 0x0A0B0C, "data": "c0ffee"}


def test_commands_to_an_offline_reader_fail_at_once(make_bus):
    bus, _ = make_bus(ReaderConfig(3))
    assert bus.led(3, permanent={"on_color": "red"}).get(timeout=1) == {
        "ok": False,
        "error": "offline",
    }


def test_direction_pin_is_raised_only_while_sending(spawn_reader, make_bus):
    reader = spawn_reader({"address": 1, "secure": False})
    transitions = []
    _, events = make_bus(ReaderConfig(1), set_direction=transitions.append)
    events.wait("online", 1)
    reader.send(cmd="card", bits="11")
    assert events.wait("card", 1)["bits"] == 2
    assert transitions[0] is False
    assert all(a != b for a, b in zip(transitions, transitions[1:], strict=False))
    assert transitions.count(True) >= 3


def test_status_the_reader_reports_by_itself(spawn_reader, make_bus):
    """Tamper and power (LSTATR), inputs (ISTATR) and outputs (OSTATR) in POLL replies."""
    reader = spawn_reader({"address": 1, "secure": False})
    bus, events = make_bus(ReaderConfig(1))
    events.wait("online", 1)
    reader.send(cmd="status_report", type="local", report=[1, 0])
    assert events.wait("lstat", 1) == {"tamper": True, "power": False}
    reader.send(cmd="status_report", type="input", report=[1, 0, 0, 1])
    assert events.wait("istat", 1) == {"inputs": [1, 0, 0, 1]}
    reader.send(cmd="status_report", type="output", report=[0, 1])
    assert events.wait("ostat", 1) == {"outputs": [0, 1]}
    reader.send(cmd="status_report", type="local", report=[0, 1])
    assert events.wait("lstat", 1) == {"tamper": False, "power": True}
    assert bus.readers()[0]["tamper"] is False
