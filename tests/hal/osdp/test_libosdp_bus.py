"""Bus behaviour against libosdp: two readers on one line, offline, COMSET, files."""

import hashlib
import os

import gevent
import pytest

from doorctl.hal.osdp import ReaderConfig

pytestmark = pytest.mark.peer


def test_two_readers_share_one_bus(spawn_reader, make_bus):
    # One child, two PDs reading the same byte stream: a real multi-drop line.
    line = spawn_reader({"address": 1, "serial": 1}, {"address": 2, "serial": 2, "secure": False})
    bus, events = make_bus(
        ReaderConfig(1, secure_channel="install"), ReaderConfig(2, secure_channel="off")
    )
    assert events.wait("online", 1)["sc"] == "up"
    assert events.wait("online", 2)["sc"] == "off"
    line.send(cmd="card", address=2, bits="1" * 26)
    line.send(cmd="card", address=1, bits="0" * 26)
    assert events.wait("card", 2)["bit_string"] == "1" * 26
    assert events.wait("card", 1)["bit_string"] == "0" * 26
    assert bus.buzzer(2).get(timeout=2)["ok"]
    assert line.expect(lambda e: e.get("command") == "buzzer")["address"] == 2
    assert [r["online"] for r in bus.readers()] == [True, True]


def test_reader_goes_offline_and_comes_back(spawn_reader, make_bus):
    first = spawn_reader({"address": 1, "secure": False})
    bus, events = make_bus(ReaderConfig(1), offline_after=1.0)
    events.wait("online", 1)
    first.kill()
    events.wait("offline", 1, timeout=5)
    assert bus.readers()[0]["online"] is False
    again = spawn_reader({"address": 1, "secure": False})
    events.wait("online", 1, timeout=10)
    again.send(cmd="keypad", keys="9")
    assert events.wait("keypad", 1)["keys"] == "9"


def test_default_offline_time_is_eight_seconds(spawn_reader, make_bus):
    first = spawn_reader({"address": 1, "secure": False})
    _, events = make_bus(ReaderConfig(1))
    events.wait("online", 1)
    first.kill()
    start = gevent.get_hub().loop.now()
    events.wait("offline", 1, timeout=12)
    assert 7.5 <= gevent.get_hub().loop.now() - start <= 10


def test_one_reader_offline_does_not_stop_the_other(spawn_reader, make_bus):
    line = spawn_reader({"address": 1, "secure": False})
    _, events = make_bus(ReaderConfig(1), ReaderConfig(2))
    events.wait("online", 1)
    line.send(cmd="card", bits="101")
    assert events.wait("card", 1, timeout=2)["bit_string"] == "101"


def test_comset_moves_the_reader(spawn_reader, make_bus):
    reader = spawn_reader({"address": 1, "secure": False})
    bus, events = make_bus(ReaderConfig(1))
    events.wait("online", 1)
    result = bus.comset(1, 5, 115200).get(timeout=2)
    assert (result["ok"], result["address"], result["baud"]) == (True, 5, 115200)
    assert reader.expect(lambda e: e.get("command") == "comset")["new_address"] == 5
    reader.send(cmd="card", bits="1111")
    assert events.wait("card", 5)["bit_string"] == "1111"
    assert [r["address"] for r in bus.readers()] == [5]


def test_comset_to_another_baud_rate_is_refused_on_a_shared_bus(spawn_reader, make_bus):
    spawn_reader({"address": 1, "secure": False}, {"address": 2, "secure": False})
    bus, events = make_bus(ReaderConfig(1), ReaderConfig(2))
    events.wait("online", 1)
    events.wait("online", 2)
    with pytest.raises(ValueError, match="other reader"):
        bus.comset(1, 1, 9600)
    assert bus.comset(1, 3, 115200).get(timeout=2)["ok"] is True
    assert sorted(r["address"] for r in bus.readers() if r["online"]) == [2, 3]


@pytest.mark.parametrize("secure", [False, True])
def test_file_transfer_while_the_other_reader_is_polled(spawn_reader, make_bus, secure):
    line = spawn_reader({"address": 1, "serial": 9, "secure": secure}, {"address": 2})
    mode = "install" if secure else "off"
    bus, events = make_bus(ReaderConfig(1, secure_channel=mode), ReaderConfig(2))
    events.wait("online", 1)
    events.wait("online", 2)
    firmware = os.urandom(5000)
    progress = []
    result = bus.file_transfer(1, firmware, lambda sent, total: progress.append((sent, total)))
    gevent.sleep(0.1)
    line.send(cmd="card", address=2, bits="10" * 13)
    assert events.wait("card", 2, timeout=5)["bit_string"] == "10" * 13
    outcome = result.get(timeout=30)
    assert outcome["ok"] and outcome["status"] == 1
    done = line.expect(lambda e: e["event"] == "file_done")
    assert done["sha256"] == hashlib.sha256(firmware).hexdigest()
    assert progress[-1] == (5000, 5000)
    assert all(a[0] < b[0] for a, b in zip(progress, progress[1:], strict=False))
