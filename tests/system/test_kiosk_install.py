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
from support import REPO, missing, require, start_set_up

USER = pwd.getpwuid(os.getuid()).pw_name
HOME = pwd.getpwuid(os.getuid()).pw_dir.lstrip("/")
KIOSK = f"{HOME}/.local/share/doorctl-kiosk"
PASSWD = "etc/passwd"


@pytest.fixture(autouse=True)
def image_users(tmp_path):
    """The image under --root has its own users (the install reads its etc/passwd):
    here the test's user, with the same home."""
    passwd_of(tmp_path, USER)


def passwd_of(root: Path, *names: str) -> None:
    """<root>/etc/passwd with these users of this machine."""
    lines = [":".join(map(str, tuple(pwd.getpwnam(name)))) for name in names]
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / PASSWD).write_text("\n".join(lines) + "\n")


def data_dir(root: Path) -> Path:
    """doorctl's data directory for an install under `root`: beside it, not in it."""
    return Path(f"{root}-data")


def run_kiosk(root: Path, *args: str, user: str | None = USER):
    named = ["--user", user] if user else []
    if "--data-dir" not in args:
        named += ["--data-dir", str(data_dir(root))]
    return subprocess.run(
        [sys.executable, "-m", "doorctl", "kiosk", *args, "--root", str(root), *named],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )


def kiosk(root: Path, *args: str, user: str | None = USER) -> str:
    done = run_kiosk(root, *args, user=user)
    assert done.returncode == 0, done.stderr
    return done.stdout


def files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text()
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and str(p.relative_to(root)) != PASSWD
    }


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
    assert re.search(r" 'http://127\.0\.0\.1/kiosk/login\?token=[\w-]+'$", launcher.rstrip())
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
    done = run_kiosk(tmp_path, "install", "--image", "labwc", user="no-such-user-here")
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
        missing("runs cage as nobody: needs root to change user")
    server = start_set_up(tmp_path / "data")
    with server:
        server.call("PUT", "/api/v1/kiosk", {"enabled": True})
        # nobody must reach its home and runtime directory: not under the test's 0700 tmp
        shared = Path(tempfile.mkdtemp(prefix="doorctl-kiosk-cage-"))
        request.addfinalizer(lambda: shutil.rmtree(shared, ignore_errors=True))
        shared.chmod(0o755)
        root = shared / "pi"
        passwd_of(root, "nobody")
        kiosk(
            root,
            *("install", "--image", "lite", "--url", f"{server.url}/kiosk/login"),
            *("--data-dir", str(server.data_dir)),
            user="nobody",
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


def test_a_link_planted_in_the_home_is_refused_not_followed(tmp_path):
    """A user links the launcher's name to a file of root's: the install refuses, the
    file is neither written nor given to the user."""
    shadow = tmp_path / "etc/shadow"
    shadow.write_text("root:$y$secret:19000:0:99999:7:::\n")
    shadow.chmod(0o600)
    kiosk_dir = tmp_path / KIOSK
    kiosk_dir.mkdir(parents=True)
    (kiosk_dir / "start").symlink_to(shadow)
    done = run_kiosk(tmp_path, "install", "--image", "labwc")
    assert done.returncode == 1
    assert f"{kiosk_dir / 'start'} is a symbolic link" in done.stderr
    assert shadow.read_text() == "root:$y$secret:19000:0:99999:7:::\n"
    assert (shadow.stat().st_mode & 0o777, shadow.stat().st_uid) == (0o600, os.getuid())


def test_a_linked_folder_or_autostart_is_refused(tmp_path):
    """A folder of the path linked elsewhere, or the autostart linked to a file of
    root's (whose text would be copied into the user's file): refused."""
    elsewhere = tmp_path / "etc/doorctl-elsewhere"
    elsewhere.mkdir(parents=True)
    (tmp_path / KIOSK).parent.mkdir(parents=True)
    (tmp_path / KIOSK).symlink_to(elsewhere)
    done = run_kiosk(tmp_path, "install", "--image", "wayfire")
    assert done.returncode == 1 and "is a symbolic link" in done.stderr
    assert not any(elsewhere.iterdir())
    (tmp_path / KIOSK).unlink()
    secret = tmp_path / "etc/secret.conf"
    secret.write_text("password = hunter2\n")
    autostart = tmp_path / HOME / ".config/labwc/autostart"
    autostart.parent.mkdir(parents=True)
    autostart.symlink_to(secret)
    done = run_kiosk(tmp_path, "install", "--image", "labwc")
    assert done.returncode == 1 and f"{autostart} is a symbolic link" in done.stderr
    assert secret.read_text() == "password = hunter2\n" and autostart.is_symlink()
    assert "hunter2" not in "".join(files(tmp_path / HOME).values())


def test_files_and_folders_made_belong_to_the_user_and_group(tmp_path):
    """As root, everything the install makes in the home is the user's, with the user's
    primary group (not a group numbered like the uid); the launcher is the user's only."""
    if os.geteuid() != 0:
        missing("gives files to another user: needs root")
    (tmp_path / PASSWD).write_text("pi:x:1234:2345::/home/pi:/bin/bash\n")
    home = tmp_path / "home/pi"
    home.mkdir(parents=True)
    os.chown(home, 1234, 2345)
    kiosk(tmp_path, "install", "--image", "labwc", user="pi")
    for path in (
        home / ".config",
        home / ".config/labwc",
        home / ".config/labwc/autostart",
        home / ".local/share/doorctl-kiosk",
        home / ".local/share/doorctl-kiosk/start",
        home / ".local/share/doorctl-kiosk/installed.json",
    ):
        assert (path.stat().st_uid, path.stat().st_gid) == (1234, 2345), path
    assert (home / ".local/share/doorctl-kiosk/start").stat().st_mode & 0o777 == 0o700
    assert [p.name for p in home.rglob(".*.tmp")] == []


def test_root_reads_the_images_own_users(tmp_path):
    """With --root, the user is looked up in <root>/etc/passwd: a user the image has
    and this machine lacks, at the home the image gives it."""
    (tmp_path / PASSWD).write_text(
        "root:x:0:0:root:/root:/bin/bash\nkioskpi:x:1000:1000::/srv/kioskpi:/bin/bash\n"
    )
    said = kiosk(tmp_path, "install", "--image", "labwc", user=None)  # uid 1000 chosen
    assert "user: kioskpi" in said
    assert (tmp_path / "srv/kioskpi/.local/share/doorctl-kiosk/start").exists()
    done = run_kiosk(
        tmp_path, "install", "--image", "labwc", user=USER if USER != "root" else "daemon"
    )
    assert done.returncode == 1 and f"in {tmp_path / PASSWD}" in done.stderr


def test_uninstall_removes_only_what_the_install_writes(tmp_path):
    """installed.json is the user's: a path of another file in it is ignored and said,
    never removed."""
    victim = tmp_path / "etc/passwd-of-the-pi"
    victim.write_text("root:x:0:0::/root:/bin/sh\n")
    kiosk(tmp_path, "install", "--image", "labwc")
    state_path = tmp_path / KIOSK / "installed.json"
    state = json.loads(state_path.read_text())
    state["files"].append(str(victim))
    state["created"].append(str(victim))
    state["blocks"].append(str(victim))
    state_path.write_text(json.dumps(state))
    said = kiosk(tmp_path, "uninstall", "--image", "labwc")
    assert victim.read_text() == "root:x:0:0::/root:/bin/sh\n"
    assert f"ignored in installed.json: {victim} (no file of the kiosk's)" in said
    assert files(tmp_path) == {str(victim.relative_to(tmp_path)): victim.read_text()}


def test_the_install_token_logs_the_kiosk_in_until_uninstall(tmp_path):
    """The launcher's URL carries the token the install left with doorctl: the login
    from loopback with it is let in, without it refused; uninstall ends it."""
    server = start_set_up(tmp_path / "data")
    with server:
        server.call("PUT", "/api/v1/kiosk", {"enabled": True})
        root = tmp_path / "pi"
        passwd_of(root, USER)
        url = f"{server.url}/kiosk/login"
        install = ["install", "--image", "labwc", "--url", url, "--data-dir", str(server.data_dir)]
        kiosk(root, *install)
        launcher = (root / KIOSK / "start").read_text()
        login = re.search(r"'(http://[^']+/kiosk/login\?token=[\w-]+)'", launcher).group(1)
        token_file = server.data_dir / "kiosk-token"
        assert token_file.stat().st_mode & 0o777 == 0o600
        assert login.split("=")[1] not in token_file.read_text()  # kept hashed
        assert _status(login) == 303
        assert _status(url) == 403
        kiosk(root, "uninstall", "--image", "labwc", "--data-dir", str(server.data_dir))
        assert _status(login) == 403 and not token_file.exists()


def _status(url: str) -> int:
    """The status of GET url, redirects not followed."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", f"{parts.path}?{parts.query}" if parts.query else parts.path)
    status = connection.getresponse().status
    connection.close()
    return status
