"""Wiegand: pure codecs for card and keypad frames, and the frame assembler around them.

A Wiegand reader sends a frame as pulses on two lines: a low pulse on D0 is a 0 bit,
on D1 a 1 bit. Pulses are ~50-100 µs wide and ~1-2 ms apart; there is no end marker,
so a frame ends when the lines stay quiet for longer than any in-frame interval.

Bit positions below count from 0 = the first bit sent (the leftmost character).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import gevent

log = logging.getLogger(__name__)

# Silence that ends a frame: real readers send bits 1-2 ms apart, so 25 ms of quiet is
# an order of magnitude past any in-frame gap yet short enough to feel instant.
DEFAULT_FRAME_GAP = 0.025
# RPi.GPIO cannot time pulses; a backend that can uses this to drop glitches that are
# far shorter than the ~50 µs a real reader drives.
DEFAULT_MIN_PULSE = 0.000020
# Longer frames than this are line noise, not a credential any reader sends.
MAX_FRAME_BITS = 128
MIN_FRAME_BITS = 4

KEY_NAMES = {10: "*", 11: "#"}
KEY_VALUES = {"*": 10, "#": 11}

# The two 37-bit HID formats share length and parity; the site must say which it uses.
FORMATS_37 = ("H10304", "H10302")


@dataclass(frozen=True)
class CardRead:
    """A card frame that passed its format's parity checks (or a raw frame)."""

    format: str
    facility: int | None
    number: int
    bits: int
    raw: str


@dataclass(frozen=True)
class KeyPress:
    """One keypad key: '0'-'9', '*' or '#'."""

    key: str


@dataclass(frozen=True)
class BadFrame:
    """A frame that could not be trusted, with a reason a person can read."""

    reason: str
    bits: str


WiegandResult = CardRead | KeyPress | BadFrame


def even_parity(bits: str) -> str:
    """The bit that makes the count of ones in `bits` plus itself even."""
    return str(bits.count("1") % 2)


def odd_parity(bits: str) -> str:
    """The bit that makes the count of ones in `bits` plus itself odd."""
    return str(1 - bits.count("1") % 2)


def _field(bits: str, start: int, length: int) -> int:
    """The unsigned number in `length` bits from `start`, most significant first."""
    return int(bits[start : start + length], 2)


def _binary(value: int, length: int, what: str) -> str:
    """`value` as exactly `length` bits; ValueError naming `what` if it does not fit."""
    if not 0 <= value < (1 << length):
        raise ValueError(f"{what} {value} does not fit in {length} bits")
    return format(value, f"0{length}b")


# --- Formats with one even parity bit first and one odd parity bit last --------------
# (name, length, facility bits, card bits, even parity span, odd parity span);
# spans are (start, stop) over the whole frame, published by HID for each format.
_TWO_PARITY = {
    "H10301": (26, 8, 16, (1, 13), (13, 25)),
    "H10306": (34, 16, 16, (1, 17), (17, 33)),
    "H10304": (37, 16, 19, (1, 19), (18, 36)),
    "H10302": (37, 0, 35, (1, 19), (18, 36)),
}


def _decode_two_parity(name: str, bits: str) -> WiegandResult:
    """Decode a format framed by an even parity bit first and an odd one last."""
    length, fac_bits, card_bits, even, odd = _TWO_PARITY[name]
    if bits[0] != even_parity(bits[even[0] : even[1]]):
        return BadFrame(f"{name}: even parity (first bit) does not match", bits)
    if bits[-1] != odd_parity(bits[odd[0] : odd[1]]):
        return BadFrame(f"{name}: odd parity (last bit) does not match", bits)
    facility = _field(bits, 1, fac_bits) if fac_bits else None
    number = _field(bits, 1 + fac_bits, card_bits)
    return CardRead(name, facility, number, length, bits)


def _encode_two_parity(name: str, facility: int | None, number: int) -> str:
    """Frame facility and card number with the format's leading and trailing parity."""
    length, fac_bits, card_bits, even, odd = _TWO_PARITY[name]
    if not fac_bits and facility:
        raise ValueError(f"{name} has no facility code")
    data = _binary(facility or 0, fac_bits, "facility") if fac_bits else ""
    frame = "?" + data + _binary(number, card_bits, "card number") + "?"
    frame = even_parity(frame[even[0] : even[1]]) + frame[1:]
    return frame[:-1] + odd_parity(frame[odd[0] : odd[1]])


# --- Corporate 1000, 35 bit -----------------------------------------------------------
# HID's layout: bit 0 odd parity over the whole frame, bit 1 even parity over positions
# 2..33 that are not 1 mod 3, bits 2-13 company ID (12), bits 14-33 card number (20),
# bit 34 odd parity over positions 1..32 that are not 0 mod 3.
C1000 = "C1000-35"
_C1000_EVEN = tuple(i for i in range(2, 34) if i % 3 != 1)
_C1000_ODD = tuple(i for i in range(1, 33) if i % 3 != 0)


def _pick(bits: str, positions: tuple[int, ...]) -> str:
    """The bits at `positions`, in order."""
    return "".join(bits[i] for i in positions)


def _decode_c1000(bits: str) -> WiegandResult:
    """Decode Corporate 1000 35-bit, checking HID's three parity bits."""
    if bits[1] != even_parity(_pick(bits, _C1000_EVEN)):
        return BadFrame(f"{C1000}: even parity (bit 2) does not match", bits)
    if bits[34] != odd_parity(_pick(bits, _C1000_ODD)):
        return BadFrame(f"{C1000}: odd parity (last bit) does not match", bits)
    if bits[0] != odd_parity(bits[1:]):
        return BadFrame(f"{C1000}: overall odd parity (first bit) does not match", bits)
    return CardRead(C1000, _field(bits, 2, 12), _field(bits, 14, 20), 35, bits)


def _encode_c1000(facility: int, number: int) -> str:
    """Frame a Corporate 1000 company ID and card number with its three parity bits."""
    frame = list("??" + _binary(facility, 12, "company ID") + _binary(number, 20, "card") + "?")
    frame[1] = even_parity(_pick("".join(frame), _C1000_EVEN))
    frame[34] = odd_parity(_pick("".join(frame), _C1000_ODD))
    frame[0] = odd_parity("".join(frame[1:]))
    return "".join(frame)


# --- Keypads --------------------------------------------------------------------------


def _key_name(value: int) -> str:
    """The key for a keypad value 0-11."""
    return KEY_NAMES.get(value, str(value))


def _decode_key4(bits: str) -> WiegandResult:
    """A 4-bit keypad burst: the key's value, 0-9, 10 = '*', 11 = '#'."""
    value = int(bits, 2)
    if value > 11:
        return BadFrame(f"4-bit keypad value {value} is not a key", bits)
    return KeyPress(_key_name(value))


def _decode_key8(bits: str) -> WiegandResult:
    """An 8-bit keypad burst: high nibble is the complement of the low one (the key)."""
    high, low = int(bits[:4], 2), int(bits[4:], 2)
    if high != low ^ 0xF:
        return BadFrame("8-bit keypad: high nibble is not the complement of the key", bits)
    return _decode_key4(bits[4:])


def encode_key(key: str, bits: int = 4) -> str:
    """The 4- or 8-bit keypad frame a reader sends for one key."""
    value = KEY_VALUES.get(key)
    if value is None:
        if len(key) != 1 or key not in "0123456789":
            raise ValueError(f"not a keypad key: {key!r}")
        value = int(key)
    low = format(value, "04b")
    return low if bits == 4 else format(value ^ 0xF, "04b") + low


def encode_keys(keys: str, bits: int = 4) -> list[str]:
    """One frame per key, as a keypad sends them (e.g. '1234#')."""
    return [encode_key(key, bits) for key in keys]


# --- Public codec ---------------------------------------------------------------------

CARD_FORMATS = ("H10301", "H10306", C1000, "H10302", "H10304")


def encode_card(format: str, facility: int | None, number: int, length: int = 0) -> str:
    """The bit string a reader sends for a card in `format`, parity included.

    The "raw" format has no parity and no facility: `length` gives its bit count.
    """
    if format == C1000:
        return _encode_c1000(facility or 0, number)
    if format in _TWO_PARITY:
        return _encode_two_parity(format, facility, number)
    if format == "raw":
        if facility or length < MIN_FRAME_BITS:
            raise ValueError("a raw frame has no facility and needs a length of 4 bits or more")
        return _binary(number, length, "raw number")
    raise ValueError(f"unknown Wiegand format {format!r}")


def decode(bits: str, format37: str = "H10304") -> WiegandResult:
    """Decode one frame into a card read, a keypad key or a bad frame; never raises."""
    if not isinstance(bits, str) or not bits or set(bits) - {"0", "1"}:
        return BadFrame("frame is not a string of 0 and 1 bits", str(bits))
    n = len(bits)
    if n < MIN_FRAME_BITS:
        return BadFrame(f"frame too short ({n} bits): noise on D0/D1?", bits)
    if n > MAX_FRAME_BITS:
        return BadFrame(f"frame too long ({n} bits): noise on D0/D1?", bits)
    if n == 4:
        return _decode_key4(bits)
    if n == 8:
        return _decode_key8(bits)
    if n == 35:
        return _decode_c1000(bits)
    by_length = {26: "H10301", 34: "H10306", 37: format37}
    if n in by_length:
        return _decode_two_parity(by_length[n], bits)
    return CardRead("raw", None, int(bits, 2), n, bits)


# --- Frame assembly -------------------------------------------------------------------


class FrameAssembler:
    """Collects D0/D1 pulses into frames and hands each decoded frame to a callback.

    Runs on the gevent hub: `pulse()` is called from a greenlet (never a foreign
    thread) and the frame ends in a greenlet that waits for the inter-frame gap.
    """

    def __init__(
        self,
        on_frame: Callable[[WiegandResult], None],
        gap: float = DEFAULT_FRAME_GAP,
        min_pulse: float = DEFAULT_MIN_PULSE,
        format37: str = "H10304",
    ):
        self._on_frame = on_frame
        self.gap = gap
        self.min_pulse = min_pulse
        self.format37 = format37
        self._bits: list[str] = []
        self._last = 0.0
        self._waiter: gevent.Greenlet | None = None

    def pulse(self, bit: int, width: float | None = None) -> None:
        """Add one bit (0 from D0, 1 from D1); `width` in seconds if the backend knows it."""
        if width is not None and width < self.min_pulse:
            return  # a glitch far shorter than a reader's pulse: drop it
        self._bits.append("1" if bit else "0")
        self._last = time.monotonic()
        if self._waiter is None:
            self._waiter = gevent.spawn(self._wait_for_gap)

    def _wait_for_gap(self) -> None:
        """Sleep until the lines have been quiet for `gap`, then end the frame."""
        while (remaining := self._last + self.gap - time.monotonic()) > 0:
            gevent.sleep(remaining)
        bits, self._bits, self._waiter = "".join(self._bits), [], None
        self._on_frame(decode(bits, self.format37))

    def close(self) -> None:
        """Drop a frame in progress (the board is closing)."""
        if self._waiter is not None:
            self._waiter.kill(block=False)
        self._bits, self._waiter = [], None
