"""Secrets at rest: passwords and private keys sealed with the per-device key.

The key is derived from the data directory's `secret_key` (mode 0600), so a copy of
the database alone, or of a backup of it, gives away no broker password or key. AES-GCM
with the secret's place (section and field, or file name) as associated data: a sealed
value moved to another place does not open.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "sealed:v1:"
NONCE_SIZE = 12


class Unsealable(ValueError):
    """A sealed value that this device's key does not open (another device's, or damaged)."""


class Sealer:
    """Seals and opens secrets with a key derived from the device's secret key."""

    def __init__(self, secret_key: bytes):
        hkdf = HKDF(hashes.SHA256(), 32, salt=None, info=b"doorctl secrets at rest")
        self._aead = AESGCM(hkdf.derive(secret_key))

    def seal_bytes(self, plain: bytes, place: str) -> bytes:
        """Encrypt `plain` for `place`: a fresh nonce, then ciphertext and tag."""
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, plain, place.encode())

    def open_bytes(self, sealed: bytes, place: str) -> bytes:
        """Decrypt what `seal_bytes` made for the same place; raise Unsealable."""
        try:
            return self._aead.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], place.encode())
        except (InvalidTag, ValueError):
            raise Unsealable(
                f"the secret of {place} does not open with this device's key"
            ) from None

    def seal(self, plain: str, place: str) -> str:
        """A text secret as stored text; the empty secret stays empty (nothing is set)."""
        if not plain:
            return ""
        sealed = self.seal_bytes(plain.encode(), place)
        return PREFIX + base64.b64encode(sealed).decode("ascii")

    def open(self, stored: str, place: str) -> str:
        """The text secret stored by `seal` (text stored before sealing is returned as is)."""
        if not is_sealed(stored):
            return stored
        sealed = base64.b64decode(stored[len(PREFIX) :])
        return self.open_bytes(sealed, place).decode()


def session_key(secret_key: bytes) -> bytes:
    """The key that signs session cookies, derived from the device secret rather than
    the secret itself: a backup carries the device secret as the key of its PIN hashes,
    and must not let whoever opens it make a session cookie for the unit it came from."""
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"doorctl session cookies").derive(secret_key)


def is_sealed(stored: object) -> bool:
    """Whether a stored value is a sealed secret rather than clear text."""
    return isinstance(stored, str) and stored.startswith(PREFIX)
