"""First access: with no users everything leads to the page that sets root's password."""

from support import ROOT_PASSWORD, csrf_token


def test_pages_lead_to_setup_before_root_has_a_password(client):
    for path in ("/", "/status", "/users", "/login"):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["Location"] == "/setup"


def test_api_answers_403_naming_the_setup_page(client):
    response = client.get("/api/v1/device")
    assert response.status_code == 403
    assert "/setup" in response.json["error"]
    assert response.json["setup"] == "/setup"


def test_setup_page_warns_over_plain_http(client):
    page = client.get("/setup").get_data(as_text=True)
    assert 'id="plain-http-warning"' in page
    assert "clear text" in page
    https = client.get("/setup", base_url="https://localhost").get_data(as_text=True)
    assert 'id="plain-http-warning"' not in https


def test_setup_form_sets_root_and_logs_in(client, doorctl):
    token = csrf_token(client, "/setup")
    response = client.post(
        "/setup",
        data={"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
    assert [u.to_dict() for u in doorctl.users.list()] == [
        {"username": "root", "role": "administrator", "language": None}
    ]
    assert client.get("/status").status_code == 200
    assert client.get("/setup").headers["Location"] == "/login"


def test_setup_form_mismatch_is_reported_and_creates_nobody(client, doorctl):
    token = csrf_token(client, "/setup")
    response = client.post(
        "/setup", data={"password": "abc", "password_repeat": "abd", "csrf_token": token}
    )
    assert response.status_code == 422
    assert "The passwords don&#39;t match." in response.get_data(as_text=True)
    assert doorctl.users.count() == 0


def test_setup_form_without_csrf_token_is_refused(client, doorctl):
    response = client.post("/setup", data={"password": "abc", "password_repeat": "abc"})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert doorctl.users.count() == 0


def test_setup_api(client, doorctl):
    bad = client.post("/api/v1/setup", json={"password": "a" * 65, "password_repeat": "a" * 65})
    assert bad.status_code == 400
    assert "at most 64" in bad.json["fields"]["password"]
    ok = client.post("/api/v1/setup", json={"password": "pw", "password_repeat": "pw"})
    assert ok.status_code == 201
    assert ok.json == {"username": "root", "role": "administrator", "language": None}
    again = client.post("/api/v1/setup", json={"password": "pw2", "password_repeat": "pw2"})
    assert again.status_code == 409
    assert "already set" in again.json["error"]
    assert doorctl.users.authenticate("root", "pw")
