"""`doorctl kiosk install|uninstall`: Chromium in kiosk mode at boot on Raspberry Pi OS.

Each image starts programs its own way, and the install uses that way:
- Bookworm desktop (labwc): a block in the desktop user's ~/.config/labwc/autostart;
- older desktop (wayfire): an entry in ~/.config/wayfire.ini's [autostart], and its
  [idle] timeouts off;
- Lite (no desktop): a systemd unit that runs `cage` (a kiosk Wayland compositor) on
  tty1 as the kiosk user.
All three run one launcher script that waits for doorctl to answer, marks Chromium's
last exit clean (a power cut would otherwise bring the "restore pages" bubble) and
starts Chromium on the kiosk's loopback login, with a profile kept on disk so its
login cookie lasts across reboots. Screen blanking is turned off with
`raspi-config nonint do_blanking 1` where raspi-config exists; the kiosk page dims
itself after the minutes set (System > Kiosk display).

Everything written is a whole file of ours or a block between markers in a file of the
user's; uninstall removes exactly those, keeping every other line. Root writes in the
user's home without following any link the user may have planted (kiosk_files.py).
The launcher's URL carries the install's login token (kiosk_token.py): the launcher is
the user's, mode 0700.
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from doorctl.core.system import kiosk_files, kiosk_token
from doorctl.core.system.kiosk_files import InstallError

IMAGES = ("labwc", "wayfire", "lite")
BEGIN = "# >>> doorctl kiosk: `doorctl kiosk uninstall` removes this block"
END = "# <<< doorctl kiosk"
UNIT = "etc/systemd/system/doorctl-kiosk.service"
STATE = "installed.json"
DEFAULT_URL = "http://127.0.0.1/kiosk/login"
CHROMIUM_FLAGS = (
    "--kiosk",
    "--noerrdialogs",
    "--disable-infobars",
    "--disable-session-crashed-bubble",
    "--no-first-run",
    "--password-store=basic",
    "--ozone-platform=wayland",
    "--check-for-update-interval=31536000",
)


@dataclass
class Target:
    """Where and for whom: the root directory (/ on the Pi), the image and the user."""

    root: Path
    image: str
    user: str
    home: Path
    uid: int
    gid: int
    url: str = DEFAULT_URL
    browser: str = "chromium"
    token: str = ""  # the install's login token, in the launcher's URL only

    def path(self, absolute: Path | str) -> Path:
        """An absolute path of the Pi, under the root directory."""
        return self.root / str(absolute).lstrip("/")

    @property
    def kiosk_dir(self) -> Path:
        """The kiosk's own directory in the user's home: launcher, profile, state."""
        return self.home / ".local/share/doorctl-kiosk"

    @property
    def login_url(self) -> str:
        """The URL the launcher opens: the kiosk's login with the install's token."""
        if not self.token:
            return self.url
        joiner = "&" if urlsplit(self.url).query else "?"
        return self.url + joiner + urlencode({"token": self.token})

    def base(self, path: Path) -> Path:
        """The folder `path` is reached from, no link followed below it: the user's home
        (nothing in it is trusted), else the root directory."""
        return self.home if path.is_relative_to(self.home) else self.root

    def owner(self, path: Path) -> tuple[int, int] | None:
        """Who a file or folder written at `path` belongs to: in the home, the user and
        the user's primary group (as root only); elsewhere whoever writes it."""
        if os.geteuid() == 0 and path.is_relative_to(self.home):
            return (self.uid, self.gid)
        return None


@dataclass
class Plan:
    """What an install writes: whole files, marked blocks, and commands to run."""

    files: dict[Path, tuple[str, int]] = field(default_factory=dict)
    blocks: dict[Path, str] = field(default_factory=dict)
    commands: list[list[str]] = field(default_factory=list)


def detect_image(root: Path) -> str:
    """labwc on Bookworm's desktop, wayfire on the older desktop, else Lite."""
    if (root / "usr/bin/labwc").exists():
        return "labwc"
    if (root / "usr/bin/wayfire").exists():
        return "wayfire"
    return "lite"


def browser_of(root: Path) -> str:
    """Chromium's command: `chromium` on Bookworm, `chromium-browser` before."""
    if not (root / "usr/bin/chromium").exists() and (root / "usr/bin/chromium-browser").exists():
        return "chromium-browser"
    return "chromium"


def target(root: Path, image: str | None, user: str | None, url: str) -> Target:
    """The target of an install: the image detected unless named, the user's home."""
    image = image or detect_image(root)
    if image not in IMAGES:
        raise InstallError(f"Choose an image of: {', '.join(IMAGES)}.")
    users = _users(root)
    name = user or _desktop_user(root, users)
    if name not in users:
        where = "" if root == Path("/") else f" in {root / 'etc/passwd'}"
        raise InstallError(f"There is no user {name!r}{where}: name one with --user.")
    home, uid, gid = users[name]
    home = root / str(home).lstrip("/")
    return Target(root, image, name, home, uid, gid, url, browser_of(root))


def _users(root: Path) -> dict[str, tuple[str, int, int]]:
    """Each user's home, uid and primary gid: this machine's, or with --root the
    image's own <root>/etc/passwd (the same names may have other ids there)."""
    if root == Path("/"):
        return {e.pw_name: (e.pw_dir, e.pw_uid, e.pw_gid) for e in pwd.getpwall()}
    users = {}
    for line in kiosk_files.read(root, root / "etc/passwd").splitlines():
        fields = line.split(":")
        if len(fields) >= 7 and fields[2].isdigit() and fields[3].isdigit():
            users[fields[0]] = (fields[5], int(fields[2]), int(fields[3]))
    return users


def _desktop_user(root: Path, users: dict[str, tuple[str, int, int]]) -> str:
    """The user who ran sudo, else the first login user (uid 1000, `pi` on older
    images); with --root, the image's uid 1000."""
    if root == Path("/") and os.environ.get("SUDO_USER"):
        return os.environ["SUDO_USER"]
    first = [name for name, (_home, uid, _gid) in users.items() if uid == 1000]
    if first:
        return first[0]
    if root != Path("/"):
        raise InstallError(f"No user has uid 1000 in {root / 'etc/passwd'}: name one with --user.")
    return pwd.getpwuid(os.getuid()).pw_name


def launcher(t: Target) -> str:
    """The script every image runs: wait for doorctl, clean exit, then Chromium."""
    on_pi = Path("/") / t.kiosk_dir.relative_to(t.root)
    profile = on_pi / "chromium"
    prefs = profile / "Default/Preferences"
    flags = " ".join([*CHROMIUM_FLAGS, f"--user-data-dir={shlex.quote(str(profile))}"])
    parts = urlsplit(t.login_url)
    probe = f"{parts.scheme}://{parts.netloc}/login"  # answers without logging in
    return f"""#!/bin/sh
# Written by `doorctl kiosk install`; `doorctl kiosk uninstall` removes it.
# Wait up to two minutes for doorctl to answer, so the screen never shows an error page.
i=0
until curl -s -o /dev/null {shlex.quote(probe)} || [ $i -ge 120 ]; do sleep 1; i=$((i+1)); done
# A power cut is no crash to the kiosk: no "restore pages" bubble.
[ -f {shlex.quote(str(prefs))} ] && sed -i -e 's/"exited_cleanly":false/"exited_cleanly":true/' \\
  -e 's/"exit_type":"[^"]*"/"exit_type":"Normal"/' {shlex.quote(str(prefs))}
exec {t.browser} {flags} {shlex.quote(t.login_url)}
"""


def plan(t: Target, blanking: bool) -> Plan:
    """Everything an install of this image writes and runs."""
    start = t.kiosk_dir / "start"
    on_pi = "/" + str(start.relative_to(t.root))
    p = Plan()
    p.files[start] = (launcher(t), 0o700)  # the login token is in it: the user's only
    if t.image == "labwc":
        p.blocks[t.home / ".config/labwc/autostart"] = f"{on_pi} &"
    elif t.image == "wayfire":
        # sections of their own at the end: wayfire merges a section named twice
        idle = "\n[idle]\nscreensaver_timeout = -1\ndpms_timeout = -1" if blanking else ""
        block = f"[autostart]\ndoorctl_kiosk = {on_pi}{idle}"
        p.blocks[t.home / ".config/wayfire.ini"] = block
    else:
        p.files[t.path(UNIT)] = (cage_unit(t, on_pi), 0o644)
        p.commands += [["systemctl", "daemon-reload"], ["systemctl", "enable", Path(UNIT).name]]
        p.commands.append(["systemctl", "set-default", "graphical.target"])
    if blanking and t.image != "lite" and shutil.which("raspi-config"):
        p.commands.append(["raspi-config", "nonint", "do_blanking", "1"])
    return p


def cage_unit(t: Target, start: str) -> str:
    """The Lite image's unit: cage on tty1 as the kiosk user, Chromium inside it."""
    return f"""# Written by `doorctl kiosk install`; `doorctl kiosk uninstall` removes it.
[Unit]
Description=doorctl kiosk display: Chromium in cage on tty1
After=systemd-user-sessions.service plymouth-quit-wait.service doorctl.service
Wants=dbus.socket systemd-logind.service
After=dbus.socket systemd-logind.service
Conflicts=getty@tty1.service
After=getty@tty1.service
ConditionPathExists=/dev/tty1

[Service]
Type=simple
User={t.user}
PAMName=login
UtmpIdentifier=tty1
UtmpMode=user
TTYPath=/dev/tty1
TTYReset=yes
TTYVHangup=yes
TTYVTDisallocate=yes
StandardInput=tty-fail
ExecStart=/usr/bin/cage -s -- {start}
Restart=always
RestartSec=2

[Install]
WantedBy=graphical.target
"""


def install(
    t: Target, blanking: bool = True, dry_run: bool = False, data_dir: Path | None = None
) -> list[str]:
    """Write the plan (unless dry_run) and say, line by line, what was done. A new login
    token goes into data_dir (doorctl's) and the launcher's URL; the last one stops."""
    said = [f"image: {t.image}, user: {t.user}, kiosk login: {t.url}", *_missing(t)]
    if not dry_run and data_dir is not None:
        t.token = kiosk_token.issue(data_dir)
        said.append(f"new kiosk login token in {data_dir / kiosk_token.FILE}")
    p = plan(t, blanking)
    state = _state(t, p)  # before anything is written: what the files were
    for path, (text, mode) in p.files.items():
        said.append(f"write {path}")
        if not dry_run:
            _write(path, text, mode, t)
    for path, block in p.blocks.items():
        said.append(f"add to {path}")
        if not dry_run:
            _write(path, add_block(_read(path, t), block), None, t)
    said += [_run(command, t, dry_run) for command in p.commands]
    if not dry_run:
        _write(t.kiosk_dir / STATE, json.dumps(state, indent=1) + "\n", 0o644, t)
    return said


def _missing(t: Target) -> list[str]:
    """What the image needs and lacks (cage 0.1.4 does not start without Xwayland)."""
    needed = {"lite": ("cage", "Xwayland")}.get(t.image, ()) + (t.browser,)
    lacking = [name for name in needed if not (t.root / "usr/bin" / name).exists()]
    packages = {"Xwayland": "xwayland"}
    names = " ".join(packages.get(name, name) for name in lacking)
    return (
        [f"missing: {', '.join(lacking)}; install with: sudo apt install {names}"]
        if lacking
        else []
    )


def _state(t: Target, p: Plan) -> dict:
    """What uninstall needs to restore: the files written, the files the blocks went
    into (those made by the install, those that ended without a newline), blanking."""
    earlier = _trusted_state(t, p, [])  # installed before: kept
    texts = {path: _read(path, t) for path in p.blocks}
    created = {str(path) for path in p.blocks if not _exists(path, t)}
    unended = {str(path) for path, text in texts.items() if text and not text.endswith("\n")}
    return {
        "files": [str(f) for f in p.files],
        "blocks": [str(b) for b in p.blocks],
        "created": sorted(created | set(earlier["created"])),
        "newline_added": sorted(unended | set(earlier["newline_added"])),
        "blanking_off": any(c[:2] == ["raspi-config", "nonint"] for c in p.commands),
    }


def _trusted_state(t: Target, p: Plan, said: list[str]) -> dict:
    """installed.json as far as it names what the plan writes: the user owns it, so a
    path of anything else in it is ignored (and said), never removed or rewritten."""
    try:
        state = json.loads(_read(t.kiosk_dir / STATE, t) or "{}")
    except ValueError:
        state = {}
    state = state if isinstance(state, dict) else {}
    ours = {str(path) for path in [*p.files, *p.blocks]}
    kept = {"blanking_off": state.get("blanking_off") is True}
    for key in ("files", "blocks", "created", "newline_added"):
        listed = state.get(key, [])
        named = [str(n) for n in listed] if isinstance(listed, list) else []
        kept[key] = [name for name in named if name in ours]
        said += [
            f"ignored in {STATE}: {name} (no file of the kiosk's)"
            for name in named
            if name not in ours
        ]
    return kept


def uninstall(t: Target, dry_run: bool = False, data_dir: Path | None = None) -> list[str]:
    """Remove what install wrote: its files, its blocks, the kiosk's Chromium profile
    (its login), the login token; blanking back on if the install turned it off."""
    p = plan(t, blanking=False)
    said: list[str] = []
    state = _trusted_state(t, p, said)
    files = set(p.files) | {t.kiosk_dir / STATE}
    said += [f"remove {path}" for path in sorted(files) if _exists(path, t)]
    if not dry_run:
        for path in files:
            kiosk_files.remove(t.base(path), path)
    for path in sorted(p.blocks):
        said += _remove_block_from(path, state, dry_run, t)
    said += _remove_profile(t, dry_run)
    if data_dir is not None and not dry_run and kiosk_token.revoke(data_dir):
        said.append(f"remove the kiosk login token {data_dir / kiosk_token.FILE}")
    if t.image == "lite":
        said.append(_run(["systemctl", "disable", Path(UNIT).name], t, dry_run))
    if state["blanking_off"] and shutil.which("raspi-config"):
        said.append(_run(["raspi-config", "nonint", "do_blanking", "0"], t, dry_run))
    return said


def _remove_block_from(path: Path, state: dict, dry_run: bool, t: Target) -> list[str]:
    """The file as it was before the install: our block out, a file we made gone."""
    text = _read(path, t)
    if BEGIN not in text:
        return []
    kept = remove_block(text)
    if str(path) in state["newline_added"] and kept.endswith("\n"):
        kept = kept[:-1]  # the file ended without one before the install
    if not dry_run and not kept and str(path) in state["created"]:
        kiosk_files.remove(t.base(path), path)  # the install made the file: none again
    elif not dry_run:
        _write(path, kept, None, t)
    return [f"remove the kiosk's lines from {path}"]


def _remove_profile(t: Target, dry_run: bool) -> list[str]:
    """The kiosk's Chromium profile holds its login: it goes, then the empty folder."""
    profile = t.kiosk_dir / "chromium"
    said = (
        [f"remove the kiosk's Chromium profile (its login) {profile}"]
        if profile.is_dir() and not profile.is_symlink()
        else []
    )
    if not dry_run:
        kiosk_files.remove_tree(t.home, profile)
        kiosk_files.remove_if_empty(t.home, t.kiosk_dir)
    return said


def add_block(text: str, block: str) -> str:
    """`text` with our marked block at its end (replacing one an earlier install added)."""
    text = remove_block(text)
    return (text if not text or text.endswith("\n") else text + "\n") + f"{BEGIN}\n{block}\n{END}\n"


def remove_block(text: str) -> str:
    """`text` without our marked block; every other line kept as it was."""
    out, inside = [], False
    for line in text.splitlines(keepends=True):
        if line.rstrip("\n") == BEGIN:
            inside = True
        elif inside and line.rstrip("\n") == END:
            inside = False
        elif not inside:
            out.append(line)
    return "".join(out)


def _exists(path: Path, t: Target) -> bool:
    """Whether there is a file (or a link) at `path`."""
    return path.is_symlink() or path.exists()


def _read(path: Path, t: Target) -> str:
    """A file's text; a link in the user's home is refused, not followed."""
    return kiosk_files.read(t.base(path), path)


def _write(path: Path, text: str, mode: int | None, t: Target) -> None:
    """Write a file whole, no link followed; in the user's home it (and each folder
    made for it) belongs to the user and the user's group (install runs as root)."""
    owner = t.owner(path)
    if path.is_relative_to(t.home) and not t.home.is_dir():
        t.home.mkdir(parents=True)  # an image under --root without the home yet
        if owner:
            os.chown(t.home, *owner)
    kiosk_files.write(t.base(path), path, text, mode, owner)


def _run(command: list[str], t: Target, dry_run: bool) -> str:
    """Run a command on the Pi itself; with --root or --dry-run only say it."""
    line = " ".join(command)
    if dry_run or t.root != Path("/"):
        return f"would run: {line}"
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return f"ran: {line}" + ("" if done.returncode == 0 else f" (failed: {done.stderr.strip()})")
