"""A Raspberry Pi's bundle carries the `pi` extra's wheels (rpi-lgpio, lgpio, smbus2;
spidev comes from Raspberry Pi OS), even built from a checkout where doorctl ran on a
Pi (lgpio's pipe in it); an upgrade installs the extra again into the new environment
when the running install has it, so an upgraded Pi keeps its GPIO backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest
from support_bundle import PI, checkout_at, pi_wheels

from doorctl import __version__
from doorctl.core.maintenance.bundle import build_bundle, read_bundle, trusted_keys

PI_EXTRA = {"rpi-lgpio", "lgpio", "smbus2"}
# Runs Firmware's install step in a base environment's own process, as serve does.
INSTALL = """
import sys
from pathlib import Path
from doorctl.core.events import EventBus
from doorctl.core.maintenance.bundle import Bundle
from doorctl.core.maintenance.upgrade import Firmware
root, version, wheels = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
bundle = Bundle(version, "", tuple(Path(w) for w in wheels), "owner")
print(Firmware(root, root, EventBus(), lambda: None)._install(bundle))
"""


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


def stand_in(folder: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> Path:
    """A wheel of that name and version holding only its metadata (it installs here)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{stem}-py3-none-any.whl"
    lines = [f"Requires-Dist: {needed}" for needed in requires]
    metadata = "\n".join(["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", *lines])
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{stem}.dist-info/METADATA", metadata + "\n")
        wheel.writestr(
            f"{stem}.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{stem}.dist-info/RECORD", "")
    return path


@pytest.fixture(scope="module")
def pi_stand_ins(tmp_path_factory) -> Path:
    """The pi extra's packages as wheels that install on this machine; spidev stands for
    Raspberry Pi OS's python3-spidev, which a Pi's new environment sees."""
    folder = tmp_path_factory.mktemp("pi-stand-ins")
    stand_in(folder, "rpi-lgpio", "0.6", ("lgpio>=0.2.0.0",))
    stand_in(folder, "lgpio", "0.2.2.0")
    stand_in(folder, "smbus2", "0.6.1")
    stand_in(folder, "spidev", "3.6")
    return folder


def base_install(where: Path, stand_ins: Path, with_pi: bool) -> Path:
    """A base environment running this checkout's doorctl (this venv's packages after
    its own), with the pi extra's packages installed in its own site-packages or not."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    (Path(site) / "zz-doorctl-dev.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    if with_pi:
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
            + ["--no-index", "--no-deps", *map(str, stand_ins.glob("*.whl"))],
            check=True,
        )
    return python


def installed_in(env: Path) -> set[str]:
    """The distributions pip installed into a new environment."""
    site = next((env / "lib").glob("python*/site-packages"))
    return {p.name.split("-")[0].lower().replace("_", "-") for p in site.glob("*.dist-info")}


@pytest.mark.parametrize("with_pi", [True, False], ids=["base-with-pi", "base-without"])
def test_an_upgrade_installs_the_pi_extra_when_the_running_install_has_it(
    tmp_path, bundle, pi_stand_ins, test_public_key, with_pi
):
    python = base_install(tmp_path / "base", pi_stand_ins, with_pi)
    keys = trusted_keys(tmp_path / "data", extra=test_public_key.parent)
    into = tmp_path / "unpacked"
    read = read_bundle(bundle, into, trusted=keys, running_version="0.0.1", allow_older=True)
    wheels = [*read.wheels, *pi_stand_ins.glob("*.whl")]
    done = subprocess.run(
        [str(python), "-c", INSTALL, str(tmp_path / "fw"), __version__, *map(str, wheels)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    installed = installed_in(tmp_path / "fw" / done.stdout.strip())
    assert "doorctl" in installed and "gevent" in installed
    expected = PI_EXTRA | {"spidev"}
    assert (expected <= installed) if with_pi else not (expected & installed)
