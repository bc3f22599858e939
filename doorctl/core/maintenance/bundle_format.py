"""What a release bundle file holds, shared by the command that builds one and the unit
that reads one.

A bundle is an uncompressed tar (wheels are zip files already; no decompression bomb
to fear) of exactly: `metadata.json`, `metadata.json.sig` (the Ed25519 signature of
metadata.json's bytes, base64) and `wheels/<file>.whl` for each wheel the metadata
lists with its size and SHA-256.
"""

from __future__ import annotations

import hashlib
import re
import sys
import sysconfig
from pathlib import Path

PRODUCT = "doorctl"
FORMAT = 1
METADATA = "metadata.json"
SIGNATURE = "metadata.json.sig"
WHEELS = "wheels"
SUFFIX = ".bundle"
# Any name a wheel may have, and nothing that leaves the wheels folder.
WHEEL_NAME = re.compile(r"^[A-Za-z0-9_.+!-]+\.whl$")
MAX_METADATA = 1 << 20
MAX_SIGNATURE = 1 << 10
MAX_MEMBERS = 1000
MAX_TOTAL = 2 << 30
CHUNK = 1 << 20


def host_target() -> str:
    """This machine's target: its platform tag and its Python, "linux_aarch64-cp311"."""
    platform = re.sub(r"[^A-Za-z0-9]", "_", sysconfig.get_platform())
    return f"{platform}-cp{sys.version_info.major}{sys.version_info.minor}"


def split_target(target: str) -> tuple[str, str]:
    """("linux_aarch64", "3.11") from "linux_aarch64-cp311"."""
    platform, _, python = target.rpartition("-")
    found = re.fullmatch(r"cp(\d)(\d+)", python)
    if not platform or not found:
        raise ValueError(f"not a target (platform-cpXY): {target!r}")
    return platform, f"{found[1]}.{found[2]}"


def sha256_of(path: Path) -> str:
    """A file's SHA-256 in hex, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def bundle_name(version: str, target: str) -> str:
    """The file name a bundle is built as: doorctl-0.2.0-linux_aarch64-cp311.bundle."""
    return f"{PRODUCT}-{version}-{target}{SUFFIX}"
