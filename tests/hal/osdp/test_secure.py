"""Secure channel primitives and the bus's handling of bad MACs (no peer needed).

A minimal PD side is written here from the same spec formulas, so a full
handshake and MAC chain can run in memory and be corrupted at will.
"""

import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doorctl.hal.osdp import messages as m
from doorctl.hal.osdp.codec import FrameDecoder, crc16, encode_frame
from doorctl.hal.osdp.keystore import KeyStore
from doorctl.hal.osdp.secure import (
    SCBK_D,
    Handshake,
    SecureChannelError,
    decrypt,
    encrypt,
    initial_rmac,
    mac,
    pad,
    pd_cryptogram,
    session_keys,
)

CP_RANDOM = bytes(range(0xA0, 0xA8))
PD_RANDOM = bytes(range(0xB0, 0xB8))


class FakePD:
    """The PD half of the channel: enough to answer and seal replies."""

    def __init__(self, scbk: bytes) -> None:
        self.scbk = scbk

    def ccrypt(self, cp_random: bytes) -> dict:
        self.keys = session_keys(self.scbk, cp_random)
        cryptogram = pd_cryptogram(self.keys, cp_random, PD_RANDOM)
        return {"uid": bytes(8), "pd_random": PD_RANDOM, "cryptogram": cryptogram}

    def rmac_i(self, server_cryptogram: bytes) -> dict:
        self.r_mac = initial_rmac(self.keys, server_cryptogram)
        return {"rmac": self.r_mac}

    def accept(self, frame_bytes: bytes) -> None:
        """Check the CP's MAC and move the chain on, as a PD does."""
        (frame,) = FrameDecoder().feed(frame_bytes)
        self.c_mac = mac(self.keys, self.r_mac, frame.mac_input)
        assert hmac.compare_digest(self.c_mac[:4], frame.mac)

    def seal(self, sqn: int, code: int, data: bytes) -> bytes:
        scb = bytes([2, 0x18 if data else 0x16])
        body = encrypt(self.keys, self.c_mac, data) if data else b""

        def reply_mac(message: bytes) -> bytes:
            self.r_mac = mac(self.keys, self.c_mac, message)
            return self.r_mac

        return encode_frame(1, sqn, code, body, reply=True, scb=scb, mac=reply_mac)


def establish(scbk: bytes = SCBK_D, default_key: bool = True):
    """Run a full handshake in memory; return the CP session and the fake PD."""
    pd = FakePD(scbk)
    hs = Handshake(scbk, default_key=default_key, cp_random=CP_RANDOM)
    scb, code, data = hs.challenge()
    assert (scb, code, data) == (b"\x03\x11\x00", m.CHLNG, CP_RANDOM)
    scb, code, server = hs.answer(pd.ccrypt(CP_RANDOM))
    assert (scb, code) == (b"\x03\x13\x00", m.SCRYPT)
    return hs.finish(pd.rmac_i(server)), pd


def test_session_keys_follow_the_spec_layout():
    keys = session_keys(SCBK_D, CP_RANDOM)
    assert len({keys.s_enc, keys.s_mac1, keys.s_mac2}) == 3
    assert keys == session_keys(SCBK_D, CP_RANDOM[:6] + b"\xff\xff")


def test_padding():
    assert pad(b"") == b"\x80" + bytes(15)
    assert len(pad(bytes(15))) == 16 and len(pad(bytes(16))) == 32


def test_wrong_key_is_detected_in_the_handshake():
    pd = FakePD(bytes(16))
    hs = Handshake(b"", default_key=True, cp_random=CP_RANDOM)
    with pytest.raises(SecureChannelError):
        hs.answer(pd.ccrypt(CP_RANDOM))


def test_bad_rmac_i_is_refused():
    pd = FakePD(SCBK_D)
    hs = Handshake(b"", default_key=True, cp_random=CP_RANDOM)
    hs.answer(pd.ccrypt(CP_RANDOM))
    with pytest.raises(SecureChannelError):
        hs.finish({"rmac": bytes(16)})


def test_card_reply_round_trip_through_the_chain():
    session, pd = establish()
    for sqn in (1, 2, 3, 1):
        pd.accept(session.seal(1, sqn, m.POLL))
        card = bytes([0, 1, 26, 0]) + b"\xde\xad\xbe\xc0"
        (frame,) = FrameDecoder().feed(pd.seal(sqn, m.RAW, card))
        assert m.parse_reply(frame.code, session.open(frame))[1]["bits"] == 26


def test_command_data_is_encrypted():
    session, pd = establish()
    sealed = session.seal(1, 1, *m.text("SECRET"))
    assert b"SECRET" not in sealed
    (frame,) = FrameDecoder().feed(sealed)
    assert frame.scb_type == 0x17
    pd.accept(sealed)
    assert decrypt(pd.keys, pd.r_mac, frame.data).endswith(b"SECRET")


@given(st.binary(max_size=100))
def test_encrypt_decrypt_round_trip(data):
    keys = session_keys(SCBK_D, CP_RANDOM)
    assert decrypt(keys, bytes(16), encrypt(keys, bytes(16), data)) == data


@given(st.integers(0, 200), st.integers(0, 7), st.binary(min_size=1, max_size=40))
@settings(max_examples=200)
def test_a_corrupted_reply_never_yields_a_card(pos, bit, card):
    session, pd = establish()
    pd.accept(session.seal(1, 1, m.POLL))
    raw = bytes([0, 1]) + (len(card) * 8).to_bytes(2, "little") + card
    sealed = bytearray(pd.seal(1, m.RAW, raw))
    # Corrupt any byte but SOM and CRC, then fix the CRC as an active attacker would.
    pos = 1 + pos % (len(sealed) - 3)
    sealed[pos] ^= 1 << bit
    body = bytes(sealed[:-2])
    frames = FrameDecoder().feed(body + crc16(body).to_bytes(2, "little"))
    for frame in frames:
        with pytest.raises(SecureChannelError):
            session.open(frame)


@given(st.binary(max_size=64))
def test_random_reply_bytes_never_open(noise):
    session, _ = establish()
    forged_mac = noise.ljust(4, b"\x00")  # a short MAC would make no frame at all
    frame_bytes = encode_frame(
        1, 1, m.RAW, noise, reply=True, scb=b"\x02\x18", mac=lambda b: forged_mac
    )
    (frame,) = FrameDecoder().feed(frame_bytes)
    with pytest.raises(SecureChannelError):
        session.open(frame)


def test_plain_reply_in_a_session_is_refused():
    session, _ = establish()
    (frame,) = FrameDecoder().feed(encode_frame(1, 1, m.RAW, b"\x00\x01\x01\x00\x80", reply=True))
    with pytest.raises(SecureChannelError):
        session.open(frame)


def test_keystore_round_trip_and_mode(tmp_path):
    store = KeyStore(tmp_path / "data")
    assert store.get("r1") is None
    store.put("r1", bytes(range(16)))
    assert KeyStore(tmp_path / "data").get("r1") == bytes(range(16))
    assert (store.path.stat().st_mode & 0o777) == 0o600
    assert store.names() == ["r1"]
    store.delete("r1")
    assert store.get("r1") is None
    with pytest.raises(ValueError):
        store.put("r2", b"short")


def test_the_short_path_of_poll_and_ack_gives_the_bytes_of_the_general_one():
    """seal_poll and expected_ack take a cached header and one AES block; mac() over the
    frames as encode_frame builds them must give the same bytes."""
    from doorctl.hal.osdp.secure import SCS_15, SCS_16, Session

    def general(address, sqn, code, iv, reply):
        scb, macs = bytes([2, SCS_16 if reply else SCS_15]), []

        def chained(message):
            macs.append(mac(keys, iv, message))
            return macs[0]

        return encode_frame(address, sqn, code, reply=reply, scb=scb, mac=chained), macs[0]

    keys = session_keys(bytes(range(16)), CP_RANDOM)
    fast, r_mac = Session(keys, bytes(range(16, 32))), bytes(range(16, 32))
    for n in range(12):
        address, sqn = n % 3, 1 + n % 3
        poll, c_mac = general(address, sqn, m.POLL, r_mac, reply=False)
        assert fast.seal(address, sqn, m.POLL) == poll
        ack, r_mac = general(address, sqn, m.ACK, c_mac, reply=True)
        assert fast.expected_ack(address, sqn) == ack
        fast.ack_received()
        assert fast.r_mac == r_mac
