"""Maintenance > Backup: make a backup, preview one, restore one, on the appliance.

The slow key derivation runs on the hub's threadpool (readers keep being polled). A
restore the page previews keeps only the uploaded, still encrypted file (in the data
directory's `tmp`, mode 0600) and the key derived for it in this process's memory,
for PENDING_SECONDS; confirming opens the file again with that key.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _

from doorctl.core.maintenance import backup_file
from doorctl.core.maintenance.backup import (
    TOPIC_MADE,
    TOPIC_REFUSED,
    collect_unit,
    preview,
)
from doorctl.core.maintenance.backup_file import BackupRefused, Cost
from doorctl.core.maintenance.backup_restore import (
    check,
    migrated,
    pin_key_of,
    replace,
    sealed,
    stage_keys,
    swap_keys,
)
from doorctl.core.maintenance.kept import NETWORK_SECTIONS
from doorctl.core.system.network.http_https import SECTION as HTTPS
from doorctl.core.waiting import computed, computed_here

log = logging.getLogger(__name__)
PENDING_SECONDS = 15 * 60
TMP = "tmp"


@dataclass
class Pending:
    """An uploaded backup waiting for the administrator's confirmation."""

    path: str
    key: bytes
    user: str
    until: float


class Backups:
    """Backups of one appliance, built per request; the uploads waiting for their
    confirmation are the web process's, one per user at most."""

    pending: dict[str, Pending] = {}

    def __init__(self, appliance, cost: Cost | None = None):
        self.doorctl = appliance
        self.cost = cost

    def make(self, password: str, source: dict) -> bytes:
        """An encrypted backup of this unit, logged as made (who and from where)."""
        doorctl = self.doorctl
        device = {k: v for k, v in doorctl.device.to_dict().items() if k in DEVICE_FACTS}
        content = collect_unit(
            doorctl.store, doorctl.sealer, doorctl.pin_secret(), doorctl.certificates, device
        )
        data = computed(backup_file.seal, content, password, self.cost)
        doorctl.bus.publish(TOPIC_MADE, _who(source), {"address": source.get("address")})
        return data

    def open(self, data: bytes, password: str, source: dict) -> tuple[dict, bytes]:
        """The content of an uploaded backup and its key; a refusal is logged."""
        try:
            key = computed(backup_file.unlock, data, password)
            content = computed_here(backup_file.open_with, data, key)
            check(content, self.doorctl.store.version)
        except BackupRefused as refused:
            self._refused(source, refused)
            raise
        return content, key

    def preview(self, data: bytes, password: str, source: dict) -> dict:
        """What an uploaded backup holds (nothing is kept)."""
        return preview(self.open(data, password, source)[0])

    def hold(self, data: bytes, password: str, source: dict) -> tuple[str, dict]:
        """Preview an upload and keep it, encrypted, for the confirmation; its token."""
        content, key = self.open(data, password, source)
        self._clean()
        for token, pending in list(self.pending.items()):
            if pending.user == source.get("user", ""):
                self.drop(token)  # a new upload replaces the one waiting
        token = secrets.token_urlsafe(16)
        folder = self.doorctl.data_dir / TMP
        folder.mkdir(mode=0o700, exist_ok=True)
        path = folder / f"backup-{token}.bin"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        until = time.monotonic() + PENDING_SECONDS
        self.pending[token] = Pending(str(path), key, source.get("user", ""), until)
        return token, preview(content)

    def held(self, token: str, user: str) -> Pending | None:
        """The upload a token names, while it waits and for the user who sent it."""
        self._clean()
        pending = self.pending.get(token)
        return pending if pending is not None and pending.user == user else None

    def confirm(self, token: str, keep_network: bool, source: dict) -> dict:
        """Restore the upload a preview kept; raise BackupRefused when it is gone."""
        pending = self.held(token, source.get("user", ""))
        if pending is None:
            message = _("The uploaded backup is no longer kept: upload it again.")
            raise BackupRefused("file", message)
        with open(pending.path, "rb") as f:
            data = f.read()
        content = computed_here(backup_file.open_with, data, pending.key)
        self.drop(token)
        return self.restore_content(content, keep_network, source)

    def restore(self, data: bytes, password: str, keep_network: bool, source: dict) -> dict:
        """Open and restore an uploaded backup in one step (the API's)."""
        content, _key = self.open(data, password, source)
        return self.restore_content(content, keep_network, source)

    def restore_content(self, content: dict, keep_network: bool, source: dict) -> dict:
        """Replace the configuration by the backup's, then apply it; its preview."""
        doorctl = self.doorctl
        keys_dir = doorctl.certificates.keys_dir
        try:
            rows, pin_key, staged = computed_here(
                _prepared, content, doorctl.store.version, doorctl.sealer, keys_dir
            )
        except BackupRefused as refused:
            self._refused(source, refused)
            raise
        kept = NETWORK_SECTIONS if keep_network else ()
        about = {**preview(content), "kept_network": keep_network}
        about["address"] = source.get("address")
        network_before = doorctl.settings.get(HTTPS)
        try:
            doorctl.store.write(replace, rows, kept, pin_key, _who(source), about)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        swap_keys(staged, keys_dir)
        about["restart_needed"] = not self._applied()
        about["ports_at_restart"] = doorctl.settings.get(HTTPS) != network_before
        return about

    def drop(self, token: str) -> None:
        """Forget an upload and delete its file."""
        pending = self.pending.pop(token, None)
        if pending is not None:
            Path(pending.path).unlink(missing_ok=True)

    def _clean(self) -> None:
        """Forget uploads whose time is up, and files an earlier run left behind."""
        now = time.monotonic()
        for token in [t for t, p in self.pending.items() if p.until < now]:
            self.drop(token)
        waiting = {p.path for p in self.pending.values()}
        for path in (self.doorctl.data_dir / TMP).glob("backup-*.bin"):
            if str(path) not in waiting:
                path.unlink(missing_ok=True)

    def _refused(self, source: dict, refused: BackupRefused) -> None:
        data = {"address": source.get("address"), "reason": refused.message}
        self.doorctl.bus.publish(TOPIC_REFUSED, _who(source), data)

    def _applied(self) -> bool:
        """Apply the restored configuration; False (and the reason in the system log)
        when a service could not take it: it is stored, and a restart applies it."""
        try:
            self._apply()
        except Exception:
            log.exception("the restored configuration could not be applied while running")
            return False
        return True

    def _apply(self) -> None:
        """The running services take the restored configuration: every settings section
        is applied again, and the door engine reads its part afresh."""
        doorctl = self.doorctl
        doorctl.users.forget_logins()
        doorctl.access.pins.use(doorctl.pin_secret())
        for section in list(doorctl.settings.sections):
            doorctl.settings.changed(section)
        self._serve_certificate()
        doorctl.remote_syslog.apply()
        doorctl.snmp_users.changed()
        if doorctl.role == "web":
            doorctl.engine.stop()
            doorctl.engine.start()
        else:
            doorctl.access.schedules.forget()
            doorctl.readers.reread()

    def _serve_certificate(self) -> None:
        """HTTPS serves the restored key of its certificate (the listeners' ports and
        protocols change at the next start: a restore does not move the page away)."""
        doorctl = self.doorctl
        doorctl.https.ensure_device_certificate()
        cert_id = doorctl.http_https.in_force["certificate"]
        if doorctl.certificates.exists(cert_id):
            doorctl.https.serve_certificate(cert_id)


DEVICE_FACTS = ("product", "version", "serial_number", "hostname", "hardware")


def _prepared(content: dict, schema: int, sealer, keys_dir: Path) -> tuple:
    """A backup's rows at this schema with their secrets sealed for this unit, its PIN
    key and its staged private keys; BackupRefused when it doesn't fit."""
    check(content, schema)
    rows = sealed(migrated(content), content, sealer)
    return rows, pin_key_of(content, sealer), stage_keys(content, sealer, keys_dir)


def _who(source: dict) -> dict:
    """An event's source: the user (the address goes in its data, as a login's does)."""
    return {"user": source.get("user")}
