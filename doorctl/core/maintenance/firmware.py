"""The firmware directory: installed versions side by side, which one runs, which one
came before it, the database copy taken before each upgrade, and the last outcome.

For doorctl "firmware" is the installed doorctl and its Python dependencies. Each
upgraded version has a virtual environment of its own under `<firmware>/envs/`; the
base install (the one `doorctl supervise` runs from) is never replaced. One small JSON
file, written atomically, says which environment is active: that write is the switch.
The `active` and `previous` symbolic links follow it, for people and scripts.

Factory default keeps `<data_dir>/firmware/`, so the installed versions survive it,
but deletes the database copies (they hold the users and cardholders), so no rollback
survives it either (forget_database_copies).
This module has no Flask and no gevent: the supervisor uses it before anything runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import sqlite3
import sys
import time
from pathlib import Path

from doorctl.core.store import DB_NAME

TOPIC = "tns1:Device/Maintenance/Firmware"
PHASES = ("receiving", "verifying", "installing", "switching", "healthy", "failed", "rolled_back")
# Seconds a new version has to report healthy before the previous one comes back.
HEALTH_SECONDS = 60.0
STATE_NAME = "state.json"
HEALTH_NAME = "healthy"
BASE = None  # an environment of None is the base install: the supervisor's own Python
# Set by the supervisor for the `doorctl serve` it starts.
BASE_PYTHON_ENV = "DOORCTL_BASE_PYTHON"
FIRMWARE_DIR_ENV = "DOORCTL_FIRMWARE_DIR"
HEALTH_SECONDS_ENV = "DOORCTL_HEALTH_SECONDS"
# Test only: the upgrade stops at this phase, writes `<firmware>/held-<phase>` and waits
# to be killed (tests/maintenance/test_firmware_kill.py). Never set in production.
HOLD_ENV = "DOORCTL_TEST_FIRMWARE_HOLD"


def default_dir(data_dir: Path) -> Path:
    """<data_dir>/firmware: the one folder that factory default keeps."""
    return Path(data_dir) / "firmware"


def configured_dir(data_dir: Path) -> Path:
    """The firmware folder this process was given (the supervisor and `doorctl serve`
    set DOORCTL_FIRMWARE_DIR), else the default one."""
    return Path(os.environ.get(FIRMWARE_DIR_ENV) or default_dir(data_dir))


def make_root(root: Path) -> None:
    """The firmware folder, readable by doorctl's user alone (it holds database copies)."""
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    root.chmod(0o700)


def state_of(root: Path) -> dict:
    """The firmware state: active, previous, trial, restore and last outcome."""
    try:
        state = json.loads((root / STATE_NAME).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        state = {}
    return {"active": None, "previous": None, "trial": None, "restore": None, "last": None} | state


def write_state(root: Path, state: dict) -> None:
    """Replace the state file in one step that survives a power cut: the switch."""
    make_root(root)
    part = root / f"{STATE_NAME}.part"
    with open(part, "w", encoding="utf-8") as out:
        json.dump(state, out, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(part, root / STATE_NAME)
    sync_dir(root)
    _point(root, "active", state.get("active"))
    _point(root, "previous", state.get("previous"))


def sync_dir(path: Path) -> None:
    """Make a rename in `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _point(root: Path, name: str, slot: dict | None) -> None:
    """The `active`/`previous` link to the slot's environment (none for the base install)."""
    link = root / name
    if not slot or slot.get("env") is BASE:
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        return
    part = root / f"{name}.part"
    with contextlib.suppress(FileNotFoundError):
        part.unlink()
    part.symlink_to(slot["env"])
    os.replace(part, link)


def python_of(root: Path, slot: dict | None) -> str:
    """The Python that runs a slot: its environment's, or the base install's own."""
    if not slot or slot.get("env") is BASE:
        return sys.executable
    return str(root / slot["env"] / "bin" / "python")


def last_upgrade_failed(root: Path) -> bool:
    """Whether the last upgrade fell back to the previous version (the status LED
    flashes red slowly until the next upgrade succeeds)."""
    last = state_of(root).get("last") or {}
    return last.get("phase") == "failed"


def new_env_dir(root: Path, version: str) -> Path:
    """A folder for a version's new virtual environment that no state names: a
    reinstall of the running or previous version never touches theirs."""
    return root / "envs" / f"{version}-{secrets.token_hex(4)}"


def runnable(root: Path, slot: dict | None) -> bool:
    """Whether the slot's Python is there to start it (the base install's always is)."""
    return Path(python_of(root, slot)).exists()


def db_copy(root: Path, version: str) -> Path:
    """The copy of the database taken before upgrading away from `version`."""
    return root / "db" / f"{version}.sqlite3"


def incoming(root: Path) -> Path:
    """Where an uploaded bundle is received and unpacked."""
    return root / "incoming"


def copy_database(data_dir: Path, target: Path) -> None:
    """A consistent copy of the live database (SQLite's online backup), made durable."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    with contextlib.suppress(FileNotFoundError):
        part.unlink()
    os.close(os.open(part, os.O_WRONLY | os.O_CREAT, 0o600))  # users, hashes: doorctl's only
    source = sqlite3.connect(Path(data_dir) / DB_NAME, timeout=10)
    copy = sqlite3.connect(part)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode = DELETE")
    finally:
        copy.close()
        source.close()
    with open(part, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(part, target)
    sync_dir(target.parent)


def restore_database(copy: Path, data_dir: Path) -> None:
    """Put the database back as it was in `copy` (nothing may have it open)."""
    source = sqlite3.connect(copy)
    live = sqlite3.connect(Path(data_dir) / DB_NAME, timeout=10)
    try:
        live.execute("PRAGMA journal_mode = WAL")
        source.backup(live)
        live.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        live.close()
        source.close()


def clean_leftovers(root: Path, state: dict) -> None:
    """Remove what an interrupted upgrade left (a partial upload or unpacked bundle),
    and environments and database copies that no rollback can use any more."""
    shutil.rmtree(incoming(root), ignore_errors=True)
    named = {s.get("env") for s in (state.get("active"), state.get("previous")) if s}
    trial = state.get("trial") or {}
    named |= {trial.get("env")}
    envs = root / "envs"
    for env in envs.iterdir() if envs.is_dir() else ():
        if f"envs/{env.name}" not in named:
            shutil.rmtree(env, ignore_errors=True)
    kept = {(state.get("previous") or {}).get("db"), state.get("restore")}
    copies = root / "db"
    for copy in copies.iterdir() if copies.is_dir() else ():
        if f"db/{copy.name}" not in kept:
            copy.unlink()


def forget_database_copies(root: Path) -> None:
    """Factory default: delete the database copies and the rollback that would bring
    one back; the installed versions stay (a trial can still fall back to the previous
    version's software)."""
    shutil.rmtree(root / "db", ignore_errors=True)
    if not (root / STATE_NAME).exists():
        return
    state = state_of(root)
    if state["previous"]:
        state["previous"] = {**state["previous"], "db": None}
    state["restore"] = None
    write_state(root, state)


def hold(root: Path, phase: str) -> None:
    """Test only (HOLD_ENV): stop here at `phase`, say so in a file, and wait to be killed."""
    if os.environ.get(HOLD_ENV) != phase:
        return
    (root / f"held-{phase}").write_text(str(os.getpid()), encoding="utf-8")
    while True:
        time.sleep(3600)


def report_healthy(root: Path, version: str) -> None:
    """The serving version is up (serving, migrated, board started, readers polled):
    tell the supervisor, which ends the trial."""
    root.mkdir(parents=True, exist_ok=True)
    part = root / f"{HEALTH_NAME}.part"
    part.write_text(json.dumps({"pid": os.getpid(), "version": version}), encoding="utf-8")
    os.replace(part, root / HEALTH_NAME)


def healthy_pid(root: Path) -> int | None:
    """The process id that last reported healthy, if any."""
    try:
        return json.loads((root / HEALTH_NAME).read_text(encoding="utf-8"))["pid"]
    except (FileNotFoundError, ValueError, KeyError):
        return None


def forget_health(root: Path) -> None:
    """Before a start: no process has reported healthy yet."""
    with contextlib.suppress(FileNotFoundError):
        (root / HEALTH_NAME).unlink()
