"""SNMP settings (System > SNMP): one form for the page and the API, communities sealed
and never shown back (page, API, files snmpd leaves), bad input refused field by field
with nothing changed; the v3 user's fields of an earlier version lead to the users."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
from snmp_peers import free_udp_port
from support import csrf_token, require

from doorctl.core.store import DB_NAME

SECRETS = {"read_community": "ro-c0mmunity", "trap_community": "trap-c0mmunity"}


def put(api, **changes):
    return api.put("/api/v1/snmp", json=changes)


def test_secrets_are_sealed_and_never_shown_back(admin_api, logged_in, doorctl, data_dir):
    require("snmpd", "net-snmp's agent (Debian snmpd)")
    doorctl.snmp.address = "127.0.0.1"
    answer = put(admin_api, version="v1_v2c", port=free_udp_port(), **SECRETS)
    assert answer.status_code == 200, answer.json
    assert doorctl.snmp.status()["running"]
    shown = admin_api.get("/api/v1/snmp").json
    assert all(shown[f"{name}_set"] and name not in shown for name in SECRETS)
    page = logged_in.get("/snmp").get_data(as_text=True)
    with sqlite3.connect(data_dir / DB_NAME) as db:
        (stored,) = db.execute("SELECT data FROM settings WHERE section = 'snmp'").fetchone()
    files = "".join(p.read_text() for p in (data_dir / "snmp").rglob("*") if p.is_file())
    for secret in SECRETS.values():
        assert secret not in json.dumps(shown) and secret not in page
        assert secret not in stored and secret not in files
    assert "Stored; leave empty to keep it." in page
    assert not (data_dir / "snmp" / "snmpd.conf").exists()  # removed once snmpd read it
    # an empty or absent secret keeps the stored one
    assert put(admin_api, read_community="").status_code == 200
    assert {k: doorctl.settings.get("snmp")[k] for k in SECRETS} == SECRETS


def test_the_page_saves_keeps_the_secrets_and_names_the_change(logged_in, doorctl):
    menu = logged_in.get("/status").get_data(as_text=True)
    assert 'href="/snmp"' in menu
    fields = {"version": "off", "port": "161", "read_community": "ro-c0mmunity"}
    fields |= {"sys_location": "Hall A", "trap_receivers": "192.0.2.7\n192.0.2.8:1162"}
    assert post(logged_in, **fields).status_code == 303
    fields |= {"read_community": "", "sys_contact": "ops@example.com"}
    assert post(logged_in, **fields).status_code == 303
    record = doorctl.settings.get("snmp")
    assert record["read_community"] == "ro-c0mmunity" and record["sys_contact"] == "ops@example.com"
    assert record["trap_receivers"] == ["192.0.2.7", "192.0.2.8:1162"]
    events = logged_in.get("/logs/events").get_data(as_text=True)
    assert "Settings of SNMP changed: Contact" in events


MOVED = "SNMP v3 users are at /api/v1/snmp/users now"
BAD = [
    ({"v3_user": "nms"}, "v3_user", MOVED),
    ({"v3_auth_key": "auth-s3cret"}, "v3_auth_key", MOVED),
    ({"v3_authentication": "SHA"}, "v3_authentication", MOVED),
    (
        {"version": "v3", "trap_receivers": ["192.0.2.1"]},
        "trap_receivers",
        "Add an SNMP v3 user that sends traps first",
    ),
    ({"trap_receivers": ["nms.invalid"]}, "trap_receivers", "Receiver 1: the name does not"),
    ({"trap_receivers": ["192.0.2.1:0"]}, "trap_receivers", "Receiver 1: write a host"),
    ({"trap_receivers": ["a b"]}, "trap_receivers", "Receiver 1: enter a host name"),
    ({"trap_receivers": "192.0.2.1"}, "trap_receivers", "Must be a list."),
    ({"trap_receivers": ["::1", ""]}, "trap_receivers", "Receiver 2: write a host"),
    ({"trap_receivers": [162]}, "trap_receivers", "Receiver 1: write a host"),
    ({"port": 0}, "port", "Enter a port from 1 to 65535."),
    ({"port": "161"}, "port", "Must be a number."),
    ({"version": "v2"}, "version", "Choose one of: off, v1_v2c, v3."),
    ({"version": "v1_v2c"}, "read_community", "Enter the community"),
    ({"read_community": "a b"}, "read_community", "A community has no spaces."),
    ({"sys_location": 'Hall "A"'}, "sys_location", "No line breaks, quotes"),
    ({"sys_contact": "a\nb"}, "sys_contact", "No line breaks, quotes"),
    ({"v3_notification": "both"}, "v3_notification", "Choose one of: trap, inform."),
]


@pytest.mark.parametrize(("changes", "name", "message"), BAD)
def test_bad_input_is_refused_by_the_api_and_changes_nothing(
    admin_api, doorctl, changes, name, message
):
    before = doorctl.settings.get("snmp")
    answer = put(admin_api, **changes)
    assert answer.status_code == 400
    assert message in answer.json["fields"][name]
    assert doorctl.settings.get("snmp") == before
    assert doorctl.snmp.process is None


def page_error(page: str, name: str) -> str | None:
    found = re.search(rf'id="{name}-error"[^>]*>(?:<svg.*?</svg>)?(.*?)</small>', page, re.S)
    return found[1].strip() if found else None


def post(client, **fields):
    form = {"csrf_token": csrf_token(client, "/snmp"), "version": "off", "port": "161"}
    return client.post("/snmp", data={**form, **fields})


@pytest.mark.parametrize(
    ("fields", "name", "message"),
    [
        (
            {"version": "v3", "trap_receivers": "192.0.2.1"},
            "trap_receivers",
            "Add an SNMP v3 user that sends traps first",
        ),
        ({"trap_receivers": "nms.invalid"}, "trap_receivers", "Receiver 1: the name does not"),
        ({"port": "70000"}, "port", "Enter a port from 1 to 65535."),
    ],
)
def test_bad_input_on_the_page_shows_at_its_field(logged_in, doorctl, fields, name, message):
    before = doorctl.settings.get("snmp")
    answer = post(logged_in, **fields)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert message in (page_error(page, name) or "")
    assert doorctl.settings.get("snmp") == before


def test_the_network_page_leads_to_snmp(logged_in):
    page = logged_in.get("/network").get_data(as_text=True)
    assert re.search(r'<section id="network-snmp">.*href="/snmp"', page, re.S)
