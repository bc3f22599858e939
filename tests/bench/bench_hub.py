"""Hub responsiveness (on demand: `python tests/bench/bench_hub.py`; pytest ignores it).

The appliance's promise: reader polling keeps its cadence while the web is busy. This
runs the real app behind the real server of `doorctl serve` in this (patched) process, a greenlet
that ticks every 10 ms as a reader poll loop does, and concurrent web clients doing
what browsers and REST clients do: logins (scrypt hashing, which runs on the hub's
threadpool), API calls with HTTP Basic, pages, event queries and settings writes.
A third run has REST clients that only write: each creates a cardholder and changes
the door settings 8 times a second (every write commits to disk with its audit event).
It prints the ticker's worst and p99 lateness next to an idle run.

The ticker runs where a reader poll loop could (BENCH_WHERE, default all four): a
greenlet on the hub (as the OSDP bus does), the same on a timer of libev's highest
priority, an OS thread of its own (gevent's
original threading, so that it needs the GIL only briefly), or a process of its own;
each with 8 and 50 web clients (BENCH_CLIENTS).
"""

from gevent import monkey

monkey.patch_all()

import http.cookiejar  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
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
CLIENTS = 8  # the writing clients
WEB_CLIENTS = tuple(int(n) for n in os.environ.get("BENCH_CLIENTS", "8,50").split(","))
WHERE = tuple(os.environ.get("BENCH_WHERE", "hub,priority,thread,process").split(","))
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


def measure(url: str, clients: int, client=web_client, where="hub") -> tuple[list[float], int]:
    """Ticker lateness over SECONDS with `clients` busy clients, the ticker `where`."""
    stop, counts = gevent.event.Event(), {"rounds": 0}
    with ticking(where, SECONDS) as lateness:
        workers = [gevent.spawn(client, url, stop, counts) for _ in range(clients)]
        gevent.sleep(SECONDS)
        stop.set()
        gevent.joinall(workers, timeout=30)
    return lateness, counts["rounds"]


def main() -> None:
    results = []
    with served(Path(tempfile.mkdtemp())) as (url, _):
        for where in WHERE:
            idle, _ = measure(url, 0, where=where)
            results.append((f"{where}: idle", idle, None))
            for clients in WEB_CLIENTS:
                busy, rounds = measure(url, clients, where=where)
                results.append((f"{where}: busy ({clients} clients)", busy, rounds))
        writes, written = measure(url, CLIENTS, writer_client)
    print(f"{'measure':62} {'figure':>9} {'target':>9} {'ratio':>7}")
    for name, values, rounds in results:
        lateness_rows(name, values, width=62)
        if rounds is not None:
            print(f"{'  web rounds per second':62} {rounds / SECONDS:9.1f}")
    lateness_rows(f"hub: writes ({CLIENTS} clients, {written} rounds)", writes, width=62)
    print(
        "web round: login, 4 pages, an event query, a settings write; "
        f"write round: a cardholder created, a settings write; {written / SECONDS:.1f}/s"
    )


if __name__ == "__main__":
    main()
