"""Brute-force flood (on demand: `python tests/bench/bench_bruteforce.py`; pytest ignores it).

The promise of System > Security's blocking: while one address floods the device with
wrong passwords, a legitimate user's API calls stay fast. This runs the real app behind
the server of `doorctl serve` in this (patched) process, with a viewer on another
loopback address (127.0.0.2) calling `GET /api/v1/doors/1` (HTTP Basic) back to back,
first alone, then next to 20 concurrent clients on 127.0.0.1 (a child process) sending
wrong Basic passwords as fast as they are answered; once with blocking on (the
default), once with it off for comparison. It prints the viewer's p50 and p99.
"""

from gevent import monkey

monkey.patch_all()

import base64  # noqa: E402
import http.client  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402
from gevent import subprocess  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from doorctl.app import create_app  # noqa: E402
from doorctl.core.system.security import SECTION  # noqa: E402
from doorctl.server import freeze_startup_objects, make_server  # noqa: E402

SECONDS = 5  # one window; windows alone and with the flood alternate ROUNDS times,
ROUNDS = 3  # so that other load on the machine weighs on both alike
ATTACKERS = 20
TARGET_RATIO = 2.0  # p99 during the flood, at most this many times the p99 alone
PASSWORD = "bench password"


def basic(password: str) -> dict:
    token = base64.b64encode(f"root:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def call(port: int, source: str, headers: dict) -> int:
    """One GET of door 1 from `source` on a new connection; the status."""
    connection = http.client.HTTPConnection("127.0.0.1", port, 60, (source, 0))
    try:
        connection.request("GET", "/api/v1/doors/1", headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def viewer(port: int, stop: gevent.event.Event, times: list[float]) -> None:
    """Read door 1 back to back from 127.0.0.2 and record each answer's time in ms."""
    while not stop.is_set():
        start = time.perf_counter()
        assert call(port, "127.0.0.2", basic(PASSWORD)) == 200
        times.append((time.perf_counter() - start) * 1000)


def flood(port: int, count: int) -> None:
    """The child process: `count` clients sending wrong passwords until it is killed."""
    answers: Counter[int] = Counter()

    def attacker() -> None:
        while True:
            answers[call(port, "127.0.0.1", basic("wrong"))] += 1

    def report() -> None:
        while True:
            gevent.sleep(0.5)
            print(" ".join(f"{code}:{n}" for code, n in sorted(answers.items())), flush=True)

    gevent.joinall([gevent.spawn(attacker) for _ in range(count)] + [gevent.spawn(report)])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure(port: int, attackers: int) -> tuple[list[float], str]:
    """The viewer's answer times over SECONDS next to `attackers` flooding clients."""
    stop, times = gevent.event.Event(), []
    child = None
    if attackers:
        command = [sys.executable, __file__, "--flood", str(port), str(attackers)]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        gevent.sleep(1)
    watcher = gevent.spawn(viewer, port, stop, times)
    gevent.sleep(SECONDS)
    stop.set()
    watcher.join(timeout=60)
    if child is None:
        return times, ""
    child.kill()
    lines = child.communicate()[0].splitlines()
    return times, lines[-1] if lines else ""


def row(name: str, times: list[float], base: float | None) -> str:
    p50, p99 = percentile(times, 50), percentile(times, 99)
    if base is None:
        return f"{name:34} {p50:8.1f} {p99:8.1f} {'':>8} {'':>7} {len(times):>8}"
    target = base * TARGET_RATIO
    return f"{name:34} {p50:8.1f} {p99:8.1f} {target:8.1f} {p99 / target:7.2f} {len(times):>8}"


def main() -> None:
    app = create_app({"DATA_DIR": tempfile.mkdtemp(), "HARDWARE": "sim"})
    doorctl = app.extensions["doorctl"]
    doorctl.users.set_root_password(PASSWORD)
    doorctl.start()
    freeze_startup_objects()
    server = make_server(app, "127.0.0.1", 0)
    server.start()
    port = server.server_port
    alone, blocked, blocked_answers = [], [], []
    for _ in range(ROUNDS):
        alone += measure(port, 0)[0]
        times, answers = measure(port, ATTACKERS)
        blocked += times
        blocked_answers.append(answers)
    doorctl.settings.update(SECTION, {"blocking": False})
    unblocked, unblocked_answers = measure(port, ATTACKERS)
    server.stop()
    doorctl.stop()
    base = percentile(alone, 99)
    print(
        f"{'viewer GET /api/v1/doors/1':34} {'p50 ms':>8} {'p99 ms':>8} {'target':>8} "
        f"{'ratio':>7} {'answers':>8}"
    )
    print(row("alone", alone, None))
    print(row(f"{ATTACKERS} attackers, blocking on", blocked, base))
    print(row(f"{ATTACKERS} attackers, blocking off", unblocked, base))
    print(f"attackers' answers (status:count): on {blocked_answers}; off {unblocked_answers}")
    print(f"{ROUNDS} windows of {SECONDS} s alone and on, one off; the target is for on")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--flood"]:
        flood(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
