"""The certificate store (System > Security > Certificates).

Client/server certificates with their private keys, and CA certificates. Certificates
are rows of the database; a private key is a file `<data dir>/certificates/<id>.key`
of mode 0600, sealed with the device key. Everything that needs a certificate (HTTPS
now, MQTT, syslog and IEEE 802.1X later) takes it from here and says so with
`used_by`, so that a certificate in use can't be deleted.
"""

from __future__ import annotations

import os
import secrets
import ssl
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask_babel import gettext as _

from doorctl.core.errors import Conflict, Invalid, NotFound
from doorctl.core.logs.audit import audit
from doorctl.core.secrets import Sealer
from doorctl.core.store import Store, Transaction
from doorctl.core.system.certificates import x509s
from doorctl.core.system.certificates.body import (
    check_create,
    check_id,
    check_import,
    check_self_signed,
)
from doorctl.core.waiting import computed

KIND = "Certificate"
KINDS = ("client_server", "ca")


class Certificates:
    """The store: list, read, create (self-signed or imported), replace, delete."""

    def __init__(self, store: Store, sealer: Sealer, data_dir: Path):
        self.store, self.sealer = store, sealer
        self.keys_dir = data_dir / "certificates"
        self._users: dict[str, Callable[[], Iterable[str]]] = {}

    def used_by(self, user: str, ids: Callable[[], Iterable[str]]) -> None:
        """Say that `user` (e.g. "HTTPS") uses the certificates `ids()` names."""
        self._users[user] = ids

    def users_of(self, cert_id: str) -> list[str]:
        """Who uses a certificate now."""
        return sorted(user for user, ids in self._users.items() if cert_id in set(ids()))

    def list(self, text: str = "") -> list[dict]:
        """Every certificate, or those whose id, subject, issuer or names hold `text`."""
        rows = self.store.execute("SELECT * FROM certificates ORDER BY id").fetchall()
        records = [self._record(row) for row in rows]
        needle = text.casefold()
        return [r for r in records if not needle or needle in _haystack(r)]

    def get(self, cert_id: str) -> dict:
        """One certificate as the list shows it."""
        return self._record(self._row(cert_id))

    def exists(self, cert_id: str) -> bool:
        """Whether the store holds a certificate of that id."""
        sql = "SELECT 1 FROM certificates WHERE id = ?"
        return self.store.execute(sql, (cert_id,)).fetchone() is not None

    def create(self, body: dict) -> dict:
        """Add a self-signed certificate or import one; raise Invalid or Conflict."""
        body = check_create(body)
        if "self_signed" in body:
            spec = body["self_signed"]
            key, cert = x509s.self_signed(
                spec["common_name"], spec["alternative_names"], spec["days"]
            )
            certs = [cert]
        else:
            key, certs = x509s.read(body["data"], body["password"])
        return self.add(body["id"], key, certs)

    def add(self, cert_id: str, key, certs: list[x509.Certificate]) -> dict:
        """Store certificates (and their key, sealed) under a new id."""
        if key is not None:
            x509s.check_pair(key, certs[0])
        if self.exists(cert_id):
            raise Conflict(
                _("A certificate %(id)s exists.", id=cert_id), {"id": _("Already in use.")}
            )
        kind = "client_server" if key is not None else "ca"
        if key is not None:
            self._write_key(cert_id, key)
        try:
            self.store.write(_insert, cert_id, kind, x509s.pem_chain(certs))
        except Exception:
            self._key_path(cert_id).unlink(missing_ok=True)
            raise
        return self.get(cert_id)

    def put(self, cert_id: str, key, certs: list[x509.Certificate]) -> None:
        """Store a certificate and its key under an id, replacing what it held (the
        device's own certificate when its names change)."""
        x509s.check_pair(key, certs[0])
        self._write_key(cert_id, key)
        self.store.write(_upsert, cert_id, x509s.pem_chain(certs))

    def update(self, cert_id: str, body: dict) -> dict:
        """Replace a certificate by a new one for the same key (a renewed or signed one)."""
        row = self._row(cert_id)
        if set(body) - {"data", "password"}:
            raise Invalid(
                dict.fromkeys(sorted(set(body) - {"data", "password"}), _("unknown field"))
            )
        key, certs = x509s.read(**check_import(body))
        if key is not None:
            raise Invalid({"data": _("Give the certificate only; the stored key stays.")})
        if row["kind"] == "client_server":
            x509s.check_pair(self.private_key(cert_id), certs[0])
        self.store.write(_replace, cert_id, x509s.pem_chain(certs))
        return self.get(cert_id)

    def signing_request(self, cert_id: str, body: dict) -> dict:
        """A signing request for a certificate's key; the CA's answer comes back by update."""
        if self._row(cert_id)["kind"] != "client_server":
            raise Invalid({"id": _("A CA certificate has no private key to sign a request.")})
        unknown = sorted(set(body) - {"common_name", "alternative_names"})
        if unknown:
            raise Invalid(dict.fromkeys(unknown, "unknown field"))
        spec = check_self_signed(body)
        key = self.private_key(cert_id)
        return {"pem": x509s.signing_request(key, spec["common_name"], spec["alternative_names"])}

    def delete(self, cert_id: str) -> None:
        """Delete a certificate and its key; raise Conflict naming who uses it."""
        self._row(cert_id)
        users = self.users_of(cert_id)
        if users:
            who = ", ".join(users)
            raise Conflict(
                _(
                    "The certificate %(id)s is in use by %(who)s; choose another first.",
                    id=cert_id,
                    who=who,
                )
            )
        self.store.write(_delete, cert_id)
        self._key_path(cert_id).unlink(missing_ok=True)

    def chain(self, cert_id: str) -> list[x509.Certificate]:
        """The certificate and the chain stored with it."""
        return x509.load_pem_x509_certificates(self._row(cert_id)["pem"].encode())

    def private_key(self, cert_id: str):
        """The certificate's private key, opened with the device key."""
        sealed = self._key_path(check_id(cert_id)).read_bytes()
        pem = self.sealer.open_bytes(sealed, f"certificate {cert_id}")
        return serialization.load_pem_private_key(pem, None)

    def pem(self, cert_id: str) -> str:
        """The certificate and its chain as PEM text (e.g. CAs a TLS client trusts)."""
        return self._row(cert_id)["pem"]

    def load_chain(self, context: ssl.SSLContext, cert_id: str) -> None:
        """Load the certificate, its chain and key into a TLS context, on the threadpool:
        unsealing, encrypting and the disk take 10-20 ms that reader polling must not
        wait for (HTTPS and MQTT both load this way)."""
        computed(self._load_chain, context, cert_id)

    def _load_chain(self, context: ssl.SSLContext, cert_id: str) -> None:
        """OpenSSL reads chain and key only from files: these live for the call, the key
        in them encrypted with a one-time password, so it is never on disk in clear."""
        password = secrets.token_bytes(32).hex()
        encryption = serialization.BestAvailableEncryption(password.encode())
        key = self.private_key(cert_id).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        with tempfile.TemporaryDirectory(dir=self.keys_dir) as scratch:
            chain_path, key_path = Path(scratch, "chain.pem"), Path(scratch, "key.pem")
            chain_path.write_text(self.pem(cert_id))
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key)
            context.load_cert_chain(chain_path, key_path, password)

    def _write_key(self, cert_id: str, key) -> None:
        """Write the sealed key as a new file of mode 0600, whole or not at all."""
        self.keys_dir.mkdir(mode=0o700, exist_ok=True)
        path = self._key_path(cert_id)
        sealed = self.sealer.seal_bytes(x509s.key_pem(key), f"certificate {cert_id}")
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(sealed)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)

    def _key_path(self, cert_id: str) -> Path:
        return self.keys_dir / f"{cert_id}.key"

    def _row(self, cert_id: str):
        row = self.store.execute("SELECT * FROM certificates WHERE id = ?", (cert_id,))
        found = row.fetchone()
        if found is None:
            raise NotFound(_("There is no certificate %(id)s.", id=repr(cert_id)))
        return found

    def _record(self, row) -> dict:
        cert = x509.load_pem_x509_certificates(row["pem"].encode())[0]
        return {
            "id": row["id"],
            "kind": row["kind"],
            **x509s.describe(cert),
            "private_key": row["kind"] == "client_server",
            "used_by": self.users_of(row["id"]),
        }


def _haystack(record: dict) -> str:
    parts = [record["id"], record["subject"], record["issuer"], *record["alternative_names"]]
    return " ".join(parts).casefold()


def _insert(tx: Transaction, cert_id: str, kind: str, pem: str) -> None:
    tx.execute("INSERT INTO certificates VALUES (?, ?, ?, ?)", (cert_id, kind, pem, time.time()))
    audit(tx, KIND, "create", cert_id, {"kind": kind})


def _upsert(tx: Transaction, cert_id: str, pem: str) -> None:
    tx.execute(
        "INSERT INTO certificates VALUES (?, 'client_server', ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, pem = excluded.pem",
        (cert_id, pem, time.time()),
    )
    audit(tx, KIND, "update", cert_id, {"kind": "client_server"})


def _replace(tx: Transaction, cert_id: str, pem: str) -> None:
    tx.execute("UPDATE certificates SET pem = ? WHERE id = ?", (pem, cert_id))
    audit(tx, KIND, "update", cert_id)


def _delete(tx: Transaction, cert_id: str) -> None:
    tx.execute("DELETE FROM certificates WHERE id = ?", (cert_id,))
    audit(tx, KIND, "delete", cert_id)
