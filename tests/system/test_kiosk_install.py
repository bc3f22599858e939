"""`doorctl kiosk install|uninstall` for each image of Raspberry Pi OS, into a directory
(--root), run as the real command; and the Lite image's command line run for real in
cage (headless) with Chromium, which logs the kiosk in to a served doorctl."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from support import REPO, require, start_set_up

USER = pwd.getpwuid(os.getuid()).pw_name
HOME = pwd.getpwuid(os.getuid()).pw_dir.lstrip("/")
KIOSK = f"{HOME}/.local/share/doorctl-kiosk"


def kiosk(root: Path, *args: str, user: str = USER) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "doorctl", "kiosk", *args, "--root", str(root), "--user", user],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}


def test_labwc_autostart_keeps_the_users_lines(tmp_path):
    autostart = tmp_path / HOME / ".config/labwc/autostart"
    autostart.parent.mkdir(parents=True)
    autostart.write_text("swayidle -w timeout 600 'wlopm --off \\*' &\nwf-panel-pi &")
    before = files(tmp_path)
    kiosk(tmp_path, "install", "--image", "labwc")
    lines = autostart.read_text().splitlines()
    assert lines[:2] == ["swayidle -w timeout 600 'wlopm --off \\*' &", "wf-panel-pi &"]
    assert f"/{KIOSK}/start &" in lines
    start = tmp_path / KIOSK / "start"
    assert os.access(start, os.X_OK)
    launcher = start.read_text()
    for flag in ("--kiosk", "--noerrdialogs", "--disable-session-crashed-bubble"):
        assert flag in launcher
    assert f"--user-data-dir=/{KIOSK}/chromium" in launcher  # on disk: the login lasts
    assert launcher.rstrip().endswith("http://127.0.0.1/kiosk/login")
    assert "curl -s -o /dev/null http://127.0.0.1/login" in launcher  # no login to probe
    kiosk(tmp_path, "install", "--image", "labwc")  # twice: still one block
    assert autostart.read_text().count("doorctl-kiosk/start") == 1
    kiosk(tmp_path, "uninstall", "--image", "labwc")
    assert files(tmp_path) == before


def test_labwc_autostart_made_by_the_install_goes_with_it(tmp_path):
    kiosk(tmp_path, "install", "--image", "labwc")
    assert (tmp_path / HOME / ".config/labwc/autostart").exists()
    kiosk(tmp_path, "uninstall", "--image", "labwc")
    assert files(tmp_path) == {}


def test_wayfire_autostart_and_idle(tmp_path):
    ini = tmp_path / HOME / ".config/wayfire.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text("[core]\nplugins = autostart\n\n[autostart]\npanel = wf-panel-pi\n")
    before = files(tmp_path)
    kiosk(tmp_path, "install", "--image", "wayfire")
    text = ini.read_text()
    assert text.startswith("[core]\nplugins = autostart\n\n[autostart]\npanel = wf-panel-pi\n")
    block = text.split("# >>> doorctl kiosk")[1]
    assert f"[autostart]\ndoorctl_kiosk = /{KIOSK}/start\n" in block
    assert "[idle]\nscreensaver_timeout = -1\ndpms_timeout = -1\n" in block
    kiosk(tmp_path, "uninstall", "--image", "wayfire")
    assert files(tmp_path) == before


def test_wayfire_keep_blanking(tmp_path):
    kiosk(tmp_path, "install", "--image", "wayfire", "--keep-blanking")
    assert "[idle]" not in (tmp_path / HOME / ".config/wayfire.ini").read_text()


def test_lite_cage_unit(tmp_path):
    said = kiosk(tmp_path, "install", "--image", "lite")
    unit = (tmp_path / "etc/systemd/system/doorctl-kiosk.service").read_text()
    assert f"User={USER}\n" in unit and "TTYPath=/dev/tty1\n" in unit
    assert f"ExecStart=/usr/bin/cage -s -- /{KIOSK}/start\n" in unit
    assert "Conflicts=getty@tty1.service" in unit
    assert "would run: systemctl enable doorctl-kiosk.service" in said
    said = kiosk(tmp_path, "uninstall", "--image", "lite")
    assert "would run: systemctl disable doorctl-kiosk.service" in said
    assert files(tmp_path) == {}


def test_dry_run_writes_nothing(tmp_path):
    said = kiosk(tmp_path, "install", "--image", "lite", "--dry-run")
    assert "write " in said and files(tmp_path) == {}


def test_unknown_user_is_refused(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "doorctl", "kiosk", "install", "--root", str(tmp_path)]
        + ["--user", "no-such-user-here", "--image", "labwc"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 1 and "There is no user 'no-such-user-here'" in done.stderr
    assert files(tmp_path) == {}


def test_cage_runs_the_generated_command_line(tmp_path, request):
    """The Lite unit's ExecStart, as generated, in cage on a headless output: Chromium
    waits for doorctl, opens the kiosk login from loopback, and the kiosk is logged in.
    cage refuses to run as root, so it runs as nobody, in a home of the test's."""
    cage = require("cage", "cage")
    require("Xwayland", "Xwayland (cage 0.1.4 needs it to start)")
    require("chromium", "Debian's chromium")
    if os.getuid() != 0:
        pytest.skip("runs cage as nobody: needs root to change user")
    server = start_set_up(tmp_path / "data")
    with server:
        server.call("PUT", "/api/v1/kiosk", {"enabled": True})
        # nobody must reach its home and runtime directory: not under the test's 0700 tmp
        shared = Path(tempfile.mkdtemp(prefix="doorctl-kiosk-cage-"))
        request.addfinalizer(lambda: shutil.rmtree(shared, ignore_errors=True))
        shared.chmod(0o755)
        root = shared / "pi"
        kiosk(
            root, "install", "--image", "lite", "--url", f"{server.url}/kiosk/login", user="nobody"
        )
        unit = (root / "etc/systemd/system/doorctl-kiosk.service").read_text()
        command = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1).split()
        assert command[:3] == ["/usr/bin/cage", "-s", "--"]
        home = pwd.getpwnam("nobody").pw_dir  # /nonexistent: under the test's root
        launcher = Path(str(root) + command[3])
        launcher.write_text(launcher.read_text().replace(f"{home}/", f"{root}{home}/"))
        runtime = shared / "run"
        runtime.mkdir(mode=0o700)
        for path in (runtime, root / home.lstrip("/")):
            subprocess.run(["chown", "-R", "65534:65534", str(path)], check=True)
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(root / home.lstrip("/")),
            "XDG_RUNTIME_DIR": str(runtime),
            "WLR_BACKENDS": "headless",
            "WLR_LIBINPUT_NO_DEVICES": "1",
            "WLR_RENDERER": "pixman",
        }
        process = subprocess.Popen(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", cage, "-s", "--"]
            + ["sh", str(launcher)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            login = _kiosk_login(server, process)
        finally:
            process.kill()
            process.wait(10)
        assert login["data"]["address"] == "127.0.0.1"
        assert (root / home.lstrip("/") / ".local/share/doorctl-kiosk/chromium").is_dir()


def _kiosk_login(server, process) -> dict:
    """The kiosk's login event, once Chromium in cage has made it (cage still running)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "cage ended"
        events = server.call("GET", "/api/v1/events?topic=tns1:Device/User/Login")["events"]
        found = [e for e in events if e["source"].get("user") == "kiosk"]
        if found:
            return found[0]
        time.sleep(0.5)
    raise AssertionError("the kiosk did not log in within 60 s")


def test_installed_state_names_what_was_written(tmp_path):
    kiosk(tmp_path, "install", "--image", "labwc")
    state = json.loads((tmp_path / KIOSK / "installed.json").read_text())
    assert state["files"] == [str(tmp_path / KIOSK / "start")]
