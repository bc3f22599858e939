"""systemd's notify protocol with a real notify socket, as the unit runs doorctl:
`doorctl supervise` starts `doorctl serve`, whose hub says READY=1 once it serves and
pings WATCHDOG=1 from its own event loop. A hub blocked on purpose stops the pings;
unblocked, they come again.

The hub is blocked by a test-only `sitecustomize` on PYTHONPATH (not in the product):
a SIGUSR1 handler that reads a FIFO with the unpatched builtin `open`, which holds the
main thread (the hub's) as any synchronous call by mistake would, until the test writes
to the FIFO. It says TEST_HUB_BLOCKED=1 on the notify socket as it starts to block, so
the pings before it are already queued when the test sees that line.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from support import REPO, ROOT_PASSWORD, basic

WATCHDOG_USEC = 400_000  # a ping every 0.2 s
SILENCE = 1.5  # seconds without a ping while blocked: over 7 periods of pings

SITECUSTOMIZE = """
import os, signal, socket

_socket = socket.socket  # the original: gevent patches the module later


def _block_the_hub(signum, frame):
    gate = os.environ["TEST_HUB_GATE"]
    address = "\\0" + os.environ["TEST_NOTIFY_ABSTRACT"]
    with _socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(b"TEST_HUB_BLOCKED=1", address)
    with open(gate) as fifo:
        fifo.read()


if "TEST_HUB_GATE" in os.environ:
    signal.signal(signal.SIGUSR1, _block_the_hub)
"""


class NotifySocket:
    """systemd's side: an AF_UNIX datagram socket that learns each sender's pid."""

    def __init__(self):
        self.name = f"doorctl-test-{uuid.uuid4().hex}"
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind("\0" + self.name)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.seen: list[dict[str, str]] = []  # every message received, in order

    def receive(self, timeout: float) -> tuple[int, dict[str, str]] | None:
        """The next message's sender pid and fields; None if none came in time."""
        self.socket.settimeout(timeout)
        try:
            data, ancillary, _, _ = self.socket.recvmsg(4096, socket.CMSG_SPACE(12))
        except TimeoutError:
            return None
        pid = next(
            struct.unpack("iII", d)[0]
            for level, kind, d in ancillary
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS
        )
        lines = data.decode().splitlines()
        self.seen.append(dict(line.split("=", 1) for line in lines))
        return pid, self.seen[-1]

    def wait_for(self, key: str, timeout: float = 90) -> tuple[int, dict[str, str]]:
        """The first message that holds `key`, skipping others."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self.receive(left)
            if message and key in message[1]:
                return message
        raise AssertionError(f"no {key} within {timeout} s")

    def drain(self) -> list[dict[str, str]]:
        """What is queued now."""
        found = []
        while message := self.receive(0.001):
            found.append(message[1])
        return found


@pytest.fixture
def supervised(tmp_path):
    """`doorctl supervise` on ports 0 with systemd's environment (a notify socket and a
    watchdog) and the test-only hook; the notify socket and the process."""
    notify = NotifySocket()
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    os.mkfifo(tmp_path / "gate")
    env = {
        **os.environ,
        "NOTIFY_SOCKET": "@" + notify.name,
        "WATCHDOG_USEC": str(WATCHDOG_USEC),
        "PYTHONPATH": str(hooks),
        "TEST_HUB_GATE": str(tmp_path / "gate"),
        "TEST_NOTIFY_ABSTRACT": notify.name,
    }
    command = [sys.executable, "-m", "doorctl", "supervise", "--data-dir", str(tmp_path / "d")]
    command += ["--host", "127.0.0.1", "--port", "0", "--https-port", "0", "--hardware", "sim"]
    with open(tmp_path / "supervise.log", "w") as log:
        supervise = subprocess.Popen(command, env=env, cwd=REPO, stdout=log, stderr=log)
    yield notify, supervise
    if supervise.poll() is None:
        supervise.kill()
        supervise.wait()
    notify.socket.close()


def test_serve_under_supervise_pings_from_its_hub_and_stops_when_the_hub_is_blocked(
    supervised, tmp_path
):
    notify, supervise = supervised
    serve_pid, ready = notify.wait_for("READY")
    assert serve_pid != supervise.pid  # from serve's hub, hence NotifyAccess=all
    assert ready["STATUS"].startswith("doorctl ") and "serving on http://" in ready["STATUS"]
    for _ in range(2):
        pid, _ = notify.wait_for("WATCHDOG", timeout=5)
        assert pid == serve_pid

    os.kill(serve_pid, signal.SIGUSR1)
    notify.wait_for("TEST_HUB_BLOCKED", timeout=10)
    notify.drain()  # pings sent before the block began
    assert notify.receive(SILENCE) is None, "a ping came while the hub was blocked"

    with open(tmp_path / "gate", "w") as fifo:
        fifo.write("go")
    pid, _ = notify.wait_for("WATCHDOG", timeout=10)
    assert pid == serve_pid

    supervise.send_signal(signal.SIGTERM)
    pid, stopping = notify.wait_for("STOPPING", timeout=10)
    assert pid == serve_pid and stopping["STATUS"] == "stopping"
    assert supervise.wait(timeout=20) == 0


def test_a_restart_keeps_the_unit_running_and_the_new_serve_pings(supervised):
    """Maintenance's restart (serve exits 75, the supervisor starts it again) is no stop
    to systemd: no STOPPING=1; the supervisor's ping gives the new serve a whole period."""
    notify, supervise = supervised
    old_pid, ready = notify.wait_for("READY")
    url = re.search(r"(http://\S+)/ and", ready["STATUS"]).group(1)
    password = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
    _post(url + "/api/v1/setup", password, None)
    assert _post(url + "/api/v1/maintenance/restart", {}, basic("root", ROOT_PASSWORD)) == 202

    pid, said = notify.wait_for("STATUS", timeout=20)
    assert (pid, said) == (old_pid, {"STATUS": "restarting"})
    pid, said = notify.wait_for("STATUS", timeout=30)  # the old serve's pings may come first
    while pid == old_pid:
        pid, said = notify.wait_for("STATUS", timeout=30)
    assert pid == supervise.pid and "WATCHDOG" in said
    assert said["STATUS"] == "starting doorctl serve (base install)"
    new_pid, ready = notify.wait_for("READY", timeout=60)
    assert new_pid not in (old_pid, supervise.pid)
    assert notify.wait_for("WATCHDOG", timeout=5)[0] == new_pid
    assert not [message for message in notify.seen if "STOPPING" in message]


def _post(url: str, body: dict, headers: dict | None) -> int:
    request = urllib.request.Request(
        url,
        json.dumps(body).encode(),
        {"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status


def test_without_a_notify_socket_nothing_is_sent_and_a_gone_socket_fails_softly(tmp_path):
    """Outside systemd (scripts/run, a PC) nothing is sent; a socket that went away is
    a logged refusal, never an exception that stops the service."""
    from doorctl.core.notify import Notifier

    quiet = Notifier("", WATCHDOG_USEC)
    assert quiet.ready("x") is False and quiet.watch_hub() is None
    gone = Notifier(str(Path(tmp_path) / "no-such-socket"))
    assert gone.ping() is False
