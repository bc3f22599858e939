"""Proxy settings (System > Proxy): one form for the page and the API, the password kept
sealed and never shown back, bad input refused field by field, and the proxy chosen
for an outbound URL."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
from support import csrf_token

from doorctl.core.store import DB_NAME
from doorctl.core.system.proxy import used_for

GOOD = {"host": "proxy.example.com", "port": 8080, "login": "door", "password": "s3cret"}


def put(api, **changes):
    return api.put("/api/v1/proxy", json=changes)


def test_the_api_stores_the_proxy_and_never_shows_the_password(admin_api, doorctl, data_dir):
    answer = put(admin_api, **GOOD)
    assert answer.status_code == 200, answer.json
    shown = admin_api.get("/api/v1/proxy").json
    assert shown["host"] == "proxy.example.com" and shown["port"] == 8080
    assert shown["password_set"] is True and "password" not in shown
    assert shown["authentication"] == "basic"
    with sqlite3.connect(data_dir / DB_NAME) as db:
        (stored,) = db.execute("SELECT data FROM settings WHERE section = 'proxy'").fetchone()
    assert "s3cret" not in stored and json.loads(stored)["password"]  # sealed
    assert doorctl.settings.get("proxy")["password"] == "s3cret"
    # an empty password keeps the stored one; clearing the login clears both
    assert put(admin_api, port=3128, password="").json["password_set"] is True
    cleared = put(admin_api, login="").json
    assert cleared["login"] == "" and cleared["password_set"] is False


BAD = [
    ({"host": "proxy example.com"}, "host", "A host name has no spaces."),
    ({"host": "http://proxy.example.com"}, "host", "without http://"),
    ({"port": 0}, "port", "Enter a port from 1 to 65535."),
    ({"port": 70000}, "port", "Enter a port from 1 to 65535."),
    ({"port": True}, "port", "Must be a number."),
    ({"login": "door"}, "password", "Enter the password for this login."),
    ({"password": "s3cret"}, "login", "Enter the login that goes with the password."),
    ({"login": "", "password": "s3cret"}, "login", "Enter the login that goes with the password."),
    ({"authentication": "digest"}, "authentication", "Choose one of: basic."),
    ({"no_proxy": ["a b"]}, "no_proxy", "Entry 1: enter a host"),
]


@pytest.mark.parametrize(("changes", "name", "message"), BAD)
def test_bad_input_is_refused_by_the_api_and_changes_nothing(
    admin_api, doorctl, changes, name, message
):
    before = doorctl.settings.get("proxy")
    answer = put(admin_api, **changes)
    assert answer.status_code == 400
    assert message in answer.json["fields"][name]
    assert doorctl.settings.get("proxy") == before


def page_error(page: str, name: str) -> str | None:
    found = re.search(rf'id="{name}-error"[^>]*>(?:<svg.*?</svg>)?(.*?)</small>', page, re.S)
    return found[1].strip() if found else None


def post(client, **fields):
    form = {"csrf_token": csrf_token(client, "/proxy"), "authentication": "basic", **fields}
    return client.post("/proxy", data=form)


@pytest.mark.parametrize(
    ("fields", "name", "message"),
    [
        ({"host": "proxy example.com", "port": "3128"}, "host", "A host name has no spaces."),
        ({"host": "proxy", "port": "0"}, "port", "Enter a port from 1 to 65535."),
        ({"host": "proxy", "port": "70000"}, "port", "Enter a port from 1 to 65535."),
        ({"host": "proxy", "port": "3128", "login": "door"}, "password", "Enter the password"),
        (
            {"host": "proxy", "port": "3128", "authentication": "ntlm"},
            "authentication",
            "Choose one of: basic.",
        ),
    ],
)
def test_bad_input_on_the_page_shows_at_its_field(logged_in, doorctl, fields, name, message):
    before = doorctl.settings.get("proxy")
    answer = post(logged_in, **fields)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert message in (page_error(page, name) or "")
    assert doorctl.settings.get("proxy") == before


def test_the_page_saves_keeps_the_password_and_logs_the_change(logged_in, doorctl):
    menu = logged_in.get("/status").get_data(as_text=True)
    assert 'href="/proxy"' in menu
    fields = {"host": "192.0.2.8", "port": "3128", "login": "door", "password": "s3cret"}
    assert post(logged_in, **fields).status_code == 303
    fields["password"] = ""
    fields["no_proxy"] = ".example.com\n10.0.0.0/8"
    assert post(logged_in, **fields).status_code == 303
    record = doorctl.settings.get("proxy")
    assert record["password"] == "s3cret" and record["no_proxy"] == [".example.com", "10.0.0.0/8"]
    page = logged_in.get("/proxy").get_data(as_text=True)
    assert "s3cret" not in page and "Stored; leave empty to keep it." in page
    events = logged_in.get("/logs/events").get_data(as_text=True)
    assert "Settings of Proxy changed: No proxy for" in events
    assert "Settings of Proxy changed: Host, Login, Password" in events


def test_a_host_goes_through_the_proxy_except_for_no_proxy_hosts():
    record = {**GOOD, "no_proxy": [".example.net", "10.0.0.0/8", "printer"]}
    assert used_for(record, "updates.example.org") == "proxy.example.com:8080"
    for direct in ("a.example.net", "example.net", "10.1.2.3", "printer"):
        assert used_for(record, direct) is None
    assert used_for(record, "printers.example.org") is not None
    assert used_for({**record, "host": ""}, "updates.example.org") is None
    assert used_for({**record, "host": "2001:db8::1"}, "x.org") == "[2001:db8::1]:8080"
