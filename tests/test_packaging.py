"""The wheel pip installs onto a Pi: templates, static files, migrations, console script."""

import shutil
import subprocess
import sys
import zipfile

from support import REPO

# What a build leaves in a checkout: a stale build/lib would put old files in the wheel.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "var")


def test_wheel_holds_templates_static_migrations_and_the_console_script(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("doorctl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
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
        "doorctl/core/system/snmp/DOORCTL-MIB.txt",
        "doorctl/translations/de/LC_MESSAGES/messages.mo",
        "doorctl/translations/sv/LC_MESSAGES/messages.mo",
    ):
        assert needed in names, needed
    assert not [n for n in names if n.startswith("tests/")]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "doorctl = doorctl.__main__:main" in text
