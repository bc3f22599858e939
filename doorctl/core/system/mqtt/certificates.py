"""The CA and client certificate the MQTT client uses, until the Certificates page exists.

Kept as PEM files in `<data dir>/mqtt/` (mode 0600: the client file holds a private
key). Only their subjects are ever shown back.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from doorctl.core.errors import Invalid

FILES = {"ca": "ca.pem", "client": "client.pem"}


def _check(kind: str, pem: bytes) -> None:
    """Raise Invalid unless `pem` holds certificates (and, for the client, its key)."""
    try:
        x509.load_pem_x509_certificates(pem)
        if kind == "client":
            load_pem_private_key(pem, password=None)
    except ValueError:
        need = (
            "a certificate and its unencrypted private key"
            if kind == "client"
            else "CA certificates"
        )
        message = f"Not PEM with {need}; paste each block whole, its BEGIN and END lines too."
        raise Invalid({kind: message}) from None


def save(tls_dir: Path, kind: str, pem: bytes) -> None:
    """Store a PEM file after checking it; empty content removes the file."""
    path = tls_dir / FILES[kind]
    if not pem.strip():
        path.unlink(missing_ok=True)
        return
    _check(kind, pem)
    tls_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    os.replace(path.with_suffix(".tmp"), path)


def describe(tls_dir: Path) -> dict[str, str]:
    """The subject of each stored certificate, or '' when none is stored."""
    result = {}
    for kind, name in FILES.items():
        path = tls_dir / name
        try:
            result[kind] = x509.load_pem_x509_certificates(path.read_bytes())[
                0
            ].subject.rfc4514_string()
        except (OSError, ValueError):
            result[kind] = ""
    return result
