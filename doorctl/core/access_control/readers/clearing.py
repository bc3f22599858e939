"""Clear a reader's stored secure channel key: the administrator's way back to no key.

A reader given a wrong key, or replaced by one that will be keyed in install mode,
needs its stored key gone. The key goes (with a key offered by a rotation whose
answer never came) in one transaction with its audit event and a KeyCleared event;
the reader's bus then restarts, so no session with the old key stays up. A reader
in "required" then fails with "no key" until a key is entered; in "install" mode a
reader still on its install key gets a new one.
"""

from __future__ import annotations

from flask_babel import gettext as _

from doorctl.core.errors import Conflict
from doorctl.core.logs.audit import audit
from doorctl.core.store import Transaction

KIND = "Reader"


class KeyClearing:
    """Readers' stored keys cleared on an administrator's request."""

    def clear_key(self, reader_id: str) -> dict:
        """Forget the reader's stored key; the reader as it is then. Raise Conflict."""
        config = self._config(reader_id)
        if config["protocol"] != "osdp":
            raise Conflict(_("Only OSDP readers have a secure channel key."))
        source = self._source(config)
        cleared = self.store.write(self._clear_in, reader_id, source)
        if cleared:
            self.keys.forget_legacy(reader_id)
            self._status.pop(reader_id, None)
            self._stop_failing(reader_id)
            self._restart({config["port"]})
        return self.get(reader_id)

    def _clear_in(self, tx: Transaction, reader_id: str, source: dict) -> bool:
        cleared = self.keys.clear(tx, reader_id, source)
        if cleared:
            audit(tx, KIND, "clear_key", reader_id, {"secure_channel_key": "cleared"})
        return cleared
