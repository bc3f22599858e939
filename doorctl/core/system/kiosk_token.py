"""The kiosk's login token: a secret of each install, beside the loopback rule.

A loopback peer is not only the kiosk's Chromium: another local user, an `ssh -L`
tunnel or a reverse proxy on the Pi connect from 127.0.0.1 too. So `doorctl kiosk
install` (root) makes a random token, puts it in the launcher's URL (a file only the
desktop user reads) and keeps its SHA-256 in the data directory (root's, 0600);
/kiosk/login wants both. Uninstall, or turning the kiosk off, removes it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

FILE = "kiosk-token"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(data_dir: Path) -> str:
    """A new token, its digest stored in place of any earlier one (which stops working)."""
    token = secrets.token_urlsafe(32)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = data_dir / f".{FILE}.{secrets.token_hex(6)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(_digest(token) + "\n")
    os.replace(temporary, data_dir / FILE)
    return token


def revoke(data_dir: Path) -> bool:
    """No token works any more; whether there was one."""
    try:
        (data_dir / FILE).unlink()
        return True
    except FileNotFoundError:
        return False


def matches(data_dir: Path, token: object) -> bool:
    """Whether `token` is the one the last install made (and none was revoked since)."""
    try:
        stored = (data_dir / FILE).read_text().strip()
    except FileNotFoundError:
        return False
    typed = token if isinstance(token, str) else ""
    return bool(stored) and hmac.compare_digest(stored, _digest(typed))
