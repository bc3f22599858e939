"""Shared fixtures: an app over a fresh data directory, clients, and a served appliance."""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from doorctl.app import create_app

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
    message = f"{what} is missing ({program}); scripts/test installs it"
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


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def app(data_dir: Path):
    """The app with its services started, on the simulated board."""
    app = create_app({"DATA_DIR": str(data_dir), "HARDWARE": "sim", "TESTING": True})
    doorctl = app.extensions["doorctl"]
    doorctl.start()
    yield app
    doorctl.stop()
    doorctl.store.close()


@pytest.fixture
def doorctl(app):
    """The appliance behind the app (store, settings, users, bus, services)."""
    return app.extensions["doorctl"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def root(doorctl) -> tuple[str, str]:
    """root with its password set (first access done)."""
    doorctl.users.set_root_password(ROOT_PASSWORD)
    return ("root", ROOT_PASSWORD)


@pytest.fixture
def admin_api(client, root):
    """A client whose REST calls carry root's HTTP Basic credentials."""
    return ApiClient(client, basic(*root))


def make_user(doorctl, role: str) -> tuple[str, str]:
    """Create a user of `role` and return its credentials."""
    doorctl.users.create(f"{role}1", f"{role} password", role)
    return (f"{role}1", f"{role} password")


@pytest.fixture
def operator_api(client, doorctl, root):
    return ApiClient(client, basic(*make_user(doorctl, "operator")))


@pytest.fixture
def viewer_api(client, doorctl, root):
    return ApiClient(client, basic(*make_user(doorctl, "viewer")))


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


@pytest.fixture
def logged_in(client, root):
    """A browser-like session logged in as root; returns the client."""
    token = csrf_token(client)
    response = client.post(
        "/login", data={"username": root[0], "password": root[1], "csrf_token": token}
    )
    assert response.status_code == 303
    return client


@dataclass
class Served:
    """A `doorctl serve` process on a free port."""

    process: subprocess.Popen
    url: str
    data_dir: Path
    stderr: str = ""

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
    return Served(process, match.group(1), data_dir)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The appliance running in its own process, stopped (SIGTERM) after the test."""
    server = start_served(tmp_path / "served")
    yield server
    try:
        server.stop()
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.communicate()


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (never a downloaded browser)."""
    executable = require(CHROMIUM, "Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page (own cookies and local storage)."""
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def board(doorctl):
    """The appliance's simulated board (set inputs, inject cards, read outputs)."""
    return doorctl.board
