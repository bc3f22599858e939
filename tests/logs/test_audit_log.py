"""Audit log: who changed what, when and from which address, through a page or the
API, and every login, failed login and logout; administrators only."""

from __future__ import annotations

import csv
import io
import os

import gevent.event
import pytest
from support import ROOT_PASSWORD, basic, csrf_token

FAR = {"REMOTE_ADDR": "192.0.2.7"}  # a client that is not the test's loopback


def entries(api, **query) -> list[dict]:
    answer = api.get("/api/v1/logs/audit", query_string=query)
    assert answer.status_code == 200, answer.json
    return answer.json["entries"]


def test_a_settings_save_on_the_page_names_the_user_and_the_address(logged_in, admin_api):
    token = csrf_token(logged_in, "/logs/events")
    form = {"csrf_token": token, "retention": "5000"}
    saved = logged_in.post("/logs/events/settings", data=form, environ_base=FAR)
    assert saved.status_code == 303
    change = entries(admin_api)[0]
    assert change["topic"] == "tns1:Configuration/Settings/Changed"
    assert (change["user"], change["address"], change["via"]) == ("root", "192.0.2.7", "web")
    assert change["what"] == "Settings of Event log changed: Events kept"
    page = logged_in.get("/logs/audit").get_data(as_text=True)
    assert "192.0.2.7" in page and "Settings of Event log changed: Events kept" in page


def test_a_settings_save_through_the_api_names_the_user_and_the_address(client, root):
    headers = basic(*root)
    answer = client.put(
        "/api/v1/event-log/settings", json={"retention": 6000}, headers=headers, environ_base=FAR
    )
    assert answer.status_code == 200
    change = client.get("/api/v1/logs/audit", headers=headers).json["entries"][0]
    assert (change["user"], change["address"], change["via"]) == ("root", "192.0.2.7", "api")


def test_users_and_access_data_changes_name_who_made_them(admin_api, operator_api):
    operator_api.post("/api/v1/cardholders", json={"name": "Ann Berg"})
    admin_api.post(
        "/api/v1/users", json={"username": "guard", "password": "pw 1", "role": "viewer"}
    )
    admin_api.delete("/api/v1/users/guard")
    found = {(e["topic"], e["user"]) for e in entries(admin_api)}
    assert ("tns1:Configuration/Cardholder/Changed", "operator1") in found
    assert ("tns1:Device/User/Added", "root") in found
    assert ("tns1:Device/User/Deleted", "root") in found


def test_failed_logins_appear_with_their_address(client, root, admin_api):
    for username in ("root", "nobody"):
        token = csrf_token(client)
        form = {"username": username, "password": "wrong", "csrf_token": token}
        assert client.post("/login", data=form, environ_base=FAR).status_code == 401
    failed = [e for e in entries(admin_api) if e["topic"] == "tns1:Device/User/LoginFailed"]
    assert [(e["user"], e["address"]) for e in failed] == [
        (None, "192.0.2.7"),
        ("root", "192.0.2.7"),
    ]
    assert failed[0]["what"] == "Failed login with an unknown user name from 192.0.2.7"
    assert failed[1]["what"] == "Failed login as root from 192.0.2.7"


def test_login_and_logout_appear_and_the_user_filter_finds_them(client, root, admin_api):
    token = csrf_token(client)
    form = {"username": "root", "password": ROOT_PASSWORD, "csrf_token": token}
    assert client.post("/login", data=form, environ_base=FAR).status_code == 303
    token = csrf_token(client, "/status")
    assert client.post("/logout", data={"csrf_token": token}, environ_base=FAR).status_code == 303
    mine = entries(admin_api, user="root")
    assert [e["topic"] for e in mine[:2]] == ["tns1:Device/User/Logout", "tns1:Device/User/Login"]
    assert {e["address"] for e in mine[:2]} == {"192.0.2.7"}
    assert entries(admin_api, user="somebody-else") == []


def test_the_csv_download_has_who_what_and_where(logged_in, admin_api):
    admin_api.put("/api/v1/event-log/settings", json={"retention": 7000})
    answer = logged_in.get("/logs/audit/download")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    change = next(r for r in rows if r["topic"] == "tns1:Configuration/Settings/Changed")
    assert (change["user"], change["address"], change["via"]) == ("root", "127.0.0.1", "api")


def test_the_csv_download_speaks_the_readers_language(logged_in, admin_api):
    # the rows are written on a thread: it must still know the request's language
    admin_api.put("/api/v1/event-log/settings", json={"retention": 7000})
    german = {"Accept-Language": "de"}
    shown = admin_api.get("/api/v1/logs/audit", headers=german).json["entries"][0]["what"]
    assert shown != entries(admin_api)[0]["what"]
    answer = logged_in.get("/logs/audit/download", headers=german)
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[0]["what"] == shown


def test_bad_filters_are_a_400_with_each_field(admin_api, logged_in):
    answer = admin_api.get("/api/v1/logs/audit?since=yesterday&limit=0")
    assert answer.status_code == 400
    assert set(answer.json["fields"]) == {"since", "limit"}
    page = logged_in.get("/logs/audit?since=yesterday")
    assert page.status_code == 400
    assert "“yesterday” is not a date and time" in page.get_data(as_text=True)


def test_only_administrators_read_the_audit_log(operator_api, logged_in):
    assert operator_api.get("/api/v1/logs/audit").status_code == 403
    assert logged_in.get("/logs/audit").status_code == 200


@pytest.mark.engine_apart
def test_a_change_the_engine_process_stores_names_who_asked_for_it(client, root, doorctl):
    """Readers are stored by the engine process: the web's user crosses the link (its
    event comes up the link after the answer, so the test awaits it)."""
    arrived = gevent.event.Event()
    doorctl.bus.subscribe(lambda event: arrived.set(), "tns1:Configuration/Reader")
    controller, line = os.openpty()
    body = {"id": "front", "protocol": "osdp", "port": os.ttyname(line), "address": 1}
    headers = basic(*root)
    try:
        added = client.post("/api/v1/readers", json=body, headers=headers, environ_base=FAR)
    finally:
        os.close(controller)
        os.close(line)
    assert added.status_code == 201, added.json
    assert arrived.wait(15)
    found = client.get("/api/v1/logs/audit", headers=headers).json["entries"]
    change = next(e for e in found if e["topic"].startswith("tns1:Configuration/Reader"))
    assert (change["user"], change["address"], change["via"]) == ("root", "192.0.2.7", "api")


def test_a_cardholder_import_names_who_imported(client, root):
    headers = {**basic(*root), "Content-Type": "text/csv"}
    csv_text = "name\nAnn Berg\nBo Lind\n"
    answer = client.post(
        "/api/v1/cardholders/import", data=csv_text, headers=headers, environ_base=FAR
    )
    assert answer.status_code == 200, answer.json
    found = client.get("/api/v1/logs/audit", headers=basic(*root)).json["entries"]
    imported = next(e for e in found if e["topic"] == "tns1:Configuration/Cardholder/Imported")
    assert (imported["user"], imported["address"]) == ("root", "192.0.2.7")
    assert imported["data"]["cardholders"] == 2
