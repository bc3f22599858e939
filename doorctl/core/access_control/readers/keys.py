"""Readers' secure channel keys (SCBK): sealed with the device key, by reader id.

`ReaderKeys` is the key store the OSDP buses use (doorctl.hal.osdp.keystore says what
it must do); an administrator's key goes in with the reader's own change
(`enter`). Every key stored is logged as a KeySet event in the same transaction,
never with the key: the event says who gave it (install mode, a rotation, an
administrator). Keys are written to the database only, so the backup of the
database holds them (sealed); nothing that shows a reader reads this table.

Keys that earlier versions kept in clear in `osdp-keys.json`, under the reader's
identity, are taken over the first time the reader's bus asks for them, then
removed from that file.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable

from doorctl.core.secrets import Sealer, Unsealable
from doorctl.core.store import Store, Transaction
from doorctl.hal.osdp import KeyStore

from .topics import KEY_CLEARED, KEY_ROTATION, KEY_SET

log = logging.getLogger(__name__)
UPSERT = "INSERT INTO reader_keys (reader_id) VALUES (?) ON CONFLICT (reader_id) DO NOTHING"


class ReaderKeys:
    """Sealed keys of the readers; `source_of(reader_id)` names a reader in events."""

    def __init__(
        self,
        store: Store,
        sealer: Sealer,
        legacy: KeyStore,
        source_of: Callable[[str], dict],
        identity_of: Callable[[str], str | None],
    ):
        self.store, self.sealer, self.legacy = store, sealer, legacy
        self.source_of, self.identity_of = source_of, identity_of

    # --- what the bus asks (hal.osdp.keystore) -------------------------------------------

    def get(self, reader_id: str) -> bytes | None:
        """The reader's key (or one an earlier version stored for it), else None."""
        return self._opened(reader_id, "key") or self._adopt(reader_id)

    def alternative(self, reader_id: str) -> bytes | None:
        """A key sent to the reader whose acknowledgement never came, else None."""
        return self._opened(reader_id, "proposed")

    def propose(self, reader_id: str, key: bytes) -> None:
        """Keep a new key next to the reader's own before its KEYSET leaves."""
        sealed = self._seal(reader_id, "proposed", key)
        self.store.write(_propose, reader_id, sealed)

    def put(self, reader_id: str, key: bytes) -> None:
        """The reader acknowledged a KEYSET of `key`: it is its key from now on."""
        by = "rotation" if self._same(key, self.alternative(reader_id)) else "install"
        self._set(reader_id, key, {"by": by})

    def proved(self, reader_id: str, key: bytes) -> None:
        """A handshake showed which of the two keys the reader has: keep that one only."""
        if self._same(key, self.alternative(reader_id)):
            self._set(reader_id, key, {"by": "rotation", "confirmed_by": "secure channel"})
            return
        source = self.source_of(reader_id)
        refused = {"state": "failed", "reason": "The reader kept its key."}
        self.store.write(_withdraw, reader_id, source, refused)

    # --- what the controller asks -------------------------------------------------------

    def enter(self, tx: Transaction, reader_id: str, key: bytes, source: dict) -> None:
        """An administrator's key for the reader, stored in the transaction of the change."""
        sealed = self._seal(reader_id, "key", key)
        _store_key(tx, reader_id, sealed, source, {"by": "administrator"})

    def clear(self, tx: Transaction, reader_id: str, source: dict) -> bool:
        """Forget the reader's key (and one offered to it) in the transaction of the
        change, logged as KeyCleared; False when none was stored."""
        cursor = tx.execute("DELETE FROM reader_keys WHERE reader_id = ?", (reader_id,))
        if not cursor.rowcount:
            return False
        tx.event(KEY_CLEARED, source, {"by": "administrator"}, {"reader": reader_id})
        return True

    def forget_legacy(self, reader_id: str) -> None:
        """Remove a key an earlier version kept for the reader, so it is not taken over."""
        name = self.identity_of(reader_id) if self.legacy.path.exists() else None
        if name:
            self.legacy.delete(name)

    def set_at(self) -> dict[str, float]:
        """When each reader that has a key got it (never the keys themselves)."""
        rows = self.store.execute("SELECT reader_id, set_at FROM reader_keys WHERE key != ''")
        return {row["reader_id"]: row["set_at"] for row in rows}

    # --- inside -------------------------------------------------------------------------

    def _set(self, reader_id: str, key: bytes, data: dict) -> None:
        sealed = self._seal(reader_id, "key", key)
        self.store.write(_store_key, reader_id, sealed, self.source_of(reader_id), data)

    def _seal(self, reader_id: str, column: str, key: bytes) -> str:
        return self.sealer.seal(key.hex(), _place(reader_id, column))

    def _opened(self, reader_id: str, column: str) -> bytes | None:
        """A key column opened with the device key; one it does not open is no key."""
        row = self.store.execute(
            f"SELECT {column} FROM reader_keys WHERE reader_id = ?", (reader_id,)
        ).fetchone()
        if row is None or not row[0]:
            return None
        try:
            return bytes.fromhex(self.sealer.open(row[0], _place(reader_id, column)))
        except Unsealable:
            log.warning(
                "the key of reader %s was sealed by another device: enter it again", reader_id
            )
            return None

    def _adopt(self, reader_id: str) -> bytes | None:
        """Take over a key an earlier version kept in clear under the reader's identity."""
        name = self.identity_of(reader_id) if self.legacy.path.exists() else None
        key = self.legacy.get(name) if name else None
        if key is not None:
            self._set(reader_id, key, {"by": "upgrade"})
            self.legacy.delete(name)
        return key

    @staticmethod
    def _same(key: bytes, other: bytes | None) -> bool:
        return other is not None and hmac.compare_digest(key, other)


def _place(reader_id: str, column: str) -> str:
    """Where a sealed key belongs: it opens there only (not as another reader's)."""
    return f"reader {reader_id} {column}"


def _propose(tx: Transaction, reader_id: str, sealed: str) -> None:
    tx.execute(UPSERT, (reader_id,))
    tx.execute("UPDATE reader_keys SET proposed = ? WHERE reader_id = ?", (sealed, reader_id))


def _store_key(tx: Transaction, reader_id: str, sealed: str, source: dict, data: dict) -> None:
    tx.execute(UPSERT, (reader_id,))
    tx.execute(
        "UPDATE reader_keys SET key = ?, set_at = ?, proposed = '' WHERE reader_id = ?",
        (sealed, time.time(), reader_id),
    )
    tx.event(KEY_SET, source, data, {"reader": reader_id})


def _withdraw(tx: Transaction, reader_id: str, source: dict, data: dict) -> None:
    tx.execute("UPDATE reader_keys SET proposed = '' WHERE reader_id = ?", (reader_id,))
    tx.event(KEY_ROTATION, source, data, {"reader": reader_id})
