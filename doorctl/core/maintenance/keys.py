"""The keys a unit trusts for firmware (manual: Signed firmware, and System > Security >
Custom-signed firmware certificate).

A bundle's metadata is signed with an Ed25519 key. The unit trusts the project's
release keys, shipped in the package (`release_keys/*.pem`; a new key ships next to
the old one before the old one is retired), and, if an administrator installed one,
the owner's key in the data directory (so that a factory default removes it).
A key's id is the SHA-256 of its raw 32 bytes, in hex: the fingerprint pages show.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

OWNER_KEY_FILE = "firmware-owner-key.pem"
"""The owner's public key, in the data directory (not under firmware/, which a factory
default keeps)."""
RELEASE = "release"
OWNER = "owner"
PRIVATE_KEY_FILE = "signing-key.pem"
PUBLIC_KEY_FILE = "signing-key.pub.pem"
PRIVATE_MARK = b"PRIVATE KEY"


class KeyRefused(ValueError):
    """A text is not an Ed25519 public key in PEM; `reason` says which way it is not."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def key_id(key: Ed25519PublicKey) -> str:
    """The key's fingerprint: SHA-256 of its raw public bytes, in hex."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def fingerprint(identity: str) -> str:
    """A key id grouped by four for people to compare: "1a2b 3c4d ..."."""
    return " ".join(identity[i : i + 4] for i in range(0, len(identity), 4))


def public_key_from_pem(data: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM, or KeyRefused: empty, private, not PEM, other kind."""
    if not data.strip():
        raise KeyRefused("empty")
    if PRIVATE_MARK in data:
        raise KeyRefused("private")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise KeyRefused("not_pem") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyRefused("not_ed25519")
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    """The key as PEM (SubjectPublicKeyInfo), as it is stored and shown."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key a bundle is signed with (unencrypted PEM)."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def keygen(directory: Path) -> tuple[Path, Path]:
    """A new signing key pair in `directory`: the private key 0600, never overwritten."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / PRIVATE_KEY_FILE, directory / PUBLIC_KEY_FILE
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private)
    public_path.write_bytes(public_pem(key.public_key()))
    return private_path, public_path


@dataclass(frozen=True)
class TrustedKey:
    """One key the unit accepts bundles from, and whose key it is (release or owner)."""

    key: Ed25519PublicKey
    source: str


class TrustedKeys:
    """The keys a bundle's signature is checked against, by key id."""

    def __init__(self, keys: dict[str, TrustedKey] | None = None):
        self._keys = dict(keys or {})

    def add(self, key: Ed25519PublicKey, source: str) -> None:
        """Trust one more key (a release key already trusted stays a release key)."""
        self._keys.setdefault(key_id(key), TrustedKey(key, source))

    def ids(self) -> dict[str, str]:
        """Each trusted key id and its source."""
        return {identity: trusted.source for identity, trusted in self._keys.items()}

    def verify(self, identity: str, signature: bytes, data: bytes) -> str | None:
        """The signer's source if the key is trusted and the signature holds;
        KeyError for a key not trusted, None for a signature that does not hold."""
        trusted = self._keys[identity]
        try:
            trusted.key.verify(signature, data)
        except InvalidSignature:
            return None
        return trusted.source


def _pem_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.pem")) if directory.is_dir() else []


def release_keys_dir() -> Path:
    """The release keys shipped in the package."""
    return Path(str(resources.files("doorctl.core.maintenance") / "release_keys"))


def owner_key(data_dir: Path) -> Ed25519PublicKey | None:
    """The owner's key installed on this unit, if any."""
    path = data_dir / OWNER_KEY_FILE
    if not path.is_file():
        return None
    return public_key_from_pem(path.read_bytes())


def trusted_keys(data_dir: Path, extra: Path | None = None) -> TrustedKeys:
    """The release keys shipped in the package (and those in `extra`, for tests and
    private deployments), plus the owner's key if one is installed."""
    keys = TrustedKeys()
    for directory in (release_keys_dir(), extra):
        for path in _pem_files(directory) if directory else []:
            keys.add(public_key_from_pem(path.read_bytes()), RELEASE)
    owner = owner_key(data_dir)
    if owner is not None:
        keys.add(owner, OWNER)
    return keys
