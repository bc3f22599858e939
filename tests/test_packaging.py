"""What a release is made of: `python -m build` gives the wheel and the sdist pip
installs onto a Pi, with templates, static files, migrations, translations, the systemd
unit's template and the console script; the wheel installs into a fresh virtual
environment whose `doorctl install-service` renders a unit systemd accepts."""

import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from support import REPO, require

# What a build leaves in a checkout: a stale build/lib would put old files in the wheel.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "var", ".lgd-nfy*"
)
PACKAGE_FILES = (
    "doorctl/templates/base.html",
    "doorctl/templates/system/users/page.html",
    "doorctl/static/vendor/htmx.min.js",
    "doorctl/static/vendor/htmx.LICENSE",
    "doorctl/static/vendor/pico.classless.min.css",
    "doorctl/static/css/doorctl.css",
    "doorctl/static/css/components.css",
    "doorctl/static/vendor/lucide-sprite.svg",
    "doorctl/templates/ui/macros.html",
    "doorctl/core/migrations/0001_foundation.sql",
    "doorctl/translations/de/LC_MESSAGES/messages.mo",
    "doorctl/translations/sv/LC_MESSAGES/messages.mo",
    "doorctl/service/doorctl.service.in",
    "doorctl/service/50-doorctl.rules.in",
)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The wheel and the sdist `python -m build` makes from a clean copy of the checkout."""
    work = tmp_path_factory.mktemp("build")
    shutil.copytree(REPO, work / "source", ignore=NOT_SOURCE)
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(work / "dist"), str(work / "source")],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return work / "dist"


def _every_data_file_in(names: set[str]) -> None:
    """Every file the package's folders hold in git (templates, static, translations,
    the unit's template, a MIB) is in the release: one left out is a packaging bug."""
    tracked = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "doorctl"], capture_output=True, text=True
    ).stdout.split()
    assert tracked, "git ls-files found nothing"
    left_out = [path for path in tracked if path not in names]
    assert not left_out, left_out


def test_the_wheel_holds_the_package_files_and_the_console_script(dist):
    (wheel,) = dist.glob("doorctl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in PACKAGE_FILES:
        assert needed in names, needed
    _every_data_file_in(names)
    assert not [n for n in names if n.startswith("tests/")]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "doorctl = doorctl.__main__:main" in text


def test_the_sdist_holds_the_package_files(dist):
    (sdist,) = dist.glob("doorctl-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in (*PACKAGE_FILES, "pyproject.toml", "README.md"):
        assert needed in names, needed
    _every_data_file_in(names)


def test_the_wheel_installs_into_a_fresh_venv_whose_install_service_renders_a_valid_unit(
    dist, tmp_path
):
    analyze = require("systemd-analyze", "systemd-analyze (package systemd)")
    (wheel,) = dist.glob("doorctl-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [venv / "bin/pip", "install", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    doorctl = venv.resolve() / "bin/doorctl"
    done = subprocess.run(
        [doorctl, "install-service", "--dry-run"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert f"ExecStart={doorctl} supervise --data-dir /var/lib/doorctl" in done.stdout
    printed = subprocess.run(
        [doorctl, "install-service", "--print"], capture_output=True, text=True, timeout=60
    )
    unit = tmp_path / "doorctl.service"
    unit.write_text(printed.stdout)
    assert f"Documentation=file://{venv.resolve()}/lib/" in printed.stdout
    verify = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    assert (verify.returncode, verify.stderr) == (0, "")


def test_the_pi_extra_installs_the_gpio_spi_and_i2c_libraries():
    """rpi-lgpio (RPi.GPIO on /dev/gpiochip, every Pi), spidev (ADC), smbus2 (motion)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {
        re.split(r"[<>=!~ \[]", spec)[0].lower() for spec in project["optional-dependencies"]["pi"]
    }
    assert names == {"rpi-lgpio", "spidev", "smbus2"}
