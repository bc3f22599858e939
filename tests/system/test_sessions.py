"""Sessions end: logout, a new password or role ends every copy of a user's cookie; an
idle session ends; the CSRF token is new at login; every user changes their own password."""

from __future__ import annotations

import time

import pytest
from support import ROOT_PASSWORD, basic, csrf_token, make_user


def log_in(client, username: str, password: str):
    token = csrf_token(client)
    data = {"username": username, "password": password, "csrf_token": token}
    response = client.post("/login", data=data)
    assert response.status_code == 303
    return client


def saved_cookie(client) -> str:
    return client.get_cookie("session").value


def with_cookie(app, cookie: str):
    """Another browser that replays a saved session cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def test_a_cookie_saved_before_logout_no_longer_works(app, client, root):
    log_in(client, *root)
    cookie = saved_cookie(client)
    assert with_cookie(app, cookie).get("/status").status_code == 200
    token = csrf_token(client, "/status")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert with_cookie(app, cookie).get("/status").status_code == 303
    assert with_cookie(app, cookie).get("/api/v1/device").status_code == 401


@pytest.mark.parametrize("change", [{"password": "a new password"}, {"role": "viewer"}])
def test_a_new_password_or_role_ends_the_users_sessions(app, client, doorctl, root, change):
    operator = make_user(doorctl, "operator")
    log_in(client, *operator)
    cookie = saved_cookie(client)
    assert with_cookie(app, cookie).get("/doors").status_code == 200
    answer = app.test_client().put(
        f"/api/v1/users/{operator[0]}", json=change, headers=basic(*root)
    )
    assert answer.status_code == 200
    assert with_cookie(app, cookie).get("/doors").status_code == 303


def test_saving_the_same_role_keeps_the_sessions(app, client, doorctl, root):
    operator = make_user(doorctl, "operator")
    log_in(client, *operator)
    app.test_client().put(
        f"/api/v1/users/{operator[0]}", json={"role": "operator"}, headers=basic(*root)
    )
    assert client.get("/doors").status_code == 200


def test_an_administrator_changing_their_own_password_stays_logged_in(app, client, root):
    log_in(client, *root)
    elsewhere = with_cookie(app, saved_cookie(client))
    token = csrf_token(client, "/users")
    data = {"password": "another one", "password_repeat": "another one", "role": "administrator"}
    assert client.post("/users/root", data={**data, "csrf_token": token}).status_code == 303
    assert client.get("/users").status_code == 200
    assert elsewhere.get("/users").status_code == 303


def test_the_csrf_token_rotates_at_login(client, root):
    before = csrf_token(client)
    log_in(client, *root)
    after = csrf_token(client, "/status")
    assert after != before
    refused = client.post("/logout", data={"csrf_token": before})
    assert refused.status_code == 400
    assert client.get("/status").status_code == 200


def test_an_idle_session_ends(client, doorctl, root):
    log_in(client, *root)
    doorctl.settings.update("sessions", {"idle_timeout": 60})
    with client.session_transaction() as session:
        session["seen"] = time.time() - 59
    assert client.get("/status").status_code == 200  # in use: the clock starts again
    with client.session_transaction() as session:
        session["seen"] = time.time() - 61
    assert client.get("/status").status_code == 303


def test_the_idle_timeout_is_a_setting_with_limits(admin_api, logged_in):
    assert admin_api.get("/api/v1/session-settings").json == {"idle_timeout": 1800}
    wrong = admin_api.put("/api/v1/session-settings", json={"idle_timeout": 30})
    assert wrong.status_code == 400
    assert "60 to 86400" in wrong.json["fields"]["idle_timeout"]
    token = csrf_token(logged_in, "/users")
    page = logged_in.post("/session-settings", data={"idle_timeout": "5", "csrf_token": token})
    assert page.status_code == 422
    assert 'data-field="idle_timeout"' in page.get_data(as_text=True)
    saved = logged_in.post("/session-settings", data={"idle_timeout": "600", "csrf_token": token})
    assert saved.status_code == 303
    assert admin_api.get("/api/v1/session-settings").json == {"idle_timeout": 600}


def test_a_viewer_changes_their_own_password_on_the_page(app, client, doorctl, root):
    viewer = make_user(doorctl, "viewer")
    log_in(client, *viewer)
    elsewhere = with_cookie(app, saved_cookie(client))
    token = csrf_token(client, "/account/password")
    form = {"old_password": "wrong", "password": "fresh one", "password_repeat": "fresh one"}
    wrong = client.post("/account/password", data={**form, "csrf_token": token})
    assert wrong.status_code == 422
    assert "The current password is wrong." in wrong.get_data(as_text=True)
    form["old_password"] = viewer[1]
    assert client.post("/account/password", data={**form, "csrf_token": token}).status_code == 303
    assert client.get("/status").status_code == 200
    assert elsewhere.get("/status").status_code == 303
    assert doorctl.users.authenticate(viewer[0], "fresh one") is not None
    assert doorctl.users.authenticate(viewer[0], viewer[1]) is None


def test_a_user_changes_their_own_password_over_the_api(client, doorctl, root):
    viewer = make_user(doorctl, "viewer")
    url = "/api/v1/account/password"
    wrong = client.put(url, json={"old_password": "x", "password": "new"}, headers=basic(*viewer))
    assert wrong.status_code == 400
    assert wrong.json["fields"] == {"old_password": "The current password is wrong."}
    too_long = {"old_password": viewer[1], "password": "x" * 65}
    refused = client.put(url, json=too_long, headers=basic(*viewer))
    assert "at most 64" in refused.json["fields"]["password"]
    done = client.put(
        url, json={"old_password": viewer[1], "password": "new"}, headers=basic(*viewer)
    )
    assert done.json == {"username": viewer[0], "role": "viewer", "language": None}
    assert client.get("/api/v1/device", headers=basic(viewer[0], "new")).status_code == 200
    assert doorctl.users.authenticate("root", ROOT_PASSWORD) is not None
