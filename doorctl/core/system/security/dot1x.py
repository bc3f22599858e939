"""IEEE 802.1X in force (System > Security): EAP-TLS on the wired connection, applied
through NetworkManager's `802-1x` settings, its state read back from the device.

NetworkManager reads certificates and keys from files, so doorctl writes the chosen
ones from its certificate store into `<data dir>/ieee8021x/` (a folder of mode 0700,
files of mode 0600): the client certificate's chain, its private key encrypted with a
fresh password that only the connection profile holds, and the CA certificate.
NetworkManager (1.42) has no EAPOL version property: the setting is stored, shown and
given to a wpa_supplicant of doorctl's own, and NetworkManager's supplicant speaks
version 1, which every 802.1X switch answers.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from flask_babel import gettext as _

from doorctl.core.errors import Conflict, DoorctlError
from doorctl.core.settings import Settings
from doorctl.core.system.certificates import Certificates, x509s
from doorctl.core.system.network.nm import NetworkManager
from doorctl.core.system.security.dot1x_form import (
    CA_CERTIFICATE,
    CLIENT_CERTIFICATE,
    SECTION,
    Ieee8021xSettings,
    check,
    chosen,
)

log = logging.getLogger(__name__)
USER = "IEEE 802.1X"
# NetworkManager's device states (NMDeviceState): waiting for the port, then past it.
IN_PROGRESS = range(40, 70)
AUTHORIZED = range(70, 110)


@dataclass
class Files:
    """Where the certificates NetworkManager reads are, and the key's password."""

    client_cert: Path
    private_key: Path
    password: str
    ca_cert: Path | None


def write_files(certificates: Certificates, record: dict, folder: Path) -> Files:
    """The record's certificates as files of mode 0600 in `folder` (mode 0700)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    client = record[CLIENT_CERTIFICATE]
    password = secrets.token_urlsafe(24)
    key = certificates.private_key(client).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password.encode()),
    )
    chain = x509s.pem_chain(certificates.chain(client)).encode()
    ca = record[CA_CERTIFICATE]
    return Files(
        client_cert=_write(folder / "client-cert.pem", chain),
        private_key=_write(folder / "private-key.pem", key),
        password=password,
        ca_cert=_write(folder / "ca-cert.pem", certificates.pem(ca).encode()) if ca else None,
    )


def _write(path: Path, data: bytes) -> Path:
    """Write a file of mode 0600 whole (never half a key for NetworkManager to read)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".")
    with os.fdopen(handle, "wb") as file:
        file.write(data)
    os.replace(temporary, path)
    return path


def profile(record: dict, files: Files | None) -> dict[str, str]:
    """The connection's `802-1x` properties for a record (empty when off)."""
    if not record["use_ieee8021x"] or files is None:
        return {}
    return {
        "802-1x.eap": "tls",
        "802-1x.identity": record["eap_identity"],
        "802-1x.client-cert": str(files.client_cert),
        "802-1x.private-key": str(files.private_key),
        "802-1x.private-key-password": files.password,
        "802-1x.ca-cert": str(files.ca_cert) if files.ca_cert else "",
    }


def not_applied() -> str:
    """Why the state is unknown where NetworkManager does not run."""
    return _(
        "NetworkManager does not run on this machine: the settings are stored, and "
        "applied when it runs."
    )


class Ieee8021x:
    """The 802.1X settings: checked against the store, applied, their state read."""

    def __init__(
        self,
        settings: Settings,
        certificates: Certificates,
        data_dir: Path,
        ip_waiting: Callable[[], bool] = lambda: False,
    ):
        self.settings, self.certificates = settings, certificates
        self.ip_waiting = ip_waiting
        self.folder = data_dir / "ieee8021x"
        self.engine = NetworkManager()
        settings.register(SECTION, Ieee8021xSettings)
        settings.check(SECTION, lambda record: check(certificates, record))
        certificates.used_by(USER, lambda: chosen(settings.get(SECTION)))

    def get(self) -> dict:
        """The stored settings."""
        return self.settings.get(SECTION)

    def update(self, changes: dict) -> dict:
        """Check `changes`, apply them to the connection, then store them; raise Invalid
        (nothing changed) or EngineFailed (NetworkManager refused; nothing stored)."""
        form = self.settings.validated(SECTION, changes)
        return self.save(form)

    def save(self, form: Ieee8021xSettings) -> dict:
        """A filled form checked, applied and stored; raise Invalid or EngineFailed."""
        record = self.settings.check_form(SECTION, form)
        if self.ip_waiting():  # its checkpoint covers the connection: a revert would undo this
            raise Conflict(
                _(
                    "A change of the IP settings waits for its confirmation: confirm it, "
                    "or let it go back, before changing IEEE 802.1x."
                )
            )
        self.apply(record)
        return self.settings.save(SECTION, form)

    def apply(self, record: dict) -> None:
        """Give the connection the record's 802-1x settings and bring it up again
        (where NetworkManager does not run, the record is only stored)."""
        if self.engine.not_running():
            return
        name = self.engine.connection_name()
        if record["use_ieee8021x"]:
            properties = profile(record, write_files(self.certificates, record, self.folder))
            _nmcli(self.engine, "connection", "modify", name, *_pairs(properties))
        else:
            _nmcli(self.engine, "connection", "modify", name, "remove", "802-1x")
            for path in self.folder.glob("*.pem"):
                path.unlink()
        _nmcli(self.engine, "--wait", "0", "connection", "up", name)

    def status(self) -> dict:
        """Authorized, not authorized, in progress or off, as the device's state says."""
        record = self.get()
        if not record["use_ieee8021x"]:
            return {"state": "off", "detail": _("IEEE 802.1x is off.")}
        if self.engine.not_running():
            return {"state": "unknown", "detail": not_applied()}
        try:
            return _state(self.engine)
        except DoorctlError as error:
            return {"state": "unknown", "detail": error.message}


def _state(engine: NetworkManager) -> dict:
    """The device's state (e.g. '100 (connected)') as the 802.1X port sees it."""
    text = _nmcli(engine, "-g", "GENERAL.STATE", "device", "show", engine.interface)
    number, _space, words = text.strip().partition(" ")
    code = int(number) if number.isdigit() else 0
    detail = words[1:-1] if words.startswith("(") and words.endswith(")") else text.strip()
    if code in AUTHORIZED:
        return {"state": "authorized", "detail": detail}
    if code in IN_PROGRESS:
        return {"state": "in_progress", "detail": detail}
    return {"state": "unauthorized", "detail": detail}


def _pairs(properties: dict[str, str]) -> list[str]:
    return [word for item in properties.items() for word in item]


def _nmcli(engine: NetworkManager, *args: str) -> str:
    """nmcli on the engine's bus, its refusal an EngineFailed in its own words."""
    return engine.run(engine.nmcli, *args)
