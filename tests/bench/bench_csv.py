"""Cardholder CSV import at the body limit (on demand: `python tests/bench/bench_csv.py`).

`doorctl serve` runs as its own process; a 32 MiB CSV is posted to it over loopback,
once of bad rows (8 million, each with a bad PIN) and once of good ones. Meanwhile a
client asks for a door (`GET /api/v1/doors/1`) every 20 ms, and /proc is read every
20 ms for the memory of the appliance and of its import child. It prints the peak
RSS of the two together and the door's answer times, next to their targets and to an
idle run (no import) on the same machine.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support import ROOT_PASSWORD, basic, start_served  # noqa: E402

SIZE = 32 * 1024 * 1024 - 4096  # just under the body limit
TARGET_RSS_MIB = 150.0
TARGET_DOOR_MS = 100.0
IDLE_SECONDS = 30


def bad_rows(path: Path) -> int:
    """A CSV of 4-byte rows whose PIN is too short: every row is bad."""
    header = b"name,pin\n"
    count = (SIZE - len(header)) // 4
    path.write_bytes(header + b"a,1\n" * count)
    return count


def good_rows(path: Path) -> int:
    """A CSV of cardholders, each with its own 34-bit card."""
    count = 0
    with path.open("w") as out:
        out.write("name,card_format,card_facility,card_number\n")
        while out.tell() < SIZE - 64:
            out.write(f"P{count},H10306,{count // 65536},{count % 65536}\n")
            count += 1
    return count


def rss_kib(pid: int) -> int:
    """The resident memory of a process, or 0 once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS")), 0)


def children(pid: int) -> list[int]:
    """The child processes of `pid` (the import child of the appliance)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(p) for p in task.read_text().split()]
    return found


class Watch(threading.Thread):
    """Samples appliance+child RSS and the door's answer time every 20 ms until stopped."""

    def __init__(self, url: str, pid: int):
        super().__init__(daemon=True)
        self.url, self.pid = url, pid
        self.peak_kib, self.door_ms, self.stop = 0, [], threading.Event()

    def run(self) -> None:
        headers = basic("root", ROOT_PASSWORD)
        while not self.stop.wait(0.02):
            total = rss_kib(self.pid) + sum(rss_kib(c) for c in children(self.pid))
            self.peak_kib = max(self.peak_kib, total)
            start = time.perf_counter()
            request = urllib.request.Request(self.url + "/api/v1/doors/1", headers=headers)
            with urllib.request.urlopen(request, timeout=30) as answer:
                answer.read()
            self.door_ms.append((time.perf_counter() - start) * 1e3)


def post_csv(url: str, path: Path) -> tuple[int, float]:
    """POST the file as text/csv; (HTTP status, seconds)."""
    headers = {"Content-Type": "text/csv", **basic("root", ROOT_PASSWORD)}
    start = time.perf_counter()
    with path.open("rb") as body:
        request = urllib.request.Request(url + "/api/v1/cardholders/import", body, headers)
        request.add_header("Content-Length", str(path.stat().st_size))
        try:
            with urllib.request.urlopen(request, timeout=600) as answer:
                status = answer.status
        except urllib.error.HTTPError as error:
            status = error.code
    return status, time.perf_counter() - start


def idle(path: Path) -> int:
    """No file: the door's answers while nothing is imported, for comparison."""
    return 0


def measure(kind: str, make) -> list[tuple[str, float, float]]:
    """Import one file into a fresh appliance; the table rows of what it measured."""
    work = Path(tempfile.mkdtemp(prefix="doorctl-bench-csv-"))
    rows = make(work / "upload.csv")
    served = start_served(work / "data")
    try:
        password = {"password": ROOT_PASSWORD, "password_repeat": ROOT_PASSWORD}
        served.call("POST", "/api/v1/setup", password, auth=None)
        watch = Watch(served.url, served.process.pid)
        watch.start()
        if rows:
            status, seconds = post_csv(served.url, work / "upload.csv")
        else:
            status, seconds = 0, time.sleep(IDLE_SECONDS) or IDLE_SECONDS
        watch.stop.set()
        watch.join()
    finally:
        served.stop()
    print(f"{kind}: {rows:,} rows, HTTP {status}, {seconds:.1f} s")
    door = sorted(watch.door_ms)
    return [
        (f"{kind}: peak RSS appliance+child (MiB)", watch.peak_kib / 1024, TARGET_RSS_MIB),
        (f"{kind}: door answer p50 (ms)", door[len(door) // 2], TARGET_DOOR_MS),
        (f"{kind}: door answer p99 (ms)", door[len(door) * 99 // 100], TARGET_DOOR_MS),
        (f"{kind}: slowest door answer (ms)", door[-1], TARGET_DOOR_MS),
    ]


def main() -> None:
    table = measure("idle", idle) + measure("bad rows", bad_rows) + measure("good rows", good_rows)
    print(f"{'measure':44} {'figure':>10} {'target':>10} {'ratio':>8}")
    for name, figure, target in table:
        print(f"{name:44} {figure:10.1f} {target:10.1f} {figure / target:8.2f}")


if __name__ == "__main__":
    main()
