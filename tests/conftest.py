"""Shared fixtures: an app over a fresh data directory, clients, and a served appliance."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT_PASSWORD,
    ApiClient,
    Served,
    basic,
    csrf_token,
    make_user,
    require,
    start_served,
)

from doorctl.app import create_app

# No test reaches the machine's own NetworkManager: its system bus is one that is not
# there (the namespace tests give theirs), so a change of the IP settings can never
# move the host's addresses, and the pages show them read-only.
os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=/nonexistent/doorctl-tests-no-system-bus"

# Under pytest-xdist (pyproject.toml's -n auto --dist loadfile), modules are handed to
# the workers in collection order; the longest go first so that no worker starts one
# late while the other has run out of work: the API contract run, then the browser
# modules (the matrix alone is minutes), then the rest.
FIRST_MARKERS = ("api_fuzz", "browser")
EXPECT_TIMEOUT_MS = 15_000


def _first_rank(item) -> int:
    """The place of the item's module in the hand-out order (lower first)."""
    for rank, name in enumerate(FIRST_MARKERS):
        if item.get_closest_marker(name) is not None:
            return rank
    return len(FIRST_MARKERS)


def pytest_collection_modifyitems(config, items):
    """Put the longest modules first when the suite runs on several workers; a module's
    tests keep their order and stay together."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    rank: dict[Path, int] = {}
    for item in items:
        rank[item.path] = min(rank.get(item.path, len(FIRST_MARKERS)), _first_rank(item))
    items.sort(key=lambda item: rank[item.path])


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def engine_apart(request) -> bool:
    """Whether the app's engine runs in a process of its own, as `doorctl serve` runs it.

    Every served appliance (browser tests, the API contract run, `doorctl serve` tests)
    and the tests marked engine_apart run it apart. The other app fixtures run it in
    the test's process: spawning an engine for each of them doubled the suite's time
    and tested the placement no better. DOORCTL_TEST_ENGINE_APART=1 runs them all
    apart; a test that drives the simulated board's pins in memory (the `board`
    fixture, or the engine_in_process marker) never is."""
    if "board" in request.fixturenames:
        return False
    if request.node.get_closest_marker("engine_in_process") is not None:
        return False
    if request.node.get_closest_marker("engine_apart") is not None:
        return True
    return os.environ.get("DOORCTL_TEST_ENGINE_APART") == "1"


@pytest.fixture
def app(data_dir: Path, request):
    """The app with its services started, on the simulated board (its engine apart or
    not: see engine_apart)."""
    config = {"DATA_DIR": str(data_dir), "HARDWARE": "sim", "TESTING": True}
    # never the machine's chronyd: a socket where none listens (Date and time's tests
    # start their own)
    config["CHRONY_SOCKET"] = str(data_dir.parent / "no-chronyd" / "chronyd.sock")
    config["ENGINE_PROCESS"] = engine_apart(request)
    app = create_app({**config, "READER_TEST_PORTS": True})  # ptys as the RS-485 line
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


@pytest.fixture
def operator_api(client, doorctl, root):
    return ApiClient(client, basic(*make_user(doorctl, "operator")))


@pytest.fixture
def viewer_api(client, doorctl, root):
    return ApiClient(client, basic(*make_user(doorctl, "viewer")))


@pytest.fixture
def logged_in(client, root):
    """A browser-like session logged in as root; returns the client."""
    token = csrf_token(client)
    response = client.post(
        "/login", data={"username": root[0], "password": root[1], "csrf_token": token}
    )
    assert response.status_code == 303
    return client


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
    from playwright.sync_api import expect, sync_playwright

    # What a test awaits in the page (a toast, a live update) may come late when the
    # machine is busy (the workers share its cores): an expectation waits up to 15 s
    # rather than Playwright's 5 s, and still passes the moment it holds.
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
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
    """The appliance's simulated board (set inputs, inject cards, read outputs); the
    app of a test that uses it runs its engine in the test's process."""
    return doorctl.board


@pytest.fixture
def line():
    """A pseudo-terminal standing in for the RS-485 line (libosdp readers attach to it)."""
    from support_osdp import Line, require_libosdp

    require_libosdp()
    pty = Line()
    yield pty
    pty.close()


@pytest.fixture
def spawn(line, tmp_path):
    """Start a libosdp reader child (one or two PDs) on the line; killed at teardown."""
    from support_osdp import reader_processes

    with reader_processes(line.master, tmp_path, 0.005) as start:
        yield start
