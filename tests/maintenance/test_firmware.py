"""Maintenance > Firmware end to end: real bundles, real virtual environments, real
restarts under `doorctl supervise`; refusals change nothing; a version that can't
start falls back by itself; rollback returns to the previous version and its data."""

from __future__ import annotations

import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from firmware_support import BROKEN, BUMPED, OLDER, ROOT, Supervised, built_bundles  # noqa: F401
from support import REPO

from doorctl import __version__
from doorctl.core.maintenance import firmware as fw
from doorctl.core.store import Store


@pytest.fixture(scope="module")
def unit(tmp_path_factory, test_key):
    """One supervised appliance for the module, set up, with a cardholder."""
    server = Supervised(tmp_path_factory.mktemp("unit") / "data", health_seconds=60)
    try:
        server.set_up(test_key)
        status, answer = server.call("POST", "/api/v1/cardholders", {"name": "Before upgrade"})
        assert status == 201, answer
        yield server
    finally:
        server.stop()


def firmware_status(unit: Supervised) -> dict:
    status, answer = unit.call("GET", "/api/v1/firmware")
    assert status == 200, answer
    return answer


def settled(unit: Supervised) -> dict:
    """The firmware status once the supervisor ended the new version's trial."""
    while fw.state_of(unit.firmware)["trial"]:
        unit.wait_for(unit.firmware / fw.HEALTH_NAME)
    return firmware_status(unit)


def firmware_events(unit: Supervised) -> list[dict]:
    status, answer = unit.call("GET", "/api/v1/events?kind=maintenance&limit=100")
    assert status == 200, answer
    return [e["data"] for e in answer["events"]]


@pytest.mark.parametrize(
    ("name", "said"),
    [("tampered", "wheel"), ("unknown_key", "key"), ("older", "version")],
)
def test_a_refused_bundle_changes_nothing(unit, built, name, said):
    before = firmware_status(unit)
    state = (unit.firmware / fw.STATE_NAME).read_bytes() if before["last"] else None
    status, answer = unit.upload(built[name])
    assert status == 422, answer
    assert said in answer["fields"]["bundle"].lower()
    assert firmware_status(unit) == before
    assert unit.version == __version__
    assert (
        not list((unit.firmware / "envs").glob("*")) if (unit.firmware / "envs").exists() else True
    )
    if state is not None:
        assert (unit.firmware / fw.STATE_NAME).read_bytes() == state
    assert unit.cardholders() == ["Before upgrade"]


def test_a_body_that_is_no_bundle_is_refused(unit):
    status, answer = unit.call("POST", "/api/v1/firmware/upgrade", raw=b"not a bundle")
    assert status == 422, answer
    assert answer["fields"]["bundle"]
    assert unit.version == __version__


def test_upgrade_keeps_the_data_and_rollback_returns_to_the_old_version(unit, built):
    status, answer = unit.upload(built["bumped"])
    assert status == 202, answer
    assert answer == {"version": BUMPED, "from_version": __version__, "phase": "switching"}
    assert unit.next_start() == BUMPED
    now = settled(unit)
    assert now["version"] == BUMPED and now["previous_version"] == __version__
    assert now["last"]["phase"] == "healthy"
    assert unit.cardholders() == ["Before upgrade"]
    phases = [e["phase"] for e in firmware_events(unit)]
    for phase in ("receiving", "verifying", "installing", "switching", "healthy"):
        assert phase in phases
    first = fw.state_of(unit.firmware)["active"]["env"]
    assert (unit.firmware / "active").resolve() == (unit.firmware / first).resolve()

    status, answer = unit.upload(built["older"])  # a downgrade from the new version too
    assert status == 422 and "version" in answer["fields"]["bundle"].lower()

    # the running version again: a new environment, the running one is the way back
    status, answer = unit.upload(built["bumped"], allow_older=True)
    assert status == 202, answer
    assert unit.next_start() == BUMPED
    assert settled(unit)["previous_version"] == BUMPED
    state = fw.state_of(unit.firmware)
    assert state["previous"]["env"] == first and state["active"]["env"] != first
    assert fw.runnable(unit.firmware, state["previous"])

    status, answer = unit.call("POST", "/api/v1/cardholders", {"name": "After upgrade"})
    assert status == 201, answer
    status, answer = unit.call("POST", "/api/v1/firmware/rollback", {})
    assert status == 202, answer
    assert unit.next_start() == BUMPED
    back = firmware_status(unit)
    assert back["version"] == BUMPED and back["previous_version"] is None
    assert fw.state_of(unit.firmware)["active"]["env"] == first
    assert back["last"]["phase"] == "rolled_back"
    assert unit.cardholders() == ["Before upgrade"]  # changes since the upgrade are lost
    status, answer = unit.call("POST", "/api/v1/firmware/rollback", {})
    assert status == 409, answer


def test_a_version_that_cannot_start_falls_back_by_itself(unit, built):
    running = unit.version  # the bumped version, rolled back to its first environment
    status, answer = unit.upload(built["broken"])
    assert status == 202, answer
    assert unit.next_start() == running  # the broken one never served
    now = firmware_status(unit)
    assert now["version"] == running
    assert now["last"]["phase"] == "failed" and now["last"]["version"] == BROKEN
    assert now["last"]["reason"] == "exited"
    assert fw.last_upgrade_failed(unit.firmware)
    assert unit.cardholders() == ["Before upgrade"]
    failed = [e for e in firmware_events(unit) if e["phase"] == "failed" and "version" in e]
    assert failed and failed[0]["version"] == BROKEN


def on_trial(root: Path, script: str) -> None:
    """A version 9.9.9 on trial whose "python" is `script` (a shell script)."""
    hanging = root / "envs" / "9.9.9" / "bin"
    hanging.mkdir(parents=True)
    (hanging / "python").write_text(f"#!/bin/sh\n{script}\n")
    (hanging / "python").chmod(0o755)
    slot = {"version": "9.9.9", "env": "envs/9.9.9"}
    fw.write_state(
        root,
        {
            "active": slot,
            "previous": {"version": __version__, "env": None, "db": None},
            "trial": {**slot, "from_version": __version__},
        },
    )


def runs(pid: int) -> bool:
    """Whether the process runs (a zombie holds nothing any more)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_version_that_never_reports_healthy_is_stopped_and_falls_back(tmp_path):
    """The health time runs out: the supervisor stops it, and the rest of its process
    group (an engine that ignores SIGTERM), and starts the previous one."""
    root = tmp_path / "data" / "firmware"
    engine = tmp_path / "engine-pid"
    on_trial(root, f"(trap '' TERM; exec sleep 600) & echo $! > {engine}; exec sleep 600")
    server = Supervised(tmp_path / "data", health_seconds=2)
    try:
        assert server.version == __version__
        last = fw.state_of(root)["last"]
        assert last["phase"] == "failed" and last["reason"] == "not_healthy"
        assert fw.last_upgrade_failed(root)
        assert not runs(int(engine.read_text()))
    finally:
        assert server.stop() == 0  # SIGTERM, as systemd stops it: a clean stop


def appears(path: Path, supervisor: subprocess.Popen) -> None:
    """Wait for the file while the supervisor runs."""
    while not path.exists():
        assert supervisor.poll() is None, "the supervisor ended"
        time.sleep(0.05)


def test_a_trial_cleared_by_hand_meanwhile_does_not_stop_the_supervisor(tmp_path):
    root = tmp_path / "data" / "firmware"
    started = tmp_path / "started"
    on_trial(root, f"touch {started}; exec sleep 600")
    command = [sys.executable, "-m", "doorctl", "supervise", "--data-dir", str(root.parent)]
    supervisor = subprocess.Popen([*command, "--health-seconds", "1"], cwd=REPO)
    try:
        appears(started, supervisor)
        started.unlink()
        fw.write_state(root, fw.state_of(root) | {"trial": None})
        appears(started, supervisor)  # the health time ran out: started again
    finally:
        supervisor.terminate()
        supervisor.wait(30)


def test_an_active_version_whose_environment_is_gone_gives_way_to_the_base_install(
    tmp_path, test_key
):
    root = tmp_path / "data" / "firmware"
    fw.write_state(root, {"active": {"version": "9.9.9", "env": "envs/9.9.9-gone"}})
    server = Supervised(tmp_path / "data")
    try:
        assert server.version == __version__
        state = fw.state_of(root)
        assert state["active"] is None
        assert state["last"]["phase"] == "failed" and "missing" in state["last"]["detail"]
        server.set_up(test_key)
        gone = {"version": "9.9.8", "env": "envs/9.9.8-gone", "db": "db/x.sqlite3"}
        fw.write_state(root, state | {"previous": gone})
        status, answer = server.call("POST", "/api/v1/firmware/rollback", {})
        assert status == 409 and "missing" in answer["error"], answer
    finally:
        server.stop()


def test_nothing_that_restarts_is_done_while_a_version_is_on_trial(unit, built):
    state = fw.state_of(unit.firmware)
    trial = {"version": __version__, "env": None, "from_version": __version__}
    fw.write_state(unit.firmware, state | {"trial": trial})
    try:
        for path, body in (
            ("/api/v1/maintenance/restart", {}),
            ("/api/v1/maintenance/factory-default", {"confirmation": "default"}),
        ):
            status, answer = unit.call("POST", path, body)
            assert status == 409 and "trial" in answer["error"], (path, answer)
        status, answer = unit.upload(built["bumped"])
        assert status == 409 and "trial" in answer["error"], answer
    finally:
        fw.write_state(unit.firmware, state)
    assert unit.cardholders() == ["Before upgrade"]


def test_database_copies_and_the_firmware_folder_are_doorctls_alone(tmp_path):
    Store(tmp_path).close()
    root = fw.default_dir(tmp_path)
    fw.write_state(root, {})
    fw.copy_database(tmp_path, fw.db_copy(root, "1.0"))
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(fw.db_copy(root, "1.0").stat().st_mode) == 0o600


def test_only_the_upgrade_route_takes_a_body_beyond_the_usual_limit(unit):
    """40 MiB: over every other route's 32 MiB, and written to disk, not memory."""
    body = b"\0" * (40 * 1024 * 1024)
    status, answer = unit.call("POST", "/api/v1/firmware/upgrade", raw=body)
    assert status == 422 and answer["fields"]["bundle"], answer
    assert not list(fw.incoming(unit.firmware).glob("upload-*"))
    host, port = unit.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as other:  # told from its head alone
        other.sendall(
            f"POST /api/v1/cardholders/import HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: {ROOT['Authorization']}\r\n"
            f"Content-Type: text/csv\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        assert other.recv(100).startswith(b"HTTP/1.1 413")


def test_the_supervisor_ends_with_a_failed_serve_so_systemd_starts_it_again(tmp_path):
    """Any exit but 75 ends the supervisor with the child's code (Restart=always)."""
    command = [sys.executable, "-m", "doorctl", "supervise", "--data-dir", str(tmp_path)]
    done = subprocess.run(
        [*command, "--hardware", "no-such-board"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2  # serve's own answer to a bad option
    assert "no-such-board" in done.stderr
