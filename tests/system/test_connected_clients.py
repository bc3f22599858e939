"""System > Network > Connected clients: an administrator ends one browser's session on
the real `doorctl serve`; the cookie stops working at once, other sessions go on."""

from __future__ import annotations

import http.client
import re
from urllib.parse import urlencode

import pytest
from support import CSRF, ROOT_PASSWORD, basic

SESSION_ENDED = "tns1:Device/User/SessionEnded"


class Browser:
    """One kept-open connection with its own session cookie, like a browser tab."""

    def __init__(self, served, source: str):
        host, port = served.url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), 10, (source, 0))
        self.cookie = ""

    def get(self, path: str) -> tuple[int, str]:
        return self._send("GET", path)

    def log_in(self, username: str, password: str) -> None:
        token = CSRF.search(self.get("/login")[1]).group(1)
        form = {"username": username, "password": password, "csrf_token": token}
        status, _ = self._send("POST", "/login", urlencode(form))
        assert status == 303

    def _send(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body, headers)
        answer = self.connection.getresponse()
        text = answer.read().decode()
        cookie = answer.getheader("Set-Cookie")
        if cookie:
            self.cookie = re.match(r"([^;]+)", cookie).group(1)
        return answer.status, text


@pytest.fixture
def browsers(served):
    """Browser(source) for the test; their connections closed after it."""
    made: list[Browser] = []

    def browser(source: str) -> Browser:
        made.append(Browser(served, source))
        return made[-1]

    yield browser
    for each in made:
        each.connection.close()


def clients(served, auth=("root", ROOT_PASSWORD)) -> list[dict]:
    return served.call("GET", "/api/v1/network/clients", auth=auth)


def end(served, session: str, auth: tuple[str, str]) -> int:
    host, port = served.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), 10)
    headers = {"Content-Type": "application/json", **basic(*auth)}
    connection.request("DELETE", f"/api/v1/network/sessions/{session}", headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status


def test_an_administrator_ends_one_session_and_its_cookie_stops_working(served, browsers):
    body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    served.call("POST", "/api/v1/setup", body, auth=None)
    served.call(
        "POST", "/api/v1/users", {"username": "ann", "password": "ann pw", "role": "viewer"}
    )
    ann, other = browsers("127.0.0.5"), browsers("127.0.0.6")
    ann.log_in("ann", "ann pw")
    other.log_in("ann", "ann pw")
    assert ann.get("/api/v1/device")[0] == 200 and other.get("/api/v1/device")[0] == 200
    listed = {c["address"]: c for c in clients(served)}
    session = listed["127.0.0.5"]["session"]
    assert listed["127.0.0.5"]["user"] == "ann" and session
    assert session != listed["127.0.0.6"]["session"]
    assert end(served, session, ("ann", "ann pw")) == 403  # not an administrator
    stream = browsers("127.0.0.5")
    stream.cookie = ann.cookie
    stream.connection.request("GET", "/api/v1/events/stream", headers={"Cookie": ann.cookie})
    watching = stream.connection.getresponse()
    assert watching.status == 200
    assert end(served, session, ("root", ROOT_PASSWORD)) == 204
    stream.connection.sock.settimeout(5)
    assert SESSION_ENDED.encode() in watching.read()  # the stream tells it, then ends
    assert ann.get("/api/v1/device")[0] == 401
    assert ann.get("/status")[0] == 303  # to the login page
    assert other.get("/api/v1/device")[0] == 200  # the user's other session goes on
    assert end(served, "no-such-session", ("root", ROOT_PASSWORD)) == 404
    events = served.call("GET", f"/api/v1/events?topic={SESSION_ENDED}")["events"]
    assert [(e["source"], e["data"]["by"]) for e in events] == [({"user": "ann"}, "root")]


def test_the_network_page_ends_a_session(served, browsers):
    body = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    served.call("POST", "/api/v1/setup", body, auth=None)
    admin, victim = browsers("127.0.0.7"), browsers("127.0.0.8")
    admin.log_in("root", ROOT_PASSWORD)
    victim.log_in("root", ROOT_PASSWORD)
    assert victim.get("/status")[0] == 200
    status, page = admin.get("/network")
    assert status == 200 and "(this browser)" in page
    session = {c["address"]: c["session"] for c in clients(served)}["127.0.0.8"]
    token = CSRF.search(page).group(1)
    form = urlencode({"csrf_token": token, "session": session})
    assert admin._send("POST", "/network/sessions/end", form)[0] == 303
    assert "The session is ended" in admin.get("/network")[1]
    assert victim.get("/status")[0] == 303
