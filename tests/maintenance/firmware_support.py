"""What the firmware tests share: real bundles built from copies of this checkout, and
an appliance run by `doorctl supervise` as systemd or scripts/run would run it.

The bundles come from the bundle tests' fixtures (tests/maintenance/conftest.py: the
test key, the dependency wheels cached in .cache/wheels); every install in a test is
`pip install --no-index` from a bundle's wheels only.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support import REPO, ROOT_PASSWORD, basic
from support_bundle import checkout_at

from doorctl import __version__
from doorctl.core.maintenance.bundle import build_bundle
from doorctl.core.maintenance.bundle_format import METADATA, SIGNATURE, WHEELS
from doorctl.core.maintenance.keys import PUBLIC_KEY_FILE, key_id, keygen, load_signing_key

SERVING = re.compile(r"doorctl (\S+) serving on (http://\S+)/")
BUMPED = f"{__version__}.1"
BROKEN = f"{__version__}.2"
OLDER = "0.0.1"
ROOT = basic("root", ROOT_PASSWORD)


def broken(source: Path) -> Path:
    """The checkout copy made to fail at start: its `doorctl serve` raises at once."""
    cli = source / "doorctl" / "cli_serve.py"
    start = "def serve(args: argparse.Namespace) -> int:\n"
    text = cli.read_text(encoding="utf-8")
    assert text.count(start) == 1, "cli_serve.serve changed: make the broken version fail elsewhere"
    fail = '    raise RuntimeError("this test version fails at start")\n'
    cli.write_text(text.replace(start, start + fail))
    return source


def migrating(source: Path) -> Path:
    """The checkout copy with two migrations of its own, so that its first start has a
    migration to make and a point between two (the kill tests' "migrate" hold)."""
    folder = source / "doorctl" / "core" / "migrations"
    for number in (9001, 9002):
        table = f"firmware_test_{number}"
        (folder / f"{number}_{table}.sql").write_text(f"CREATE TABLE {table} (x INTEGER);\n")
    return source


@pytest.fixture(scope="session", name="built")
def built_bundles(tmp_path_factory, test_key: Path, wheel_cache: Path) -> dict[str, Path]:
    """Bundles signed with the test key: the bumped version, a broken one, an older
    one; the bumped one signed by an unknown key, and with a changed wheel."""
    tmp = tmp_path_factory.mktemp("bundles")
    sources = {
        "bumped": migrating(checkout_at(BUMPED, tmp / "bumped")),
        "broken": broken(checkout_at(BROKEN, tmp / "broken")),
        "older": checkout_at(OLDER, tmp / "older"),
    }
    with ThreadPoolExecutor(len(sources)) as pool:  # pip builds the wheels side by side
        building = {
            name: pool.submit(
                build_bundle, tmp / name, signing_key=test_key, project=source, wheels=wheel_cache
            )
            for name, source in sources.items()
        }
        found = {name: future.result() for name, future in building.items()}
    unknown, _ = keygen(tmp / "unknown-key")
    found["unknown_key"] = rewritten(found["bumped"], tmp / "unknown.bundle", unknown)
    found["tampered"] = rewritten(found["bumped"], tmp / "tampered.bundle")
    return found


def rewritten(bundle: Path, out: Path, signing_key: Path | None = None) -> Path:
    """The bundle signed by another key (named in its metadata as the signer), or else
    with a byte added to its doorctl wheel."""
    with tarfile.open(bundle) as source, tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as copy:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if signing_key and member.name == METADATA:
                key = load_signing_key(signing_key)
                record = json.loads(data) | {"key_id": key_id(key.public_key())}
                data = json.dumps(record, indent=1, sort_keys=True).encode() + b"\n"
                signature = base64.b64encode(key.sign(data)) + b"\n"
            elif signing_key and member.name == SIGNATURE:
                data = signature
            elif not signing_key and member.name.startswith(f"{WHEELS}/doorctl-"):
                data += b"\0"
            member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    return out


class Supervised:
    """`doorctl supervise` in a session of its own (so a test can kill it all, as a
    power cut would), on ports 0 and the simulated board; its children's URL lines
    are read as they come."""

    def __init__(self, data_dir: Path, health_seconds: float = 30, env: dict | None = None):
        self.data_dir = data_dir
        self.log = data_dir.parent / f"{data_dir.name}-supervise.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "doorctl", "supervise", "--data-dir", str(data_dir)]
        command += ["--health-seconds", str(health_seconds), "--host", "127.0.0.1"]
        command += ["--port", "0", "--https-port", "0", "--hardware", "sim"]
        with open(self.log, "a", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                cwd=REPO,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.url = ""
        self.version = ""
        try:
            self.next_start()
        except BaseException:
            self.kill()  # a start that failed leaves nothing running
            raise

    def _read(self) -> None:
        with self.process.stdout:
            for line in self.process.stdout:
                self.lines.put(line)
        self.lines.put("")

    def next_start(self, timeout: float = 90) -> str:
        """Wait for the next `doorctl serve` to print its URL; return its version."""
        while True:
            line = self.lines.get(timeout=timeout)
            if not line:
                raise AssertionError(f"supervise ended:\n{self.log.read_text()[-3000:]}")
            match = SERVING.search(line)
            if match:
                self.version, self.url = match.groups()
                return self.version

    @property
    def firmware(self) -> Path:
        return self.data_dir / "firmware"

    def call(self, method: str, path: str, body=None, raw: bytes | None = None, auth=True):
        """A REST call; (status, JSON answer), errors included."""
        headers = basic("root", ROOT_PASSWORD) if auth else {}
        data = raw if raw is not None else json.dumps(body).encode() if body is not None else None
        kind = "application/octet-stream" if raw is not None else "application/json"
        request = urllib.request.Request(
            self.url + path, data, {**headers, "Content-Type": kind}, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def set_up(self, owner_key: Path) -> None:
        """Root's password, and the test key installed as the owner's firmware key."""
        body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
        status, answer = self.call("POST", "/api/v1/setup", body, auth=False)
        assert status in (200, 201), answer
        key = {"key": owner_key.with_name(PUBLIC_KEY_FILE).read_text(encoding="utf-8")}
        status, answer = self.call("PUT", "/api/v1/firmware/owner-key", key)
        assert status == 200, answer

    def upload(self, bundle: Path, allow_older: bool = False):
        """Upload a bundle; (status, answer)."""
        query = "?allow_older=1" if allow_older else ""
        return self.call("POST", f"/api/v1/firmware/upgrade{query}", raw=bundle.read_bytes())

    def cardholders(self) -> list[str]:
        status, answer = self.call("GET", "/api/v1/cardholders")
        assert status == 200, answer
        return sorted(c["name"] for c in answer["cardholders"])

    def wait_for(self, path: Path, timeout: float = 90) -> None:
        """Wait for a file the product writes (a test hold point's marker)."""
        deadline = time.monotonic() + timeout
        while not path.exists():
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"{path.name} never appeared"
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL to the supervisor and everything it started, as a power cut: serve
        (in a process group of its own) and its engine must go with it."""
        data_dir = str(self.data_dir)
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + 10
        while left := running_with(data_dir):
            assert time.monotonic() < deadline, f"still running after the supervisor: {left}"
            time.sleep(0.05)

    def stop(self) -> int:
        """SIGTERM, as systemd stops it; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(20)
        finally:
            if self.process.poll() is None:
                self.kill()


def running_with(data_dir: str) -> list[int]:
    """The live processes (zombies aside) whose command line names `data_dir`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                continue
            if data_dir.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found
