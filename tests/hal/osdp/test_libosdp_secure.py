"""Secure channel against libosdp: install mode, stored keys, required mode."""

import os
import stat

import gevent
import pytest

from doorctl.hal.osdp import KeyStore, ReaderConfig

pytestmark = pytest.mark.peer


def test_install_mode_sets_a_key_and_reconnects_with_it(spawn_reader, make_bus, tmp_path):
    reader = spawn_reader({"address": 1, "serial": 0x77})
    bus, events = make_bus(ReaderConfig(1, secure_channel="install"))
    assert events.wait("sc_up", 1) == {"default_key": True}
    key_name = events.wait("keyset", 1)["key_name"]
    assert events.wait("sc_up", 1) == {"default_key": False}
    events.wait("online", 1)
    stored = KeyStore(tmp_path / "keys").get(key_name)
    assert stored.hex() == (tmp_path / "scbk-1.hex").read_text()
    mode = stat.S_IMODE(os.stat(tmp_path / "keys" / "osdp-keys.json").st_mode)
    assert mode == 0o600
    reader.send(cmd="status")
    assert reader.expect(lambda e: e["event"] == "status")["sc"] is True
    reader.send(cmd="card", bits="1100110011")
    assert events.wait("card", 1)["bit_string"] == "1100110011"
    assert bus.led(1, permanent={"on_color": "blue"}).get(timeout=2)["ok"]
    assert reader.expect(lambda e: e.get("command") == "led")["on_color"] == 4


def test_next_start_uses_the_stored_key(spawn_reader, make_bus):
    first = spawn_reader({"address": 1, "serial": 0x78})
    bus, events = make_bus(ReaderConfig(1, secure_channel="install"))
    events.wait("keyset", 1)
    events.wait("online", 1)
    bus.stop()
    first.kill()
    # The reader restarts with the key it was given; the CP comes back as "required".
    reader = spawn_reader({"address": 1, "serial": 0x78})
    _, events = make_bus(ReaderConfig(1, secure_channel="required"))
    assert events.wait("sc_up", 1) == {"default_key": False}
    events.wait("online", 1)
    reader.send(cmd="keypad", keys="42#")
    assert events.wait("keypad", 1)["keys"] == "42#"
    assert not [e for e in events.seen if e[1] == "keyset"]


def test_required_without_a_key_is_reported_and_never_polled_in_clear(spawn_reader, make_bus):
    reader = spawn_reader({"address": 1, "serial": 0x79})
    bus, events = make_bus(ReaderConfig(1, secure_channel="required"))
    assert "no key" in events.wait("sc_failed", 1)["reason"]
    reader.send(cmd="card", bits="1010")
    info = bus.readers()[0]
    assert (info["online"], info["sc"]) == (False, "failed")
    with pytest.raises(AssertionError):
        events.wait("card", 1, timeout=0.5)


def test_required_with_a_wrong_key_fails(spawn_reader, make_bus, tmp_path):
    KeyStore(tmp_path / "keys").put("wrong", bytes(16))
    (tmp_path / "scbk-1.hex").write_text("11" * 16)
    spawn_reader({"address": 1, "serial": 0x7A})
    _, events = make_bus(ReaderConfig(1, secure_channel="required", key_name="wrong"))
    assert "cryptogram" in events.wait("sc_failed", 1)["reason"]


def test_secure_channel_comes_back_after_the_reader_restarts(spawn_reader, make_bus):
    first = spawn_reader({"address": 1, "serial": 0x7B})
    _, events = make_bus(ReaderConfig(1, secure_channel="install"), offline_after=1.0)
    events.wait("online", 1)
    first.kill()
    events.wait("sc_down", 1, timeout=5)
    events.wait("offline", 1, timeout=5)
    reader = spawn_reader({"address": 1, "serial": 0x7B})
    events.wait("online", 1, timeout=10)
    ups = [data["default_key"] for _, kind, data in events.seen if kind == "sc_up"]
    assert ups == [True, False, False]
    reader.send(cmd="card", bits="111000111")
    assert events.wait("card", 1)["bit_string"] == "111000111"


def test_idle_polls_keep_both_mac_chains_in_step(spawn_reader, make_bus):
    """Idle POLLs run outside the bus task; each must still carry the next MAC."""
    pds = {"address": 1, "serial": 0x81}, {"address": 2, "serial": 0x82}
    reader = spawn_reader(*pds, refresh=0.002)
    bus, events = make_bus(
        ReaderConfig(1, secure_channel="install"), ReaderConfig(2, secure_channel="install")
    )
    for address in (1, 2):
        assert [events.wait("sc_up", address)["default_key"] for _ in "ab"] == [True, False]
    before = reader.frames()
    gevent.sleep(2.0)
    assert reader.frames() - before >= 150, "the readers were not polled every 15 ms"
    for address, bits in ((1, "1011"), (2, "0110")):
        reader.send(cmd="status", address=address)
        assert reader.expect(lambda e: e["event"] == "status")["sc"] is True
        reader.send(cmd="card", address=address, bits=bits)
        assert events.wait("card", address)["bit_string"] == bits
    assert not [e for e in events.seen if e[1] in ("sc_down", "offline")]


def test_a_reader_that_never_answers_in_secure_mode_says_so_not_offline(
    spawn_reader, make_bus, tmp_path
):
    """A reader set up for plain OSDP answers osdp_ID and osdp_CAP but ignores CHLNG."""
    KeyStore(tmp_path / "keys").put("front", bytes(range(16)))
    spawn_reader({"address": 1, "serial": 0x7C, "plain_only": True})
    bus, events = make_bus(ReaderConfig(1, secure_channel="required", key_name="front"))
    failed = events.wait("sc_failed", 1, timeout=6)
    assert failed["cause"] == "no_secure_answer" and "secure mode" in failed["reason"]
    info = bus.readers()[0]
    assert (info["sc"], info["sc_cause"]) == ("failed", "no_secure_answer")
    # Retried every few seconds, told once, and never "offline" meanwhile.
    gevent.sleep(7)
    assert bus.readers()[0]["sc_cause"] == "no_secure_answer"
    kinds = [kind for _, kind, _ in events.seen]
    assert kinds.count("sc_failed") == 1 and "offline" not in kinds
