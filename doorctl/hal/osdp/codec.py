"""OSDP v2.2 link layer: frame encoding and a resynchronising streaming decoder.

Pure functions and a small stateful decoder, no I/O. A frame on the wire is::

    SOM(0x53) ADDR LEN_LSB LEN_MSB CTRL [SCB] CODE [DATA] [MAC(4)] CRC16_LE | CKSUM

ADDR bit 7 is set on replies (PD -> CP); 0x7F is the broadcast address. CTRL
bits 0-1 carry the sequence number, bit 2 selects CRC-16 (else an 8-bit
checksum) and bit 3 says a security control block follows the header.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from dataclasses import dataclass

SOM = 0x53
BROADCAST = 0x7F
REPLY_BIT = 0x80
CTRL_SQN = 0x03
CTRL_CRC = 0x04
CTRL_SCB = 0x08
HEADER_LEN = 5
# SOM..CTRL + code + 1-byte checksum: nothing shorter can be a frame.
MIN_FRAME = HEADER_LEN + 2
# Far above any real reader's buffer (libosdp uses 256); bounds garbage lengths.
MAX_FRAME = 1536
MAC_LEN = 4
# Security block types whose messages carry a 4-byte MAC before the check bytes.
MAC_SCB_TYPES = frozenset({0x15, 0x16, 0x17, 0x18})


def crc16(data: bytes, crc: int = 0x1D0F) -> int:
    """CRC-16 as OSDP defines it: poly 0x1021, init 0x1D0F, no reflection."""
    # crc_hqx is exactly that CRC (CRC-16/AUG-CCITT with this init), in C.
    return binascii.crc_hqx(data, crc)


def checksum(data: bytes) -> int:
    """The legacy 8-bit check: two's complement of the byte sum."""
    return (-sum(data)) & 0xFF


@dataclass(frozen=True)
class Frame:
    """One decoded frame; `mac_input` is what a secure channel MAC covers."""

    address: int
    reply: bool
    sqn: int
    crc: bool
    scb: bytes
    code: int
    data: bytes
    mac: bytes
    mac_input: bytes

    @property
    def scb_type(self) -> int:
        """Security block type (SCS_11..SCS_18), 0 for a plain frame."""
        return self.scb[1] if len(self.scb) >= 2 else 0


def encode_frame(
    address: int,
    sqn: int,
    code: int,
    data: bytes = b"",
    *,
    reply: bool = False,
    crc: bool = True,
    scb: bytes = b"",
    mac: Callable[[bytes], bytes] | None = None,
) -> bytes:
    """Build a frame; `mac` receives the bytes it must cover and returns 4 bytes."""
    ctrl = (sqn & CTRL_SQN) | (CTRL_CRC if crc else 0) | (CTRL_SCB if scb else 0)
    addr = (address & 0x7F) | (REPLY_BIT if reply else 0)
    total = HEADER_LEN + len(scb) + 1 + len(data) + (MAC_LEN if mac else 0) + (2 if crc else 1)
    body = bytes([SOM, addr, total & 0xFF, total >> 8, ctrl]) + scb + bytes([code]) + data
    if mac:
        body += mac(body)[:MAC_LEN]
    if crc:
        return body + crc16(body).to_bytes(2, "little")
    return body + bytes([checksum(body)])


def _parse(raw: bytes) -> Frame | None:
    """Check and split one length-delimited candidate; None if it is not a frame."""
    ctrl = raw[4]
    use_crc = bool(ctrl & CTRL_CRC)
    body, check = (raw[:-2], raw[-2:]) if use_crc else (raw[:-1], raw[-1:])
    if use_crc and crc16(body) != int.from_bytes(check, "little"):
        return None
    if not use_crc and checksum(body) != check[0]:
        return None
    scb = b""
    if ctrl & CTRL_SCB:
        scb_len = body[HEADER_LEN]
        if scb_len < 2 or HEADER_LEN + scb_len >= len(body):
            return None
        scb = bytes(body[HEADER_LEN : HEADER_LEN + scb_len])
    return _split(raw[1], ctrl, use_crc, scb, bytes(body))


def _split(addr: int, ctrl: int, use_crc: bool, scb: bytes, body: bytes) -> Frame | None:
    """Separate code, data and MAC once the check bytes are known good."""
    start = HEADER_LEN + len(scb)
    has_mac = len(scb) >= 2 and scb[1] in MAC_SCB_TYPES
    end = len(body) - MAC_LEN if has_mac else len(body)
    if end <= start:
        return None
    return Frame(
        address=addr & 0x7F,
        reply=bool(addr & REPLY_BIT),
        sqn=ctrl & CTRL_SQN,
        crc=use_crc,
        scb=scb,
        code=body[start],
        data=body[start + 1 : end],
        mac=body[end:] if has_mac else b"",
        mac_input=body[:end],
    )


class FrameDecoder:
    """Streaming decoder: feed it any bytes, get whole valid frames back.

    Garbage, truncated frames and bad check bytes are skipped by dropping the
    SOM that started them and searching for the next one, so one bad byte
    never costs more than the frame it hit.
    """

    def __init__(self) -> None:
        self._buf = bytearray()

    def reset(self) -> None:
        """Forget partial input, e.g. before a new command on a half-duplex bus."""
        self._buf.clear()

    def feed(self, data: bytes) -> list[Frame]:
        """Append received bytes and return every complete valid frame."""
        self._buf += data
        frames = []
        while True:
            status = self._next()
            if status is None:
                return frames
            if isinstance(status, Frame):
                frames.append(status)

    def _next(self) -> Frame | bool | None:
        """Take one step: a frame, False after skipping junk, None to wait for more."""
        start = self._buf.find(SOM)
        if start < 0:
            self._buf.clear()
            return None
        if start:
            del self._buf[:start]
        if len(self._buf) < HEADER_LEN:
            return None
        length = self._buf[2] | (self._buf[3] << 8)
        if not MIN_FRAME <= length <= MAX_FRAME:
            return self._skip()
        if len(self._buf) < length:
            return self._lookahead()
        frame = _parse(bytes(self._buf[:length]))
        if frame is None:
            return self._skip()
        del self._buf[:length]
        return frame

    def _lookahead(self) -> bool | None:
        """While a long frame is pending, skip to a later SOM that starts a whole one.

        A corrupted length byte could otherwise hold the decoder until that
        many bytes of real traffic had been swallowed.
        """
        pos = self._buf.find(SOM, 1)
        while pos > 0:
            if self._complete_at(pos):
                del self._buf[:pos]
                return False
            pos = self._buf.find(SOM, pos + 1)
        return None

    def _complete_at(self, pos: int) -> bool:
        """True if a whole valid frame starts at `pos` in the buffer."""
        if len(self._buf) - pos < HEADER_LEN:
            return False
        length = self._buf[pos + 2] | (self._buf[pos + 3] << 8)
        if not MIN_FRAME <= length <= len(self._buf) - pos:
            return False
        return _parse(bytes(self._buf[pos : pos + length])) is not None

    def _skip(self) -> bool:
        """Drop the SOM that led nowhere so the next one gets its chance."""
        del self._buf[:1]
        return False
