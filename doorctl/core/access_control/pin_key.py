"""The key of the PIN hashes: the device secret, or the one a restored backup brought.

A PIN is stored as an HMAC (credentials.PinHasher), so it can't be hashed again under
another key; a backup carries the key its hashes were made with, and a unit that
restores it keeps that key sealed with its own device key (table pin_key).
"""

from __future__ import annotations

import logging
import sqlite3

from doorctl.core.secrets import Sealer, Unsealable
from doorctl.core.store import Store

log = logging.getLogger(__name__)

PLACE = "pin key"


def pin_secret(store: Store | sqlite3.Connection, sealer: Sealer, device_secret: bytes) -> bytes:
    """The key this unit's PIN hashes are made with (read through the store or a
    connection of its own, as a backup's read transaction is)."""
    row = store.execute("SELECT key FROM pin_key WHERE id = 1").fetchone()
    if row is None:
        return device_secret
    try:
        return bytes.fromhex(sealer.open(row[0], PLACE))
    except Unsealable:
        log.warning("the PIN key was sealed by another device: PINs must be entered again")
        return device_secret


def sealed_pin_key(sealer: Sealer, key: bytes) -> str:
    """A PIN key as the pin_key table stores it."""
    return sealer.seal(key.hex(), PLACE)
