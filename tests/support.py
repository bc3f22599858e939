"""Helpers the tests share: credentials, CSRF tokens, peers, and a served appliance.

Kept out of conftest.py so test modules can import them by a name no other
conftest shadows.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from doorctl.core.children import stop
from doorctl.core.store import migrations

ROOT_PASSWORD = "correct horse 1"


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


REPO = Path(__file__).resolve().parents[1]


CHROMIUM = "/usr/bin/chromium"


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require(program: str, what: str) -> str:
    """The path of a peer program; skip when missing, but fail under CI (CI=true)."""
    path = shutil.which(program)
    if path:
        return path
    missing(f"{what} is missing ({program}); scripts/test installs it")


# Switch a page's theme and wait for its colour transitions (axe would otherwise judge
# the contrast of a colour halfway): at most 3 s, since an animation that never runs
# (paused, throttled) must not hang the test.
SWITCH_THEME = """theme => {
  document.documentElement.dataset.theme = theme;
  const done = Promise.all(document.getAnimations()
    .filter((a) => a.effect && a.effect.getTiming().iterations !== Infinity)
    .map((a) => a.finished.catch(() => null)));
  return Promise.race([done, new Promise((settled) => setTimeout(settled, 3000))]);
}"""


def missing(message: str) -> None:
    """A peer the test needs is not here: skip, but fail under CI (CI=true)."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def basic(username: str, password: str) -> dict:
    """HTTP Basic headers for the REST API."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token a page's forms carry, read the way a browser gets it."""
    match = CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def make_user(doorctl, role: str) -> tuple[str, str]:
    """Create a user of `role` and return its credentials."""
    doorctl.users.create(f"{role}1", f"{role} password", role)
    return (f"{role}1", f"{role} password")


@dataclass
class ApiClient:
    """A test client that sends the same credentials with every call."""

    client: object
    headers: dict

    def get(self, url, headers=None, **kw):
        return self.client.get(url, headers={**self.headers, **(headers or {})}, **kw)

    def post(self, url, json=None, **kw):
        return self.client.post(url, json=json, headers=self.headers, **kw)

    def put(self, url, json=None, **kw):
        return self.client.put(url, json=json, headers=self.headers, **kw)

    def patch(self, url, json=None, **kw):
        return self.client.patch(url, json=json, headers=self.headers, **kw)

    def delete(self, url, headers=None, **kw):
        return self.client.delete(url, headers={**self.headers, **(headers or {})}, **kw)


@dataclass
class Served:
    """A `doorctl serve` process on a free port."""

    process: subprocess.Popen
    url: str
    data_dir: Path
    stderr: str = ""
    https_url: str = ""

    def call(self, method: str, path: str, body=None, auth=("root", ROOT_PASSWORD)):
        """A REST call to the served appliance over loopback; the JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", **(basic(*auth) if auth else {})}
        request = urllib.request.Request(self.url + path, data, headers, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *failed) -> None:
        """Still running when the test ends (a failed assertion): killed, not leaked."""
        if self.process.poll() is None:
            self.process.kill()
            _, self.stderr = self.process.communicate()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        """Send `sig`, wait for the exit, keep what it logged; return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        _, self.stderr = self.process.communicate(timeout=timeout)
        return self.process.returncode


def start_served(data_dir: Path, *extra: str, env: dict | None = None) -> Served:
    """Start the real appliance as a child process and wait for the URL it prints."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "doorctl",
            "serve",
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--https-port",
            "0",
            "--hardware",
            "sim",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )
    line = process.stdout.readline()
    match = re.search(r"(http://\S+)/", line)
    if not match:
        process.kill()
        raise RuntimeError(f"doorctl serve did not start: {line!r} {process.stderr.read()}")
    https = re.search(r"(https://\S+)/", line)
    return Served(process, match.group(1), data_dir, https_url=https.group(1) if https else "")


def start_set_up(data_dir: Path, *extra: str, env: dict | None = None) -> Served:
    """The real appliance, its root password set (ROOT_PASSWORD)."""
    server = start_served(data_dir, *extra, env=env)
    body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    server.call("POST", "/api/v1/setup", body, auth=None)
    return server


def listens(port: int) -> bool:
    """Whether something takes TCP connections on the loopback port."""
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


def start_listening(command: list, ports, name: str, said=None, **popen) -> subprocess.Popen:
    """Start a peer (mosquitto, rsyslogd, tinyproxy) and wait until each of its loopback
    TCP `ports` takes connections; if it exits first, fail with `said(process)`."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, **popen)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {said(process) if said else process.returncode}")
        if all(listens(port) for port in ports):
            return process
        time.sleep(0.05)
    stop_peer(process)
    raise RuntimeError(f"{name} did not start listening")


def stop_peer(process: subprocess.Popen | None, seconds: float = 10) -> None:
    """SIGTERM (the peer saves what it keeps), SIGKILL if it lingers; its pipe closed."""
    if process is None:
        return
    stop(process, seconds)
    if process.stderr is not None:
        process.stderr.close()


def rewind(execute, version: int) -> None:
    """Set a database back to `version` as an older unit left it, as far as the later
    migrations' added columns go (dropped, so their ALTER TABLE runs again)."""
    for number, script in reversed(migrations()):
        if number > version:
            for table, column in re.findall(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", script):
                execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    execute(f"PRAGMA user_version = {version}")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def log_in(page, url: str, username: str = "root", password: str = ROOT_PASSWORD, to="/status"):
    """Log in on the login page in a browser; it lands on `to`."""
    from playwright.sync_api import expect

    page.goto(url + ("/login" if to == "/status" else f"/login?next={to}"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.press("input[name=password]", "Enter")
    expect(page).to_have_url(url + to)
