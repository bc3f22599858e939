"""Hub responsiveness (on demand: `python tests/bench/bench_hub.py`; pytest ignores it).

The appliance's promise: reader polling keeps its cadence while the web is busy. This
runs the real app behind the real server of `doorctl serve` in this (patched) process, a greenlet
that ticks every 10 ms as a reader poll loop does, and concurrent web clients doing
what browsers and REST clients do: logins (scrypt hashing, which runs on the hub's
threadpool), API calls with HTTP Basic, pages, event queries and settings writes.
A third run has REST clients that only write: each creates a cardholder and changes
the door settings 8 times a second (every write commits to disk with its audit event).
It prints the ticker's worst and p99 lateness next to an idle run.
"""

from gevent import monkey

monkey.patch_all()

import http.cookiejar  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reader_loop import BASIC, PASSWORD, lateness_rows, served, ticking  # noqa: E402

SECONDS = 10
CLIENTS = 8
WRITE_ROUNDS = 8  # per writing client and second: 128 writes/s with CLIENTS = 8


def fetch(opener, url: str, data: bytes | None = None, headers=None, method=None) -> str:
    request = urllib.request.Request(url, data, headers or {}, method=method)
    with opener.open(request, timeout=30) as response:
        return response.read().decode()


def web_client(url: str, stop: gevent.event.Event, counts: dict, access_time: float = 5) -> None:
    """One browser-like client: log in, load pages, call the API, change a setting."""
    while not stop.is_set():
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        page = fetch(opener, f"{url}/login")
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        form = {"username": "root", "password": PASSWORD, "csrf_token": token}
        fetch(opener, f"{url}/login", urllib.parse.urlencode(form).encode())
        for path in ("/status", "/doors", "/logs/events", "/access/cardholders"):
            fetch(opener, url + path)
        fetch(opener, f"{url}/api/v1/events?limit=200", headers=BASIC)
        body = json.dumps({"access_time": access_time}).encode()
        headers = {**BASIC, "Content-Type": "application/json"}
        fetch(opener, f"{url}/api/v1/doors/1/settings", body, headers, "PUT")
        counts["rounds"] += 1


def writer_client(url: str, stop: gevent.event.Event, counts: dict) -> None:
    """One REST client that only writes, WRITE_ROUNDS times a second: a new cardholder,
    then the door's access time (paced, so that every version does the same work)."""
    opener = urllib.request.build_opener()
    headers = {**BASIC, "Content-Type": "application/json"}
    next_at = time.monotonic()
    while not stop.is_set():
        counts["rounds"] += 1
        body = json.dumps({"name": f"Bench {counts['rounds']}"}).encode()
        fetch(opener, f"{url}/api/v1/cardholders", body, headers, "POST")
        body = json.dumps({"access_time": 5 + counts["rounds"] % 3}).encode()
        fetch(opener, f"{url}/api/v1/doors/1/settings", body, headers, "PUT")
        next_at += 1 / WRITE_ROUNDS
        gevent.sleep(max(0, next_at - time.monotonic()))


def measure(url: str, clients: int, client=web_client) -> tuple[list[float], int]:
    """Ticker lateness over SECONDS with `clients` busy clients."""
    stop, counts = gevent.event.Event(), {"rounds": 0}
    with ticking() as lateness:
        workers = [gevent.spawn(client, url, stop, counts) for _ in range(clients)]
        gevent.sleep(SECONDS)
        stop.set()
        gevent.joinall(workers, timeout=30)
    return lateness, counts["rounds"]


def main() -> None:
    with served(Path(tempfile.mkdtemp())) as (url, _):
        idle, _ = measure(url, 0)
        busy, rounds = measure(url, CLIENTS)
        writes, written = measure(url, CLIENTS, writer_client)
    print(f"{'measure':54} {'figure':>9} {'target':>9} {'ratio':>7}")
    for name, values in (
        ("idle", idle),
        (f"busy ({CLIENTS} clients, {rounds} rounds)", busy),
        (f"writes ({CLIENTS} clients, {written} rounds)", writes),
    ):
        lateness_rows(name, values, width=54)
    print(
        f"web rounds per second while measured: {rounds / SECONDS:.1f} "
        "(each: login, 4 pages, an event query, a settings write)"
    )
    print(
        f"write rounds per second while measured: {written / SECONDS:.1f} "
        "(each: a cardholder created, a settings write)"
    )


if __name__ == "__main__":
    main()
