"""Browser hardening: every answer carries a strict Content-Security-Policy and the other
confining headers; no page has inline scripts, styles or event handlers; the session
cookie is Secure over HTTPS."""

from __future__ import annotations

import re

import pytest
from support import basic, csrf_token

HEADERS = (
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Permissions-Policy",
)
INLINE = re.compile(r"<script(?![^>]*\ssrc=)|<style|\sstyle=|\son[a-z]+=|javascript:", re.I)


def check_headers(response) -> None:
    for name in HEADERS:
        assert name in response.headers, name
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_page_an_api_answer_and_a_static_file_are_confined(client, root):
    check_headers(client.get("/login"))
    check_headers(client.get("/api/v1/device", headers=basic(*root)))
    with client.get("/static/js/shell.js") as static:
        check_headers(static)
    check_headers(client.get("/api/v1/device"))  # an error answer too


def page_paths(app) -> list[str]:
    """Every page a GET without arguments opens."""
    rules = app.url_map.iter_rules()
    return sorted(
        r.rule
        for r in rules
        if "GET" in r.methods and not r.arguments and not r.rule.startswith(("/api/", "/static"))
    )


def test_no_page_has_inline_scripts_styles_or_handlers(app, logged_in, admin_api):
    week = [{"days": ["mon", "tue"], "start": "08:00", "end": "17:00"}]
    admin_api.post("/api/v1/schedules", json={"name": "Office", "intervals": week})
    pages = page_paths(app) + ["/doors/1/settings", "/login", "/setup"]
    for path in pages:
        response = logged_in.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        found = INLINE.findall(response.get_data(as_text=True))
        assert not found, f"{path}: {found}"


def test_a_posted_protocol_never_becomes_script(logged_in):
    token = csrf_token(logged_in, "/mqtt/client")
    sink = "tcp'-alert(document.domain)-'"
    page = logged_in.post("/mqtt/client", data={"protocol": sink, "csrf_token": token})
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "onchange" not in text and not INLINE.findall(text)


@pytest.mark.parametrize(
    ("base", "secure"), [("https://localhost", True), ("http://localhost", False)]
)
def test_the_session_cookie_is_secure_over_https(client, root, base, secure):
    page = client.get("/login", base_url=base).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"username": "root", "password": root[1], "csrf_token": token}
    referer = {"Referer": f"{base}/login"}  # over HTTPS the token is checked with it
    response = client.post("/login", data=form, base_url=base, headers=referer)
    assert response.status_code == 303
    assert ("; Secure" in response.headers["Set-Cookie"]) is secure
