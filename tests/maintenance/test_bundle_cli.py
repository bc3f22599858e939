"""`doorctl bundle keygen` and `doorctl bundle build`, run as the release manager runs
them, as processes."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from doorctl.core.maintenance.bundle import read_bundle, trusted_keys
from doorctl.core.maintenance.keys import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE


def doorctl(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "doorctl", "bundle", *arguments],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_keygen_makes_a_private_key_only_its_owner_reads_and_never_replaces_it(tmp_path):
    done = doorctl("keygen", str(tmp_path / "keys"))
    assert done.returncode == 0, done.stderr
    private = tmp_path / "keys" / PRIVATE_KEY_FILE
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert "fingerprint: " in done.stdout
    before = private.read_bytes()
    again = doorctl("keygen", str(tmp_path / "keys"))
    assert again.returncode == 1 and "exists; not replaced" in again.stderr
    assert private.read_bytes() == before


def test_build_makes_a_bundle_the_unit_accepts(tmp_path, wheel_cache):
    assert doorctl("keygen", str(tmp_path / "keys")).returncode == 0
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    (trusted / "k.pem").write_bytes((tmp_path / "keys" / PUBLIC_KEY_FILE).read_bytes())
    key = tmp_path / "keys" / PRIVATE_KEY_FILE
    done = doorctl("build", "--key", str(key), "--wheels", str(wheel_cache), "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    keys = trusted_keys(tmp_path / "data", extra=trusted)
    read = read_bundle(path, tmp_path / "into", trusted=keys, running_version="0.0.1")
    assert read.signed_by == "release"


def test_build_says_what_failed_when_a_wheel_is_missing(tmp_path):
    assert doorctl("keygen", str(tmp_path / "keys")).returncode == 0
    key = tmp_path / "keys" / PRIVATE_KEY_FILE
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    done = doorctl("build", "--key", str(key), "--wheels", str(empty), "--out", str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.startswith("doorctl bundle build: pip wheel failed")
    assert "setuptools>=77" in done.stderr  # pip's own words name the missing wheel
    assert not list(tmp_path.glob("*.bundle"))
