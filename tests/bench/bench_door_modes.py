"""Door modes on disk (on demand: `python tests/bench/bench_door_modes.py`; pytest ignores it).

A door command is answered only once its held mode is committed with synchronous
FULL, so its answer time includes an fsync; the commit runs on the door modes'
writer thread, so a reader poll loop must keep its cadence meanwhile. This runs the
real app behind the real server of `doorctl serve` in this (patched) process, a
greenlet that ticks every 10 ms as a reader poll loop does, and an operator
client that alternates Lock down and Return to normal over the REST API. Then it
starts `doorctl serve` on the same data and times it until it serves with the mode
restored.
"""

from gevent import monkey

monkey.patch_all()

import base64  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support import start_served  # noqa: E402

from doorctl.app import create_app  # noqa: E402
from doorctl.cli import freeze_startup_objects, make_server  # noqa: E402

TICK = 0.010
COMMANDS = 200
PASSWORD = "bench password"
TARGET_ANSWER_P95_MS = 100.0  # an operator's button press feels immediate
TARGET_TICK_WORST_MS = 20.0  # as bench_hub: a reader poll is never that late
TARGET_RESTART_S = 5.0  # from process start to serving with the mode restored
BASIC = {"Authorization": "Basic " + base64.b64encode(f"root:{PASSWORD}".encode()).decode()}


def ticker(lateness: list[float], stop: gevent.event.Event) -> None:
    """Sleep TICK and record how late each wake-up is, like a reader poll loop."""
    while not stop.is_set():
        start = time.perf_counter()
        gevent.sleep(TICK)
        lateness.append((time.perf_counter() - start - TICK) * 1000)


def command(url: str, action: str) -> dict:
    """One door action as an operator's REST client sends it; the answer."""
    headers = {**BASIC, "Content-Type": "application/json"}
    request = urllib.request.Request(f"{url}/api/v1/doors/1/{action}", b"{}", headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def answer_times(url: str) -> list[float]:
    """Milliseconds from sending each command to its (stored) answer."""
    times = []
    for i in range(COMMANDS):
        start = time.perf_counter()
        command(url, "lockdown" if i % 2 == 0 else "release")
        times.append((time.perf_counter() - start) * 1000)
    return times


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def in_process(data_dir: Path) -> tuple[list[float], list[float]]:
    """Answer times and ticker lateness while commands are stored; ends locked down."""
    app = create_app({"DATA_DIR": str(data_dir), "HARDWARE": "sim"})
    doorctl = app.extensions["doorctl"]
    doorctl.users.set_root_password(PASSWORD)
    doorctl.start()
    freeze_startup_objects()
    server = make_server(app, "127.0.0.1", 0)
    server.start()
    url = f"http://127.0.0.1:{server.server_port}"
    stop, lateness = gevent.event.Event(), []
    tick = gevent.spawn(ticker, lateness, stop)
    times = answer_times(url)
    command(url, "lockdown")
    stop.set()
    tick.join()
    server.stop()
    doorctl.stop()
    doorctl.store.close()
    return times, lateness


def restart_seconds(data_dir: Path) -> float:
    """`doorctl serve` on the same data: seconds until it serves, the door locked down."""
    start = time.perf_counter()
    served = start_served(data_dir)
    seconds = time.perf_counter() - start
    try:
        mode = json.loads(
            urllib.request.urlopen(
                urllib.request.Request(f"{served.url}/api/v1/doors/1", headers=BASIC), timeout=10
            ).read()
        )["mode"]
    finally:
        served.stop()
    assert mode == "locked_down", mode
    return seconds


def row(name: str, figure: float, target: float | None = None) -> None:
    ratio = f"{figure / target:7.2f}" if target else f"{'':>7}"
    target_text = f"{target:9.1f}" if target else f"{'':>9}"
    print(f"{name:44} {figure:9.2f} {target_text} {ratio}")


def main() -> None:
    data_dir = Path(tempfile.mkdtemp()) / "data"
    times, lateness = in_process(data_dir)
    restart = restart_seconds(data_dir)
    print(f"{'measure':44} {'figure':>9} {'target':>9} {'ratio':>7}")
    row(f"command answer median ms ({COMMANDS} commands)", percentile(times, 50))
    row("command answer p95 ms", percentile(times, 95), TARGET_ANSWER_P95_MS)
    row("command answer worst ms", max(times))
    row("tick lateness p99 ms, while storing", percentile(lateness, 99))
    row("tick lateness worst ms, while storing", max(lateness), TARGET_TICK_WORST_MS)
    row("restart to serving, mode restored, s", restart, TARGET_RESTART_S)


if __name__ == "__main__":
    main()
