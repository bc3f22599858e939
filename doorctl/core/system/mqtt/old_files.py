"""Migration of the MQTT client's own certificate files into the certificate store.

Before the store, the MQTT page kept an uploaded CA certificate and a client
certificate with its unencrypted key as `<data dir>/mqtt/ca.pem` and `client.pem`.
At start they are imported into the store (as `mqtt-ca` and `mqtt-client`), the MQTT
client settings choose them, and only then, with both committed, are the files
removed: an existing TLS configuration keeps connecting.

Python run by the MQTT service at start rather than an SQL migration, because it needs
what only the running appliance has: the device key that seals the private key, the
store's checks, and file removal after the commit. Running it again is harmless: with
no old file it does nothing, and a file left by a crash before its removal is found
in the store (the same certificate) and only chosen and removed. A file that can't be
imported is reported in the system log and the event log, kept as `<name>.unusable`,
and start-up goes on.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from doorctl.core.errors import DoorctlError, Invalid
from doorctl.core.events import EventBus
from doorctl.core.settings import Settings
from doorctl.core.system.certificates import Certificates, x509s
from doorctl.core.system.mqtt.tls import CA_CERTIFICATE, CLIENT_CERTIFICATE

log = logging.getLogger(__name__)
TOPIC = "tns1:Configuration/Certificate/ImportFailed"
# settings field -> (old file, id in the store, kind in the store, words)
FILES = {
    CA_CERTIFICATE: ("ca.pem", "mqtt-ca", "ca", "CA certificate"),
    CLIENT_CERTIFICATE: ("client.pem", "mqtt-client", "client_server", "client certificate"),
}
MAX_TRIES = 100


def import_old_files(
    data_dir: Path, certificates: Certificates, settings: Settings, section: str, bus: EventBus
) -> None:
    """Move `<data dir>/mqtt/*.pem` into the store and choose them in the MQTT client
    settings `section`."""
    directory = data_dir / "mqtt"
    chosen, imported = {}, []
    for field, (name, base_id, kind, what) in FILES.items():
        path = directory / name
        if not path.is_file():
            continue
        try:
            chosen[field] = _import(certificates, path, base_id, kind)
            imported.append(path)
        except (OSError, ValueError, DoorctlError) as error:
            _unusable(path, base_id, what, error, bus)
    if chosen and _choose(settings, section, chosen):
        for path in imported:
            path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        directory.rmdir()  # only when nothing is left in it


def _import(certificates: Certificates, path: Path, base_id: str, kind: str) -> str:
    """The id of the file's certificate in the store, added unless already there."""
    key, certs = x509s.read(path.read_text(encoding="ascii"), "")
    if kind == "client_server" and key is None:
        raise Invalid({"data": "It holds no private key."})
    if kind == "ca":
        key = None  # the CA file was only ever read for its certificates
    found = _same(certificates, x509s.pem_chain(certs), kind, base_id)
    if found:
        return found
    cert_id = _free_id(certificates, base_id)
    certificates.add(cert_id, key, certs)
    log.info("MQTT %s imported into the certificate store as %s", path.name, cert_id)
    return cert_id


def _same(certificates: Certificates, pem: str, kind: str, base_id: str) -> str | None:
    """A certificate of that kind the store already holds with exactly this PEM."""
    ids = [c["id"] for c in certificates.list() if c["kind"] == kind]
    for cert_id in sorted(ids, key=lambda i: i != base_id):
        if certificates.pem(cert_id) == pem:
            return cert_id
    return None


def _free_id(certificates: Certificates, base_id: str) -> str:
    """`base_id`, or `base_id-2`, `-3`... when a certificate already has that id."""
    for number in range(1, MAX_TRIES):
        cert_id = base_id if number == 1 else f"{base_id}-{number}"
        if not certificates.exists(cert_id):
            return cert_id
    raise Invalid({"id": f"Ids {base_id} to {base_id}-{MAX_TRIES - 1} are all taken."})


def _choose(settings: Settings, section: str, chosen: dict[str, str]) -> bool:
    """Choose the imported certificates where the settings choose none yet."""
    current = settings.get(section)
    changes = {field: cert_id for field, cert_id in chosen.items() if not current[field]}
    try:
        if changes:
            settings.update(section, changes)
    except DoorctlError as error:
        log.error("MQTT certificates imported but not chosen: %s", error.message)
        return False
    return True


def _unusable(path: Path, base_id: str, what: str, error: Exception, bus: EventBus) -> None:
    """Report a file that can't be imported, and keep it aside for a person to look at."""
    reason = _reason(error)
    log.error("MQTT %s %s can't be imported into the certificate store: %s", what, path, error)
    with contextlib.suppress(OSError):
        path.rename(path.with_name(f"{path.name}.unusable"))
    sentence = (
        f"The MQTT {what} file {path.name} kept by an earlier version can't be imported "
        f"into the certificate store. {reason} It is kept as {path.name}.unusable; "
        f"import the {what} under System > Certificates and choose it on the MQTT page."
    )
    bus.publish(TOPIC, {}, {"id": base_id, "message": sentence}, {"id": base_id})


def _reason(error: Exception) -> str:
    """Why, in words: what the store's check said, never a path or OpenSSL's text."""
    if isinstance(error, DoorctlError) and "password" in error.fields:
        return "Its private key is encrypted."
    if isinstance(error, DoorctlError) and error.fields:
        return " ".join(error.fields.values())
    if isinstance(error, ValueError):
        return "It is not PEM text."
    return "It can't be read."
