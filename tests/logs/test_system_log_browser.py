"""The System log in Debian's Chromium: a record the served appliance logs while the
page is open appears at the top of the list, without a reload."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from support import log_in, start_set_up

pytestmark = pytest.mark.browser


@pytest.fixture
def served(tmp_path):
    server = start_set_up(tmp_path / "data")
    yield server
    server.stop()


def bad_request(url: str) -> None:
    """A malformed request line: the web server logs it (INFO, "bad request from ...")."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(b"NONSENSE\r\n\r\n")
        conn.recv(1024)


def test_a_new_record_appears_live_at_the_top(served, page):
    log_in(page, served.url)
    page.goto(served.url + "/logs/system?search=bad+request")
    expect(page.locator(".live-chip")).to_be_visible()
    expect(page.locator("#system-log-rows tr")).to_have_count(0)
    bad_request(served.url)
    row = page.locator("#system-log-rows tr").first
    expect(row).to_contain_text("bad request from 127.0.0.1")
    expect(row.locator(".log-level")).to_contain_text("Info")
    expect(row.locator(".log-source")).to_contain_text("Web")
    page.click("#menu a:text('System log')")
    expect(page.locator("#system-log-rows tr").first).to_be_visible()
