"""`doorctl install-service` and `uninstall-service` as lists of steps: files to write
(with their modes) and commands to run. `--dry-run` prints them; `--root DIR` writes
the files under DIR and runs the commands in it (`chroot DIR ...`: useradd and
systemctl then act on that tree, as for an image being built)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from doorctl.core.store import DB_NAME
from doorctl.service.unit import (
    CHRONY_CONF_PATH,
    GROUPS,
    POLKIT_PATH,
    UNIT_PATH,
    Options,
    ServiceRefused,
    render_chrony,
    render_polkit,
    render_unit,
)

UNIT = "doorctl.service"
MARK = "doorctl install-service"  # in every file install writes; uninstall removes only those
CHRONY_GROUP = "_chrony"


@dataclass(frozen=True)
class Write:
    """A file written whole (a new file renamed over the old one)."""

    path: str
    text: str
    mode: int = 0o644

    def describe(self) -> str:
        return f"# write {self.path} (mode {self.mode:04o})\n{self.text}"


@dataclass(frozen=True)
class Remove:
    """A file or folder removed, if there."""

    path: str

    def describe(self) -> str:
        return f"# remove {self.path}"


@dataclass(frozen=True)
class Run:
    """A command run on the system (in the root folder's tree with --root)."""

    argv: tuple[str, ...]

    def describe(self) -> str:
        return f"# run\n{shlex.join(self.argv)}"


Step = Write | Remove | Run


def _names(root: Path, table: str) -> set[str]:
    """The names in /etc/passwd or /etc/group of the system at `root`."""
    try:
        lines = (root / "etc" / table).read_text().splitlines()
    except FileNotFoundError:
        return set()
    return {line.split(":", 1)[0] for line in lines if ":" in line}


def _user_steps(options: Options, root: Path) -> list[Step]:
    """The service's user: a system user in the device groups this system has."""
    groups = ",".join(g for g in GROUPS if g in _names(root, "group"))
    joined = ("--groups", groups) if groups else ()
    if options.user in _names(root, "passwd"):
        return [Run(("usermod", "--append", *joined, options.user))] if groups else []
    system = ("useradd", "--system", "--user-group", "--no-create-home")
    home = ("--home-dir", str(options.data_dir), "--shell", "/usr/sbin/nologin")
    return [Run((*system, *home, *joined, options.user))]


def _chrony_steps(options: Options) -> list[Step]:
    """doorctl's own sources folder, which chronyd (group _chrony) reads: doorctl
    renames a new file over its sources file, so it needs a folder it may write."""
    folder = str(options.chrony_dir)
    return [
        Run(("install", "-d", "-o", options.user, "-g", CHRONY_GROUP, "-m", "2750", folder)),
        Write(CHRONY_CONF_PATH, render_chrony(options)),
        Run(("systemctl", "try-restart", "chrony.service")),
    ]


def install_steps(options: Options, root: Path) -> list[Step]:
    """Everything install-service does, in order."""
    steps = _user_steps(options, root)
    steps += [Write(UNIT_PATH, render_unit(options)), Write(POLKIT_PATH, render_polkit(options))]
    if CHRONY_GROUP in _names(root, "group"):
        steps += _chrony_steps(options)
    steps += [
        Run(("systemctl", "daemon-reload")),
        Run(("systemctl", "enable", UNIT)),
        Run(("systemctl", "restart", UNIT)),
    ]
    return steps


def _passwd_entry(root: Path, name: str) -> list[str] | None:
    """The fields of `name`'s line in /etc/passwd of the system at `root`."""
    try:
        lines = (root / "etc" / "passwd").read_text().splitlines()
    except FileNotFoundError:
        return None
    return next((line.split(":") for line in lines if line.split(":", 1)[0] == name), None)


def _user_we_made(root: Path, options: Options) -> bool:
    """Whether the user is the account install-service's useradd made: its home the
    data directory and its shell nologin. A person's account (pi), www-data, nobody or
    messagebus never is, so purge never deletes them."""
    fields = _passwd_entry(root, options.user)
    if not fields or len(fields) < 7:
        return False
    return fields[5] == str(options.data_dir) and fields[6].endswith("/nologin")


def _package_owns(root: Path, folder: str) -> str | None:
    """The Debian package whose file list names `folder`, if any (dpkg's own state
    folder, a database server's, ...)."""
    for listing in sorted((root / "var/lib/dpkg/info").glob("*.list")):
        try:
            if folder in listing.read_text(errors="replace").splitlines():
                return listing.stem.split(":", 1)[0]
        except OSError:
            continue
    return None


def _data_steps(options: Options, root: Path) -> list[Step]:
    """The data directory removed, only when it is doorctl's: it holds doorctl's
    database and no package claims it; any other folder is refused, untouched."""
    folder = str(options.data_dir)
    there = root / folder.lstrip("/")
    if not there.exists():
        return []
    owner = _package_owns(root, folder)
    if owner is not None:
        raise ServiceRefused(
            f"--data-dir {folder} belongs to the package {owner}, not to doorctl: "
            "nothing removed (give the --data-dir doorctl was installed with)"
        )
    if not (there / DB_NAME).is_file():
        raise ServiceRefused(
            f"--data-dir {folder} holds no doorctl database ({DB_NAME}): nothing removed "
            "(give the --data-dir doorctl was installed with)"
        )
    return [Remove(folder)]


def missing_groups(root: Path) -> list[str]:
    """The device groups this system lacks (a PC has no gpio); said, not fatal."""
    present = _names(root, "group")
    return [g for g in GROUPS if g not in present]


def _ours(root: Path, path: str) -> bool:
    try:
        return MARK in (root / path.lstrip("/")).read_text()
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return False


def uninstall_steps(options: Options, root: Path, purge: bool) -> list[Step]:
    """What uninstall-service does: the unit stopped and disabled, the files install
    wrote removed; with `purge` the data directory and the user too, when they are
    doorctl's (checked before anything is done)."""
    data = _data_steps(options, root) if purge else []
    steps: list[Step] = []
    if _ours(root, UNIT_PATH):
        steps += [Run(("systemctl", "disable", "--now", UNIT)), Remove(UNIT_PATH)]
    if _ours(root, POLKIT_PATH):
        steps.append(Remove(POLKIT_PATH))
    if _ours(root, CHRONY_CONF_PATH):
        steps += [Remove(CHRONY_CONF_PATH), Remove(str(options.chrony_dir))]
        steps.append(Run(("systemctl", "try-restart", "chrony.service")))
    steps.append(Run(("systemctl", "daemon-reload")))
    steps += data
    if purge and _user_we_made(root, options):
        steps.append(Run(("userdel", options.user)))
    return steps


def carry_out(steps: list[Step], root: Path) -> None:
    """Do the steps in order; the first that fails stops the rest."""
    for step in steps:
        target = root / step.path.lstrip("/") if not isinstance(step, Run) else None
        if isinstance(step, Write):
            _write(target, step.text, step.mode)
        elif isinstance(step, Remove):
            _remove(target)
        else:
            _run(step.argv, root)


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _run(argv: tuple[str, ...], root: Path) -> None:
    command = list(argv) if root == Path("/") else ["chroot", str(root), *argv]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except OSError as error:
        raise ServiceRefused(f"{shlex.join(command)} could not run: {error.strerror}") from None
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip()
        raise ServiceRefused(f"{shlex.join(command)} failed ({done.returncode}): {why}")


def as_posix(path: str) -> PurePosixPath:
    """A path given on the command line, absolute."""
    return PurePosixPath(os.path.abspath(path))
