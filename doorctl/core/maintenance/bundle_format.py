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
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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
# The extras of doorctl (pyproject.toml) a unit's install may have, a Pi's bundle
# carries and an upgrade keeps: `pi`, the Raspberry Pi's GPIO, SPI and I2C libraries.
UNIT_EXTRAS = ("pi",)
# A Raspberry Pi's platforms (Raspberry Pi OS 64-bit and 32-bit).
PI_PLATFORMS = ("linux_aarch64", "linux_armv7l")
# The extras' packages a bundle can't carry, each with the Debian package a Pi takes it
# from instead: spidev is published only as source with a C extension, so a bundle
# built on another machine holds no wheel of it; the virtual environment sees Raspberry
# Pi OS's python3-spidev through --system-site-packages.
FROM_THE_OS = {"spidev": "python3-spidev"}


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


def is_pi(target: str) -> bool:
    """Whether `target` is a Raspberry Pi's, whose bundle carries the UNIT_EXTRAS."""
    return split_target(target)[0] in PI_PLATFORMS


def extra_requirements(requires: Iterable[str], extra: str) -> list[Requirement]:
    """The requirements doorctl's `extra` adds, from its Requires-Dist lines, without
    their marker."""
    found = []
    for line in requires:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker and marker.evaluate({"extra": extra}) and not marker.evaluate({"extra": ""}):
            requirement.marker = None
            found.append(requirement)
    return found


def carried(requirements: Iterable[Requirement]) -> list[Requirement]:
    """Those of `requirements` a bundle carries: all but FROM_THE_OS."""
    return [r for r in requirements if canonicalize_name(r.name) not in FROM_THE_OS]
