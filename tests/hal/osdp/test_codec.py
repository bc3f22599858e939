"""Frame codec: tables of raw frames (some captured from libosdp) and properties."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doorctl.hal.osdp import messages as m
from doorctl.hal.osdp.codec import FrameDecoder, checksum, crc16, encode_frame

# Replies captured from a libosdp 3.2.9 PD at address 1 on a pty.
LIBOSDP_REPLIES = [
    ("538114000445c3b2a107020100000001020322aa", 0, m.PDID),
    ("5381080006406a60", 2, m.ACK),
    ("53810e00075000010b00aaa06cf0", 3, m.RAW),
    ("5381080005403935", 1, m.ACK),
    ("53810a00074800009392", 3, m.LSTATR),
]


def test_crc16_check_value():
    # The catalogue check value of CRC-16/AUG-CCITT (poly 0x1021, init 0x1D0F).
    assert crc16(b"123456789") == 0xE5CC


def bitwise_crc16(data: bytes) -> int:
    """The CRC as the OSDP standard writes it out, one bit at a time."""
    crc = 0x1D0F
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


@given(st.binary(max_size=300))
def test_crc16_matches_the_bitwise_definition(data):
    assert crc16(data) == bitwise_crc16(data)


@pytest.mark.parametrize(("raw", "sqn", "code"), LIBOSDP_REPLIES)
def test_decodes_libosdp_replies(raw, sqn, code):
    (frame,) = FrameDecoder().feed(bytes.fromhex(raw))
    assert (frame.address, frame.reply, frame.sqn, frame.code) == (1, True, sqn, code)


@pytest.mark.parametrize(("raw", "sqn", "code"), LIBOSDP_REPLIES)
def test_encodes_the_same_bytes(raw, sqn, code):
    (frame,) = FrameDecoder().feed(bytes.fromhex(raw))
    again = encode_frame(1, sqn, code, frame.data, reply=True)
    assert again.hex() == raw


@pytest.mark.parametrize(
    ("frame", "hexed"),
    [
        (encode_frame(1, 0, m.POLL), "53010800046 0ba00"),
        (encode_frame(0x7F, 1, m.ID, b"\x00"), "537f09000561006fd1"),
        (encode_frame(2, 3, m.POLL, crc=False), "53020700036041"),
    ],
)
def test_command_frames(frame, hexed):
    assert frame.hex() == hexed.replace(" ", "")


def test_checksum_frame_decodes():
    (frame,) = FrameDecoder().feed(encode_frame(2, 3, m.POLL, crc=False))
    assert (frame.crc, frame.sqn, checksum(b"\x01\xff")) == (False, 3, 0)


def test_garbage_and_mark_bytes_are_skipped():
    good = bytes.fromhex(LIBOSDP_REPLIES[1][0])
    stream = b"\xff\x00\x53\x53\x01" + b"\xff" + good + b"\x53\x81\xff\xff" + good
    assert [f.code for f in FrameDecoder().feed(stream)] == [m.ACK, m.ACK]


def test_bad_crc_is_dropped_and_next_frame_found():
    good = bytearray(bytes.fromhex(LIBOSDP_REPLIES[0][0]))
    bad = bytes(good[:-1]) + bytes([good[-1] ^ 1])
    decoder = FrameDecoder()
    assert decoder.feed(bad) == []
    assert [f.code for f in decoder.feed(bytes(good))] == [m.PDID]


def test_corrupt_length_does_not_swallow_following_frames():
    good = bytes.fromhex(LIBOSDP_REPLIES[1][0])
    # A SOM with a plausible but huge length, then real traffic.
    decoder = FrameDecoder()
    assert [f.code for f in decoder.feed(b"\x53\x81\x00\x04\x04" + good)] == [m.ACK]


def test_split_feed_byte_by_byte():
    raw = bytes.fromhex(LIBOSDP_REPLIES[2][0])
    decoder = FrameDecoder()
    frames = [f for b in raw for f in decoder.feed(bytes([b]))]
    assert [f.code for f in frames] == [m.RAW]


def test_secure_block_split():
    frame = encode_frame(5, 1, m.POLL, scb=b"\x02\x15", mac=lambda b: b"\xaa\xbb\xcc\xdd")
    (decoded,) = FrameDecoder().feed(frame)
    assert (decoded.scb_type, decoded.mac, decoded.data) == (0x15, b"\xaa\xbb\xcc\xdd", b"")
    assert frame.startswith(decoded.mac_input)


def frames(crc=None):
    """Encoded frames of any address, sequence, code and data; CRC or checksum mode."""
    return st.builds(
        encode_frame,
        address=st.integers(0, 0x7F),
        sqn=st.integers(0, 3),
        code=st.integers(0, 255),
        data=st.binary(max_size=64),
        reply=st.booleans(),
        crc=st.booleans() if crc is None else st.just(crc),
    )


frames_st = frames()


@given(st.binary(max_size=600))
@settings(max_examples=300)
def test_random_bytes_never_raise(data):
    decoder = FrameDecoder()
    for i in range(0, len(data), 7):
        decoder.feed(data[i : i + 7])


@given(st.binary(max_size=80), frames_st, st.binary(max_size=80), st.integers(1, 9))
@settings(max_examples=300)
def test_resynchronises_after_noise(noise, frame, trailer, chunk):
    decoder = FrameDecoder()
    decoder.feed(noise)
    decoder.reset()
    stream = frame + trailer
    got = [f for i in range(0, len(stream), chunk) for f in decoder.feed(stream[i : i + chunk])]
    assert got and got[0].mac_input == frame[: len(got[0].mac_input)]


@given(st.binary(min_size=1, max_size=40).filter(lambda b: 0x53 not in b), frames_st)
def test_noise_without_som_before_frame(noise, frame):
    assert len(FrameDecoder().feed(noise + frame)) == 1


crc_frames_st = frames(crc=True)


# The 8-bit checksum mode lets one junk frame in 256 through: the truncated head plus
# the start of the next frame can add up right. The control panel always asks for
# CRC-16, so the property is checked for CRC frames, with fixed examples so that a
# 1-in-65536 collision cannot make the run flaky.
@given(crc_frames_st, st.data())
@settings(derandomize=True)
def test_truncated_frame_then_good_frame(frame, data):
    cut = data.draw(st.integers(1, len(frame) - 1))
    got = FrameDecoder().feed(frame[:cut] + frame)
    assert got and got[-1].mac_input == frame[: len(got[-1].mac_input)]


@given(frames_st, st.data())
def test_single_bit_flip_is_rejected_or_harmless(frame, data):
    pos = data.draw(st.integers(0, len(frame) - 1))
    bit = data.draw(st.integers(0, 7))
    corrupt = bytearray(frame)
    corrupt[pos] ^= 1 << bit
    got = FrameDecoder().feed(bytes(corrupt) + frame)
    # A one-bit error is always caught by CRC-16 (and by the checksum), so the
    # only frame that may come out is the clean copy after it.
    assert got and all(f.mac_input == frame[: len(f.mac_input)] for f in got)
