"""Remote system log benchmark, run on demand: `python tests/bench/bench_remote_syslog.py`.

Messages per second from the event bus to a local rsyslogd over TCP and over TLS
(counted when rsyslog has written them), against the reference of a plain blocking
socket writing the same frames; and how late a 10 ms ticker greenlet runs, idle and
while the messages go out (the hub must keep its cadence).
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
from mqtt_helpers import wait_until  # noqa: E402
from rsyslog_peer import Rsyslog  # noqa: E402

from doorctl.core.appliance import Appliance  # noqa: E402
from doorctl.core.logs.remote_syslog import formats  # noqa: E402

MESSAGES = 5000
BATCH = 20
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


def idle_lateness() -> float:
    ticker = Ticker()
    gevent.sleep(1.0)
    return ticker.p99_ms()


def doorctl_run(peer: Rsyslog, pki: Pki, protocol: str) -> tuple[float, float]:
    """(messages per second, ticker p99 lateness in ms) from bus.publish to rsyslog's file."""
    doorctl = Appliance(Path(tempfile.mkdtemp(prefix="bench-")), serial="BENCH")
    doorctl.start()
    doorctl.remote_syslog.buffer_limit = MESSAGES
    if protocol == "tls":
        doorctl.certificates.create({"id": "ca", "data": pki.ca.read_text()})
    host = "localhost" if protocol == "tls" else "127.0.0.1"
    body = {"host": host, "protocol": protocol, "port": peer.ports[protocol]}
    server = doorctl.remote_syslog.create(
        {**body, "ca_certificate": "ca" if protocol == "tls" else ""}
    )
    wait_until(lambda: doorctl.remote_syslog.get(server["id"])["state"] == "connected")
    before = len(peer.received(protocol))
    ticker = Ticker()
    start = time.perf_counter()
    for first in range(0, MESSAGES, BATCH):
        for n in range(first, first + BATCH):
            doorctl.bus.publish(TOPIC, {"door": "1"}, {"n": n})
        gevent.sleep(0)
    wait_until(lambda: len(peer.received(protocol)) - before >= MESSAGES, 120, "all written")
    elapsed = time.perf_counter() - start
    late = ticker.p99_ms()
    doorctl.stop()
    doorctl.store.close()
    return MESSAGES / elapsed, late


def publish_only() -> float:
    """Ticker p99 lateness (ms) while the same events are published with no server: the
    load of publishing and logging them, which the rows above include."""
    doorctl = Appliance(Path(tempfile.mkdtemp(prefix="bench-")), serial="BENCH")
    doorctl.start()
    ticker = Ticker()
    for first in range(0, MESSAGES, BATCH):
        for n in range(first, first + BATCH):
            doorctl.bus.publish(TOPIC, {"door": "1"}, {"n": n})
        gevent.sleep(0)
    gevent.sleep(0.5)
    late = ticker.p99_ms()
    doorctl.stop()
    doorctl.store.close()
    return late


def reference_rate(peer: Rsyslog, pki: Pki, protocol: str) -> float:
    """A plain blocking socket writing the same number of octet-counted frames."""
    message = formats.Message(time.time(), 4, 6, "access", TOPIC, "bench", 1, {"data": {"n": 1}})
    frame = formats.octet_counted(formats.rfc5424(message))
    sock = socket.create_connection(("localhost", peer.ports[protocol]))
    if protocol == "tls":
        sock = ssl.create_default_context(cafile=str(pki.ca)).wrap_socket(
            sock, server_hostname="localhost"
        )
    before = len(peer.received(protocol))
    start = time.perf_counter()
    for _ in range(MESSAGES):
        sock.sendall(frame)
    wait_until(lambda: len(peer.received(protocol)) - before >= MESSAGES, 120, "all written")
    elapsed = time.perf_counter() - start
    sock.close()
    return MESSAGES / elapsed


def main() -> None:
    directory = Path(tempfile.mkdtemp(prefix="bench-rsyslog-"))
    pki = Pki.make(directory / "pki")
    peer = Rsyslog(directory / "rsyslog", pki).start()
    try:
        idle = idle_lateness()
        print(f"{MESSAGES} messages to a local rsyslogd; ticker p99 lateness idle {idle:.2f} ms")
        print("| protocol | doorctl msg/s | reference msg/s | ratio | ticker p99 during (ms) |")
        print("|---|---|---|---|---|")
        for protocol in ("tcp", "tls"):
            rate, late = doorctl_run(peer, pki, protocol)
            reference = reference_rate(peer, pki, protocol)
            print(
                f"| {protocol.upper()} | {rate:,.0f} | {reference:,.0f} | "
                f"{rate / reference:.2f} | {late:.2f} |"
            )
        print(f"| no server (publishing alone) | | | | {publish_only():.2f} |")
    finally:
        peer.stop()


if __name__ == "__main__":
    main()
