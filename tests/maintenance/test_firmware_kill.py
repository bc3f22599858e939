"""SIGKILL to the whole of doorctl (supervisor, serve, engine: a power cut) at five
points of an upgrade; started again, a working version runs with its data intact.

The points inside the product are reached with its one test-only hold point
(firmware.HOLD_ENV): the upgrade writes `held-<phase>` in the firmware folder and
waits there to be killed, so each kill lands exactly where it is meant to, not where
a timer happened to be. The upload is killed halfway through its body, with no hold.
"verify" holds inside the bundle's check: signature and version checked, no wheel
read yet. "install" holds with the new environment created but not yet filled by pip
(a kill inside pip itself has no point to hold at). "switch" holds right after the
state's write. "migrate" holds inside the new version's first start, between its
two migrations (the bumped bundle has two of its own: firmware_support.migrating).
"""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest
from firmware_support import BUMPED, ROOT, Supervised, built_bundles  # noqa: F401

from doorctl import __version__
from doorctl.core.maintenance import firmware as fw
from doorctl.core.store import DB_NAME


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, test_key) -> Path:
    """One unit for the module: set up, with a cardholder; each test starts it."""
    data = tmp_path_factory.mktemp("killed") / "data"
    unit = Supervised(data)
    try:
        unit.set_up(test_key)
        status, answer = unit.call("POST", "/api/v1/cardholders", {"name": "Kept"})
        assert status == 201, answer
    finally:
        unit.stop()
    return data


def send_upload(unit: Supervised, bundle: Path, part: float = 1.0) -> socket.socket:
    """The upgrade request, its body sent up to `part`; the answer is never read."""
    body = bundle.read_bytes()
    host, port = unit.url.removeprefix("http://").split(":")
    head = (
        f"POST /api/v1/firmware/upgrade HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: {ROOT['Authorization']}\r\n"
        "Content-Type: application/octet-stream\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    connection = socket.create_connection((host, int(port)))
    connection.sendall(head.encode() + body[: int(len(body) * part)])
    return connection


def upload_started(unit: Supervised) -> Path:
    """The first piece of the body is on disk."""
    incoming = fw.incoming(unit.firmware)
    while True:
        unit.wait_for(incoming)
        if any(f.stat().st_size for f in incoming.glob("upload-*")):
            return incoming


def killed_at(data_dir: Path, bundle: Path, phase: str) -> None:
    """Upload `bundle`, kill everything when the upgrade reaches `phase`."""
    unit = Supervised(data_dir, env={fw.HOLD_ENV: phase})
    marker = unit.firmware / f"held-{phase}"
    try:
        with send_upload(unit, bundle, part=0.5 if phase == "upload" else 1.0):
            if phase == "upload":
                upload_started(unit)
            else:
                unit.wait_for(marker)
            unit.kill()
    finally:
        if unit.process.poll() is None:  # it failed before the kill
            unit.kill()
    marker.unlink(missing_ok=True)


def comes_back(data_dir: Path, version: str) -> Supervised:
    """Started again as systemd would: the version that runs, the data intact."""
    unit = Supervised(data_dir)
    try:
        assert unit.version == version
        assert unit.cardholders() == ["Kept"]
        state = fw.state_of(unit.firmware)
        assert not fw.incoming(unit.firmware).exists()
        envs = {f"envs/{p.name}" for p in (unit.firmware / "envs").glob("*")}
        assert envs <= {s["env"] for s in (state["active"], state["previous"]) if s}
    except BaseException:
        unit.stop()
        raise
    return unit


@pytest.mark.parametrize("phase", ["upload", "verify", "install"])
def test_killed_before_the_switch_the_old_version_runs(data_dir, built, phase):
    killed_at(data_dir, built["bumped"], phase)
    unit = comes_back(data_dir, __version__)
    try:
        assert not (unit.firmware / "envs").exists() or not any((unit.firmware / "envs").iterdir())
    finally:
        unit.stop()


@pytest.mark.parametrize("phase", ["migrate", "switch"])
def test_killed_after_the_switch_the_new_version_runs_once_healthy(data_dir, built, phase):
    killed_at(data_dir, built["bumped"], phase)
    unit = comes_back(data_dir, BUMPED)
    try:
        while fw.state_of(unit.firmware)["trial"]:
            unit.wait_for(unit.firmware / fw.HEALTH_NAME)
        assert fw.state_of(unit.firmware)["last"]["phase"] == "healthy"
        with sqlite3.connect(unit.data_dir / DB_NAME) as db:  # both migrations made, once
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert {"firmware_test_9001", "firmware_test_9002"} <= tables
        status, answer = unit.call("POST", "/api/v1/firmware/rollback", {})
        assert status == 202, answer
        assert unit.next_start() == __version__
        assert unit.cardholders() == ["Kept"]
    finally:
        unit.stop()
