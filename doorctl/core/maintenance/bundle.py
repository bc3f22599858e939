"""Release bundles (manual: Maintenance > Upgrade firmware, Signed firmware): one file
with the wheels of doorctl and of every dependency for one target, and metadata signed
with a key the unit trusts, so that a unit without internet upgrades from an upload.

`read_bundle` checks everything before it writes anything: the archive's members (no
link, no path outside `wheels/`, no device, no member beyond its signed size), the
signature against the trusted keys, the target, the version (no downgrade unless asked
for), then each wheel's size and SHA-256 as it is copied out. A refused bundle leaves
nothing behind. `build_bundle` (in bundle_build) makes one from a checkout.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from doorctl.core.errors import DoorctlError
from doorctl.core.maintenance.bundle_build import build_bundle
from doorctl.core.maintenance.bundle_format import (
    CHUNK,
    FORMAT,
    MAX_MEMBERS,
    MAX_METADATA,
    MAX_SIGNATURE,
    MAX_TOTAL,
    METADATA,
    PRODUCT,
    SIGNATURE,
    WHEEL_NAME,
    WHEELS,
    host_target,
)
from doorctl.core.maintenance.keys import TrustedKeys, trusted_keys

__all__ = [
    "Bundle",
    "BundleRefused",
    "TrustedKeys",
    "build_bundle",
    "host_target",
    "read_bundle",
    "trusted_keys",
]


class BundleRefused(DoorctlError):
    """The bundle is not installed; `message` tells the installer why."""

    status = 422


@dataclass(frozen=True)
class Bundle:
    """A verified bundle, its wheels extracted and hash-checked."""

    version: str
    target: str
    wheels: tuple[Path, ...]
    signed_by: str


def _not_a_bundle() -> BundleRefused:
    return BundleRefused(_("The file is not a doorctl release bundle, or it is damaged."))


def _unsafe() -> BundleRefused:
    return BundleRefused(
        _(
            "The bundle holds a link, a device or a path outside its wheels folder; "
            "it is refused as unsafe."
        )
    )


def _changed(wheel: str) -> BundleRefused:
    return BundleRefused(
        _("The wheel %(wheel)s was changed after the bundle was signed.", wheel=wheel)
    )


def read_bundle(
    path: Path,
    into: Path,
    *,
    trusted: TrustedKeys,
    running_version: str,
    allow_older: bool = False,
    target: str | None = None,
    halfway: Callable[[], None] = lambda: None,
) -> Bundle:
    """Verify a bundle and extract its wheels into `into`, or raise BundleRefused;
    `halfway()` runs once the signature and version hold, before any wheel is read."""
    try:
        if path.stat().st_size > MAX_TOTAL + MAX_METADATA:
            raise _not_a_bundle()
        archive = tarfile.open(path, "r:")  # noqa: SIM115 (closed by the with below)
    except (tarfile.TarError, OSError, EOFError):
        raise _not_a_bundle() from None
    with archive:
        try:
            members = _members(archive)
            metadata, signed_by = _verified_metadata(archive, members, trusted)
            _check(metadata, target or host_target(), running_version, allow_older)
            halfway()
            wheels = _extract(archive, members, metadata["wheels"], into)
        except (tarfile.TarError, EOFError):
            raise _not_a_bundle() from None
    return Bundle(metadata["version"], metadata["target"], wheels, signed_by)


def _members(archive: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    """The archive's files by name, refusing anything a bundle never holds."""
    members: dict[str, tarfile.TarInfo] = {}
    total = 0
    for count, member in enumerate(archive, 1):
        if count > MAX_MEMBERS:
            raise _not_a_bundle()
        if member.isdir() and member.name.rstrip("/") == WHEELS:
            continue
        if not _allowed(member) or member.name in members:
            raise _unsafe()
        members[member.name] = member
        total += member.size
    if total > MAX_TOTAL or METADATA not in members or SIGNATURE not in members:
        raise _not_a_bundle()
    return members


def _allowed(member: tarfile.TarInfo) -> bool:
    """A regular file named metadata.json, its signature or wheels/<a wheel's name>."""
    if not member.isreg() or member.issparse():
        return False
    folder, _slash, name = member.name.partition("/")
    if not name:
        return member.name in (METADATA, SIGNATURE)
    return folder == WHEELS and bool(WHEEL_NAME.match(name)) and name not in (".", "..")


def _read_small(archive: tarfile.TarFile, member: tarfile.TarInfo, limit: int) -> bytes:
    if member.size > limit:
        raise _not_a_bundle()
    source = archive.extractfile(member)
    data = source.read(limit + 1) if source else b""
    if len(data) != member.size:
        raise _not_a_bundle()
    return data


def _verified_metadata(
    archive: tarfile.TarFile, members: dict[str, tarfile.TarInfo], trusted: TrustedKeys
) -> tuple[dict, str]:
    """The metadata once its signature holds for a trusted key, and whose key it is."""
    data = _read_small(archive, members[METADATA], MAX_METADATA)
    try:
        metadata = _parsed(data)
        signature = base64.b64decode(_read_small(archive, members[SIGNATURE], MAX_SIGNATURE))
    except (ValueError, binascii.Error):
        raise _not_a_bundle() from None
    try:
        signed_by = trusted.verify(metadata["key_id"], signature, data)
    except KeyError:
        raise BundleRefused(_("The bundle is signed by a key this unit does not trust.")) from None
    if signed_by is None:
        raise BundleRefused(
            _("The bundle's signature does not match its contents: it was changed after signing.")
        )
    return metadata, signed_by


def _parsed(data: bytes) -> dict:
    """The metadata's fields, each of the type it must have, or ValueError."""
    metadata = json.loads(data)
    fields = {"product": str, "format": int, "version": str, "target": str, "key_id": str}
    if not isinstance(metadata, dict) or not isinstance(metadata.get("wheels"), list):
        raise ValueError("metadata")
    if any(not isinstance(metadata.get(name), kind) for name, kind in fields.items()):
        raise ValueError("metadata")
    for wheel in metadata["wheels"]:
        if not (
            isinstance(wheel, dict)
            and isinstance(wheel.get("name"), str)
            and WHEEL_NAME.match(wheel["name"])
            and isinstance(wheel.get("size"), int)
            and isinstance(wheel.get("sha256"), str)
        ):
            raise ValueError("metadata")
    if len({wheel["name"] for wheel in metadata["wheels"]}) != len(metadata["wheels"]):
        raise ValueError("metadata")
    return metadata


def _check(metadata: dict, target: str, running_version: str, allow_older: bool) -> None:
    """Refuse a bundle of another product, format or target, an older or equal version
    (unless asked for), and one without doorctl's wheel."""
    if metadata["product"] != PRODUCT or metadata["format"] != FORMAT:
        raise _not_a_bundle()
    if metadata["target"] != target:
        raise BundleRefused(
            _(
                "The bundle is for %(bundle)s; this unit needs one for %(unit)s.",
                bundle=metadata["target"],
                unit=target,
            )
        )
    _check_version(metadata["version"], running_version, allow_older)
    if not any(_is_doorctl(wheel["name"], metadata["version"]) for wheel in metadata["wheels"]):
        raise BundleRefused(_("The bundle holds no doorctl wheel."))


def _check_version(version: str, running: str, allow_older: bool) -> None:
    try:
        new, now = Version(version), Version(running)
    except InvalidVersion:
        raise _not_a_bundle() from None
    if allow_older:
        return
    if new == now:
        raise BundleRefused(_("This unit already runs doorctl %(version)s.", version=version))
    if new < now:
        raise BundleRefused(
            _(
                "The bundle holds doorctl %(version)s, older than the %(running)s this unit "
                "runs; choose a rollback to install an older version.",
                version=version,
                running=running,
            )
        )


def _is_doorctl(name: str, version: str) -> bool:
    try:
        project, wheel_version, _build, _tags = parse_wheel_filename(name)
    except (InvalidWheelFilename, InvalidVersion):
        return False
    return project == PRODUCT and wheel_version == Version(version)


def _extract(
    archive: tarfile.TarFile,
    members: dict[str, tarfile.TarInfo],
    listed: list[dict],
    into: Path,
) -> tuple[Path, ...]:
    """Copy each listed wheel out, checking its size and hash, or leave nothing."""
    in_archive = {name.partition("/")[2] for name in members if name.startswith(WHEELS + "/")}
    named = {wheel["name"] for wheel in listed}
    extra = sorted(in_archive - named)
    if extra:
        raise BundleRefused(
            _("The bundle holds a wheel its signed list does not name: %(wheel)s.", wheel=extra[0])
        )
    for wheel in listed:
        if wheel["name"] not in in_archive:
            raise BundleRefused(
                _("The wheel %(wheel)s is missing from the bundle.", wheel=wheel["name"])
            )
        if members[f"{WHEELS}/{wheel['name']}"].size != wheel["size"]:
            raise _changed(wheel["name"])
    created = not into.exists()
    into.mkdir(parents=True, exist_ok=True)
    _check_space(into, sum(wheel["size"] for wheel in listed))
    staging = Path(tempfile.mkdtemp(prefix=".bundle-", dir=into))
    try:
        for wheel in listed:
            _copy_checked(archive, members[f"{WHEELS}/{wheel['name']}"], wheel, staging)
        return tuple(_move(staging / wheel["name"], into) for wheel in listed)
    except BaseException:
        if created:
            shutil.rmtree(into, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_space(into: Path, needed: int) -> None:
    free = shutil.disk_usage(into).free
    if free < needed + (16 << 20):
        raise BundleRefused(
            _(
                "There is not enough free space for the bundle: %(needed)d MB needed, "
                "%(free)d MB free.",
                needed=needed >> 20,
                free=free >> 20,
            )
        )


def _copy_checked(
    archive: tarfile.TarFile, member: tarfile.TarInfo, wheel: dict, staging: Path
) -> None:
    """Copy one wheel, never more than its signed size, and compare its SHA-256."""
    source = archive.extractfile(member)
    digest, copied = hashlib.sha256(), 0
    with (staging / wheel["name"]).open("wb") as out:
        while source is not None and (chunk := source.read(min(CHUNK, wheel["size"] - copied))):
            digest.update(chunk)
            out.write(chunk)
            copied += len(chunk)
    if copied != wheel["size"] or digest.hexdigest() != wheel["sha256"]:
        raise _changed(wheel["name"])


def _move(staged: Path, into: Path) -> Path:
    """The checked wheel in its place (a link of that name is replaced, not followed)."""
    target = into / staged.name
    staged.replace(target)
    return target
