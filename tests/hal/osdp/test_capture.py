"""OSDP capture on a bus with libosdp readers: the exchange is in it, the keys are not."""

import pytest
from pcap_osdp import frames, read_pcap, tshark_frames

from doorctl.hal.osdp import KeyStore, ReaderConfig
from doorctl.hal.osdp import messages as m
from doorctl.hal.osdp.capture import Capture
from doorctl.hal.osdp.codec import encode_frame

pytestmark = pytest.mark.peer

H10301 = "0" + "00001100" + "0000000001111011" + "1"


def test_a_capture_during_a_card_read_holds_that_exchange(spawn_reader, make_bus):
    reader = spawn_reader({"address": 1, "secure": False})
    bus, events = make_bus(ReaderConfig(1))
    events.wait("online", 1)
    capture = Capture()
    bus.record(capture)
    reader.send(cmd="card", bits=H10301)
    events.wait("card", 1)
    assert bus.led(1, temporary={"on_color": "green"}).get(timeout=2)["ok"]
    bus.record(None)
    found = frames(capture.pcap())
    codes = [(f.reply, f.code) for f in found]
    raw = found[codes.index((True, m.RAW))]
    poll = found[codes.index((True, m.RAW)) - 1]
    # The card came as the reply to a POLL of the same sequence number.
    assert (poll.reply, poll.code, poll.sqn) == (False, m.POLL, raw.sqn)
    assert m.parse_reply(m.RAW, raw.data)[1]["bit_string"] == H10301
    assert (False, m.LED) in codes and (True, m.ACK) in codes
    times = [t for t, _ in read_pcap(capture.pcap())]
    assert times == sorted(times)


def test_tshark_reads_every_frame_of_a_capture(spawn_reader, make_bus, tmp_path):
    reader = spawn_reader({"address": 1, "secure": False})
    bus, events = make_bus(ReaderConfig(1))
    events.wait("online", 1)
    capture = Capture()
    bus.record(capture)
    reader.send(cmd="card", bits=H10301)
    events.wait("card", 1)
    bus.record(None)
    path = tmp_path / "bus.pcap"
    path.write_bytes(capture.pcap())
    expected = [(f.address, f.reply, f.code) for f in frames(capture.pcap())]
    assert tshark_frames(path) == expected and (1, True, m.RAW) in expected


def test_the_keyset_of_install_mode_is_recorded_without_the_key(spawn_reader, make_bus, tmp_path):
    bus, events = make_bus(ReaderConfig(1, secure_channel="install"))
    capture = Capture()
    bus.record(capture)
    spawn_reader({"address": 1, "serial": 0x79})
    key_name = events.wait("keyset", 1)["key_name"]
    events.wait("online", 1, timeout=15)
    bus.record(None)
    key = KeyStore(tmp_path / "keys").get(key_name)
    pcap = capture.pcap()
    assert key not in pcap and capture.redacted == 1
    keyset = [f for f in frames(pcap) if not f.reply and f.code == m.KEYSET]
    assert len(keyset) == 1 and set(keyset[0].data + keyset[0].mac) == {0}
    assert {m.CHLNG, m.SCRYPT} <= {f.code for f in frames(pcap) if not f.reply}


def test_a_plain_keyset_loses_its_key_and_keeps_its_shape():
    capture = Capture(clock=lambda: 1700000000.25)
    key = bytes(range(16))
    capture.sent(encode_frame(1, 2, *m.keyset(key)))
    capture.received(encode_frame(1, 2, m.ACK, reply=True))
    (keyset, ack) = frames(capture.pcap())
    assert keyset.code == m.KEYSET and keyset.data == bytes(18) and ack.code == m.ACK
    assert key not in capture.pcap()
    assert read_pcap(capture.pcap())[0][0] == 1700000000.25


def test_an_echo_of_a_command_is_not_recorded_twice():
    capture = Capture()
    poll = encode_frame(1, 1, m.POLL)
    capture.sent(poll)
    capture.received(poll + encode_frame(1, 1, m.ACK, reply=True)[:4])
    capture.received(encode_frame(1, 1, m.ACK, reply=True)[4:])
    assert [(f.reply, f.code) for f in frames(capture.pcap())] == [(False, m.POLL), (True, m.ACK)]


def test_a_full_capture_drops_what_does_not_fit():
    capture = Capture(max_bytes=24 + 3 * (16 + 8))
    for _ in range(5):
        capture.sent(encode_frame(1, 1, m.POLL))
    assert (capture.frames, capture.dropped) == (3, 2)
