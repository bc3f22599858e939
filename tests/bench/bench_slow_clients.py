"""Slow clients (on demand: `python tests/bench/bench_slow_clients.py`; pytest ignores it).

The appliance's promise: clients that send their requests slowly never stall it. This
runs the real app behind the server of `doorctl serve` in this (patched) process, with
a viewer calling `GET /api/v1/doors/1` (HTTP Basic) back to back, first alone, then
next to 20 connections (from a child process, so that they cost this one nothing but
what the server spends on them) that send a login form's body one byte a second and
connect again when the server closes them. It prints the viewer's p50 and p99.
"""

from gevent import monkey

monkey.patch_all()

import socket  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402
from gevent import subprocess  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reader_loop import BASIC, percentile, served  # noqa: E402

SECONDS = 15
SLOW_CLIENTS = 20
TARGET_RATIO = 2.0  # p99 with slow clients, at most this many times the p99 without
LOGIN_HEAD = (
    b"POST /login HTTP/1.1\r\nHost: doorctl\r\nContent-Length: 64\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
)


def viewer(url: str, stop: gevent.event.Event, times: list[float]) -> None:
    """Read door 1 back to back and record each answer's time in ms."""
    request = urllib.request.Request(f"{url}/api/v1/doors/1", headers=BASIC)
    while not stop.is_set():
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            response.read()
        times.append((time.perf_counter() - start) * 1000)


def slow_client(port: int, closed: list[int]) -> None:
    """Send a login form's head, then its body one byte a second; again when closed."""
    while True:
        connection = socket.socket()
        connection.bind(("127.0.0.2", 0))
        connection.connect(("127.0.0.1", port))
        try:
            connection.sendall(LOGIN_HEAD)
            while True:
                gevent.sleep(1)
                connection.send(b"x")
        except OSError:
            closed[0] += 1
            print(closed[0], flush=True)  # the parent reads the last count
        finally:
            connection.close()


def slow_clients(port: int, count: int) -> None:
    """The child process: `count` slow clients, until it is killed."""
    closed = [0]
    gevent.joinall([gevent.spawn(slow_client, port, closed) for _ in range(count)])


def measure(url: str, port: int, slow: int) -> tuple[list[float], int]:
    """The viewer's answer times over SECONDS next to `slow` slow clients."""
    stop, times = gevent.event.Event(), []
    child = subprocess.Popen(
        [sys.executable, __file__, "--slow", str(port), str(slow)], stdout=subprocess.PIPE
    )
    gevent.sleep(1)
    watcher = gevent.spawn(viewer, url, stop, times)
    gevent.sleep(SECONDS)
    stop.set()
    watcher.join(timeout=30)
    child.kill()
    lines = child.communicate()[0].split()
    return times, int(lines[-1]) if lines else 0


def main() -> None:
    with served(Path(tempfile.mkdtemp())) as (url, port):
        alone, _ = measure(url, port, 0)
        crowded, closed = measure(url, port, SLOW_CLIENTS)
    base = percentile(alone, 99)
    print(
        f"{'viewer GET /api/v1/doors/1':44} {'p50 ms':>8} {'p99 ms':>8} {'target':>8} {'ratio':>7}"
    )
    print(f"{'alone':44} {percentile(alone, 50):8.1f} {base:8.1f} {'':>8} {'':>7}")
    name = f"with {SLOW_CLIENTS} slow clients ({closed} closed by server)"
    p99 = percentile(crowded, 99)
    print(
        f"{name:44} {percentile(crowded, 50):8.1f} {p99:8.1f} {base * TARGET_RATIO:8.1f} "
        f"{p99 / (base * TARGET_RATIO):7.2f}"
    )
    print(f"answers: {len(alone)} alone, {len(crowded)} with slow clients, in {SECONDS} s each")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--slow"]:
        slow_clients(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
