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

import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from reader_loop import BASIC, lateness_rows, percentile, row, served, ticking  # noqa: E402
from support import start_served  # noqa: E402

COMMANDS = 200
TARGET_ANSWER_P95_MS = 100.0  # an operator's button press feels immediate
TARGET_RESTART_S = 5.0  # from process start to serving with the mode restored


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


def in_process(data_dir: Path) -> tuple[list[float], list[float]]:
    """Answer times and ticker lateness while commands are stored; ends locked down."""
    with served(data_dir) as (url, _), ticking() as lateness:
        times = answer_times(url)
        command(url, "lockdown")
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


def main() -> None:
    data_dir = Path(tempfile.mkdtemp()) / "data"
    times, lateness = in_process(data_dir)
    restart = restart_seconds(data_dir)
    print(f"{'measure':44} {'figure':>9} {'target':>9} {'ratio':>7}")
    row(f"command answer median ms ({COMMANDS} commands)", percentile(times, 50))
    row("command answer p95 ms", percentile(times, 95), TARGET_ANSWER_P95_MS)
    row("command answer worst ms", max(times))
    lateness_rows("while storing", lateness)
    row("restart to serving, mode restored, s", restart, TARGET_RESTART_S)


if __name__ == "__main__":
    main()
