"""Users (manual: "Users"): the rules of the page and of /api/v1/users."""

import re

import pytest
from support import csrf_token

from doorctl.core.errors import Conflict, Forbidden, Invalid
from doorctl.core.system.users import MAX_USERS


def test_add_list_update_delete_over_rest(admin_api, doorctl):
    created = admin_api.post(
        "/api/v1/users", json={"username": "guard", "password": "pw 1", "role": "operator"}
    )
    assert created.status_code == 201
    assert created.json == {"username": "guard", "role": "operator", "language": None}
    assert admin_api.get("/api/v1/users").json == [
        {"username": "root", "role": "administrator", "language": None},
        {"username": "guard", "role": "operator", "language": None},
    ]
    updated = admin_api.put("/api/v1/users/guard", json={"role": "viewer", "password": "new"})
    assert updated.json == {"username": "guard", "role": "viewer", "language": None}
    assert doorctl.users.authenticate("guard", "new")
    assert not doorctl.users.authenticate("guard", "pw 1")
    assert admin_api.delete("/api/v1/users/guard").status_code == 204
    assert admin_api.get("/api/v1/users/guard").status_code == 404


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "Enter a password"),
        ("x" * 65, "65 characters long; at most 64"),
        ("pässword", "not allowed"),
        ("tab\there", "not allowed"),
        (12345, "Enter a password"),
    ],
)
def test_bad_passwords_are_refused_with_a_reason(admin_api, doorctl, password, message):
    response = admin_api.post(
        "/api/v1/users", json={"username": "guard", "password": password, "role": "viewer"}
    )
    assert response.status_code == 400
    assert message in response.json["fields"]["password"]
    assert doorctl.users.count() == 1


def test_passwords_of_1_and_64_printable_characters_are_allowed(doorctl, root):
    doorctl.users.create("one", "!", "viewer")
    doorctl.users.create("sixtyfour", " ~" * 32, "viewer")
    assert doorctl.users.authenticate("sixtyfour", " ~" * 32)


@pytest.mark.parametrize("username", ["", "has space", "a" * 33, "ünï", "semi;colon"])
def test_bad_usernames_say_which_characters_are_allowed(admin_api, username):
    response = admin_api.post(
        "/api/v1/users", json={"username": username, "password": "pw", "role": "viewer"}
    )
    assert response.status_code == 400
    assert "letters A-Z and a-z, digits 0-9, and . _ -" in response.json["fields"]["username"]


def test_unknown_role_is_refused(admin_api):
    response = admin_api.post(
        "/api/v1/users", json={"username": "x", "password": "pw", "role": "superuser"}
    )
    assert response.status_code == 400
    assert "administrator, operator or viewer" in response.json["fields"]["role"]


def test_duplicate_user_is_a_conflict(admin_api):
    body = {"username": "guard", "password": "pw", "role": "viewer"}
    assert admin_api.post("/api/v1/users", json=body).status_code == 201
    again = admin_api.post("/api/v1/users", json=body)
    assert again.status_code == 409
    assert again.json["fields"] == {"username": "A user named 'guard' exists already."}


def test_the_101st_user_is_refused(doorctl, root, admin_api):
    doorctl.users.create("user0", "pw", "viewer")
    query = "SELECT password_hash FROM users WHERE username = 'user0'"
    hashed = doorctl.store.execute(query).fetchone()[0]
    rows = [(f"user{n}", hashed) for n in range(1, MAX_USERS - 1)]
    insert = "INSERT INTO users (username, password_hash, role, created) VALUES (?, ?, 'viewer', 0)"
    doorctl.store.conn.executemany(insert, rows)
    assert doorctl.users.count() == MAX_USERS
    response = admin_api.post(
        "/api/v1/users", json={"username": "onemore", "password": "pw", "role": "viewer"}
    )
    assert response.status_code == 409
    assert "up to 100 users" in response.json["error"]
    assert doorctl.users.count() == MAX_USERS


def test_root_cannot_be_deleted_or_demoted(admin_api, doorctl):
    deleted = admin_api.delete("/api/v1/users/root")
    assert deleted.status_code == 403
    assert "can't delete the root user" in deleted.json["error"]
    demoted = admin_api.put("/api/v1/users/root", json={"role": "operator"})
    assert demoted.status_code == 403
    assert doorctl.users.get("root").role == "administrator"


def test_core_rules_raise_specific_errors(doorctl, root):
    with pytest.raises(Invalid):
        doorctl.users.create("a", "", "viewer")
    with pytest.raises(Forbidden):
        doorctl.users.delete("root")
    doorctl.users.create("a", "pw", "viewer")
    with pytest.raises(Conflict):
        doorctl.users.create("a", "pw", "viewer")


def test_rename_and_unknown_fields_are_refused(admin_api):
    admin_api.post("/api/v1/users", json={"username": "g", "password": "pw", "role": "viewer"})
    assert admin_api.put("/api/v1/users/g", json={"username": "h"}).status_code == 400
    assert admin_api.put("/api/v1/users/g", json={"colour": "red"}).json["fields"] == {
        "colour": "unknown field"
    }


def test_non_json_body_gets_a_clear_error(admin_api):
    response = admin_api.post("/api/v1/users", data="username=x", content_type="text/plain")
    assert response.status_code == 415
    assert "application/json" in response.json["error"]
    broken = admin_api.post("/api/v1/users", data="{not json", content_type="application/json")
    assert broken.status_code == 400
    assert "not a JSON object" in broken.json["error"]


def test_users_page_adds_a_user(logged_in, doorctl):
    token = csrf_token(logged_in, "/users")
    form = {"username": "guard", "password": "pw", "password_repeat": "pw", "role": "operator"}
    response = logged_in.post("/users", data={**form, "csrf_token": token})
    assert response.status_code == 303
    assert doorctl.users.get("guard").role == "operator"
    assert "User guard added." in logged_in.get("/users").get_data(as_text=True)


def test_users_page_reports_mismatched_retype_under_the_field(logged_in, doorctl):
    token = csrf_token(logged_in, "/users")
    form = {"username": "guard", "password": "pw", "password_repeat": "px", "role": "viewer"}
    response = logged_in.post("/users", data={**form, "csrf_token": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    add_form = page[page.index('id="add-user"') :]
    retype = re.search(r'data-field="password_repeat">.*?</div>', add_form, re.S).group(0)
    assert "The passwords don&#39;t match." in retype
    assert 'value="guard"' in page
    assert doorctl.users.count() == 1


def test_users_page_form_without_csrf_changes_nothing(logged_in, doorctl):
    form = {"username": "guard", "password": "pw", "password_repeat": "pw", "role": "viewer"}
    response = logged_in.post("/users", data=form)
    assert response.status_code == 400
    assert doorctl.users.count() == 1


def test_users_page_update_and_delete(logged_in, doorctl):
    doorctl.users.create("guard", "pw", "viewer")
    token = csrf_token(logged_in, "/users")
    logged_in.post("/users/guard", data={"role": "operator", "csrf_token": token})
    assert doorctl.users.get("guard").role == "operator"
    logged_in.post("/users/guard/delete", data={"csrf_token": token})
    assert [u.username for u in doorctl.users.list()] == ["root"]
    refused = logged_in.post("/users/root/delete", data={"csrf_token": token})
    assert refused.status_code == 403
    assert "can&#39;t delete the root user" in refused.get_data(as_text=True)
