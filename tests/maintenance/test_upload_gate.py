"""The firmware upload route writes its body to disk only for an administrator, one
upload at a time, with a declared length the disk has room for; the others are
answered from the headers, before any of the body is read."""

from __future__ import annotations

import json
import shutil
import socket
import time
from pathlib import Path

import gevent.socket
import pytest

from doorctl.core.maintenance import firmware as fw
from doorctl.server import Limits, Server
from tests.support import ROOT_PASSWORD, basic, start_set_up

UPGRADE = "/api/v1/firmware/upgrade"
LARGE = 200 * 1024 * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = start_set_up(tmp_path_factory.mktemp("upload") / "data")
    try:
        yield server
    finally:
        server.stop()


def head(length: int | None, headers: dict | None = None, path: str = UPGRADE) -> bytes:
    """The head of an upload of `length` bytes (chunked when None)."""
    lines = [f"POST {path} HTTP/1.1", "Host: doorctl", "Connection: close"]
    lines.append("Content-Type: application/octet-stream")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append("Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def answer_to(url: str, request: bytes) -> tuple[int, dict, dict]:
    """Send only `request` (no body follows) and read the answer to its end."""
    with connect(url) as client:
        client.sendall(request)
        return read_answer(client)


def read_answer(client) -> tuple[int, dict, dict]:
    data = b""
    while piece := client.recv(65536):
        data += piece
    head_part, _, body = data.partition(b"\r\n\r\n")
    lines = head_part.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body or b"null")


def incoming(served) -> list[Path]:
    return sorted(fw.incoming(fw.default_dir(served.data_dir)).glob("upload-*"))


def until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the timeout"
        time.sleep(0.02)


ADMIN = basic("root", ROOT_PASSWORD)


@pytest.mark.parametrize("headers", [{}, basic("root", "wrong password")])
def test_an_upload_without_an_administrator_is_refused_before_its_body(served, headers):
    status, _, answer = answer_to(served.url, head(LARGE, headers))
    assert status == 401, answer
    assert incoming(served) == []


def test_an_upload_without_a_declared_length_is_refused(served):
    status, _, answer = answer_to(served.url, head(None, ADMIN))
    assert status == 411
    assert "Content-Length" in answer["error"]
    assert incoming(served) == []


def test_a_second_upload_waits_for_the_first(served):
    with connect(served.url) as first:
        first.sendall(head(LARGE, ADMIN) + b"x" * 1024)
        until(lambda: len(incoming(served)) == 1)
        status, headers, answer = answer_to(served.url, head(LARGE, ADMIN))
        assert status == 503
        assert int(headers["Retry-After"]) > 0
        assert "upload" in answer["error"]
        assert len(incoming(served)) == 1
    until(lambda: incoming(served) == [])  # the first ended: its file is gone
    status, _, answer = answer_to(served.url, head(3, ADMIN) + b"abc")
    # taken, and answered by the view: no supervisor here to switch versions
    assert status == 409, answer
    assert "supervisor" in answer["error"]


def taken(environ, start_response):
    start_response("204 No Content", [])
    return []


def test_an_upload_larger_than_the_free_space_is_refused(tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    route = ("/up", 1 << 60, str(folder), lambda environ: True)
    server = Server(("127.0.0.1", 0), taken, Limits(spooled=(route,), spool_reserve=0))
    server.start()
    try:
        length = shutil.disk_usage(folder).free + (1 << 30)  # other tests free space too
        client = gevent.socket.create_connection(server.address, timeout=10)
        with client:
            client.sendall(head(length, path="/up"))
            status, _, answer = read_answer(client)
    finally:
        server.stop()
    assert status == 507
    assert "space" in answer["error"]
    assert list(folder.iterdir()) == []
