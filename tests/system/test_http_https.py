"""System > Network > HTTP and HTTPS: settings per field, applied at run time to the real
`doorctl serve`, confirmed from the new address or reverted by themselves."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import time
import urllib.request
from contextlib import closing
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

import pytest
from support import (
    ROOT_PASSWORD,
    basic,
    csrf_token,
    free_port,
    require,
    start_served,
    start_set_up,
)

from doorctl.core.errors import Invalid

API = "/api/v1/network/http-https"
REVERTED = "tns1:Device/Network/HttpHttps/Reverted"
CONFIRM_SECONDS = 3


@pytest.fixture(autouse=True)
def device_certificate(request):
    """The device certificate `doorctl serve` makes at start, for the app's tests."""
    if "app" in request.fixturenames:
        request.getfixturevalue("doorctl").https.ensure_device_certificate()


@pytest.fixture
def short_confirm(app):
    """A change in the app waits a few seconds for its confirmation, not a minute."""
    app.extensions["doorctl"].http_https.confirm_seconds = CONFIRM_SECONDS
    yield
    app.extensions["doorctl"].http_https.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One appliance for the module, confirming within a few seconds; each test leaves
    it as it found it (reverted or confirmed back)."""
    data = tmp_path_factory.mktemp("http-https") / "data"
    server = start_set_up(data, "--confirm-seconds", str(CONFIRM_SECONDS))
    yield server
    server.stop()


def call(url: str, method: str = "GET", body=None) -> tuple[int, dict, bytes]:
    """A call as root over HTTP or HTTPS (the device's own certificate not checked),
    redirects not followed: status, headers, body."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **basic("root", ROOT_PASSWORD)}
    request = urllib.request.Request(url, data, headers, method=method)
    context = ssl._create_unverified_context()
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), NoRedirect())
    try:
        with opener.open(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except HTTPError as error:
        return error.code, dict(error.headers), error.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def base(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def wait_until(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def answers(url: str) -> bool:
    try:
        return call(url + "/api/v1/device")[0] == 200
    except (URLError, OSError):
        return False


# --- the settings, per field ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({"http_port": 0}, "http_port", "Enter 80 or a port from 1024 to 65535"),
        ({"http_port": 70000}, "http_port", "Enter 80 or a port from 1024 to 65535"),
        ({"https_port": "443"}, "https_port", "Must be a number"),
        ({"https_port": 8443.5}, "https_port", "whole number"),
        ({"http_port": 8080, "https_port": 8080}, "https_port", "must differ"),
        ({"protocols": "ftp"}, "protocols", "Choose one of: both, http, https"),
        ({"certificate": "nothing"}, "certificate", "no certificate nothing"),
        ({"privileged_ports": "yes"}, "privileged_ports", "true or false"),
    ],
)
def test_bad_settings_are_refused_per_field(admin_api, body, field, text):
    answer = admin_api.patch(API, json=body)
    assert answer.status_code == 400
    assert text in answer.json["fields"][field]
    assert admin_api.get(API).json["protocols"] == "both"


def test_a_port_below_1024_needs_the_warning_confirmed(admin_api, short_confirm):
    refused = admin_api.patch(API, json={"http_port": 81, "https_port": 444})
    assert refused.status_code == 400
    assert set(refused.json["fields"]) == {"http_port", "https_port"}
    assert '"privileged_ports": true' in refused.json["fields"]["http_port"]
    standard = admin_api.patch(API, json={"http_port": 80, "https_port": 443})
    assert standard.status_code == 200  # the manual's standard ports need no warning
    allowed = admin_api.patch(API, json={"http_port": 81, "privileged_ports": True})
    assert allowed.status_code == 202
    assert allowed.json["address"] == "http://localhost:81/"
    assert allowed.json["confirm"] == "http://localhost:81" + API + "/confirm"
    assert allowed.json["seconds"] == CONFIRM_SECONDS


def test_the_page_warns_before_a_port_below_1024(logged_in, short_confirm):
    token = csrf_token(logged_in, "/network")
    form = {"csrf_token": token, "protocols": "both", "http_port": "81", "https_port": "443"}
    form["certificate"] = "device-https"
    warned = logged_in.post("/network/http-https", data=form)
    page = warned.get_data(as_text=True)
    assert warned.status_code == 422
    assert 'id="privileged-warning"' in page and 'name="privileged_ports"' in page
    assert 'data-field="http_port"' in page
    moved = logged_in.post("/network/http-https", data={**form, "privileged_ports": "y"})
    page = moved.get_data(as_text=True)
    assert moved.status_code == 200
    assert 'data-address="http://localhost:81/network/confirm"' in page


def test_the_page_shows_each_bad_field_and_keeps_what_was_typed(logged_in):
    token = csrf_token(logged_in, "/network")
    form = {"csrf_token": token, "protocols": "both", "http_port": "http", "https_port": "99999"}
    refused = logged_in.post("/network/http-https", data={**form, "certificate": "device-https"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'data-field="http_port"' in page and 'data-field="https_port"' in page
    assert 'value="99999"' in page and 'value="http"' in page


def test_the_network_page_states_the_confirmation_time_and_is_for_administrators(
    logged_in, client, doorctl
):
    page = logged_in.get("/network").get_data(as_text=True)
    assert "within 60 seconds" in page and "Allow access through" in page
    assert "Connected clients" in page and '<option value="device-https" selected>' in page
    doorctl.users.create("viewer1", "viewer password", "viewer")
    viewer = client.get("/api/v1/network/http-https", headers=basic("viewer1", "viewer password"))
    assert viewer.status_code == 403


def test_the_certificates_page_names_the_https_certificate(logged_in):
    page = logged_in.get("/certificates").get_data(as_text=True)
    assert "HTTPS serves <strong>device-https</strong>" in page and 'href="/network"' in page


# --- applied at run time, to the real server ----------------------------------------------


def test_https_only_redirects_with_hsts_and_comes_back_unconfirmed(served):
    http, https = served.url, served.https_url
    status, headers, _ = call(https + "/api/v1/device")
    assert status == 200 and "Strict-Transport-Security" not in headers
    status, _, body = call(http + API, "PATCH", {"protocols": "https"})
    change = json.loads(body)
    assert status == 202 and change["address"] == https + "/"
    assert change["seconds"] == CONFIRM_SECONDS
    curl = require("curl", "curl")
    head = subprocess.run(
        [curl, "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", http + "/doors?a=1"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert head.stdout == f"308 {https}/doors?a=1", head.stderr
    status, headers, _ = call(https + "/api/v1/device")
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    assert wait_until(lambda: answers(http), CONFIRM_SECONDS + 5)
    assert "Strict-Transport-Security" not in call(https + "/api/v1/device")[1]
    events = json.loads(call(http + f"/api/v1/events?topic={REVERTED}")[2])["events"]
    assert "not confirmed within 3 s" in events[-1]["data"]["reason"]


def test_a_new_port_confirmed_from_the_new_address_is_kept_and_stored(served, tmp_path):
    old = served.url
    port = free_port()
    status, _, body = call(old + API, "PATCH", {"http_port": port})
    change = json.loads(body)
    new = f"http://127.0.0.1:{port}"
    assert status == 202 and change["confirm"] == new + API + "/confirm"
    assert answers(new) and not answers(old)
    status, _, confirmed = call(change["confirm"], "POST")
    assert status == 200 and json.loads(confirmed)["http_port"] == port
    time.sleep(CONFIRM_SECONDS + 0.5)
    assert answers(new) and not answers(old)
    again = call(new + API + "/confirm", "POST")
    assert again[0] == 409 and "No change" in json.loads(again[2])["error"]
    served.stop()
    restarted = start_served(served.data_dir)  # the command line says --port 0
    try:
        assert restarted.url == new
    finally:
        restarted.stop()
    again = start_served(served.data_dir, "--confirm-seconds", str(CONFIRM_SECONDS))
    served.process, served.url, served.https_url = again.process, again.url, again.https_url


def test_a_port_that_cannot_be_opened_is_refused_and_the_old_one_serves(served):
    with closing(socket.socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, _, body = call(served.url + API, "PATCH", {"https_port": port})
    assert status == 400
    message = json.loads(body)["fields"]["https_port"]
    assert message == f"Port {port} can't be opened: another program listens on it."
    assert answers(served.url) and answers(served.https_url)
    own = urlsplit(served.url).port
    status, _, body = call(served.url + API, "PATCH", {"protocols": "both", "https_port": own})
    assert status == 400 and "must differ" in json.loads(body)["fields"]["https_port"]


def test_confirming_through_the_old_protocol_is_refused(served):
    status, _, body = call(served.url + API, "PATCH", {"protocols": "http"})
    assert status == 202 and json.loads(body)["address"] == served.url + "/"
    assert not answers(served.https_url)  # HTTP only: HTTPS is closed at once
    status, _, body = call(served.url + API + "/confirm", "POST")
    assert status == 200
    status, _, body = call(served.url + API, "PATCH", {"protocols": "https"})
    assert status == 202
    refused = call(served.url + API + "/confirm", "POST")
    assert refused[0] == 308  # plain HTTP only redirects now
    https = json.loads(body)["address"].rstrip("/")
    assert call(https + API + "/confirm", "POST")[0] == 200
    status, _, body = call(https + API, "PATCH", {"protocols": "both"})
    assert call(served.url + API + "/confirm", "POST")[0] == 200


# --- confirm-or-revert, in the core ------------------------------------------------------


def test_a_second_change_keeps_the_first_settings_to_come_back_to(doorctl, short_confirm):
    http_https = doorctl.http_https
    serving: list[dict] = []
    http_https.on_change(serving.append)
    first = http_https.in_force
    http_https.change(http_https.validated({"http_port": 8081}))
    pending = http_https.change(http_https.validated({"http_port": 8082}))
    assert pending.old == first and pending.new["http_port"] == 8082
    assert http_https.change(http_https.validated({"http_port": first["http_port"]})) is None
    assert http_https.pending is None and http_https.in_force == first
    assert [r["http_port"] for r in serving] == [8081, 8082, first["http_port"]]
    assert doorctl.settings.get("https") == first  # nothing confirmed, nothing stored


def test_a_listener_that_cannot_open_leaves_the_settings_in_force(doorctl, short_confirm):
    http_https = doorctl.http_https
    before = http_https.in_force

    def refuse(record):
        raise Invalid({"https_port": "Port 8443 can't be opened: in use."})

    http_https.on_change(refuse)
    with pytest.raises(Invalid) as refused:
        http_https.change(http_https.validated({"https_port": 8443}))
    assert refused.value.fields == {"https_port": "Port 8443 can't be opened: in use."}
    assert http_https.in_force == before and http_https.pending is None
