"""A reader's key changed on demand: a new random key with KEYSET, inside the secure channel.

The new key is kept as the reader's alternative key *before* the KEYSET leaves, and
becomes its key only when the reader acknowledges it. The reader then drops its
session and the bus sets up a new one. If the answer is lost (the line fails, the
reader restarts, the controller restarts), which key the reader holds is unknown:
the next handshake offers the reader's cryptogram to both keys, and the one that
matches is kept (``Handshake.candidates``). The reader is never left with a key
the controller forgot, and the bus never sends a KEYSET of its own accord.
"""

from __future__ import annotations

import os

from gevent.event import AsyncResult

from . import messages as m
from .reader import Inflight, Reader, Rotation
from .secure import Handshake


class KeyRotation:
    """OsdpBus's key rotation: KEYSET in the secure channel, settled by ACK or handshake."""

    def rotate_key(self, address: int) -> AsyncResult:
        """Give the reader a new random key; the result says whether it holds it.

        {"ok": True} once a secure channel is up again with the new key; {"ok": False,
        "error"} if the reader has no secure channel up, refused the key or proved it
        kept the old one. Nothing is sent unless a secure channel is up: a key never
        goes over the line in the clear."""
        reader = self._readers[address]
        result = AsyncResult()
        if reader.session is None or reader.phase != "ready" or reader.rotation:
            result.set({"ok": False, "error": "no secure channel is up with this reader"})
            return result
        key = os.urandom(16)
        # Taken before the proposal is stored (a write that yields): a second rotation
        # asked for meanwhile finds this one under way.
        reader.rotation = Rotation(key, result)
        try:
            self._keys.propose(reader.key_name(), key)
        except Exception:
            reader.rotation = None
            raise
        if reader.session is None or reader.phase != "ready":
            # Never sent: the reader holds its old key, which the next handshake proves.
            reader.rotation = None
            result.set({"ok": False, "error": "no secure channel is up with this reader"})
            return result
        reader.phase = "rekey"
        self._due_now(reader)
        return result

    def _phase_rekey(self, reader: Reader) -> Inflight | None:
        """Send the KEYSET of a rotation, sealed (and its key encrypted) in the session."""
        if reader.session is None:
            self._rotation_failed(reader, "the secure channel went down before the KEYSET")
            reader.phase = "chlng"
            return None
        key = reader.rotation.key
        return self._send(reader, *m.keyset(key), lambda k, p: self._on_rekey(reader, key, k, p))

    def _on_rekey(self, reader: Reader, key: bytes, kind: str, payload: dict) -> None:
        """ACK: the key is the reader's. Anything else: the handshake that follows decides."""
        reader.session, reader.sc, reader.phase = None, "down", "chlng"
        if kind == "ack":
            self._keys.put(reader.key_name(), key)
            self._emit(reader, "keyset", {"key_name": reader.key_name(), "by": "rotation"})
        elif reader.rotation is not None:
            why = payload.get("reason")
            reader.rotation.reply = f"{kind.upper()} ({why})" if why else kind.upper()

    def _key_proved(self, reader: Reader, handshake: Handshake) -> None:
        """A handshake that had two keys to choose from settles which one the reader has."""
        if len(handshake.candidates) > 1:
            self._keys.proved(reader.key_name(), handshake.scbk)
            rotated = handshake.scbk == handshake.candidates[1]
            self._emit(reader, "key_proved", {"key_name": reader.key_name(), "new": rotated})
        rotation, reader.rotation = reader.rotation, None
        if rotation is None:
            return
        if handshake.scbk == rotation.key:
            rotation.result.set({"ok": True})
        else:
            answer = f"it answered the KEYSET with {rotation.reply}" if rotation.reply else ""
            error = answer or "it proved its old key at the next handshake"
            rotation.result.set({"ok": False, "error": error})

    def _rotation_failed(self, reader: Reader, reason: str) -> None:
        """The secure channel could not be set up again: which key holds is still open."""
        rotation, reader.rotation = reader.rotation, None
        if rotation is not None:
            rotation.result.set({"ok": False, "error": reason, "unknown": True})
