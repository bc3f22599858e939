"""Commands a libosdp reader refuses (osdp_NAK): counted per command, cards keep coming."""

import pytest

from doorctl.hal.osdp import ReaderConfig

pytestmark = pytest.mark.peer

H10301 = "0" + "00001100" + "0000000001111011" + "1"  # facility 12, number 123
# A reader without a buzzer or outputs, whose application refuses LED commands.
REFUSING = {"address": 1, "secure": False, "without": ["AudibleControl", "OutputControl"]}


def test_refused_commands_are_counted_with_the_specifications_reason(spawn_reader, make_bus):
    reader = spawn_reader({**REFUSING, "refuse": ["led"]})
    bus, events = make_bus(ReaderConfig(1))
    events.wait("online", 1)
    buzzer = bus.buzzer(1, on_count=1).get(timeout=2)
    assert (buzzer["ok"], buzzer["reply"], buzzer["code"]) == (False, "nak", 3)
    bus.output(1, 0, 2).get(timeout=2)
    for _ in range(2):
        assert bus.led(1, temporary={"on_color": "red"}).get(timeout=2)["code"] == 9
    naks = bus.readers()[0]["naks"]
    assert naks["osdp_BUZ"] == {
        "count": 1,
        "code": 3,
        "error": "Unknown command code: command not implemented by the PD",
    }
    assert naks["osdp_LED"] == {"count": 2, "code": 9, "error": "Unable to process command record"}
    assert naks["osdp_OUT"]["count"] == 1
    nak = events.wait("nak", 1)
    assert (nak["name"], nak["command"], nak["reason"]) == ("osdp_BUZ", 0x6A, "unknown_command")
    # The link is fine: the reader stays online and its cards arrive.
    reader.send(cmd="card", bits=H10301)
    assert events.wait("card", 1)["bit_string"] == H10301
    assert bus.readers()[0]["online"] and "offline" not in [k for _, k, _ in events.seen]


def test_a_reader_that_accepts_everything_has_no_naks(spawn_reader, make_bus):
    spawn_reader({"address": 1, "secure": False})
    bus, events = make_bus(ReaderConfig(1))
    events.wait("online", 1)
    assert bus.buzzer(1).get(timeout=2)["ok"] and bus.led(1).get(timeout=2)["ok"]
    assert bus.readers()[0]["naks"] == {}
