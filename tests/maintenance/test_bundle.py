"""Release bundles (manual: Maintenance > Upgrade firmware, Signed firmware): a real
bundle of this checkout is accepted, and every way of changing or faking one is refused
with its own message, leaving nothing behind."""

from __future__ import annotations

import base64
import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from doorctl import __version__
from doorctl.core.maintenance.bundle import (
    BundleRefused,
    host_target,
    read_bundle,
    trusted_keys,
)
from doorctl.core.maintenance.bundle_format import sha256_of
from doorctl.core.maintenance.keys import OWNER_KEY_FILE, load_signing_key

OWN_WHEEL = f"doorctl-{__version__}-py3-none-any.whl"
NOT_A_BUNDLE = "The file is not a doorctl release bundle, or it is damaged."
UNSAFE = (
    "The bundle holds a link, a device or a path outside its wheels folder; "
    "it is refused as unsafe."
)


@pytest.fixture
def data_dir(tmp_path: Path, test_public_key: Path) -> Path:
    """A unit's data directory with the test key installed as the owner's key."""
    data = tmp_path / "data"
    data.mkdir()
    (data / OWNER_KEY_FILE).write_bytes(test_public_key.read_bytes())
    return data


@pytest.fixture
def trusted(data_dir: Path):
    return trusted_keys(data_dir)


def members_of(path: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path) as archive:
        return [(m, archive.extractfile(m).read() if m.isreg() else b"") for m in archive]


def write(out: Path, members, keep_sizes: bool = False) -> Path:
    """A tar of `members`; each member's size is its data's unless `keep_sizes`."""
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in members:
            if info.isreg() and not keep_sizes:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out


def changed(bundle: Path, out: Path, change) -> Path:
    """A copy of `bundle` whose members `change` edits (it gets and returns the list)."""
    return write(out, change(members_of(bundle)))


def resigned(members, key_path: Path, edit) -> list:
    """The members with metadata.json edited by `edit` and signed again with the key."""
    key = load_signing_key(key_path)
    found = dict((info.name, (info, data)) for info, data in members)
    metadata = json.loads(found["metadata.json"][1])
    edit(metadata)
    data = json.dumps(metadata).encode()
    found["metadata.json"] = (found["metadata.json"][0], data)
    found["metadata.json.sig"] = (found["metadata.json.sig"][0], base64.b64encode(key.sign(data)))
    return list(found.values())


def member(name: str, data: bytes = b"", kind=tarfile.REGTYPE, link: str = ""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, len(data)
    return info, data


def refused(path: Path, into: Path, trusted, **options) -> str:
    """The message read_bundle refuses `path` with; nothing may be left in `into`."""
    options.setdefault("running_version", "0.0.1")
    with pytest.raises(BundleRefused) as caught:
        read_bundle(path, into, trusted=trusted, **options)
    assert not into.exists()
    return caught.value.message


def test_a_signed_bundle_is_accepted_and_its_wheels_extracted(bundle, tmp_path, trusted):
    into = tmp_path / "into"
    read = read_bundle(bundle, into, trusted=trusted, running_version="0.0.1")
    assert (read.version, read.target, read.signed_by) == (__version__, host_target(), "owner")
    names = sorted(path.name for path in read.wheels)
    assert OWN_WHEEL in names and any(name.startswith("gevent-") for name in names)
    assert sorted(path.name for path in into.iterdir()) == names
    listed = {w["name"]: w["sha256"] for w in json.loads(members_of(bundle)[0][1])["wheels"]}
    assert {path.name: sha256_of(path) for path in read.wheels} == listed


def test_a_release_key_is_trusted_from_the_extra_key_folder(bundle, tmp_path, test_public_key):
    keys = trusted_keys(tmp_path / "no-data", extra=test_public_key.parent)
    read = read_bundle(bundle, tmp_path / "into", trusted=keys, running_version="0.0.1")
    assert read.signed_by == "release"


def test_a_wheel_changed_after_signing_is_refused(bundle, tmp_path, trusted):
    def flip(members):
        out = []
        for info, data in members:
            if info.name == f"wheels/{OWN_WHEEL}":
                middle = len(data) // 2
                data = data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :]
            out.append((info, data))
        return out

    path = changed(bundle, tmp_path / "b", flip)
    message = refused(path, tmp_path / "into", trusted)
    assert message == f"The wheel {OWN_WHEEL} was changed after the bundle was signed."


def test_a_wheel_added_or_removed_is_refused(bundle, tmp_path, trusted):
    added = changed(
        bundle, tmp_path / "a", lambda m: m + [member("wheels/extra-1.0-py3-none-any.whl", b"x")]
    )
    assert refused(added, tmp_path / "into", trusted) == (
        "The bundle holds a wheel its signed list does not name: extra-1.0-py3-none-any.whl."
    )
    removed = changed(
        bundle, tmp_path / "r", lambda m: [x for x in m if OWN_WHEEL not in x[0].name]
    )
    assert refused(removed, tmp_path / "into", trusted) == (
        f"The wheel {OWN_WHEEL} is missing from the bundle."
    )


def test_a_bundle_signed_by_an_unknown_key_is_refused(bundle, tmp_path):
    keys = trusted_keys(tmp_path / "no-owner-key")
    assert refused(bundle, tmp_path / "into", keys) == (
        "The bundle is signed by a key this unit does not trust."
    )


def test_metadata_edited_after_signing_is_refused(bundle, tmp_path, trusted):
    def bump(members):
        return [
            (i, d.replace(__version__.encode(), b"99.0.0") if i.name == "metadata.json" else d)
            for i, d in members
        ]

    path = changed(bundle, tmp_path / "b", bump)
    assert refused(path, tmp_path / "into", trusted) == (
        "The bundle's signature does not match its contents: it was changed after signing."
    )


def test_a_bundle_for_another_target_is_refused(bundle, tmp_path, trusted):
    message = refused(bundle, tmp_path / "into", trusted, target="linux_aarch64-cp311")
    assert message == (
        f"The bundle is for {host_target()}; this unit needs one for linux_aarch64-cp311."
    )


def test_an_older_or_the_same_version_is_refused_unless_asked_for(bundle, tmp_path, trusted):
    into = tmp_path / "into"
    assert refused(bundle, into, trusted, running_version="99.0") == (
        f"The bundle holds doorctl {__version__}, older than the 99.0 this unit runs; "
        "choose a rollback to install an older version."
    )
    assert refused(bundle, into, trusted, running_version=__version__) == (
        f"This unit already runs doorctl {__version__}."
    )
    for running in ("99.0", __version__):
        read = read_bundle(bundle, into, trusted=trusted, running_version=running, allow_older=True)
        assert read.version == __version__


def test_a_bundle_without_a_doorctl_wheel_is_refused(bundle, tmp_path, trusted, test_key):
    def drop_own(metadata):
        metadata["wheels"] = [w for w in metadata["wheels"] if w["name"] != OWN_WHEEL]

    members = [m for m in members_of(bundle) if OWN_WHEEL not in m[0].name]
    path = write(tmp_path / "b", resigned(members, test_key, drop_own))
    assert refused(path, tmp_path / "into", trusted) == "The bundle holds no doorctl wheel."


@pytest.mark.parametrize(
    "hostile",
    [
        member("../evil.whl", b"x"),
        member("wheels/../../evil.whl", b"x"),
        member("/tmp/evil.whl", b"x"),
        member("wheels/link.whl", kind=tarfile.SYMTYPE, link="/etc/passwd"),
        member("wheels/hard.whl", kind=tarfile.LNKTYPE, link="metadata.json"),
        member("wheels/dev.whl", kind=tarfile.CHRTYPE),
        member("evil", kind=tarfile.DIRTYPE),
    ],
    ids=["parent", "through-wheels", "absolute", "symlink", "hardlink", "device", "folder"],
)
def test_hostile_members_are_refused_and_nothing_is_written(bundle, tmp_path, trusted, hostile):
    path = changed(bundle, tmp_path / "b", lambda m: [hostile] + m)
    before = set(tmp_path.rglob("*"))
    assert refused(path, tmp_path / "work" / "into", trusted) == UNSAFE
    assert set(tmp_path.rglob("*")) == before


def test_a_member_bigger_than_its_signed_size_is_refused(bundle, tmp_path, trusted):
    huge = [
        (i, d + b" " * (2 << 20) if i.name == "metadata.json" else d) for i, d in members_of(bundle)
    ]
    assert refused(write(tmp_path / "m", huge), tmp_path / "into", trusted) == NOT_A_BUNDLE
    grown = [(i, d + b"x" if i.name.endswith(OWN_WHEEL) else d) for i, d in members_of(bundle)]
    assert refused(write(tmp_path / "w", grown), tmp_path / "into", trusted) == (
        f"The wheel {OWN_WHEEL} was changed after the bundle was signed."
    )


def test_a_file_that_is_not_a_bundle_is_refused(bundle, tmp_path, trusted):
    cases = {
        "empty": b"",
        "text": b"not a bundle at all\n" * 100,
        "gzipped": gzip.compress(bundle.read_bytes()[:200_000]),
        "truncated": bundle.read_bytes()[:300_000],
        "no-signature": write(
            tmp_path / "s", [m for m in members_of(bundle) if m[0].name != "metadata.json.sig"]
        ).read_bytes(),
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert refused(path, tmp_path / "into", trusted) == NOT_A_BUNDLE, name


def test_the_release_key_ships_in_the_wheel_and_is_trusted_alone(bundle, tmp_path):
    (own,) = [m for m in members_of(bundle) if m[0].name == f"wheels/{OWN_WHEEL}"]
    names = zipfile.ZipFile(io.BytesIO(own[1])).namelist()
    shipped = [n for n in names if n.startswith("doorctl/core/maintenance/release_keys/")]
    assert shipped and all(n.endswith(".pem") for n in shipped)
    assert set(trusted_keys(tmp_path / "data").ids().values()) == {"release"}
