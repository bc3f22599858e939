"""The backup file: the configuration encrypted with a password the user gives.

Layout: MAGIC, one byte of format version, two bytes of header length, the header
(JSON: the key derivation's name, cost and salt, the cipher, its nonce, a password
check and the ciphertext's length), then the ciphertext. The key comes from the
password through scrypt (slow on purpose: each guess costs the same memory and time);
the content is compressed JSON sealed with AES-256-GCM, with everything before the
ciphertext as associated data, so a changed header does not open either.

The password check (an HMAC made with a second key from the same derivation) tells a
wrong password from a damaged file; it gives a guesser nothing the ciphertext's tag
would not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
import zlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from flask_babel import gettext as _

from doorctl.core.errors import Invalid

MAGIC = b"DOORCTL-BACKUP\n"
FORMAT = 1
PREFIX = struct.Struct(">BH")
SALT_SIZE = 16
NONCE_SIZE = 12
CHECK_MESSAGE = b"doorctl backup password check"
MAX_HEADER = 4096
# The product's cost: 128 MiB and about 0.3 s on a PC (a few seconds on a Pi) per try.
DEFAULT_COST = {"n": 2**17, "r": 8, "p": 1}
# A file names its own cost; one asking for more than this is refused before deriving,
# so a crafted file can't make the unit spend its memory.
MAX_MEMORY = 256 * 1024 * 1024
MIN_N = 2**10


class BackupRefused(Invalid):
    """A file that does not open as a backup; its message says why, under `file` or
    `password`."""

    def __init__(self, field: str, message: str):
        super().__init__({field: message}, message=message)


@dataclass(frozen=True)
class Cost:
    """scrypt's cost: n (a power of two), block size r, parallelism p."""

    n: int = DEFAULT_COST["n"]
    r: int = DEFAULT_COST["r"]
    p: int = DEFAULT_COST["p"]

    def allowed(self) -> bool:
        """Whether a file may ask for this cost (bounded memory, a real cost)."""
        values = (self.n, self.r, self.p)
        numbers = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        if not numbers or self.n < MIN_N or self.n & (self.n - 1):
            return False
        return 1 <= self.r <= 32 and 1 <= self.p <= 4 and 128 * self.n * self.r <= MAX_MEMORY


def _keys(password: str, salt: bytes, cost: Cost) -> tuple[bytes, bytes]:
    """The cipher's key and the password check's key, from one slow derivation."""
    kdf = Scrypt(salt=salt, length=64, n=cost.n, r=cost.r, p=cost.p)
    keys = kdf.derive(password.encode("utf-8"))
    return keys[:32], keys[32:]


def _check(check_key: bytes) -> str:
    return base64.b64encode(hmac.new(check_key, CHECK_MESSAGE, hashlib.sha256).digest()).decode()


def seal(content: dict, password: str, cost: Cost | None = None) -> bytes:
    """The content as an encrypted backup file (runs the slow derivation: off the hub)."""
    cost = cost or Cost()
    salt, nonce = os.urandom(SALT_SIZE), os.urandom(NONCE_SIZE)
    key, check_key = _keys(password, salt, cost)
    plain = zlib.compress(json.dumps(content, separators=(",", ":")).encode(), 6)
    header = {
        "kdf": "scrypt",
        "n": cost.n,
        "r": cost.r,
        "p": cost.p,
        "salt": base64.b64encode(salt).decode(),
        "cipher": "AES-256-GCM",
        "nonce": base64.b64encode(nonce).decode(),
        "check": _check(check_key),
        "length": len(plain) + 16,
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    associated = MAGIC + PREFIX.pack(FORMAT, len(head)) + head
    return associated + AESGCM(key).encrypt(nonce, plain, associated)


def unlock(data: bytes, password: str) -> bytes:
    """The key that opens this file (the slow derivation: off the hub); raise
    BackupRefused for a file that is no backup or a wrong password."""
    header, _associated, body = _parts(data)
    cost = Cost(header.get("n"), header.get("r"), header.get("p"))
    if header.get("kdf") != "scrypt" or header.get("cipher") != "AES-256-GCM" or not cost.allowed():
        raise BackupRefused("file", _("This backup was made by a newer version of doorctl."))
    if len(body) < header["length"]:
        raise BackupRefused("file", _("The file is cut short: download the backup again."))
    key, check_key = _keys(password, _b64(header.get("salt")), cost)
    if not hmac.compare_digest(_check(check_key), str(header.get("check"))):
        raise BackupRefused("password", _("The password does not open this backup."))
    return key


def open_with(data: bytes, key: bytes) -> dict:
    """The content of a backup file opened with `unlock`'s key; raise BackupRefused."""
    header, associated, body = _parts(data)
    try:
        plain = AESGCM(key).decrypt(_b64(header.get("nonce")), body, associated)
        content = json.loads(zlib.decompress(plain))
    except (InvalidTag, ValueError, zlib.error):
        raise BackupRefused(
            "file", _("The file was changed or damaged after it was made; nothing was restored.")
        ) from None
    if not isinstance(content, dict):
        raise BackupRefused("file", _("This file is not a doorctl backup."))
    return content


def open_file(data: bytes, password: str) -> dict:
    """The content of a backup file; raise BackupRefused saying what is wrong with it."""
    return open_with(data, unlock(data, password))


def _parts(data: bytes) -> tuple[dict, bytes, bytes]:
    """Header, associated data and ciphertext; BackupRefused for what is no backup."""
    not_backup = BackupRefused("file", _("This file is not a doorctl backup."))
    if not data.startswith(MAGIC):
        raise not_backup
    start = len(MAGIC) + PREFIX.size
    if len(data) < start:
        raise BackupRefused("file", _("The file is cut short: download the backup again."))
    version, size = PREFIX.unpack_from(data, len(MAGIC))
    if version > FORMAT:
        raise BackupRefused("file", _("This backup was made by a newer version of doorctl."))
    if version != FORMAT or size > MAX_HEADER:
        raise not_backup
    if len(data) < start + size:
        raise BackupRefused("file", _("The file is cut short: download the backup again."))
    try:
        header = json.loads(data[start : start + size])
    except ValueError:
        raise not_backup from None
    if not isinstance(header, dict) or not isinstance(header.get("length"), int):
        raise not_backup
    return header, data[: start + size], data[start + size :]


def _b64(value: object) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except ValueError:
        raise BackupRefused("file", _("This file is not a doorctl backup.")) from None
