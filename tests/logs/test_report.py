"""The server report (Logs > Reports and logs): what it holds, who may read it, and that
no secret the product holds, nor its hash, is ever in it."""

from __future__ import annotations

import json
import logging
import secrets

import pytest
from support import ApiClient, basic, csrf_token
from support_backup import make_backup, unit
from wtforms import PasswordField

from doorctl import __version__
from doorctl.core.logs import report
from doorctl.core.maintenance.backup import _key_pem
from doorctl.core.store import Store

REPORT = "/api/v1/logs/report"


def _unique(what: str) -> str:
    return f"{what}-{secrets.token_hex(8)}"


def declared_secrets(settings) -> dict[str, set[str]]:
    """Every settings field declared secret, by section: sealed at rest (`secrets=` at
    registration) or a password field of the section's form. A section added later
    (SNMP's communities and keys) is enumerated the same way, with no edit here."""
    found = {}
    for section, form_class in settings.sections.items():
        names = set(settings.secrets.get(section, ()))
        names |= {f.name for f in form_class() if isinstance(f, PasswordField)}
        if names:
            found[section] = names
    return found


def seed_declared(doorctl) -> list[str]:
    """A unique value in every declared secret field, stored sealed as a save stores it
    (no form's cross-field rule can refuse it)."""
    values = []
    settings = doorctl.settings
    for section, names in declared_secrets(settings).items():
        record = settings.get(section)
        for name in names:
            value = _unique(f"{section}-{name}")
            record[name] = doorctl.sealer.seal(value, f"{section}.{name}")
            values.append(value)
        stored = {k: v for k, v in record.items() if k not in names}
        stored |= {name: record[name] for name in names}
        doorctl.store.execute(
            "INSERT INTO settings (section, data) VALUES (?, ?) "
            "ON CONFLICT (section) DO UPDATE SET data = excluded.data",
            (section, json.dumps(stored)),
        )
    return values


def _hashes(data_dir) -> list[str]:
    """The password and PIN hashes as stored."""
    store = Store(data_dir)
    try:
        users = [r[0] for r in store.execute("SELECT password_hash FROM users")]
        pins = [r[0] for r in store.execute("SELECT pin_hash FROM credentials") if r[0]]
    finally:
        store.close()
    return users + pins


def _pem_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


@pytest.fixture
def seeded(tmp_path, line):
    """A unit holding one unique value of every secret the product keeps."""
    with unit(tmp_path / "data") as app:
        doorctl = app.extensions["doorctl"]
        root_password = _unique("root password")
        doorctl.users.set_root_password(root_password)
        api = ApiClient(app.test_client(), basic("root", root_password))
        plain = [root_password]
        for role in ("viewer", "operator", "administrator"):
            password = _unique(f"{role} password")
            body = {"username": f"{role}-1", "password": password, "role": role}
            assert api.post("/api/v1/users", body).status_code == 201
            plain.append(password)
        holder = api.post("/api/v1/cardholders", {"name": "Ann"}).json
        pin = str(secrets.randbelow(10**8)).zfill(8)
        assert api.post("/api/v1/credentials", {"cardholder_id": holder["id"], "pin": pin})
        plain.append(pin)
        key = secrets.token_hex(16)
        reader = {"id": "front", "port": line.path, "address": 1, "secure_channel": "required"}
        assert api.post("/api/v1/readers", {**reader, "secure_channel_key": key}).status_code == 201
        plain += [key, key.upper()]
        broker = _unique("broker password")
        client = {"host": "broker.example", "username": "door", "password": broker}
        assert api.put("/api/v1/mqtt/client", client).status_code == 200
        proxy_password = _unique("proxy password")
        proxy = {"host": "proxy.example", "login": "door", "password": proxy_password}
        assert api.put("/api/v1/proxy", proxy).status_code == 200
        plain += [broker, proxy_password]
        snmp_keys = [_unique("snmp auth key"), _unique("snmp privacy key")]
        snmp_user = {"name": "nms", "auth_key": snmp_keys[0], "privacy_key": snmp_keys[1]}
        assert api.post("/api/v1/snmp/users", snmp_user).status_code == 201
        plain += snmp_keys
        cert = {"id": "door-tls", "self_signed": {"common_name": "door"}}
        assert api.post("/api/v1/certificates", cert).status_code == 201
        pem = _key_pem(doorctl.certificates, "door-tls")
        plain += _pem_lines(pem)
        backup_password = _unique("backup password")
        make_backup(api, backup_password)
        plain.append(backup_password)
        plain += seed_declared(doorctl)
        yield api, doorctl, plain, _hashes(doorctl.data_dir)


def test_no_secret_nor_its_hash_is_in_the_report(seeded):
    api, doorctl, plain, hashes = seeded
    sections = declared_secrets(doorctl.settings)
    assert {"password"} <= sections["mqtt_client"] and {"password"} <= sections["proxy"]
    text = api.get(REPORT).get_data(as_text=True)
    data = api.get(REPORT + "?format=json").get_data(as_text=True)
    page = report.as_text(report.build(doorctl))
    for secret in plain + hashes:
        for shown in (text, data, page):
            assert secret not in shown
    assert "== Settings ==" in text and "mqtt_client.password: (secret, not shown)" in text
    assert "sealed:v1:" not in text + data


def test_a_secret_repeated_anywhere_is_scrubbed_by_its_value():
    secret = "broker-secret-123"
    key = "-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----"
    found = report.scrubbed(
        {"reason": f"login as door:{secret} refused", "k": [key], "s": "sealed:v1:AbC=="},
        [secret],
    )
    assert secret not in json.dumps(found) and "MIIEvQ" not in json.dumps(found)
    assert "sealed:v1" not in json.dumps(found)
    assert found["reason"] == "login as door:(secret removed) refused"


def test_the_report_holds_versions_state_network_time_and_the_logs(admin_api, doorctl):
    admin_api.put("/api/v1/doors/1/settings", {"name": "Front door"})
    assert admin_api.post("/api/v1/doors/1/release").status_code == 200
    probe = _unique("system log probe")
    logging.getLogger("doorctl.tests").warning("report %s", probe)
    text = admin_api.get(REPORT).get_data(as_text=True)
    for heading in ("Device info", "Versions", "Doors", "Readers", "Network", "Date and time"):
        assert f"== {heading} ==" in text
    assert f"doorctl: {__version__}" in text and "flask: " in text and "python: " in text
    assert "[1].name: Front door" in text and "[1].mode: " in text
    assert "[1].id: wiegand" in text
    assert "ip.current.interfaces" in text and "http_https.settings.protocols" in text
    assert "synchronization: " in text and "time_zone: " in text
    events = text.split("== Event log ==")[1]
    assert "tns1:Door/" in events
    system_log = text.split("== System log ==")[1].split("== Event log ==")[0]
    assert probe in system_log
    data = admin_api.get(REPORT + "?format=json").json
    assert data["versions"]["doorctl"] == __version__
    assert data["doors"][0]["name"] == "Front door"


def test_the_report_downloads_named_after_the_device_and_the_time(logged_in, doorctl):
    answer = logged_in.get("/logs/reports/server-report")
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    hostname = doorctl.device.to_dict()["hostname"]
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="doorctl-{hostname}-')
    assert disposition.endswith('-server-report.txt"')
    assert "== Settings ==" in answer.get_data(as_text=True)
    # the text is written on a thread: in the reader's language all the same
    german = logged_in.get("/logs/reports/server-report", headers={"Accept-Language": "de"})
    assert "== Einstellungen ==" in german.get_data(as_text=True)


def test_the_page_shows_the_report_and_links_the_logs(logged_in):
    page = logged_in.get("/logs/reports").get_data(as_text=True)
    assert 'id="report-text"' not in page
    for log_page in ("events", "access", "system", "audit"):
        assert f'href="/logs/{log_page}"' in page
    shown = logged_in.get("/logs/reports?view=1").get_data(as_text=True)
    assert 'id="report-text"' in shown and "== Device info ==" in shown


def test_only_an_administrator_reads_the_report(operator_api, viewer_api, client, doorctl):
    for api in (operator_api, viewer_api):
        assert api.get(REPORT).status_code == 403
    assert client.get(REPORT).status_code == 401


def test_a_format_it_does_not_know_is_named(admin_api):
    answer = admin_api.get(REPORT + "?format=xml")
    assert answer.status_code == 400
    assert answer.json["fields"] == {"format": "Choose one of: text, json."}


def test_reports_and_logs_is_in_the_menu(logged_in):
    csrf_token(logged_in)
    assert 'href="/logs/reports"' in logged_in.get("/status").get_data(as_text=True)
