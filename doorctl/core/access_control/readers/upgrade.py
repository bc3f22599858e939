"""Upgrade readers: a firmware file sent to an OSDP reader that supports file transfer."""

from __future__ import annotations

import hashlib
import time

import gevent
from flask_babel import gettext as _

from doorctl.core.errors import Conflict, Invalid, NotFound

from .topics import UPGRADE


class ReaderUpgrades:
    """Readers' firmware upgrades, one at a time per reader, with their progress."""

    def upgrade(self, reader_id: str, firmware: bytes) -> dict:
        """Send a firmware file to an online reader that supports file transfer; raise Conflict."""
        reader = self.get(reader_id)
        if reader["protocol"] != "osdp":
            raise Conflict(_("Only OSDP readers can be upgraded."))
        if not firmware:
            raise Invalid({"file": _("The file is empty.")})
        if (reader["upgrade"] or {}).get("state") == "running":
            raise Conflict(_("An upgrade of this reader is already running."))
        if not reader["upgradable"]:
            raise Conflict(_("Only online readers that support file transfer can be upgraded."))
        progress = {"state": "running", "sent": 0, "total": len(firmware), "error": None}
        progress["sha256"] = hashlib.sha256(firmware).hexdigest()
        progress["started"] = time.time()
        self._upgrades[reader_id] = progress
        bus, address = self._osdp_reader(reader_id)
        result = bus.file_transfer(
            address, firmware, lambda sent, total: progress.update(sent=sent)
        )
        self._publish(UPGRADE, reader_id, {k: progress[k] for k in ("state", "total", "sha256")})
        gevent.spawn(self._upgrade_ended, reader_id, progress, result)
        return dict(progress)

    def upgrade_status(self, reader_id: str) -> dict:
        """The last upgrade of a reader: state, sent, total, sha256, error; raise NotFound."""
        self._config(reader_id)
        progress = self._upgrades.get(reader_id)
        if progress is None:
            raise NotFound(
                _("The reader %(reader)s has not been upgraded since the start.", reader=reader_id)
            )
        return dict(progress)

    def _upgrade_ended(self, reader_id: str, progress: dict, result) -> None:
        outcome = result.get()
        if outcome.get("ok"):
            progress.update(state="done", sent=progress["total"])
        else:
            error = outcome.get("error") or outcome.get("reason") or outcome.get("reply")
            progress.update(state="failed", error=str(error))
            if outcome.get("reply") == "nak":
                self._refused_file_transfer(reader_id)
        if reader_id in self._configs:
            data = {k: progress[k] for k in ("state", "sent", "total", "sha256", "error")}
            self._publish(UPGRADE, reader_id, data)

    def _refused_file_transfer(self, reader_id: str) -> None:
        """A reader that refused a file is offered no upgrade until its bus settings change."""
        self._status.setdefault(reader_id, {})["file_transfer"] = False
