"""What the firmware tests share: real bundles built from copies of this checkout, and
an appliance run by `doorctl supervise` as systemd or scripts/run would run it.

The dependencies' wheels are cached in .cache/wheels (gitignored): the first run
fills it with `pip wheel` from the package index; every install in a test is
`pip install --no-index` from local wheels only.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
from support import REPO, ROOT_PASSWORD, basic

from doorctl import __version__
from doorctl.core.maintenance import bundle as bundles

WHEELS = REPO / ".cache" / "wheels"
SERVING = re.compile(r"doorctl (\S+) serving on (http://\S+)/")
# Copied into a bumped checkout: what building a wheel of doorctl needs.
PROJECT_FILES = ("pyproject.toml", "README.md", "doorctl")
BUMPED = f"{__version__}.1"
BROKEN = f"{__version__}.2"
OLDER = "0.0.1"
ROOT = basic("root", ROOT_PASSWORD)


# Build requirements (pyproject's build-system), cached with the wheels so that a
# test builds doorctl's wheel from local wheels only; no part of a bundle.
BUILD_ONLY = ("setuptools-", "doorctl-")


def dependency_wheels() -> list[Path]:
    """The wheels of doorctl's dependencies for this machine, built once and cached."""
    if not any(WHEELS.glob("flask-*.whl")) or not any(WHEELS.glob("setuptools-*.whl")):
        WHEELS.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
        wheel = [*pip, "wheel", "--wheel-dir", str(WHEELS), str(REPO), "setuptools>=77"]
        subprocess.run(wheel, check=True, capture_output=True)
    return sorted(w for w in WHEELS.glob("*.whl") if not w.name.startswith(BUILD_ONLY))


def doorctl_wheels(tmp: Path, versions: dict[str, bool]) -> dict[str, Path]:
    """Wheels of this checkout as each version (built side by side); a version marked
    True is broken: its `doorctl serve` fails at start."""
    builds = {v: _build(_source(tmp, v, broken)) for v, broken in versions.items()}
    for version, (process, _out) in builds.items():
        _, errors = process.communicate()
        assert process.returncode == 0, f"building doorctl {version} failed: {errors}"
    return {v: next(out.glob("doorctl-*.whl")) for v, (_, out) in builds.items()}


def _source(tmp: Path, version: str, broken: bool) -> Path:
    """A copy of the checkout's project files as `version`."""
    source = tmp / f"src-{version}"
    source.mkdir(parents=True)
    for name in PROJECT_FILES:
        path = REPO / name
        copy = shutil.copytree if path.is_dir() else shutil.copy2
        copy(path, source / name, **({"ignore": _ignored} if path.is_dir() else {}))
    init = source / "doorctl" / "__init__.py"
    text = init.read_text(encoding="utf-8")
    init.write_text(re.sub(r'__version__ = "[^"]+"', f'__version__ = "{version}"', text))
    if broken:
        cli = source / "doorctl" / "cli.py"
        start = "    hardware = pick_hardware(args.hardware)\n    app = create_app("
        text = cli.read_text(encoding="utf-8")
        assert start in text, "cli.serve changed: make the broken version fail elsewhere"
        fail = '    raise RuntimeError("this test version fails at start")\n'
        cli.write_text(text.replace(start, fail + start))
    return source


def _build(source: Path) -> tuple[subprocess.Popen, Path]:
    """pip building the wheel of `source`, from local wheels only."""
    out = source.with_name(source.name.replace("src-", "wheel-"))
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index"]
    command += ["--find-links", str(WHEELS), "--wheel-dir", str(out), str(source)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), out


def _ignored(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n in ("__pycache__", ".pytest_cache") or n.endswith(".pyc")]


@pytest.fixture(scope="session", name="built")
def built_bundles(tmp_path_factory) -> dict[str, Path]:
    """Bundles: the bumped version, a broken one, an older one (all signed with the
    trusted test key), the bumped one signed by an unknown key, and one with a changed
    wheel."""
    tmp = tmp_path_factory.mktemp("bundles")
    deps = dependency_wheels()
    wheels = doorctl_wheels(tmp, {BUMPED: False, BROKEN: True, OLDER: False})
    found = {
        name: bundles.build_bundle(tmp / name, signing_key="test", wheels=[wheels[v], *deps])
        for name, v in (("bumped", BUMPED), ("broken", BROKEN), ("older", OLDER))
    }
    found["unknown_key"] = bundles.build_bundle(
        tmp / "unknown", signing_key="other", wheels=[wheels[BUMPED], *deps]
    )
    found["tampered"] = tampered(found["bumped"], tmp / "tampered.bundle")
    return found


def tampered(bundle: Path, out: Path) -> Path:
    """The bundle with one byte added to its doorctl wheel, everything else as signed."""
    if zipfile.is_zipfile(bundle):
        with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(out, "w") as copy:
            for item in source.infolist():
                data = source.read(item)
                copy.writestr(item, data + b"\0" if "doorctl-" in item.filename else data)
        return out
    with tarfile.open(bundle) as source, tarfile.open(out, "w:gz") as copy:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else None
            if data is not None and "doorctl-" in member.name and member.name.endswith(".whl"):
                data += b"\0"
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data) if data is not None else None)
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
        self.next_start()

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

    def set_up(self) -> None:
        body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
        status, answer = self.call("POST", "/api/v1/setup", body, auth=False)
        assert status in (200, 201), answer

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
        """SIGKILL to the supervisor and everything it started, as a power cut."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> int:
        """SIGTERM, as systemd stops it; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(20)
        finally:
            if self.process.poll() is None:
                self.kill()
