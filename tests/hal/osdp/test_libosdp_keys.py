"""Pre-keyed readers and key rotation against libosdp readers."""

import pytest

from doorctl.hal.osdp import KeyStore, ReaderConfig

pytestmark = pytest.mark.peer
KEY = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")


def keyed_reader(spawn_reader, tmp_path, key: bytes = KEY, serial: int = 0x90):
    """A libosdp reader that arrives with its own key (no install mode)."""
    (tmp_path / "scbk-1.hex").write_text(key.hex())
    return spawn_reader({"address": 1, "serial": serial})


def test_a_reader_with_its_own_key_runs_in_required_mode(spawn_reader, make_bus, tmp_path):
    KeyStore(tmp_path / "keys").put("front", KEY)
    reader = keyed_reader(spawn_reader, tmp_path)
    _, events = make_bus(ReaderConfig(1, secure_channel="required", key_name="front"))
    assert events.wait("sc_up", 1) == {"default_key": False}
    events.wait("online", 1)
    reader.send(cmd="card", bits="1011001")
    assert events.wait("card", 1)["bit_string"] == "1011001"


def test_rotation_gives_the_reader_a_new_key_and_keeps_it(spawn_reader, make_bus, tmp_path):
    keys = KeyStore(tmp_path / "keys")
    keys.put("front", KEY)
    reader = keyed_reader(spawn_reader, tmp_path)
    bus, events = make_bus(ReaderConfig(1, secure_channel="required", key_name="front"))
    events.wait("online", 1)
    assert bus.rotate_key(1).get(timeout=5) == {"ok": True}
    new = keys.get("front")
    assert new != KEY and keys.alternative("front") is None
    assert (tmp_path / "scbk-1.hex").read_text() == new.hex()
    assert events.wait("keyset", 1) == {"key_name": "front", "by": "rotation"}
    assert [e[2]["default_key"] for e in events.seen if e[1] == "sc_up"] == [False, False]
    reader.send(cmd="card", bits="111")
    assert events.wait("card", 1)["bit_string"] == "111"


def test_a_wrong_key_fails_and_the_reader_is_never_rekeyed(spawn_reader, make_bus, tmp_path):
    KeyStore(tmp_path / "keys").put("front", bytes(16))
    reader = keyed_reader(spawn_reader, tmp_path)
    bus, events = make_bus(ReaderConfig(1, secure_channel="required", key_name="front"))
    failed = events.wait("sc_failed", 1)
    assert failed["cause"] == "wrong_key"
    assert not bus.rotate_key(1).get(timeout=1)["ok"]
    assert (tmp_path / "scbk-1.hex").read_text() == KEY.hex()
    with pytest.raises(AssertionError):
        reader.expect(lambda e: e.get("command") == "keyset", timeout=1)


@pytest.mark.parametrize("reader_took_it", [True, False])
def test_after_a_lost_answer_the_handshake_keeps_the_key_the_reader_has(
    spawn_reader, make_bus, tmp_path, reader_took_it
):
    """A KEYSET was sent and its answer lost (e.g. a power cut): either key may hold."""
    keys, offered = KeyStore(tmp_path / "keys"), bytes(range(16))
    keys.put("front", KEY)
    keys.propose("front", offered)
    reader = keyed_reader(spawn_reader, tmp_path, offered if reader_took_it else KEY)
    _, events = make_bus(ReaderConfig(1, secure_channel="required", key_name="front"))
    assert events.wait("key_proved", 1) == {"key_name": "front", "new": reader_took_it}
    events.wait("online", 1)
    assert keys.get("front") == (offered if reader_took_it else KEY)
    assert keys.alternative("front") is None
    reader.send(cmd="card", bits="0110")
    assert events.wait("card", 1)["bit_string"] == "0110"


def test_a_reader_refusing_the_new_key_keeps_the_old_one(spawn_reader, make_bus, tmp_path):
    keys = KeyStore(tmp_path / "keys")
    keys.put("front", KEY)
    (tmp_path / "scbk-1.hex").write_text(KEY.hex())
    reader = spawn_reader({"address": 1, "serial": 0x92, "refuse": ["keyset"]})
    bus, events = make_bus(ReaderConfig(1, secure_channel="required", key_name="front"))
    events.wait("online", 1)
    outcome = bus.rotate_key(1).get(timeout=5)
    assert outcome["ok"] is False and "NAK" in outcome["error"], outcome
    assert reader.expect(lambda e: e["event"] == "refused")["command"] == "keyset"
    assert keys.get("front") == KEY and keys.alternative("front") is None
    assert events.wait("key_proved", 1) == {"key_name": "front", "new": False}
    reader.send(cmd="card", bits="1001")
    assert events.wait("card", 1)["bit_string"] == "1001"
