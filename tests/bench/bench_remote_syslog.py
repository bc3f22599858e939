"""Remote system log benchmark, run on demand: `python tests/bench/bench_remote_syslog.py`.

Messages per second from a server's buffer to a local rsyslogd over TCP and over TLS
(the messages put in its buffer first, timed until rsyslog has written them), against the
reference of a plain blocking socket writing the same frames; and how late a 10 ms
ticker greenlet runs, idle and while the buffer drains (the hub must keep its cadence).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path[:0] = [str(HERE.parents[2]), str(HERE.parents[1]), str(HERE.parents[1] / "logs")]

import socket  # noqa: E402
import ssl  # noqa: E402

import gevent  # noqa: E402
from brokers import Pki  # noqa: E402
from rsyslog_peer import Rsyslog  # noqa: E402
from support_osdp import wait_until  # noqa: E402

from doorctl.core.appliance import Appliance  # noqa: E402
from doorctl.core.events import Event  # noqa: E402
from doorctl.core.logs.remote_syslog import formats, messages  # noqa: E402

MESSAGES = 5000
TOPIC = "tns1:AccessControl/AccessGranted/Credential"


class Ticker:
    """A greenlet that wants to run every 10 ms and records how late it ran."""

    def __init__(self):
        self.late: list[float] = []
        self._greenlet = gevent.spawn(self._run)

    def _run(self):
        due = time.perf_counter() + 0.01
        while True:
            gevent.sleep(max(0.0, due - time.perf_counter()))
            self.late.append(time.perf_counter() - due)
            due += 0.01

    def p99_ms(self) -> float:
        gevent.kill(self._greenlet)
        return statistics.quantiles(self.late, n=100)[98] * 1000


def count(peer: Rsyslog, protocol: str) -> int:
    path = peer.directory / f"{protocol}.log"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def written(peer: Rsyslog, protocol: str, total: int) -> None:
    """Wait (letting the hub run) until rsyslog has written `total` lines."""
    deadline = time.monotonic() + 120
    while count(peer, protocol) < total:
        assert time.monotonic() < deadline, "rsyslog did not write every message"
        gevent.sleep(0.1)


def appliance(peer: Rsyslog, pki: Pki, protocol: str) -> Appliance:
    """An appliance with one server, connected, whose buffer holds a whole run."""
    doorctl = Appliance(Path(tempfile.mkdtemp(prefix="bench-")), serial="BENCH")
    doorctl.start()
    doorctl.remote_syslog.buffer_limit = MESSAGES
    ca = ""
    if protocol == "tls":
        ca = doorctl.certificates.create({"id": "ca", "data": pki.ca.read_text()})["id"]
    host = "localhost" if protocol == "tls" else "127.0.0.1"
    body = {"host": host, "protocol": protocol, "port": peer.ports[protocol]}
    server = doorctl.remote_syslog.create({**body, "ca_certificate": ca})
    wait_until(lambda: doorctl.remote_syslog.get(server["id"])["state"] == "connected")
    return doorctl


def doorctl_run(peer: Rsyslog, pki: Pki, protocol: str) -> tuple[float, float, float]:
    """(messages per second, ticker p99 idle, ticker p99 while sending) in ms: the
    events are published first (they wait in the buffer), then timed while the sender
    writes them and rsyslog has them."""
    doorctl = appliance(peer, pki, protocol)
    ticker = Ticker()
    gevent.sleep(1.0)
    idle = ticker.p99_ms()
    before = count(peer, protocol)
    # Straight into the buffer, no yield: the event log's commits (a thread of their
    # own) would otherwise run during the drain and be counted with it.
    (sender,) = doorctl.remote_syslog.senders.values()
    for n in range(MESSAGES):
        event = Event(n + 1, time.time(), TOPIC, {"door": "1"}, {"n": n})
        sender.put(messages.from_event(event, "bench"))
    ticker = Ticker()
    start = time.perf_counter()
    written(peer, protocol, before + MESSAGES)
    elapsed = time.perf_counter() - start
    during = ticker.p99_ms()
    doorctl.stop()
    doorctl.store.close()
    return MESSAGES / elapsed, idle, during


def reference_rate(peer: Rsyslog, pki: Pki, protocol: str) -> float:
    """A plain blocking socket writing the same number of octet-counted frames."""
    message = formats.Message(time.time(), 4, 6, "access", TOPIC, "bench", 1, {"data": {"n": 1}})
    frame = formats.octet_counted(formats.rfc5424(message))
    sock = socket.create_connection(("localhost", peer.ports[protocol]))
    if protocol == "tls":
        sock = ssl.create_default_context(cafile=str(pki.ca)).wrap_socket(
            sock, server_hostname="localhost"
        )
    before = count(peer, protocol)
    start = time.perf_counter()
    for _ in range(MESSAGES):
        sock.sendall(frame)
    written(peer, protocol, before + MESSAGES)
    elapsed = time.perf_counter() - start
    sock.close()
    return MESSAGES / elapsed


def main() -> None:
    directory = Path(tempfile.mkdtemp(prefix="bench-rsyslog-"))
    pki = Pki.make(directory / "pki")
    peer = Rsyslog(directory / "rsyslog", pki).start()
    try:
        print(f"{MESSAGES} messages from doorctl's buffer to a local rsyslogd")
        print(
            "| protocol | doorctl msg/s | reference msg/s | ratio | "
            "10 ms ticker p99 late, idle (ms) | while sending (ms) |"
        )
        print("|---|---|---|---|---|---|")
        for protocol in ("tcp", "tls"):
            rate, idle, during = doorctl_run(peer, pki, protocol)
            reference = reference_rate(peer, pki, protocol)
            print(
                f"| {protocol.upper()} | {rate:,.0f} | {reference:,.0f} | "
                f"{rate / reference:.2f} | {idle:.2f} | {during:.2f} |"
            )
    finally:
        peer.stop()


if __name__ == "__main__":
    main()
