"""The bus against a scripted PD in a greenlet: line noise, retries, forged MACs.

libosdp only sends good frames; this PD can misbehave on purpose.
"""

import os
import struct
import time

import gevent
import gevent.select
import pytest
from support_osdp import Line

from doorctl.hal.osdp import KeyStore, ReaderConfig
from doorctl.hal.osdp import messages as m
from doorctl.hal.osdp.codec import FrameDecoder, encode_frame
from doorctl.hal.osdp.secure import (
    SCBK_D,
    decrypt,
    encrypt,
    initial_rmac,
    mac,
    pd_cryptogram,
    session_keys,
)

PDID = bytes.fromhex("c3b2a107020100000001020a")
PDCAP = bytes([9, 1, 1])
CARD = bytes([0, 1]) + struct.pack("<H", 8) + b"\xa5"


class ScriptedPD:
    """PDs (address 1 unless told) on the pty master that answer from a script."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.decoder = FrameDecoder()
        self.received: list = []
        self.received_at: list[float] = []
        self.noise = b""
        self.echo = False
        self.pieces = False
        self.drop_next = 0
        self.card_pending = False
        # Seconds the hub is blocked right after the card goes out (a long render).
        self.stall_after_card = 0.0
        self.tamper = False
        self.addresses = {1}
        self.silent: set[int] = set()
        self.keys = None
        self.scbk = SCBK_D
        # "before" or "after" taking the key: the PD stops answering at a KEYSET.
        self.vanish_at_keyset: str | None = None
        self.refuse_chlng = False
        self.greenlet = gevent.spawn(self.serve)

    def serve(self) -> None:
        while True:
            gevent.select.select([self.fd], [], [])
            chunk = os.read(self.fd, 4096)
            for frame in self.decoder.feed(chunk):
                if frame.address not in self.addresses:
                    continue
                self.received.append(frame)
                self.received_at.append(time.monotonic())
                if frame.address in self.silent:
                    continue
                if frame.code == m.KEYSET and self.vanish_at_keyset:
                    self.vanish(frame)
                    continue
                reply = self.answer(frame)
                if self.drop_next:
                    self.drop_next -= 1
                elif reply:
                    self.send(chunk if self.echo else b"", self.noise + reply)
                    self.stall_if_card(reply)

    def stall_if_card(self, reply: bytes) -> None:
        """Block the whole hub (time.sleep is not patched here) once a card is sent."""
        if self.stall_after_card and reply[5] == m.RAW:
            time.sleep(self.stall_after_card)
            self.stall_after_card = 0.0

    def vanish(self, frame) -> None:
        """Go silent at a KEYSET, having taken the new key or not: its answer is lost."""
        if self.vanish_at_keyset == "after":
            self.answer(frame)
        self.silent.add(frame.address)

    def send(self, echo: bytes, reply: bytes) -> None:
        """Write the reply: after the CP's own bytes (an echoing adapter), in pieces."""
        if echo:
            os.write(self.fd, echo)
        if self.pieces and len(reply) > 3:
            os.write(self.fd, reply[:3])
            gevent.sleep(0.003)
            reply = reply[3:]
        os.write(self.fd, reply)

    def answer(self, frame) -> bytes:
        if frame.scb_type in (0x15, 0x17):
            self.c_mac = mac(self.keys, self.r_mac, frame.mac_input)
            return self.sealed(frame)
        code, data = self.reply_to(frame)
        scb = {m.CHLNG: b"\x03\x12\x00", m.SCRYPT: b"\x03\x14\x01"}.get(frame.code, b"")
        return encode_frame(frame.address, frame.sqn, code, data, reply=True, scb=scb)

    def reply_to(self, frame) -> tuple[int, bytes]:
        if frame.code == m.ID:
            return m.PDID, PDID
        if frame.code == m.CAP:
            return m.PDCAP, PDCAP
        if frame.code == m.CHLNG and self.refuse_chlng:
            return m.NAK, bytes([6])
        if frame.code == m.CHLNG:
            self.keys = session_keys(self.scbk if frame.scb[2] else SCBK_D, frame.data)
            pd_random = bytes(8)
            crypt = pd_cryptogram(self.keys, frame.data, pd_random)
            return m.CCRYPT, bytes(8) + pd_random + crypt
        if frame.code == m.SCRYPT:
            self.r_mac = initial_rmac(self.keys, frame.data)
            return m.RMAC_I, self.r_mac
        if self.card_pending:
            self.card_pending = False
            return m.RAW, CARD
        return m.ACK, b""

    def sealed(self, frame) -> bytes:
        code, data = self.reply_to(frame)
        if frame.code == m.KEYSET:
            self.scbk = decrypt(self.keys, self.r_mac, frame.data)[2:]
            code, data = m.ACK, b""
        body = encrypt(self.keys, self.c_mac, data) if data else b""

        def reply_mac(message: bytes) -> bytes:
            self.r_mac = mac(self.keys, self.c_mac, message)
            forged = bytes(16) if self.tamper in (code, True) and code == m.RAW else self.r_mac
            if self.tamper == m.ACK and code == m.ACK:
                forged = bytes(16)
            return forged

        scb = bytes([2, 0x18 if data else 0x16])
        return encode_frame(
            frame.address, frame.sqn, code, body, reply=True, scb=scb, mac=reply_mac
        )


@pytest.fixture
def scripted_pd(pty_bus):
    pd = ScriptedPD(pty_bus[0])
    yield pd
    pd.greenlet.kill()


def test_noise_before_every_reply_does_not_stop_the_bus(scripted_pd, make_bus):
    good = encode_frame(1, 2, m.ACK, reply=True)
    scripted_pd.noise = b"\x00\xff\x53\x81\x09" + good[:-1] + bytes([good[-1] ^ 0xFF]) + b"\x53"
    _, events = make_bus(ReaderConfig(1))
    assert events.wait("online", 1)["serial"] == "00000001"
    scripted_pd.card_pending = True
    assert events.wait("card", 1)["bit_string"] == "10100101"


def test_lost_reply_is_retried_with_the_same_bytes(scripted_pd, make_bus):
    bus, events = make_bus(ReaderConfig(1))
    events.wait("online", 1)
    gevent.sleep(0.05)
    scripted_pd.drop_next = 1
    before = len(scripted_pd.received)
    gevent.sleep(0.5)
    frames = scripted_pd.received[before:]
    repeats = [a for a, b in zip(frames, frames[1:], strict=False) if a == b]
    assert repeats, "the unanswered command was not resent unchanged"
    assert scripted_pd.received[0].sqn == 0
    assert bus.readers()[0]["online"] is True


def test_a_card_is_read_when_the_hub_was_busy_past_the_reply_timeout(scripted_pd, make_bus):
    """The reply came in time; the hub, busy elsewhere, read it late: the card counts."""
    _, events = make_bus(ReaderConfig(1), reply_timeout=0.05)
    events.wait("online", 1)
    scripted_pd.stall_after_card = 0.2
    scripted_pd.card_pending = True
    assert events.wait("card", 1)["bit_string"] == "10100101"


def late_card(pd: ScriptedPD, bus, when: str, address: int = 1) -> None:
    """The reader's answer to its next POLL, a card, comes late: the POLL goes
    unanswered, and the card lands just after the bus gave up on it ("gap": before the
    retry) or while the bus waits on reader 2 ("other")."""
    pd.drop_next = 1
    original_no_reply, original_write = bus._no_reply, bus._write
    late = {}

    def no_reply(reader):
        bus._no_reply = original_no_reply
        late["card"] = encode_frame(address, reader.inflight.sqn, m.RAW, CARD, reply=True)
        if when == "gap":
            os.write(pd.fd, late.pop("card"))
        original_no_reply(reader)

    def write(frame: bytes) -> bool:
        written = original_write(frame)
        if late.get("card") and frame[1] == 2:
            os.write(pd.fd, late.pop("card"))
            bus._write = original_write
        return written

    bus._no_reply, bus._write = no_reply, write


def test_a_card_that_comes_after_the_reply_timeout_is_not_lost(scripted_pd, make_bus):
    """The retry is the same command (same bytes, same SQN), so the late reply answers
    it; dropped as stale input, its card was lost, since libosdp answers a repeated SQN
    with NAK rather than its last reply."""
    bus, events = make_bus(ReaderConfig(1), reply_timeout=0.05)
    events.wait("online", 1)
    gevent.sleep(0.05)
    late_card(scripted_pd, bus, "gap")
    assert events.wait("card", 1)["bit_string"] == "10100101"


def test_a_late_card_that_comes_in_while_the_other_reader_is_asked_is_not_lost(
    scripted_pd, make_bus
):
    """It is kept for the retry of the reader that sent it, not skipped as not ours."""
    scripted_pd.addresses = {1, 2}
    bus, events = make_bus(ReaderConfig(1), ReaderConfig(2), reply_timeout=0.05)
    events.wait("online", 1)
    events.wait("online", 2)
    gevent.sleep(0.05)
    late_card(scripted_pd, bus, "other")
    assert events.wait("card", 1)["bit_string"] == "10100101"


def test_forged_mac_never_yields_a_card(scripted_pd, make_bus):
    _, events = make_bus(ReaderConfig(1, secure_channel="install"))
    events.wait("online", 1)
    assert [events.wait("sc_up", 1)["default_key"] for _ in "ab"] == [True, False]
    scripted_pd.tamper = True
    scripted_pd.card_pending = True
    assert events.wait("sc_down", 1)["reason"] == "bad reply MAC"
    assert events.wait("sc_up", 1, timeout=3) == {"default_key": False}
    gevent.sleep(0.3)
    assert not [e for e in events.seen if e[1] == "card"]


def test_idle_reader_is_polled_once_per_interval(scripted_pd, make_bus):
    _, events = make_bus(ReaderConfig(1), poll_interval=0.1)
    events.wait("online", 1)
    before = len(scripted_pd.received)
    gevent.sleep(1.0)
    polls = scripted_pd.received[before:]
    assert {f.code for f in polls} == {m.POLL}
    assert 8 <= len(polls) <= 12


def test_a_queued_command_does_not_wait_for_the_next_poll(scripted_pd, make_bus):
    # The next poll is ~5 s away: a command that waited for it would miss the timeout.
    bus, events = make_bus(ReaderConfig(1), poll_interval=5.0)
    events.wait("online", 1)
    gevent.sleep(0.1)
    before = len(scripted_pd.received)
    assert bus.buzzer(1).get(timeout=2)["ok"]
    assert [f.code for f in scripted_pd.received[before:]] == [m.BUZ]


def polls_in(pd: ScriptedPD, seconds: float) -> list:
    """The frames the PD received during the next `seconds`."""
    before = len(pd.received)
    gevent.sleep(seconds)
    return pd.received[before:]


def test_an_adapter_that_echoes_the_bus_keeps_polls_and_cards_coming(scripted_pd, make_bus):
    scripted_pd.echo = True
    bus, events = make_bus(ReaderConfig(1), poll_interval=0.02)
    events.wait("online", 1)
    assert {f.code for f in polls_in(scripted_pd, 0.5)} == {m.POLL}
    scripted_pd.card_pending = True
    assert events.wait("card", 1)["bit_string"] == "10100101"
    assert len(polls_in(scripted_pd, 1.0)) >= 40
    assert bus.readers()[0]["online"] is True


def test_replies_that_arrive_in_pieces_are_put_together(scripted_pd, make_bus):
    scripted_pd.pieces = True
    bus, events = make_bus(ReaderConfig(1), poll_interval=0.02)
    events.wait("online", 1)
    assert len(polls_in(scripted_pd, 1.0)) >= 40
    scripted_pd.card_pending = True
    assert events.wait("card", 1)["bit_string"] == "10100101"
    assert bus.readers()[0]["online"] is True
    assert not [e for e in events.seen if e[1] == "offline"]


def test_bytes_nobody_asked_for_between_polls_are_dropped(scripted_pd, make_bus):
    bus, events = make_bus(ReaderConfig(1), poll_interval=0.05)
    events.wait("online", 1)
    for _ in range(5):
        os.write(scripted_pd.fd, b"\x53\x81\x07\x00\x05\x40\x00garbage")
        gevent.sleep(0.03)
    scripted_pd.card_pending = True
    assert events.wait("card", 1)["bit_string"] == "10100101"
    assert len(polls_in(scripted_pd, 0.5)) >= 8
    assert bus.readers()[0]["online"] is True


def test_a_silent_reader_still_goes_offline_and_comes_back(scripted_pd, make_bus):
    bus, events = make_bus(ReaderConfig(1), poll_interval=0.02, offline_after=0.5)
    events.wait("online", 1)
    gevent.sleep(0.2)
    scripted_pd.drop_next = 10**6
    assert events.wait("offline", 1, timeout=2) == {}
    scripted_pd.drop_next = 0
    assert events.wait("online", 1, timeout=3)["serial"] == "00000001"


def test_a_forged_mac_on_an_idle_ack_drops_the_secure_channel(scripted_pd, make_bus):
    _, events = make_bus(ReaderConfig(1, secure_channel="install"), poll_interval=0.02)
    events.wait("online", 1)
    assert [events.wait("sc_up", 1)["default_key"] for _ in "ab"] == [True, False]
    gevent.sleep(0.3)
    scripted_pd.tamper = m.ACK
    assert events.wait("sc_down", 1)["reason"] == "bad reply MAC"
    scripted_pd.tamper = False
    assert events.wait("sc_up", 1, timeout=3) == {"default_key": False}


def test_a_silent_reader_costs_the_other_one_no_more_than_a_reply_timeout(scripted_pd, make_bus):
    """Even at a long poll interval, the reader after a silent one is polled once the
    silent one's reply timeout (200 ms) has passed, not an interval later."""
    scripted_pd.addresses = {1, 2}
    bus, events = make_bus(ReaderConfig(1), ReaderConfig(2), poll_interval=1.0)
    events.wait("online", 1)
    events.wait("online", 2)
    gevent.sleep(0.1)
    start = len(scripted_pd.received)
    scripted_pd.silent = {1}
    gevent.sleep(2.5)
    frames = list(zip(scripted_pd.received[start:], scripted_pd.received_at[start:], strict=True))
    unanswered = next(at for frame, at in frames if frame.address == 1)
    after = next(at for frame, at in frames if frame.address == 2 and at > unanswered)
    # An interval later would be 1 s; half of it leaves a loaded machine its headroom.
    assert after - unanswered < 0.5, f"reader 2 waited {after - unanswered:.3f} s"


@pytest.mark.parametrize("driver_enable", [False, True])
def test_an_adapter_that_goes_away_takes_its_readers_offline(make_bus_on, driver_enable):
    line = Line()
    pd = ScriptedPD(line.master)
    levels = []
    options = {"set_direction": levels.append} if driver_enable else {}
    try:
        bus, events = make_bus_on(line.path, ReaderConfig(1), offline_after=0.5, **options)
        events.wait("online", 1)
        gevent.sleep(0.1)
        pd.greenlet.kill()
        os.close(line.master)  # the USB adapter is pulled: the line hangs up
        assert events.wait("offline", 1, timeout=3) == {}
        assert not bus._greenlet.dead, "the bus task must survive a dead port"
        assert bus.readers()[0]["online"] is False
        assert levels[-1:] in ([], [False]), "the RS-485 driver was left on"
    finally:
        os.close(line.slave)


def test_the_driver_enable_is_released_when_the_bus_stops_mid_command(scripted_pd, make_bus):
    for _ in range(15):
        levels = []
        bus, events = make_bus(ReaderConfig(1), set_direction=levels.append)
        events.wait("online", 1)
        bus.buzzer(1)
        gevent.sleep(0)
        bus.stop()
        assert levels[-1] is False, "the RS-485 driver was left on"


KEY = bytes(range(100, 116))


def keyed(scripted_pd, tmp_path) -> KeyStore:
    """The scripted PD arrives with its own key, which the store has as reader "r"."""
    scripted_pd.scbk = KEY
    keys = KeyStore(tmp_path / "keys")
    keys.put("r", KEY)
    return keys


@pytest.mark.parametrize("taken", [True, False])
def test_a_rotation_whose_answer_is_lost_is_settled_by_the_next_handshake(
    scripted_pd, make_bus, tmp_path, taken
):
    keys = keyed(scripted_pd, tmp_path)
    config = ReaderConfig(1, secure_channel="required", key_name="r")
    bus, events = make_bus(config, offline_after=0.5)
    events.wait("online", 1)
    scripted_pd.vanish_at_keyset = "after" if taken else "before"
    result = bus.rotate_key(1)
    events.wait("offline", 1, timeout=3)
    offered = keys.alternative("r")
    assert offered not in (None, KEY) and keys.get("r") == KEY, "both kept while unknown"
    scripted_pd.vanish_at_keyset = None
    scripted_pd.silent.clear()
    assert events.wait("key_proved", 1, timeout=5) == {"key_name": "r", "new": taken}
    assert result.get(timeout=2)["ok"] is taken
    assert keys.get("r") == (offered if taken else KEY) and keys.alternative("r") is None
    assert scripted_pd.scbk == keys.get("r")
    scripted_pd.card_pending = True
    assert events.wait("card", 1)["bit_string"] == "10100101"


def test_replies_failing_their_mac_again_and_again_fail_a_required_channel(
    scripted_pd, make_bus, tmp_path
):
    keyed(scripted_pd, tmp_path)
    _, events = make_bus(ReaderConfig(1, "required", "r"), poll_interval=0.02)
    events.wait("online", 1)
    scripted_pd.tamper = m.ACK
    failed = events.wait("sc_failed", 1, timeout=5)
    assert failed["cause"] == "mac" and "3 replies failed their MAC" in failed["reason"]
    assert len([e for e in events.seen if e[1] == "sc_down"]) == 2


def test_a_reader_refusing_the_challenge_does_not_answer_in_secure_mode(
    scripted_pd, make_bus, tmp_path
):
    keyed(scripted_pd, tmp_path)
    scripted_pd.refuse_chlng = True
    _, events = make_bus(ReaderConfig(1, "required", "r"))
    assert events.wait("sc_failed", 1)["cause"] == "no_secure_answer"
