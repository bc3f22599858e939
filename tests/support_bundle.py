"""Real release bundles for tests: doorctl's wheel from this checkout (at its own or a
bumped version) with its dependencies' wheels, signed with a test key.

The dependency wheels (pinned to the versions installed in this venv) and the build's
own requirement (setuptools) are downloaded once into `.cache/wheels/<key of those
versions>/` (gitignored); later runs build bundles from that folder with no index. So
are a Pi's real wheels (`pi_wheels`: the dependencies and the `pi` extra's wheels for
linux_aarch64, Python 3.11) into `.cache/wheels/<key>-<target>/`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from support import REPO

from doorctl.core.maintenance.bundle import build_bundle
from doorctl.core.maintenance.bundle_build import NOT_SOURCE, doorctl_wheel, target_options

CACHE = REPO / ".cache" / "wheels"
BUILD = "setuptools>=77"  # pyproject.toml's build requirement, so builds need no index
DONE = ".complete"
PI = "linux_aarch64-cp311"
# The `pi` extra's packages that publish wheels for a Pi (rpi-lgpio brings lgpio);
# spidev has none: a Pi takes it from Raspberry Pi OS.
PI_EXTRA_WHEELS = ("rpi-lgpio", "smbus2")


def _installed() -> list[str]:
    """name==version of every distribution in this venv but doorctl itself."""
    pins = {
        f"{dist.metadata['Name'].lower()}=={dist.version}"
        for dist in metadata.distributions()
        if dist.metadata["Name"] and dist.metadata["Name"].lower() != "doorctl"
    }
    return sorted(pins)


def _key() -> str:
    pins = _installed()
    return hashlib.sha256("\n".join(pins + [sys.version, BUILD]).encode()).hexdigest()[:16]


def _constraints(scratch: Path) -> Path:
    constraints = scratch / "constraints.txt"
    constraints.write_text("\n".join(_installed()) + "\n")
    return constraints


def _pip(*arguments: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", *arguments], check=True, capture_output=True, timeout=900
    )


def _put_in_place(folder: Path, final: Path) -> Path:
    """The first worker to finish puts its folder in place; the others drop theirs."""
    (folder / DONE).touch()
    try:
        os.rename(folder, final)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
    return final


def pi_wheels(scratch: Path, host_wheels: Path) -> Path:
    """The folder of a Pi's real wheels (every dependency, the pi extra's, setuptools),
    downloaded on the first run; WSDiscovery's pure wheel comes from `host_wheels`."""
    final = CACHE / f"{_key()}-{PI}"
    if (final / DONE).exists():
        return final
    own = doorctl_wheel(REPO, scratch / "own-pi")
    folder = final.with_name(f"{final.name}.{os.getpid()}")
    shutil.rmtree(folder, ignore_errors=True)
    _pip(
        "download", "--only-binary=:all:", "--quiet", *target_options(PI),
        "-c", str(_constraints(scratch)), "--find-links", str(host_wheels),
        "-d", str(folder), str(own), *PI_EXTRA_WHEELS,
    )  # fmt: skip
    _pip("download", "--only-binary=:all:", "--quiet", "-d", str(folder), BUILD)
    for wheel in folder.glob("doorctl-*.whl"):
        wheel.unlink()
    return _put_in_place(folder, final)


def dependency_wheels(scratch: Path) -> Path:
    """The folder of dependency wheels for this machine, downloaded on the first run."""
    key = _key()
    folder = CACHE / key
    if (folder / DONE).exists():
        return folder
    constraints = _constraints(scratch)
    own = doorctl_wheel(REPO, scratch / "own")
    final, folder = folder, folder.with_name(f"{key}.{os.getpid()}")  # a worker's own
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run(  # pip wheel: a dependency published only as source is built here
        [sys.executable, "-m", "pip", "wheel", "--quiet"]
        + ["-c", str(constraints), "-w", str(folder), str(own)],
        check=True,
        capture_output=True,
        timeout=900,
    )
    for wheel in folder.glob("doorctl-*.whl"):
        wheel.unlink()
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--quiet"]
        + ["-d", str(folder), BUILD],
        check=True,
        capture_output=True,
        timeout=900,
    )
    return _put_in_place(folder, final)


def checkout_at(version: str, out: Path) -> Path:
    """A copy of this checkout whose doorctl says it is `version`."""
    source = out / f"doorctl-{version}"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    init = source / "doorctl" / "__init__.py"
    text = re.sub(r'__version__ = "[^"]*"', f'__version__ = "{version}"', init.read_text())
    init.write_text(text)
    return source


def make_bundle(
    out: Path, signing_key: Path, wheels: Path, version: str | None = None, target=None
) -> Path:
    """A signed bundle of this checkout (at `version` if given) from cached wheels."""
    project = checkout_at(version, out) if version else REPO
    return build_bundle(out, signing_key=signing_key, project=project, wheels=wheels, target=target)
