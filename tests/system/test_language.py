"""Language: pages come in the browser's preferred language among those doorctl has."""

from __future__ import annotations

import re

import pytest
from support import basic


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("sv-SE,de;q=0.5", "sv"),  # the first choice wins, though only its region differs
        ("fr,de-AT;q=0.8", "de"),  # a language we lack is passed over
        ("fr", "en"),
        ("", "en"),
    ],
)
def test_page_language_follows_the_browser(client, accept, expected):
    page = client.get("/setup", headers={"Accept-Language": accept}).get_data(as_text=True)
    assert re.search(r'<html lang="([a-z]+)"', page).group(1) == expected


def lang(page: str) -> str:
    return re.search(r'<html lang="([a-z]+)"', page).group(1)


def test_the_user_menu_keeps_a_language_with_the_user(logged_in, doorctl):
    """The user menu's form (no script needed): the choice outlives the browser's."""
    page = logged_in.get("/users").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"language": "de", "next": "/users", "csrf_token": token}
    answer = logged_in.post("/account/language", data=form)
    assert (answer.status_code, answer.headers["Location"]) == (303, "/users")
    assert doorctl.users.get("root").language == "de"
    german = logged_in.get("/users", headers={"Accept-Language": "sv"}).get_data(as_text=True)
    assert lang(german) == "de"
    assert ">Benutzer hinzufügen<" in german and ">Zutrittskontrolle<" in german
    form["language"] = ""  # back to the browser's language
    logged_in.post("/account/language", data=form)
    assert doorctl.users.get("root").language is None
    swedish = logged_in.get("/users", headers={"Accept-Language": "sv"}).get_data(as_text=True)
    assert lang(swedish) == "sv" and ">Lägg till användare<" in swedish


def test_the_user_menu_refuses_a_language_without_its_token(logged_in, doorctl):
    answer = logged_in.post("/account/language", data={"language": "de"})
    assert answer.status_code == 400
    assert doorctl.users.get("root").language is None


def test_a_bad_language_is_refused_naming_the_field(admin_api, doorctl):
    answer = admin_api.put("/api/v1/users/root", json={"language": "fr"})
    assert answer.status_code == 400
    assert answer.json["fields"] == {
        "language": "Choose one of: en, de, sv, or empty to follow the browser."
    }
    created = admin_api.post(
        "/api/v1/users", json={"username": "g", "password": "pw", "role": "viewer", "language": 7}
    )
    assert created.status_code == 400 and set(created.json["fields"]) == {"language"}
    assert [u.username for u in doorctl.users.list()] == ["root"]


def test_the_users_api_sets_and_clears_a_language(admin_api, doorctl):
    body = {"username": "g", "password": "pw", "role": "viewer", "language": "sv"}
    assert admin_api.post("/api/v1/users", json=body).json["language"] == "sv"
    assert admin_api.put("/api/v1/users/g", json={"role": "operator"}).json["language"] == "sv"
    assert admin_api.put("/api/v1/users/g", json={"language": None}).json["language"] is None
    assert admin_api.put("/api/v1/users/g", json={"language": "de"}).json["language"] == "de"
    assert admin_api.put("/api/v1/users/g", json={"language": ""}).json["language"] is None


def test_the_users_page_sets_a_users_language_and_says_what_is_wrong(logged_in, doorctl):
    doorctl.users.create("guard", "pw", "viewer")
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', logged_in.get("/users").get_data(as_text=True)
    ).group(1)
    form = {"role": "viewer", "language": "sv", "csrf_token": token}
    assert logged_in.post("/users/guard", data=form).status_code == 303
    assert doorctl.users.get("guard").language == "sv"
    refused = logged_in.post("/users/guard", data={**form, "language": "xx"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert re.search(r'data-field="language">.*?Choose one of: en, de, sv', page, re.S)
    assert doorctl.users.get("guard").language == "sv"


def test_api_errors_come_in_the_callers_language(client, root):
    headers = {**basic(*root), "Accept-Language": "de"}
    answer = client.put("/api/v1/users/root", json={"role": "viewer"}, headers=headers)
    assert answer.json["fields"] == {"role": "root kann nicht herabgestuft werden."}


def test_times_durations_and_numbers_follow_the_page_language(app):
    from doorctl.app import duration, localtime, number

    moment = 1_780_000_000.0  # 2026-05-28, whatever the device's time zone
    expected = {
        "en": ("May 28, 2026", "1 day 1 hr 1 min", "12,345.5"),
        "de": ("28.05.2026", "1 Tg. 1 Std. 1 Min.", "12.345,5"),
        "sv": ("28 maj 2026", "1 d 1 tim 1 min", "12\xa0345,5"),
    }
    for code, (day, span, figure) in expected.items():
        with app.test_request_context(headers={"Accept-Language": code}):
            assert localtime(moment).startswith(day), code
            assert duration(86400 + 3600 + 61) == span
            assert number(12345.5) == figure
            assert duration(7) in ("7 sec", "7 Sek.", "7 s")
