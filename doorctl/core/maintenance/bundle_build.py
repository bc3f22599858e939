"""Building a release bundle from a checkout: doorctl's wheel (`pip wheel --no-deps`)
and the wheels of every dependency for the target (`pip download --only-binary`, for
a foreign target with `--platform` and `--python-version`), or taken from a folder of
wheels with no index at all, then the metadata, signed, and one tar file. A Pi's
bundle also carries the wheels of doorctl's `pi` extra, but for those a Pi takes from
Raspberry Pi OS (bundle_format.FROM_THE_OS).
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from packaging.metadata import Metadata
from packaging.utils import parse_wheel_filename

from doorctl.core.maintenance.bundle_format import (
    FORMAT,
    METADATA,
    PRODUCT,
    SIGNATURE,
    UNIT_EXTRAS,
    WHEELS,
    bundle_name,
    carried,
    extra_requirements,
    host_target,
    is_pi,
    sha256_of,
    split_target,
)
from doorctl.core.maintenance.keys import key_id, load_signing_key

# What a build or a run leaves in a checkout: a stale build/lib would put old files in
# the wheel; lgpio's notification pipe (.lgd-nfy*, on a Pi) can't be copied.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "var",
    ".cache",
    "__pycache__",
    "*_cache",
    ".lgd-nfy*",
)
# glibc versions a Linux target may have: Raspberry Pi OS bookworm has 2.36.
GLIBC_MINORS = range(36, 16, -1)
PIP_SECONDS = 900


class BuildFailed(RuntimeError):
    """pip could not build doorctl's wheel or find a wheel for the target."""


def build_bundle(
    out_dir: Path,
    *,
    signing_key: Path,
    project: Path | None = None,
    wheels: Path | None = None,
    target: str | None = None,
) -> Path:
    """A signed bundle of doorctl from `project` and its dependencies for `target`,
    from the index or only from the wheel folder `wheels`; its path in `out_dir`."""
    key = load_signing_key(signing_key)
    target = target or host_target()
    with tempfile.TemporaryDirectory(prefix="doorctl-bundle-") as work:
        own = doorctl_wheel(project or checkout(), Path(work) / "own", wheels)
        files = dependencies(own, target, wheels, Path(work) / WHEELS)
        version = str(parse_wheel_filename(own.name)[1])
        metadata = _metadata(files, version, target, key_id(key.public_key()))
        signature = base64.b64encode(key.sign(metadata)) + b"\n"
        return _write(out_dir / bundle_name(version, target), metadata, signature, files)


def checkout() -> Path:
    """The source tree this doorctl runs from, when it runs from a checkout."""
    here = Path(__file__).resolve().parents[3]
    if not (here / "pyproject.toml").is_file():
        raise BuildFailed("doorctl does not run from a checkout: give the project's folder")
    return here


def _pip(*arguments: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", *arguments],
        capture_output=True,
        text=True,
        timeout=PIP_SECONDS,
    )
    if done.returncode != 0:
        raise BuildFailed(f"pip {arguments[0]} failed:\n{done.stderr[-4000:]}")


def doorctl_wheel(project: Path, out: Path, wheels: Path | None = None) -> Path:
    """doorctl's wheel built from a clean copy of the checkout; with `wheels`, its build
    requirement (setuptools) comes from that folder too, with no index."""
    source = out / "source"
    shutil.copytree(project, source, ignore=NOT_SOURCE)
    offline = ["--no-index", "--find-links", str(wheels)] if wheels is not None else []
    _pip("wheel", "--no-deps", "--quiet", *offline, "-w", str(out), str(source))
    (wheel,) = out.glob(f"{PRODUCT}-*.whl")
    return wheel


def target_options(target: str) -> list[str]:
    """pip's options that pick wheels for `target` (none for this machine's own)."""
    if target == host_target():
        return []
    platform, python = split_target(target)
    platforms = [platform]
    if platform.startswith("linux_"):
        arch = platform.removeprefix("linux_")
        platforms = [f"manylinux_2_{minor}_{arch}" for minor in GLIBC_MINORS] + platforms
        platforms.append(f"manylinux2014_{arch}")
    options = ["--python-version", python, "--implementation", "cp"]
    for name in platforms:
        options += ["--platform", name]
    return options


def dependencies(own: Path, target: str, wheels: Path | None, out: Path) -> list[Path]:
    """doorctl's wheel and the wheels of all it needs for `target`, in `out`.

    A dependency published only as source (WSDiscovery is pure Python) is first built
    into a wheel on this machine (`pip wheel`); a pure-Python wheel serves every target.
    A Pi's bundle adds the wheels of the `pi` extra it can carry (pi_extras).
    """
    options = target_options(target) + ["--only-binary=:all:", "--quiet", "-d", str(out)]
    if wheels is not None:
        options += ["--no-index", "--find-links", str(wheels)]
    else:
        built = out.parent / "built"
        _pip("wheel", "--quiet", "-w", str(built), str(own))
        options += ["--find-links", str(built)]
    _pip("download", *options, str(own), *pi_extras(own, target))
    return sorted(out.glob("*.whl"))


def pi_extras(own: Path, target: str) -> list[str]:
    """The requirements of doorctl's UNIT_EXTRAS that a bundle for `target` carries:
    those a Pi does not take from its OS, and none for a target that is no Pi."""
    if not is_pi(target):
        return []
    with zipfile.ZipFile(own) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Metadata.from_email(wheel.read(name), validate=False)
    requires = [str(line) for line in metadata.requires_dist or []]
    wanted = [r for extra in UNIT_EXTRAS for r in extra_requirements(requires, extra)]
    return [str(requirement) for requirement in carried(wanted)]


def _metadata(files: list[Path], version: str, target: str, signer: str) -> bytes:
    """The bytes that are signed: product, version, target, time, signer, each wheel."""
    record = {
        "product": PRODUCT,
        "format": FORMAT,
        "version": version,
        "target": target,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "key_id": signer,
        "wheels": [
            {"name": path.name, "size": path.stat().st_size, "sha256": sha256_of(path)}
            for path in files
        ],
    }
    return json.dumps(record, indent=1, sort_keys=True).encode() + b"\n"


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, int(time.time())
    return info


def _write(path: Path, metadata: bytes, signature: bytes, files: list[Path]) -> Path:
    """The tar, written beside its final name and renamed once whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.part")
    with tarfile.open(part, "w", format=tarfile.PAX_FORMAT) as archive:
        archive.addfile(_member(METADATA, len(metadata)), io.BytesIO(metadata))
        archive.addfile(_member(SIGNATURE, len(signature)), io.BytesIO(signature))
        for wheel in files:
            with wheel.open("rb") as source:
                archive.addfile(_member(f"{WHEELS}/{wheel.name}", wheel.stat().st_size), source)
    os.replace(part, path)
    return path
