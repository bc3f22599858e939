"""A Raspberry Pi's bundle carries the `pi` extra's wheels (rpi-lgpio, lgpio, smbus2;
spidev comes from Raspberry Pi OS), even built from a checkout where doorctl ran on a
Pi (lgpio's pipe in it)."""

from __future__ import annotations

import json
import os
import tarfile

from support_bundle import PI, checkout_at, pi_wheels

from doorctl import __version__
from doorctl.core.maintenance.bundle import build_bundle, read_bundle, trusted_keys

PI_EXTRA = {"rpi-lgpio", "lgpio", "smbus2"}


def projects(names) -> dict[str, str]:
    """Each wheel's project name (normalized) and its file name."""
    return {name.split("-")[0].lower().replace("_", "-"): name for name in names}


def test_a_pi_bundle_lists_and_carries_the_pi_extras_wheels(
    tmp_path, test_key, test_public_key, wheel_cache
):
    folder = pi_wheels(tmp_path / "scratch", wheel_cache)
    project = checkout_at(__version__, tmp_path / "checkout")
    os.mkfifo(project / ".lgd-nfy0")  # what lgpio leaves where doorctl ran on a Pi
    path = build_bundle(
        tmp_path / "out", signing_key=test_key, project=project, wheels=folder, target=PI
    )
    with tarfile.open(path) as archive:
        listed = json.load(archive.extractfile("metadata.json"))["wheels"]
    found = projects(wheel["name"] for wheel in listed)
    assert found.keys() >= PI_EXTRA and "spidev" not in found
    assert found["lgpio"].endswith("_aarch64.whl")
    keys = trusted_keys(tmp_path / "data", extra=test_public_key.parent)
    read = read_bundle(path, tmp_path / "into", trusted=keys, running_version="0.0.1", target=PI)
    assert projects(wheel.name for wheel in read.wheels).keys() >= PI_EXTRA
