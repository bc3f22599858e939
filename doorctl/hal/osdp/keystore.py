"""Secure channel base keys (SCBK) of the readers, kept in the data directory.

One JSON file, ``osdp-keys.json``, mode 0600, mapping a reader's key name to
its 16-byte key in hex. Writes go to a temporary file that is renamed over the
old one, so a power cut leaves either the old or the new file, never half.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

KEY_FILE = "osdp-keys.json"


class KeyStore:
    """Per-reader secure channel keys in a 0600 JSON file under `directory`."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.path = Path(directory) / KEY_FILE

    def get(self, name: str) -> bytes | None:
        """The reader's key, or None if it was never given one."""
        value = self._load().get(name)
        return bytes.fromhex(value) if value else None

    def put(self, name: str, key: bytes) -> None:
        """Remember a reader's key (after its KEYSET was acknowledged)."""
        if len(key) != 16:
            raise ValueError("an OSDP SCBK is 16 bytes")
        keys = self._load()
        keys[name] = key.hex()
        self._save(keys)

    def delete(self, name: str) -> None:
        """Forget a reader's key, e.g. when it is replaced."""
        keys = self._load()
        if keys.pop(name, None) is not None:
            self._save(keys)

    def names(self) -> list[str]:
        """Names of the readers that have a key (never the keys themselves)."""
        return sorted(self._load())

    def _load(self) -> dict[str, str]:
        """Read the file; a missing file is an empty store."""
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

    def _save(self, keys: dict[str, str]) -> None:
        """Write atomically with 0600 from creation, so the key is never world-readable."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(keys, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
