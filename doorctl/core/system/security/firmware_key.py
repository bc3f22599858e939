"""System > Security > Custom-signed firmware certificate (manual): an owner's Ed25519
public key that the unit trusts for firmware next to the project's release keys, so
that the owner's own builds of doorctl install too.

The key lives in the data directory (keys.OWNER_KEY_FILE), outside `firmware/`, so a
factory default removes it. Installing and removing it are events; a private key pasted
by mistake is refused without being stored, shown or logged.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext

from doorctl.core.errors import Invalid, NotFound
from doorctl.core.maintenance.keys import (
    OWNER_KEY_FILE,
    KeyRefused,
    fingerprint,
    key_id,
    owner_key,
    public_key_from_pem,
    public_pem,
)
from doorctl.core.store import Store, Transaction

TOPIC = "tns1:Device/Security/FirmwareKey"
FIELD = "key"
LABELS = {FIELD: lazy_gettext("Public key")}
MAX_PEM = 8192
MESSAGES = {
    "empty": lazy_gettext(
        "Paste the owner's public key in PEM: the text from -----BEGIN PUBLIC KEY----- to "
        "-----END PUBLIC KEY-----."
    ),
    "private": lazy_gettext(
        "This is a private key; it was not stored. Paste the public key "
        "(signing-key.pub.pem) instead, and keep the private key secret."
    ),
    "not_pem": lazy_gettext(
        "This is not a public key in PEM. Paste the text from -----BEGIN PUBLIC KEY----- to "
        "-----END PUBLIC KEY-----."
    ),
    "not_ed25519": lazy_gettext(
        "This is not an Ed25519 key: firmware is signed with Ed25519 keys, which "
        "doorctl bundle keygen makes."
    ),
}


class FirmwareKey:
    """The owner's firmware signing key installed on this unit, if any."""

    def __init__(self, data_dir: Path, store: Store):
        self.path = data_dir / OWNER_KEY_FILE
        self.data_dir = data_dir
        self.store = store

    def get(self) -> dict:
        """Whether a key is installed, and its fingerprint and PEM when one is."""
        key = owner_key(self.data_dir)
        if key is None:
            return {"installed": False, "fingerprint": None, "key": None}
        identity = key_id(key)
        return {
            "installed": True,
            "fingerprint": fingerprint(identity),
            "key": public_pem(key).decode(),
        }

    def install(self, text: object, by: str, address: str) -> dict:
        """Trust the owner's public key (replacing one installed before), with an event."""
        key = self._parsed(text)
        self._write(public_pem(key))
        identity = fingerprint(key_id(key))
        self.store.write(_logged, "installed", identity, by, address)
        return self.get()

    def remove(self, by: str, address: str) -> None:
        """Trust only the release keys again, with an event; NotFound when none is installed."""
        installed = self.get()
        if not installed["installed"]:
            raise NotFound(_("No custom-signed firmware certificate is installed."))
        self.path.unlink()
        self.store.write(_logged, "removed", installed["fingerprint"], by, address)

    @staticmethod
    def _parsed(text: object):
        if not isinstance(text, str):
            text = ""
        data = text.encode("utf-8", "replace")
        try:
            if len(data) > MAX_PEM:
                raise KeyRefused("not_pem")
            return public_key_from_pem(data)
        except KeyRefused as refused:
            raise Invalid({FIELD: str(MESSAGES[refused.reason])}, labels=LABELS) from None

    def _write(self, pem: bytes) -> None:
        """The key on disk whole or not at all."""
        fd, temporary = tempfile.mkstemp(prefix=".owner-key-", dir=self.data_dir)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, self.path)


def _logged(tx: Transaction, action: str, identity: str, by: str, address: str) -> None:
    tx.event(TOPIC, {"user": by}, {"action": action, "fingerprint": identity, "address": address})
