"""What the firmware tests share: real bundles built from copies of this checkout, and
an appliance run by `doorctl supervise` as systemd or scripts/run would run it.

The dependencies' wheels are cached in .cache/wheels (gitignored): the first run
fills it with `pip wheel` from the package index; every install in a test is
`pip install --no-index` from local wheels only.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from support import REPO, ROOT_PASSWORD, basic

WHEELS = REPO / ".cache" / "wheels"
SERVING = re.compile(r"doorctl (\S+) serving on (http://\S+)/")
# Copied into a bumped checkout: what building a wheel of doorctl needs.
PROJECT_FILES = ("pyproject.toml", "README.md", "doorctl")


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


def doorctl_wheel(tmp: Path, version: str, broken: bool = False) -> Path:
    """A wheel of this checkout as `version`; `broken` makes `doorctl serve` fail at start."""
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
    out = tmp / f"wheel-{version}"
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index"]
    command += ["--find-links", str(WHEELS), "--wheel-dir", str(out), str(source)]
    subprocess.run(command, check=True, capture_output=True)
    return next(out.glob("doorctl-*.whl"))


def _ignored(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n in ("__pycache__", ".pytest_cache") or n.endswith(".pyc")]


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
