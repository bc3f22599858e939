"""`doorctl serve`: one gevent process that prints its URL and stops cleanly."""

import json
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from support import REPO, ROOT_PASSWORD, basic, start_served


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return response.status, response.read()


def test_serve_prints_its_url_serves_and_stops_on_sigterm(tmp_path):
    server = start_served(tmp_path / "data")
    assert server.url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(
        server.url + "/api/v1/setup",
        data=json.dumps({"password": "pw", "password_repeat": "pw"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert urllib.request.urlopen(request, timeout=5).status == 201  # noqa: S310
    assert (tmp_path / "data" / "doorctl.sqlite3").exists()
    assert server.stop(signal.SIGTERM) == 0
    assert "stopping" in server.stderr


def test_serve_stops_on_sigint(tmp_path):
    server = start_served(tmp_path / "data")
    assert server.stop(signal.SIGINT) == 0


def test_auto_hardware_says_which_it_picked(tmp_path):
    server = start_served(tmp_path / "data", "--hardware", "auto")
    server.stop()
    assert "hardware auto: picked sim" in server.stderr


def test_options_come_from_the_environment(tmp_path):
    env_dir = tmp_path / "from-env"
    process = subprocess.Popen(
        [sys.executable, "-m", "doorctl", "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={
            "DOORCTL_DATA_DIR": str(env_dir),
            "DOORCTL_HOST": "127.0.0.1",
            "DOORCTL_PORT": "0",
            "DOORCTL_HTTPS_PORT": "0",
            "DOORCTL_HARDWARE": "sim",
            "PATH": "/usr/bin:/bin",
        },
    )
    line = process.stdout.readline()
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=10)
    assert "serving on http://127.0.0.1:" in line
    assert (env_dir / "doorctl.sqlite3").exists()


def test_bad_option_is_a_clear_usage_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "doorctl", "serve", "--hardware", "arduino"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=20,
    )
    assert result.returncode == 2
    assert "invalid choice: 'arduino'" in result.stderr
    assert "Traceback" not in result.stderr


def raw_answer(url: str, request: bytes) -> bytes:
    """Send a raw request and read the answer until the server closes."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_malformed_requests_get_a_short_answer_that_names_no_software(tmp_path):
    server = start_served(tmp_path / "data")
    normal = raw_answer(server.url, b"GET /api/v1/doors/1 HTTP/1.1\r\nConnection: close\r\n\r\n")
    garbage = raw_answer(server.url, b"GARBAGE\r\n\r\n")
    many = b"".join(b"X-%d: 1\r\n" % i for i in range(200))
    too_many = raw_answer(server.url, b"GET / HTTP/1.1\r\n" + many + b"\r\n")
    too_long = raw_answer(server.url, b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
    server.stop()
    assert garbage.startswith(b"HTTP/1.1 400 ") and garbage.endswith(b"Bad request.")
    assert too_many.startswith(b"HTTP/1.1 431 ") and too_long.startswith(b"HTTP/1.1 431 ")
    for answer in (normal, garbage, too_many, too_long):
        head = answer.split(b"\r\n\r\n")[0].lower()
        assert b"python" not in answer.lower() and b"gevent" not in answer.lower()
        assert b"\r\nserver:" not in head
    assert "Traceback" not in server.stderr
    assert "bad request from 127.0.0.1: got more than 100 headers" in server.stderr


def test_bodies_arrive_whole_chunked_or_not_and_a_too_large_one_is_refused(tmp_path):
    server = start_served(tmp_path / "data")
    body = json.dumps({"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[:7], body[7:])) + b"0\r\n\r\n"
    head = b"POST /api/v1/setup HTTP/1.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
    chunked = raw_answer(server.url, head + b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
    huge = raw_answer(server.url, head + b"Content-Length: 999999999\r\n\r\n{")
    server.stop()
    assert chunked.startswith(b"HTTP/1.1 201 ")
    assert huge.startswith(b"HTTP/1.1 413 ") and b'"error"' in huge


def slow_login(url: str, source: str) -> socket.socket:
    """A client from `source` that sends a login form's head, then never all of its body."""
    host, port = url.removeprefix("http://").split(":")
    connection = socket.socket()
    connection.bind((source, 0))
    connection.connect((host, int(port)))
    connection.sendall(
        b"POST /login HTTP/1.1\r\nHost: doorctl\r\nContent-Length: 64\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\nuser"
    )
    return connection


def trickle(connection: socket.socket) -> str | None:
    """One more byte of the body; or how the server ended the connection (its status)."""
    try:
        if not select.select([connection], [], [], 0)[0]:
            connection.send(b"x")
            return None
        return connection.recv(65536)[9:12].decode() or "closed"
    except (ConnectionResetError, BrokenPipeError):
        return "reset"


def test_slow_clients_neither_stall_the_appliance_nor_stay_connected(tmp_path):
    limits = {"DOORCTL_REQUEST_TIMEOUT": "1", "DOORCTL_CONNECTIONS_PER_CLIENT": "8"}
    server = start_served(tmp_path / "data", env=limits)
    password = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    server.call("POST", "/api/v1/setup", password, auth=None)
    viewer = {"username": "viewer1", "password": "viewer password", "role": "viewer"}
    server.call("POST", "/api/v1/users", viewer)
    slow = [slow_login(server.url, "127.0.0.2") for _ in range(20)]
    ended: dict[int, str] = {}
    doors = []
    for _ in range(16):  # four seconds: four request timeouts
        for number, connection in enumerate(slow):
            if number not in ended and (status := trickle(connection)):
                ended[number] = status
        doors.append(server.call("GET", "/api/v1/doors/1", auth=("viewer1", "viewer password")))
        time.sleep(0.25)
    server.stop()
    for connection in slow:
        connection.close()
    assert [door["id"] for door in doors] == [1] * 16, "the viewer was answered every time"
    assert len(ended) == 20, "every slow connection was closed"
    assert {"408", "503"} <= set(ended.values()) <= {"408", "503", "closed", "reset"}


def test_requests_waiting_for_the_disk_leave_the_appliance_to_others(tmp_path):
    """Writes waiting for a database lock another process holds do no work on the hub:
    a viewer is still answered while more of them wait than there are places."""
    server = start_served(tmp_path / "data")
    password = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    server.call("POST", "/api/v1/setup", password, auth=None)
    viewer = {"username": "viewer1", "password": "viewer password", "role": "viewer"}
    server.call("POST", "/api/v1/users", viewer)
    lock = sqlite3.connect(tmp_path / "data" / "doorctl.sqlite3", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # as a backup or an import holding the database
    created: list[dict] = []
    writes = [
        threading.Thread(target=lambda n=n: created.append(add_cardholder(server, n)))
        for n in range(5)
    ]
    for write in writes:
        write.start()
    time.sleep(1)  # the writes are in, waiting for the lock
    try:  # answered at all within 5 s, while SQLite would let the writes wait 10 s
        door = call(server, "GET", "/api/v1/doors/1", ("viewer1", "viewer password"), timeout=5)
        done_before = len(created)
    except (TimeoutError, urllib.error.URLError) as error:
        door = {"error": str(error)}
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    for write in writes:
        write.join(30)
    server.stop()
    assert door.get("id") == 1, f"the viewer was answered: {door}"
    assert done_before == 0, "the writes were still waiting for the lock"
    assert sorted(holder["name"] for holder in created) == [f"Holder {n}" for n in range(5)]


def add_cardholder(server, number: int) -> dict:
    """A configuration write; the new cardholder, once the store has it (201)."""
    body = {"name": f"Holder {number}"}
    return call(server, "POST", "/api/v1/cardholders", ("root", ROOT_PASSWORD), body, 201, 30)


def call(server, method, path, auth, body=None, status=200, timeout=10.0) -> dict:
    """A REST call with its own timeout; the JSON answer, which must come with `status`."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **basic(*auth)}
    request = urllib.request.Request(server.url + path, data, headers, method=method)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback
        assert response.status == status
        return json.loads(response.read())
