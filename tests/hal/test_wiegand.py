"""Wiegand codecs and frame assembly: known frames, malformed frames, round trips."""

import gevent
import pytest
from hypothesis import given
from hypothesis import strategies as st

from doorctl.hal.wiegand import (
    C1000,
    BadFrame,
    CardRead,
    FrameAssembler,
    KeyPress,
    decode,
    encode_card,
    encode_key,
    encode_keys,
)

# Reference frames built by hand from HID's published layouts (P = parity bit):
# H10301: P(even over bits 1-12) + facility 8 + card 16 + P(odd over bits 13-24).
# facility 12 = 00001100, card 3456 = 0000110110000000; bits 1-12 hold two ones -> 0,
# bits 13-24 (110110000000) hold four ones -> odd parity 1.
H10301_12_3456 = "0" + "00001100" + "0000110110000000" + "1"
# H10306 (34 bit): facility 1 = 0000000000000001, card 1 = 0000000000000001;
# bits 1-16 hold one 1 -> even parity 1; bits 17-32 hold one 1 -> odd parity 0.
H10306_1_1 = "1" + "0000000000000001" + "0000000000000001" + "0"
# H10302 (37 bit): card 1 in 35 bits; bits 1-18 hold no ones -> even parity 0;
# bits 18-35 hold one 1 -> odd parity 0.
H10302_1 = "0" + "0" * 34 + "1" + "0"
# H10304 (37 bit): facility 1 (16 bits), card 1 (19 bits); bits 1-18 hold one 1 (the
# facility's last bit, position 16) -> even 1; bits 18-35 hold one 1 -> odd 0.
H10304_1_1 = "1" + "0" * 15 + "1" + "0" * 18 + "1" + "0"
# Corporate 1000 (35 bit): company 1 (12 bits at positions 2-13), card 1 (20 bits at
# 14-33): ones at positions 13 and 33. Even parity at 1 covers positions 2..33 not
# 1 mod 3: 13 is 1 mod 3 (excluded), 33 is 0 mod 3 (included) -> one 1 -> P=1.
# Odd parity at 34 covers 1..32 not 0 mod 3: position 1 (P=1) and 13 -> two ones -> 1.
# Overall odd parity at 0 over positions 1..34: ones at 1, 13, 33, 34 -> four -> 1.
C1000_1_1 = "11" + "000000000001" + "00000000000000000001" + "1"


@pytest.mark.parametrize(
    "bits, expected",
    [
        (H10301_12_3456, CardRead("H10301", 12, 3456, 26, H10301_12_3456)),
        (H10306_1_1, CardRead("H10306", 1, 1, 34, H10306_1_1)),
        (C1000_1_1, CardRead(C1000, 1, 1, 35, C1000_1_1)),
        (H10304_1_1, CardRead("H10304", 1, 1, 37, H10304_1_1)),
    ],
)
def test_known_frames_decode(bits, expected):
    assert decode(bits) == expected


def test_h10302_is_chosen_for_37_bits_when_configured():
    assert decode(H10302_1, format37="H10302") == CardRead("H10302", None, 1, 37, H10302_1)


@pytest.mark.parametrize(
    "fmt, facility, number, bits",
    [
        ("H10301", 12, 3456, H10301_12_3456),
        ("H10306", 1, 1, H10306_1_1),
        (C1000, 1, 1, C1000_1_1),
        ("H10302", None, 1, H10302_1),
        ("H10304", 1, 1, H10304_1_1),
    ],
)
def test_encoder_matches_hand_built_frames(fmt, facility, number, bits):
    assert encode_card(fmt, facility, number) == bits


@pytest.mark.parametrize("bits", [H10301_12_3456, H10306_1_1, C1000_1_1, H10304_1_1])
def test_every_single_bit_error_is_caught(bits):
    # all our formats detect any one flipped bit: each position is under some parity
    for i in range(len(bits)):
        flipped = bits[:i] + ("1" if bits[i] == "0" else "0") + bits[i + 1 :]
        result = decode(flipped)
        assert isinstance(result, BadFrame), (i, result)
        assert "parity" in result.reason


@pytest.mark.parametrize("bits", ["", "1", "01", "101"])
def test_short_frames_are_bad(bits):
    result = decode(bits)
    assert isinstance(result, BadFrame)


def test_too_short_reason_says_so():
    assert "too short" in decode("101").reason


def test_non_binary_and_overlong_frames_are_bad():
    assert isinstance(decode("10a1"), BadFrame)
    assert "too long" in decode("1" * 200).reason


@pytest.mark.parametrize(
    "bits, key",
    [("0000", "0"), ("0101", "5"), ("1001", "9"), ("1010", "*"), ("1011", "#")],
)
def test_four_bit_keys(bits, key):
    assert decode(bits) == KeyPress(key)


@pytest.mark.parametrize("bits", ["1100", "1111"])
def test_four_bit_values_above_hash_are_bad(bits):
    assert isinstance(decode(bits), BadFrame)


def test_eight_bit_keys_need_the_complement():
    assert decode("10100101") == KeyPress("5")
    assert decode("01001011") == KeyPress("#")
    bad = decode("00000101")
    assert isinstance(bad, BadFrame) and "complement" in bad.reason


def test_other_lengths_are_raw():
    assert decode("1" * 40) == CardRead("raw", None, 2**40 - 1, 40, "1" * 40)
    assert decode("000001") == CardRead("raw", None, 1, 6, "000001")


def test_key_encoder():
    assert encode_keys("1*#") == ["0001", "1010", "1011"]
    assert encode_key("5", bits=8) == "10100101"
    with pytest.raises(ValueError):
        encode_key("A")


def test_encoder_rejects_values_that_do_not_fit():
    with pytest.raises(ValueError, match="facility"):
        encode_card("H10301", 256, 1)
    with pytest.raises(ValueError, match="card"):
        encode_card("H10301", 1, 65536)
    with pytest.raises(ValueError, match="no facility"):
        encode_card("H10302", 5, 1)


FORMAT_LIMITS = {
    "H10301": (8, 16),
    "H10306": (16, 16),
    C1000: (12, 20),
    "H10302": (0, 35),
    "H10304": (16, 19),
}


@st.composite
def cards(draw):
    fmt = draw(st.sampled_from(sorted(FORMAT_LIMITS)))
    fac_bits, card_bits = FORMAT_LIMITS[fmt]
    facility = draw(st.integers(0, 2**fac_bits - 1)) if fac_bits else None
    return fmt, facility, draw(st.integers(0, 2**card_bits - 1))


@given(cards())
def test_round_trip_every_format(card):
    fmt, facility, number = card
    bits = encode_card(fmt, facility, number)
    format37 = fmt if fmt in ("H10302", "H10304") else "H10304"
    assert decode(bits, format37) == CardRead(fmt, facility, number, len(bits), bits)


@given(st.sampled_from("0123456789*#"), st.sampled_from([4, 8]))
def test_round_trip_keys(key, bits):
    assert decode(encode_key(key, bits)) == KeyPress(key)


@given(st.integers(4, 64).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, 2**n - 1))))
def test_round_trip_raw(frame):
    length, number = frame
    if length in (4, 8, 26, 34, 35, 37):
        return  # those lengths are formats, covered above
    assert decode(encode_card("raw", None, number, length)) == CardRead(
        "raw", None, number, length, format(number, f"0{length}b")
    )


@given(st.text(alphabet="01", max_size=200))
def test_random_bit_strings_never_raise(bits):
    result = decode(bits)
    assert isinstance(result, CardRead | KeyPress | BadFrame)


@given(st.text(max_size=50))
def test_random_text_never_raises(text):
    assert isinstance(decode(text), CardRead | KeyPress | BadFrame)


def _pulse_frames(assembler, frames, interval=0.002):
    for bits in frames:
        for bit in bits:
            assembler.pulse(int(bit), width=0.00008)
            gevent.sleep(interval)
        gevent.sleep(assembler.gap * 2)


def test_assembler_ends_frame_after_gap_not_before():
    got = []
    assembler = FrameAssembler(got.append, gap=0.025)
    for bit in H10301_12_3456:
        assembler.pulse(int(bit))
        gevent.sleep(0.002)
    assert got == []  # still inside the gap
    gevent.sleep(0.05)
    assert got == [decode(H10301_12_3456)]


def test_assembler_drops_noise_pulses():
    got = []
    assembler = FrameAssembler(got.append, gap=0.02, min_pulse=0.00002)
    for bit in H10301_12_3456:
        assembler.pulse(1, width=0.000002)  # a glitch between real bits
        assembler.pulse(int(bit), width=0.00008)
    gevent.sleep(0.05)
    assert got == [decode(H10301_12_3456)]


def test_assembler_reports_a_lone_glitch_as_bad_frame():
    got = []
    assembler = FrameAssembler(got.append, gap=0.01)
    assembler.pulse(0)
    assembler.pulse(1)
    gevent.sleep(0.03)
    assert len(got) == 1 and isinstance(got[0], BadFrame)


def test_keypad_burst_gives_one_key_per_frame():
    got = []
    assembler = FrameAssembler(got.append, gap=0.01)
    _pulse_frames(assembler, encode_keys("1234#"))
    assert got == [KeyPress(k) for k in "1234#"]


def test_close_drops_a_frame_in_progress():
    got = []
    assembler = FrameAssembler(got.append, gap=0.01)
    assembler.pulse(1)
    assembler.close()
    gevent.sleep(0.03)
    assert got == []
