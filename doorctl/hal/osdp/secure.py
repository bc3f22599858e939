"""OSDP secure channel, control panel side (AES-128, OSDP v2.2 annex D).

Session keys come from the base key (SCBK) and the CP's random number::

    S-ENC  = AES-ECB(SCBK, 01 82 rnd.A[0..5] 00*8)
    S-MAC1 = AES-ECB(SCBK, 01 01 rnd.A[0..5] 00*8)
    S-MAC2 = AES-ECB(SCBK, 01 02 rnd.A[0..5] 00*8)

The PD proves the key with AES-ECB(S-ENC, rnd.A || rnd.B), the CP answers with
AES-ECB(S-ENC, rnd.B || rnd.A), and the first reply MAC, RMAC-I, is
AES-ECB(S-MAC2, AES-ECB(S-MAC1, CP cryptogram)). From then on every message
carries the first 4 bytes of a CBC-MAC chained from the previous message's MAC;
data blocks are AES-CBC encrypted under S-ENC with the inverted last MAC of the
other side as IV and padded with 0x80 then zeros.
"""

from __future__ import annotations

import functools
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from . import messages as m
from .codec import Frame, crc16, encode_frame

# The well-known install-mode key SCBK-D from the OSDP specification.
SCBK_D = bytes(range(0x30, 0x40))
BLOCK = 16
SCS_11, SCS_12, SCS_13, SCS_14 = 0x11, 0x12, 0x13, 0x14
SCS_15, SCS_16, SCS_17, SCS_18 = 0x15, 0x16, 0x17, 0x18


class SecureChannelError(Exception):
    """A handshake or message failed its cryptographic checks.

    `cause` says why in one word for the controller: "wrong_key" (the reader proved
    another key), "no_secure_answer" (it did not answer the handshake) or "mac" (a
    MAC or cryptogram that should have matched did not)."""

    def __init__(self, reason: str, cause: str = "mac") -> None:
        super().__init__(reason)
        self.cause = cause


@functools.lru_cache(maxsize=32)
def _ecb_encryptor(key: bytes):
    """An AES-ECB context per key, kept: building one costs 20 times the block it encrypts,
    and a secure channel encrypts two blocks per POLL. ECB keeps no state between
    blocks, so one context serves every call (all of them on the hub's thread)."""
    return Cipher(algorithms.AES(key), modes.ECB()).encryptor()


def _ecb(key: bytes, block: bytes) -> bytes:
    """One AES-128 block encryption."""
    return _ecb_encryptor(key).update(block)


def _xor(a: bytes, b: bytes) -> bytes:
    """Two blocks XORed, as integers: five times faster than byte by byte."""
    return (int.from_bytes(a) ^ int.from_bytes(b)).to_bytes(BLOCK)


def _invert(data: bytes) -> bytes:
    """Bitwise NOT: OSDP uses the inverted last MAC as the data IV."""
    return bytes(b ^ 0xFF for b in data)


def pad(data: bytes) -> bytes:
    """Append 0x80 and zeros up to the next block boundary."""
    data = data + b"\x80"
    return data + bytes(-len(data) % BLOCK)


@dataclass(frozen=True)
class SessionKeys:
    """The three per-session keys derived from SCBK and the CP random."""

    s_enc: bytes
    s_mac1: bytes
    s_mac2: bytes


def session_keys(scbk: bytes, cp_random: bytes) -> SessionKeys:
    """Derive S-ENC, S-MAC1 and S-MAC2 from the base key and rnd.A."""
    tail = cp_random[:6] + bytes(8)
    return SessionKeys(
        s_enc=_ecb(scbk, b"\x01\x82" + tail),
        s_mac1=_ecb(scbk, b"\x01\x01" + tail),
        s_mac2=_ecb(scbk, b"\x01\x02" + tail),
    )


def pd_cryptogram(keys: SessionKeys, cp_random: bytes, pd_random: bytes) -> bytes:
    """The client (PD) cryptogram the CP must be able to reproduce."""
    return _ecb(keys.s_enc, cp_random + pd_random)


def cp_cryptogram(keys: SessionKeys, cp_random: bytes, pd_random: bytes) -> bytes:
    """The server (CP) cryptogram sent in osdp_SCRYPT."""
    return _ecb(keys.s_enc, pd_random + cp_random)


def initial_rmac(keys: SessionKeys, server_cryptogram: bytes) -> bytes:
    """RMAC-I, the PD's proof that it accepted our cryptogram and the chain's seed."""
    return _ecb(keys.s_mac2, _ecb(keys.s_mac1, server_cryptogram))


def mac(keys: SessionKeys, iv: bytes, message: bytes) -> bytes:
    """OSDP CBC-MAC: S-MAC1 over all blocks but the last, S-MAC2 on the last."""
    if len(message) % BLOCK or not message:
        message = pad(message)
    chain = iv
    if len(message) > BLOCK:
        cbc = Cipher(algorithms.AES(keys.s_mac1), modes.CBC(iv)).encryptor()
        chain = (cbc.update(message[:-BLOCK]) + cbc.finalize())[-BLOCK:]
    return _ecb(keys.s_mac2, _xor(message[-BLOCK:], chain))


def encrypt(keys: SessionKeys, last_mac: bytes, data: bytes) -> bytes:
    """Encrypt a data block with the inverted last MAC of the peer as IV."""
    enc = Cipher(algorithms.AES(keys.s_enc), modes.CBC(_invert(last_mac))).encryptor()
    return enc.update(pad(data)) + enc.finalize()


def decrypt(keys: SessionKeys, last_mac: bytes, data: bytes) -> bytes:
    """Decrypt and unpad a data block; raise SecureChannelError if it is malformed."""
    if not data or len(data) % BLOCK:
        raise SecureChannelError("encrypted block is not a whole number of blocks")
    dec = Cipher(algorithms.AES(keys.s_enc), modes.CBC(_invert(last_mac))).decryptor()
    plain = (dec.update(data) + dec.finalize()).rstrip(b"\x00")
    if not plain.endswith(b"\x80"):
        raise SecureChannelError("bad padding in encrypted block")
    return plain[:-1]


@functools.lru_cache(maxsize=64)
def _short_message(address: int, sqn: int, code: int, reply: bool) -> tuple[bytes, int]:
    """A data-less sealed message up to its MAC (a POLL, an ACK), and that prefix padded
    to one block as an integer: the same for every message of its address and SQN."""
    scb = bytes([2, SCS_16 if reply else SCS_15])
    message = encode_frame(address, sqn, code, reply=reply, scb=scb, mac=_keep)[:-6]
    return message, int.from_bytes(pad(message))


def _keep(message: bytes) -> bytes:
    """A stand-in MAC for _short_message, which cuts it off again."""
    return bytes(4)


class Session:
    """An established secure channel: the keys and both ends of the MAC chain.

    A POLL and the ACK an idle reader answers it with are the secure channel's
    steady traffic, 67 of each a second per reader: their MAC is one block (their
    message is shorter than one), so they take the short path (``seal_poll``,
    ``expected_ack``): the padded message comes from a cache, one XOR with the chain
    and one AES block on the session's own S-MAC2 context."""

    def __init__(self, keys: SessionKeys, rmac_i: bytes) -> None:
        self.keys = keys
        self.r_mac = rmac_i
        self.c_mac = bytes(BLOCK)
        self._ack_mac = b""
        self._mac2 = Cipher(algorithms.AES(keys.s_mac2), modes.ECB()).encryptor()

    def _one_block_mac(self, padded: int, iv: bytes) -> bytes:
        """OSDP's MAC of a message shorter than a block: S-MAC2 over it XOR the chain."""
        return self._mac2.update((padded ^ int.from_bytes(iv)).to_bytes(BLOCK))

    def seal_poll(self, address: int, sqn: int) -> bytes:
        """osdp_POLL with its MAC; the same bytes as seal(address, sqn, POLL)."""
        message, padded = _short_message(address, sqn, m.POLL, False)
        self.c_mac = self._one_block_mac(padded, self.r_mac)
        body = message + self.c_mac[:4]
        return body + crc16(body).to_bytes(2, "little")

    def seal(self, address: int, sqn: int, code: int, data: bytes = b"") -> bytes:
        """Encode a command with MAC, encrypting its data when it has any."""
        if code == m.POLL and not data:
            return self.seal_poll(address, sqn)
        scb = bytes([2, SCS_17 if data else SCS_15])
        body = encrypt(self.keys, self.r_mac, data) if data else b""
        return encode_frame(address, sqn, code, body, scb=scb, mac=self._command_mac)

    def _command_mac(self, message: bytes) -> bytes:
        """MAC a command, chaining from the last reply MAC, and remember it."""
        self.c_mac = mac(self.keys, self.r_mac, message)
        return self.c_mac

    def expected_ack(self, address: int, sqn: int) -> bytes:
        """The osdp_ACK an authentic reader answers the last sealed command with.

        Its MAC is known in advance, so an idle reader's reply can be checked by
        comparing bytes (idle.py); `ack_received` then moves the chain on."""
        message, padded = _short_message(address, sqn, m.ACK, True)
        self._ack_mac = self._one_block_mac(padded, self.c_mac)
        body = message + self._ack_mac[:4]
        return body + crc16(body).to_bytes(2, "little")

    def ack_received(self) -> None:
        """The reply was exactly `expected_ack`: its MAC is the chain's next link."""
        self.r_mac = self._ack_mac

    def open(self, frame: Frame) -> bytes:
        """Verify a reply's MAC and return its plain data; raise if it is not authentic."""
        if frame.scb_type not in (SCS_16, SCS_18):
            raise SecureChannelError(f"reply without MAC (SCB type {frame.scb_type:#x})")
        expected = mac(self.keys, self.c_mac, frame.mac_input)
        if not hmac.compare_digest(expected[:4], frame.mac):
            raise SecureChannelError("bad reply MAC")
        self.r_mac = expected
        if frame.scb_type == SCS_18:
            return decrypt(self.keys, self.c_mac, frame.data)
        return frame.data


class Handshake:
    """The CP half of CHLNG/CCRYPT/SCRYPT/RMAC_I for one attempt."""

    def __init__(
        self,
        scbk: bytes,
        *,
        default_key: bool,
        cp_random: bytes | None = None,
        alternative: bytes | None = None,
    ) -> None:
        self.scbk = SCBK_D if default_key else scbk
        # A second key the PD may hold: the one a KEYSET whose answer was lost offered it.
        # The PD's cryptogram shows which of the two it has, in the same exchange.
        self.candidates = (self.scbk,) if default_key or not alternative else (scbk, alternative)
        self.key_flag = 0 if default_key else 1
        self.cp_random = cp_random or os.urandom(8)
        self.keys: SessionKeys | None = None
        self.server_cryptogram = b""

    def challenge(self) -> tuple[bytes, int, bytes]:
        """SCB, code and data of osdp_CHLNG; key flag 0 asks the PD for SCBK-D."""
        return bytes([3, SCS_11, self.key_flag]), *m.challenge(self.cp_random)

    def answer(self, ccrypt: dict) -> tuple[bytes, int, bytes]:
        """Check the PD's cryptogram and build osdp_SCRYPT; raise on a wrong key."""
        pd_random = ccrypt["pd_random"]
        for scbk in self.candidates:
            keys = session_keys(scbk, self.cp_random)
            expected = pd_cryptogram(keys, self.cp_random, pd_random)
            if hmac.compare_digest(expected, ccrypt["cryptogram"]):
                self.scbk, self.keys = scbk, keys
                break
        else:
            raise SecureChannelError(
                "PD cryptogram mismatch: the reader has another key", "wrong_key"
            )
        self.server_cryptogram = cp_cryptogram(self.keys, self.cp_random, pd_random)
        return bytes([3, SCS_13, self.key_flag]), *m.server_cryptogram(self.server_cryptogram)

    def finish(self, rmac_i: dict) -> Session:
        """Check RMAC-I and return the established session."""
        if self.keys is None:
            raise SecureChannelError("RMAC_I before CCRYPT")
        expected = initial_rmac(self.keys, self.server_cryptogram)
        if not hmac.compare_digest(expected, rmac_i["rmac"]):
            raise SecureChannelError("RMAC-I mismatch")
        return Session(self.keys, expected)
