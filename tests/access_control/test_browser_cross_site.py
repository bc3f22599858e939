"""In Chromium: a page served from the same host on another port tries to unlock the
door of a logged-in administrator, and with HTTP Basic credentials the browser holds."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support import ROOT_PASSWORD

pytestmark = pytest.mark.browser
FORM_PAGE = """<!doctype html><title>win a prize</title>
<form method="post" action="{target}" enctype="{enctype}"></form>
<script>document.forms[0].submit()</script>"""
FETCH_PAGE = """<!doctype html><title>win a prize</title>
<script>fetch("{target}", {{method: "POST", mode: "no-cors", credentials: "include"}})</script>"""


@pytest.fixture
def ready(served):
    password = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    served.call("POST", "/api/v1/setup", password, auth=None)
    return served


@pytest.fixture
def attacker():
    """Another web server on the same host: it serves the page given to `attacker.page`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = server.page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.page = ""
    server.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def attack(page, attacker, html: str, target: str) -> None:
    """Open the foreign page and wait until the appliance answered its request (so a
    request that never left the browser can't pass for a refused one)."""
    attacker.page = html
    with page.expect_response(target):
        page.goto(attacker.url)


def door_mode(server) -> str:
    return server.call("GET", "/api/v1/doors/1")["mode"]


@pytest.mark.parametrize(
    "template,enctype",
    [
        (FORM_PAGE, "application/x-www-form-urlencoded"),
        (FORM_PAGE, "text/plain"),
        (FETCH_PAGE, ""),
    ],
)
def test_a_foreign_page_cannot_unlock_with_the_session(browser, ready, attacker, template, enctype):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{ready.url}/login")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", ROOT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{ready.url}/status")
    for action in ("unlock", "access"):
        target = f"{ready.url}/api/v1/doors/1/{action}"
        attack(page, attacker, template.format(target=target, enctype=enctype), target)
    for action in ("rex", "button"):
        target = f"{ready.url}/api/v1/sim/{action}"
        attack(page, attacker, template.format(target=target, enctype=enctype), target)
    assert door_mode(ready) == "locked"
    assert ready.call("GET", "/api/v1/sim/board")["inputs"]["rex"]["active"] is False
    context.close()


@pytest.mark.parametrize("template", [FORM_PAGE, FETCH_PAGE])
def test_a_foreign_page_cannot_unlock_with_cached_basic_credentials(
    browser, ready, attacker, template
):
    credentials = {"username": "root", "password": ROOT_PASSWORD, "send": "always"}
    context = browser.new_context(http_credentials=credentials)
    page = context.new_page()
    assert page.goto(f"{ready.url}/api/v1/doors/1").ok  # the browser holds the credentials
    target = f"{ready.url}/api/v1/doors/1/unlock"
    html = template.format(target=target, enctype="application/x-www-form-urlencoded")
    attack(page, attacker, html, target)
    assert door_mode(ready) == "locked"
    context.close()
