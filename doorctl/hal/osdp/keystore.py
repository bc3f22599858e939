"""Secure channel base keys (SCBK) of the readers: what the bus asks of a key store.

A key store keeps, per reader (by key name), the key the reader has and, while a key
change is under way, the alternative key it was offered. The bus calls:

- ``get(name)``: the reader's key, or None;
- ``alternative(name)``: a key offered by a KEYSET whose answer never came, or None;
- ``propose(name, key)``: before a KEYSET is sent, keep ``key`` as the alternative,
  so that a reader that takes it and whose ACK is lost is never stranded;
- ``put(name, key)``: the reader acknowledged ``key``; it replaces the key and the
  alternative;
- ``proved(name, key)``: a secure channel was set up with ``key``, one of the two:
  it is kept, the other is forgotten.

Each call may write to disk; a store keeps that off the hub itself.

``KeyStore`` keeps them in one JSON file, ``osdp-keys.json``, mode 0600, mapping a
key name to its 16-byte key in hex (an alternative under ``alternative:<name>``).
Writes go to a temporary file that is renamed over the old one, so a power cut leaves
either the old or the new file, never half. The controller keeps its readers' keys
sealed in its database instead and reads this file only to take over keys stored
there by earlier versions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import gevent

KEY_FILE = "osdp-keys.json"
ALTERNATIVE = "alternative:"


class KeyStore:
    """Per-reader secure channel keys in a 0600 JSON file under `directory`."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.path = Path(directory) / KEY_FILE

    def get(self, name: str) -> bytes | None:
        """The reader's key, or None if it was never given one."""
        return _key(self._load().get(name))

    def alternative(self, name: str) -> bytes | None:
        """The key a KEYSET offered the reader without an answer, or None."""
        return _key(self._load().get(ALTERNATIVE + name))

    def propose(self, name: str, key: bytes) -> None:
        """Keep `key` as the alternative before it is sent to the reader."""
        self._change({ALTERNATIVE + name: _checked(key).hex()})

    def put(self, name: str, key: bytes) -> None:
        """Remember a reader's key (after its KEYSET was acknowledged)."""
        self._change({name: _checked(key).hex(), ALTERNATIVE + name: None})

    def proved(self, name: str, key: bytes) -> None:
        """The reader set up a secure channel with `key`: keep it alone."""
        self.put(name, key)

    def delete(self, name: str) -> None:
        """Forget a reader's keys, e.g. when it is replaced."""
        self._change({name: None, ALTERNATIVE + name: None})

    def names(self) -> list[str]:
        """Names of the readers that have a key (never the keys themselves)."""
        return sorted(n for n in self._load() if not n.startswith(ALTERNATIVE))

    def _change(self, changes: dict[str, str | None]) -> None:
        """Set (or, for None, remove) entries and write the file if anything changed."""
        keys = self._load()
        before = dict(keys)
        for name, value in changes.items():
            if value is None:
                keys.pop(name, None)
            else:
                keys[name] = value
        if keys != before:
            # fsync on an SD card can take long: keep it off the hub.
            gevent.get_hub().threadpool.apply(self._save, (keys,))

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


def _key(value: str | None) -> bytes | None:
    return bytes.fromhex(value) if value else None


def _checked(key: bytes) -> bytes:
    if len(key) != 16:
        raise ValueError("an OSDP SCBK is 16 bytes")
    return key
