"""Rotate a reader's key: a new random key over KEYSET in its secure channel, on demand.

The bus keeps the new key as the reader's alternative before sending it, stores it as
the reader's key on the reader's ACK, and settles a lost answer at the next handshake
(doorctl.hal.osdp.rekey); the key store logs the outcome (KeySet, KeyRotation). Here:
who may rotate, and the answer the administrator waits for.
"""

from __future__ import annotations

import gevent
from flask_babel import gettext as _

from doorctl.core.errors import Conflict, NoAnswer

from .topics import KEY_ROTATION

# A KEYSET and the handshake after it take a few exchanges; a reader that stops
# answering is given up after OSDP's 8 s, so this is the answer's longest wait.
ROTATE_WAIT = 10.0


class KeyRotations:
    """Readers' key rotation, asked for from the page or the REST API."""

    rotate_wait = ROTATE_WAIT

    def rotate_key(self, reader_id: str) -> dict:
        """Give an OSDP reader a new key; the reader as it is then. Raise Conflict or NoAnswer."""
        reader = self.get(reader_id)
        if reader["protocol"] != "osdp":
            raise Conflict(_("Only OSDP readers have a secure channel key."))
        on_bus = self._osdp_reader(reader_id)
        if reader["sc"] != "up" or on_bus is None:
            raise Conflict(_("A key is changed inside the secure channel: wait until it is up."))
        bus, address = on_bus
        try:
            outcome = bus.rotate_key(address).get(timeout=self.rotate_wait)
        except gevent.Timeout:
            outcome = {"ok": False, "unknown": True}
        if outcome.get("unknown"):
            self._no_answer(reader_id)
        if not outcome["ok"]:
            raise Conflict(
                _(
                    "The reader did not take the new key and keeps its own: %(error)s.",
                    error=outcome["error"],
                )
            )
        return self.get(reader_id)

    def _no_answer(self, reader_id: str) -> None:
        """Say so, in an event (the log's words) and to the administrator (in their
        language): the next handshake decides."""
        message = (
            "The reader did not confirm the new key. doorctl keeps both keys and uses "
            "the one the reader proves at its next secure channel setup."
        )
        self._publish(KEY_ROTATION, reader_id, {"state": "unknown", "reason": message})
        raise NoAnswer(
            _(
                "The reader did not confirm the new key. doorctl keeps both keys and uses "
                "the one the reader proves at its next secure channel setup."
            )
        )
