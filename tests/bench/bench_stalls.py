"""The longest stall of the hub per request (on demand: `python tests/bench/bench_stalls.py`).

A reader poll that falls due waits for whatever greenlet runs on the hub at that
moment: a request that computes for 40 ms without yielding makes the poll 40 ms late.
This serves the real app, as `doorctl serve` does, on an appliance in long service
(100,000 cardholders with a card each, 300,000 events, most of them access decisions,
10,000 of them settings changes for the Audit log; a full system log)
and makes the requests a user can make, one at a time. A greenlet trace measures every
stretch a greenlet other than the hub and the client runs without switching; a
request's stall is the longest stretch while it was served, by the clock (the target's
measure) and in the hub thread's CPU time (what it would be on a machine of its own).
It prints the requests, worst first, with their stall (median of RUNS), the answer's
size and time, and the target.
"""

from gevent import monkey

monkey.patch_all()

import http.cookiejar  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import greenlet  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reader_loop import PASSWORD, served  # noqa: E402

from doorctl.core.access_control.credentials import card_key  # noqa: E402
from doorctl.core.logs.system_log import INSERT as SYSTEM_INSERT  # noqa: E402
from doorctl.core.store import INSERT_EVENT, Store  # noqa: E402

CARDHOLDERS = 100_000
EVENTS = 300_000
AUDITS = 10_000  # of the EVENTS, the newest: settings changes (Audit log)
SYSTEM_RECORDS = 20_000  # the system log's default length
RUNS = 3
TARGET_MS = 10.0
GRANTED = "tns1:AccessControl/AccessGranted/Credential"
DENIED = "tns1:AccessControl/Denied/CredentialNotFound"
QUIET = CARDHOLDERS + 7  # a cardholder id with no events
REQUESTS = (
    "/api/v1/cardholders/export",
    "/api/v1/events?limit=1000",
    "/api/v1/events?limit=100",
    f"/api/v1/access-log?cardholder_id={QUIET}",
    f"/api/v1/access-log?cardholder_id={QUIET}&door_id=1&result=granted",
    "/api/v1/access-log?cardholder_id=5",
    "/api/v1/access-log?door_id=1&limit=1000",
    "/api/v1/access-log?result=denied&limit=1000",
    f"/logs/access?cardholder_id={QUIET}",
    "/logs/access",
    "/logs/events",
    "/access/cardholders",
    "/access/cardholders?q=Person%209999",
    "/api/v1/cardholders?limit=1000",
    "/api/v1/cardholders?q=Person%209&limit=1000",
    "/api/v1/cardholders?offset=99000&limit=1000",
    "/api/v1/credentials?limit=1000",
    "/api/v1/cardholders/50000",
    "/status",
    "/doors",
    "/peripherals",
    "/help/api",
    "/api/v1/openapi.json",
    "/logs/system/download",
    "/logs/audit/download",
    "/logs/reports/server-report",
)


def seed(data_dir: Path) -> None:
    """Cardholders with one card each, and a log of access decisions and other events."""
    store = Store(data_dir)
    conn = store.conn
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO cardholders (id, name) VALUES (?, ?)",
        ((n, f"Person {n}") for n in range(1, CARDHOLDERS + 1)),
    )
    conn.executemany(
        "INSERT INTO credentials (cardholder_id, card) VALUES (?, ?)",
        ((n, card_key("H10306", n // 65536, n % 65536)) for n in range(1, CARDHOLDERS + 1)),
    )
    conn.executemany(INSERT_EVENT, (_event(n) for n in range(1, EVENTS + 1)))
    conn.executemany(SYSTEM_INSERT, (_record(n) for n in range(1, SYSTEM_RECORDS + 1)))
    retention = json.dumps({"retention": EVENTS})
    conn.execute("INSERT OR REPLACE INTO settings VALUES ('event_log', ?)", (retention,))
    conn.execute("COMMIT")
    store.close()


def _event(n: int) -> tuple:
    """Event n: nine of ten are access decisions at door 1 or 2, the rest an input; the
    newest AUDITS are settings changes."""
    start = time.time() - EVENTS
    if n > EVENTS - AUDITS:
        topic, source = "tns1:Configuration/Settings/Changed", {}
        actor = {"user": "root", "address": "192.0.2.7", "via": "web"}
        data = {"id": "event_log", "action": "update", "changed": ["retention"], "actor": actor}
    elif n % 10 == 0:
        topic, source, data = "tns1:Device/Trigger/DigitalInput", {"port": "in1"}, {}
    else:
        topic = GRANTED if n % 3 else DENIED
        source = {"door": 1 + n % 2, "reader": "wiegand"}
        data = {"cardholder_id": 1 + n * 7919 % CARDHOLDERS, "card": f"H10306:0:{n % 65536}"}
    return (n, start + n, topic, json.dumps(source), json.dumps(data), "{}", 0)


def _record(n: int) -> tuple:
    """System log record n, one a second up to now."""
    when = time.time() - SYSTEM_RECORDS + n
    return (when, 20, "doorctl.bench", f"Record {n} of the bench's system log", "hub")


class Stalls:
    """The longest time any traced greenlet ran without switching, since reset(): by
    the clock, and in CPU time of the hub's thread (on a shared machine the clock also
    counts the time other processes had the CPU)."""

    def __init__(self, ignore: set):
        self.ignore, self.worst, self.worst_cpu = ignore, 0.0, 0.0
        self.running, self.since, self.since_cpu = None, time.perf_counter(), time.thread_time()

    def __call__(self, event: str, args) -> None:
        if event not in ("switch", "throw"):
            return
        now, cpu = time.perf_counter(), time.thread_time()
        origin, target = args
        if origin is self.running and origin not in self.ignore:
            self.worst = max(self.worst, now - self.since)
            self.worst_cpu = max(self.worst_cpu, cpu - self.since_cpu)
        self.running, self.since, self.since_cpu = target, now, cpu

    def reset(self) -> None:
        self.worst = self.worst_cpu = 0.0


def logged_in(url: str) -> urllib.request.OpenerDirector:
    """A browser-like client with root's session cookie (pages need a session)."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    page = opener.open(f"{url}/login", timeout=30).read().decode()
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"username": "root", "password": PASSWORD, "csrf_token": token}
    opener.open(f"{url}/login", urllib.parse.urlencode(form).encode(), timeout=30).read()
    return opener


def get(opener, url: str) -> tuple[int, int]:
    """GET `url` with the session; (status, bytes of the answer)."""
    with opener.open(url, timeout=120) as answer:
        size = 0
        while piece := answer.read(65536):
            size += len(piece)
        return answer.status, size


def measure(url: str) -> list[tuple]:
    """Each request RUNS times; (path, median stall ms, median CPU stall ms, median
    time ms, status, size)."""
    opener = logged_in(url)
    stalls = Stalls({gevent.get_hub(), greenlet.getcurrent()})
    results = []
    previous = greenlet.settrace(stalls)
    try:
        for path in REQUESTS:
            figures, cpu, times = [], [], []
            for _ in range(RUNS):
                gevent.sleep(0.05)
                stalls.reset()
                start = time.perf_counter()
                status, size = get(opener, url + path)
                times.append((time.perf_counter() - start) * 1000)
                figures.append(stalls.worst * 1000)
                cpu.append(stalls.worst_cpu * 1000)
            stall, took = statistics.median(figures), statistics.median(times)
            results.append((path, stall, statistics.median(cpu), took, status, size))
    finally:
        greenlet.settrace(previous)
    return results


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="doorctl-bench-stalls-"))
    seed(data_dir)
    with served(data_dir) as (url, _):
        gevent.sleep(1.0)  # services settle
        results = measure(url)
    print(f"{CARDHOLDERS:,} cardholders, {EVENTS:,} events; median of {RUNS} runs")
    head = f"{'request':64} {'status':>6} {'KiB':>6} {'answer ms':>9}"
    print(f"{head} {'stall ms':>9} {'CPU ms':>7} {'target':>7} {'ratio':>6}")
    for path, stall, cpu, took, status, size in sorted(results, key=lambda r: -r[1]):
        print(
            f"{path:64} {status:6} {size / 1024:6.0f} {took:9.1f} {stall:9.2f} {cpu:7.2f} "
            f"{TARGET_MS:7.1f} {stall / TARGET_MS:6.2f}"
        )


if __name__ == "__main__":
    main()
