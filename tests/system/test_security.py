"""System > Security: brute-force blocking over the login form and HTTP Basic."""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import gevent
import pytest
from support import CSRF, basic, csrf_token, make_user

from doorctl.core.system.security import SECTION, blocking

WRONG = basic("root", "wrong password")
OTHER = {"REMOTE_ADDR": "127.0.0.2"}


@pytest.fixture
def events(doorctl):
    """Every event published from now on."""
    seen = []
    doorctl.bus.subscribe(seen.append)
    return seen


@pytest.fixture
def hashes(doorctl, monkeypatch):
    """How many passwords the appliance has hashed to check them."""
    count = [0]
    check = doorctl.users._check_password

    def counted(username, password):
        count[0] += 1
        return check(username, password)

    monkeypatch.setattr(doorctl.users, "_check_password", counted)
    return count


@pytest.fixture
def clock(doorctl, monkeypatch):
    """The blocking's clock, standing still until a test moves it on (a loaded machine
    must not spread a test's attempts over more than the manual's second)."""
    now = [1000.0]
    monkeypatch.setattr(doorctl.security.blocking, "_clock", lambda: now[0])
    return now


def configure(doorctl, **changes):
    doorctl.settings.update(SECTION, changes)


def topics(events, topic):
    return [e for e in events if e.topic == topic]


def login_form(client, password, **kw):
    token = csrf_token(client)
    data = {"username": "root", "password": password, "csrf_token": token}
    return client.post("/login", data=data, **kw)


def test_login_form_blocks_after_the_page_level_failures(
    client, root, doorctl, hashes, events, clock
):
    configure(doorctl, page_failures=3, device_failures=100, blocking_period=30)
    assert [login_form(client, "wrong").status_code for _ in range(3)] == [401] * 3
    refused = login_form(client, root[1])
    assert refused.status_code == 429
    assert 29 <= int(refused.headers["Retry-After"]) <= 30
    assert "Too many failed logins from your address" in refused.get_data(as_text=True)
    assert login_form(client, "wrong").status_code == 429
    assert hashes[0] == 3  # a blocked attempt costs no hash, right password or not
    block = topics(events, blocking.BLOCK_TOPIC)
    assert [(e.source, e.data["state"]) for e in block] == [({"address": "127.0.0.1"}, True)]
    failed = topics(events, blocking.FAILED_TOPIC)
    assert [e.data["method"] for e in failed] == ["form"] * 3


def test_other_addresses_keep_logging_in(client, root, doorctl, clock):
    configure(doorctl, page_failures=2)
    for _ in range(3):
        client.get("/api/v1/device", headers=WRONG)
    assert client.get("/api/v1/device", headers=basic(*root)).status_code == 429
    other = client.get("/api/v1/device", headers=basic(*root), environ_overrides=OTHER)
    assert other.status_code == 200


def test_basic_failures_are_events_and_block(client, root, doorctl, hashes, events, clock):
    configure(doorctl, page_failures=2, device_failures=100, blocking_period=1)
    answers = [client.get("/api/v1/device", headers=WRONG) for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 429]
    assert answers[2].headers["Retry-After"] == "1"
    assert answers[2].json == {
        "error": "Too many failed logins from your address: try again in 1 s.",
        "fields": {},
    }
    failed = topics(events, blocking.FAILED_TOPIC)
    assert [(e.source, e.data) for e in failed] == [
        ({"user": "root"}, {"address": "127.0.0.1", "method": "basic"})
    ] * 2
    assert hashes[0] == 2
    clock[0] += 1.1  # the blocking period ends: the block's end is an event
    assert client.get("/api/v1/device", headers=basic(*root)).status_code == 200
    assert [e.data["state"] for e in topics(events, blocking.BLOCK_TOPIC)] == [True, False]


def test_device_level_counts_failures_on_every_page(client, root, doorctl, clock):
    configure(doorctl, page_failures=100, device_failures=3)
    paths = ["/api/v1/device", "/api/v1/doors", "/api/v1/users"]
    assert [client.get(p, headers=WRONG).status_code for p in paths] == [401] * 3
    assert client.get("/api/v1/alarms", headers=WRONG).status_code == 429


def test_blocking_off_never_blocks(client, root, doorctl, clock):
    configure(doorctl, blocking=False, page_failures=1, device_failures=1)
    answers = [client.get("/api/v1/device", headers=WRONG).status_code for _ in range(4)]
    assert answers == [401] * 4


def test_a_flood_of_failures_is_summarised(client, root, doorctl, events, monkeypatch, clock):
    # The summary is due FLOOD_SECONDS of real time after the flood's first surplus
    # failure: long enough for the rest of the flood on a loaded machine.
    monkeypatch.setattr(blocking, "FLOOD_SECONDS", 4.0)
    configure(doorctl, blocking=False)
    for _ in range(blocking.FLOOD_EVENTS + 4):
        client.get("/api/v1/device", headers=WRONG)
    assert len(topics(events, blocking.FAILED_TOPIC)) == blocking.FLOOD_EVENTS
    deadline = time.monotonic() + 10  # the flood's seconds end: one event tells the rest
    while len(topics(events, blocking.FAILED_TOPIC)) == blocking.FLOOD_EVENTS:
        assert time.monotonic() < deadline, "no summary of the flood"
        gevent.sleep(0.1)
    failed = topics(events, blocking.FAILED_TOPIC)
    assert len(failed) == blocking.FLOOD_EVENTS + 1
    assert failed[-1].data == {
        "address": "127.0.0.1",
        "method": "basic",
        "failures": 4,
        "summary": True,
    }


def test_head_of_the_login_page_checks_no_password(client, root, hashes, events):
    response = client.open("/login", method="HEAD", data={"username": "root", "password": "x"})
    assert response.status_code == 200
    assert hashes[0] == 0
    assert not topics(events, blocking.FAILED_TOPIC)


def test_settings_over_the_api_with_errors_per_field(admin_api):
    stored = admin_api.get("/api/v1/security").json
    assert stored["blocking"] is True
    assert stored["page_failures"] >= 1
    bad = admin_api.put(
        "/api/v1/security", json={"blocking_period": 0, "page_failures": "x", "blocking": 1}
    )
    assert bad.status_code == 400
    assert set(bad.json["fields"]) == {"blocking_period", "page_failures", "blocking"}
    done = admin_api.patch("/api/v1/security", json={"blocking_period": 60})
    assert done.json["blocking_period"] == 60


def test_settings_page_saves_and_shows_errors(logged_in):
    page = logged_in.get("/security").get_data(as_text=True)
    assert "Prevent brute-force attacks" in page
    token = csrf_token(logged_in, "/security")
    form = {"csrf_token": token, "blocking": "y", "blocking_period": "0", "page_failures": "3"}
    refused = logged_in.post("/security", data={**form, "device_failures": "10"})
    assert refused.status_code == 422
    assert 'data-field="blocking_period"' in refused.get_data(as_text=True)
    saved = logged_in.post(
        "/security", data={**form, "blocking_period": "5", "device_failures": "9"}
    )
    assert saved.status_code == 303
    assert logged_in.get("/api/v1/security").json["device_failures"] == 9


def _basic_call(url: str, auth: dict, source: str = "127.0.0.1") -> int:
    """One GET over real HTTP from a chosen loopback address; its status."""
    return _basic_answer(url, auth, source)[0]


def _basic_answer(url: str, auth: dict, source: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=auth)
    handler = _SourceHandler(source)
    try:
        with urllib.request.build_opener(handler).open(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class _SourceHandler(urllib.request.HTTPHandler):
    """Connect from a given loopback address (127.0.0.2 is another client)."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def http_open(self, req):
        source = self.source

        class Connection(http.client.HTTPConnection):
            def __init__(self, host, **kw):
                super().__init__(host, source_address=(source, 0), **kw)

        return self.do_open(Connection, req)


def test_twenty_threads_at_once_reach_few_hashes(served):
    served.call("POST", "/api/v1/setup", {"password": "pw", "password_repeat": "pw"}, auth=None)
    url = served.url + "/api/v1/device"
    answers: list[int] = []

    def attack():
        answers.extend(_basic_call(url, basic("root", "wrong")) for _ in range(5))

    threads = [threading.Thread(target=attack) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers.count(401) <= 3  # the default page level; the rest never reached a hash
    assert answers.count(429) == 100 - answers.count(401)
    assert _basic_call(url, basic("root", "pw")) == 429
    assert _basic_call(url, basic("root", "pw"), source="127.0.0.2") == 200
    url = served.url + "/api/v1/events?topic=tns1:Device/Security/BruteForceBlock"
    status, body = _basic_answer(url, basic("root", "pw"), "127.0.0.2")
    blocks = json.loads(body)["events"]
    assert [(e["source"], e["data"]["state"]) for e in blocks] == [({"address": "127.0.0.1"}, True)]


# --- IP address filter -----------------------------------------------------------------


def test_filter_allows_only_the_listed_addresses_on_every_request(client, root, doorctl):
    configure(doorctl, use_filter=True, policy="allow", addresses=["127.0.0.2"])
    for path in ("/login", "/api/v1/device", "/static/css/missing.css", "/no-such-page"):
        refused = client.get(path, headers=basic(*root))
        assert refused.status_code == 403, path
    assert "IP address filter" in client.get("/api/v1/device").json["error"]
    allowed = client.get("/api/v1/device", headers=basic(*root), environ_overrides=OTHER)
    assert allowed.status_code == 200


@pytest.mark.parametrize(
    ("policy", "addresses", "client_address", "admitted"),
    [
        ("deny", ["127.0.0.0/30"], "127.0.0.1", False),
        ("deny", ["127.0.0.0/30"], "127.0.0.5", True),
        ("allow", ["2001:db8::/32", "::1"], "2001:db8::5", True),
        ("allow", ["2001:db8::/32", "::1"], "2001:db9::5", False),
        ("allow", ["192.0.2.0/24"], "::ffff:192.0.2.7", True),
        ("deny", ["fe80::/10"], "fe80::1%eth0", False),
    ],
)
def test_policy_ranges_and_ipv6(client, root, doorctl, policy, addresses, client_address, admitted):
    configure(doorctl, use_filter=True, policy=policy, addresses=addresses)
    address = {"REMOTE_ADDR": client_address}
    response = client.get("/api/v1/device", headers=basic(*root), environ_overrides=address)
    assert (response.status_code == 200) is admitted


def test_a_filter_that_shuts_out_its_maker_is_refused(admin_api, doorctl):
    refused = admin_api.put(
        "/api/v1/security", json={"use_filter": True, "addresses": ["127.0.0.2"]}
    )
    assert refused.status_code == 400
    assert "would shut out your own address 127.0.0.1" in refused.json["fields"]["addresses"]
    denied = admin_api.patch(
        "/api/v1/security",
        json={"use_filter": True, "policy": "deny", "addresses": ["127.0.0.0/8"]},
    )
    assert "your own address 127.0.0.1" in denied.json["fields"]["addresses"]
    assert doorctl.settings.get(SECTION)["use_filter"] is False
    kept = admin_api.put(
        "/api/v1/security", json={"use_filter": True, "addresses": ["127.0.0.0/8"]}
    )
    assert kept.status_code == 200
    assert kept.json["addresses"] == ["127.0.0.0/8"]


def test_bad_addresses_are_named(admin_api):
    bad = admin_api.put("/api/v1/security", json={"addresses": ["10.0.0.0/8", "10.0.0.300"]})
    assert bad.status_code == 400
    assert bad.json["fields"]["addresses"].startswith("'10.0.0.300' is not an address")
    wrong_type = admin_api.put("/api/v1/security", json={"addresses": "10.0.0.1", "policy": "x"})
    assert set(wrong_type.json["fields"]) == {"addresses", "policy"}


def test_the_page_refuses_shutting_out_its_maker(logged_in):
    token = csrf_token(logged_in, "/security")
    form = {"csrf_token": token, "blocking": "y", "blocking_period": "30", "page_failures": "3"}
    form |= {"device_failures": "10", "use_filter": "y", "policy": "allow"}
    refused = logged_in.post("/security", data={**form, "addresses": "127.0.0.2\n::1"})
    assert refused.status_code == 422
    assert "would shut out your own address 127.0.0.1" in refused.get_data(as_text=True)
    saved = logged_in.post("/security", data={**form, "addresses": "127.0.0.1\n::1"})
    assert saved.status_code == 303
    assert logged_in.get("/api/v1/security").json["addresses"] == ["127.0.0.1", "::1"]


def test_filter_over_real_http(served):
    served.call("POST", "/api/v1/setup", {"password": "pw", "password_repeat": "pw"}, auth=None)
    body = {"use_filter": True, "policy": "allow", "addresses": ["127.0.0.1/32"]}
    served.call("PUT", "/api/v1/security", body, auth=("root", "pw"))
    url = served.url + "/api/v1/device"
    assert _basic_call(url, basic("root", "pw")) == 200
    status, answer = _basic_answer(url, basic("root", "pw"), "127.0.0.2")
    assert status == 403
    assert "IP address filter" in json.loads(answer)["error"]


# --- Connected clients -----------------------------------------------------------------


def _open(served, source: str, path: str) -> http.client.HTTPConnection:
    """A kept-open connection from `source` that made one request as root."""
    host, port = served.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), 10, (source, 0))
    connection.request("GET", path, headers=basic("root", "pw"))
    return connection


def _clients(served) -> list[dict]:
    url = served.url + "/api/v1/network/clients"
    return json.loads(_basic_answer(url, basic("root", "pw"), "127.0.0.2")[1])


def test_connected_clients_over_real_http(served):
    served.call("POST", "/api/v1/setup", {"password": "pw", "password_repeat": "pw"}, auth=None)
    kept = _open(served, "127.0.0.1", "/api/v1/device")
    kept.getresponse().read()
    stream = _open(served, "127.0.0.3", "/api/v1/events/stream")
    assert stream.getresponse().status == 200
    clients = {c["address"]: c for c in _clients(served)}
    assert clients["127.0.0.1"]["user"] == "root"
    assert clients["127.0.0.1"]["protocol"] == "http"
    assert clients["127.0.0.1"]["event_streams"] == 0
    assert clients["127.0.0.1"]["last_request"] >= clients["127.0.0.1"]["since"]
    assert clients["127.0.0.3"]["event_streams"] == 1
    assert clients["127.0.0.2"]["connections"] == 1  # the caller itself
    kept.close()
    for _ in range(50):
        if "127.0.0.1" not in {c["address"] for c in _clients(served)}:
            break
        time.sleep(0.1)
    assert "127.0.0.1" not in {c["address"] for c in _clients(served)}
    stream.close()


def test_login_form_blocks_over_real_http(served):
    served.call("POST", "/api/v1/setup", {"password": "pw", "password_repeat": "pw"}, auth=None)
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with browser.open(served.url + "/login", timeout=10) as page:
        token = CSRF.search(page.read().decode()).group(1)

    def log_in(password: str) -> tuple[int, str | None, str]:
        form = {"username": "root", "password": password, "csrf_token": token}
        try:
            with browser.open(served.url + "/login", urllib.parse.urlencode(form).encode()) as done:
                return done.status, None, ""
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Retry-After"), error.read().decode()

    # at once, so that a loaded machine can't spread them over more than a second
    threads = [threading.Thread(target=lambda: answers.append(log_in("no"))) for _ in range(6)]
    answers: list = []
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a[0] for a in answers) == [401, 401, 401, 429, 429, 429]
    status, retry_after, page = log_in("pw")
    assert status == 429
    assert 25 <= int(retry_after) <= 30
    assert f"Too many failed logins from your address: try again in {retry_after} s." in page


def change_own_password(client, old: str, token: str):
    form = {"old_password": old, "password": "fresh one", "password_repeat": "fresh one"}
    return client.post("/account/password", data={**form, "csrf_token": token})


def test_guessing_the_current_password_on_the_page_gets_blocked(
    client, root, doorctl, hashes, events, clock
):
    configure(doorctl, page_failures=3, device_failures=100, blocking_period=30)
    viewer = make_user(doorctl, "viewer")
    token = csrf_token(client)
    client.post("/login", data={"username": viewer[0], "password": viewer[1], "csrf_token": token})
    token = csrf_token(client, "/account/password")
    wrong = [change_own_password(client, "guess", token).status_code for _ in range(3)]
    assert wrong == [422] * 3
    assert change_own_password(client, "guess", token).status_code == 429
    refused = change_own_password(client, viewer[1], token)
    assert refused.status_code == 429
    assert 29 <= int(refused.headers["Retry-After"]) <= 30
    assert "Too many failed logins from your address" in refused.get_data(as_text=True)
    assert 'id="change-password"' in refused.get_data(as_text=True), "said on the page"
    assert hashes[0] == 4  # the login, then three guesses; the blocked ones cost none
    assert doorctl.users.authenticate(*viewer) is not None, "the password is unchanged"
    failed = topics(events, blocking.FAILED_TOPIC)
    assert [(e.source, e.data["method"]) for e in failed] == [
        ({"user": viewer[0]}, "password change")
    ] * 3


def test_guessing_the_current_password_over_the_api_gets_blocked(client, root, doorctl, clock):
    configure(doorctl, page_failures=3, device_failures=100, blocking_period=30)
    viewer = make_user(doorctl, "viewer")
    url, auth = "/api/v1/account/password", basic(*viewer)
    guesses = [
        client.put(url, json={"old_password": "guess", "password": "new"}, headers=auth)
        for _ in range(3)
    ]
    assert [g.status_code for g in guesses] == [400] * 3
    guess = client.put(url, json={"old_password": "guess", "password": "new"}, headers=auth)
    assert guess.status_code == 429
    right = client.put(url, json={"old_password": viewer[1], "password": "new"}, headers=auth)
    assert right.status_code == 429
    assert right.headers["Retry-After"] == "30"
    assert doorctl.users.authenticate(*viewer) is not None, "the password is unchanged"


def test_a_wrong_basic_password_sent_with_a_session_cookie_counts_once(
    logged_in, doorctl, hashes, events, clock
):
    """Basic credentials take precedence over the cookie, and are checked once."""
    before = hashes[0]
    assert logged_in.get("/api/v1/device", headers=WRONG).status_code == 401
    assert hashes[0] - before == 1
    assert len(topics(events, blocking.FAILED_TOPIC)) == 1


def test_flood_windows_of_many_addresses_do_not_pile_up(client, root, doorctl, clock, monkeypatch):
    monkeypatch.setattr(blocking, "MAX_ADDRESSES", 3)
    configure(doorctl, blocking=False)
    for n in range(8):
        clock[0] += blocking.FLOOD_SECONDS + 1  # each address's window has ended
        client.get("/api/v1/device", headers=WRONG, environ_base={"REMOTE_ADDR": f"10.0.0.{n}"})
    assert len(doorctl.security.blocking._floods) <= 4
