"""Where the OSDP bus should run (on demand: `python tests/bench/bench_bus_placement.py`).

A prototype measure for the design choice of the reader loop: the real OsdpBus polls
two libosdp readers (the harness of bench_osdp) while the real app, behind the server
of `doorctl serve` in this process, serves 8 and then 50 browser-like clients. The
bus runs in one of three places (BENCH_PLACES):

- hub: a greenlet on the web's hub, as doorctl runs it today;
- thread: an OS thread of its own with its own gevent hub (gevent keeps one hub per
  thread), so the web's greenlets never stand between a poll and its reply; it still
  needs the GIL, which the web hands over within the switch interval;
- process: a child process of its own; the web never delays it but through the CPU.

It measures from the card being submitted at the reader to the bus reporting it (where
the decision and the relay would follow, a fraction of a millisecond on any of the
three), p50, p90, p99 and worst, and how many took over 150 ms (a reply timeout's
mark), with a quiet reference in the same run.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS.parent), str(TESTS), str(TESTS / "bench")]

import gevent  # noqa: E402
import gevent.event  # noqa: E402
from bench_hub import web_client  # noqa: E402
from gevent import subprocess  # noqa: E402
from reader_loop import percentile, served  # noqa: E402
from support_osdp import Line, ReaderProcess  # noqa: E402

from doorctl.hal.osdp import OsdpBus, ReaderConfig  # noqa: E402
from doorctl.hal.wiegand import encode_card  # noqa: E402

READS = int(os.environ.get("BENCH_READS", "150"))
PLACES = tuple(os.environ.get("BENCH_PLACES", "hub,thread,process").split(","))
WEB_CLIENTS = (0, 8, 50)
CARD_BITS = encode_card("H10301", 12, 345)
TARGET_P99_MS = 20.0
LOST_AFTER = 2.0


def run_bus(port: str, cards: list[float]) -> OsdpBus:
    """Start the bus on the current thread's hub; card times (monotonic) go to `cards`."""

    def on_event(address: int, kind: str, data: dict) -> None:
        if kind == "card":
            cards.append(time.monotonic())

    bus = OsdpBus(port, [ReaderConfig(1), ReaderConfig(2)], on_event)
    bus.start()
    return bus


def bus_thread(port: str, cards: list[float], stop) -> None:
    """An OS thread: its own hub runs the bus until `stop` (an original threading Event)."""
    bus = run_bus(port, cards)
    while not stop.is_set():
        gevent.sleep(0.05)
    bus.stop()


def bus_child(port: str) -> None:
    """Child process: the bus, each card's time as a line on stdout."""
    cards: list[float] = []
    run_bus(port, cards)
    while True:
        while cards:
            print(json.dumps(cards.pop(0)), flush=True)
        gevent.sleep(0.001)


class Place:
    """The bus started in `where`; `cards` gets the time of each card it reports."""

    def __init__(self, where: str, port: str):
        self.where, self.cards = where, []
        if where == "hub":
            self.bus = run_bus(port, self.cards)
        elif where == "thread":
            self.stop = monkey.get_original("threading", "Event")()
            start = monkey.get_original("_thread", "start_new_thread")
            start(bus_thread, (port, self.cards, self.stop))
        else:
            command = [sys.executable, __file__, "--child", port]
            self.child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            self.collector = gevent.spawn(self._collect)

    def _collect(self) -> None:
        for line in self.child.stdout:
            self.cards.append(json.loads(line))

    def close(self) -> None:
        if self.where == "hub":
            self.bus.stop()
        elif self.where == "thread":
            self.stop.set()
        else:
            self.child.kill()
            self.child.wait()


def card_latencies(place: Place, reader: ReaderProcess) -> tuple[list[float], int]:
    """Card submitted to card reported, ms, READS times; and the cards lost."""
    latencies, lost = [], 0
    for n in range(READS):
        gevent.sleep(0.05 + (n % 7) * 0.003)  # spread the reads over the poll cycle
        before, sent = len(place.cards), time.monotonic()
        reader.send(cmd="card", address=1 + n % 2, bits=CARD_BITS)
        deadline = sent + LOST_AFTER
        while len(place.cards) == before and time.monotonic() < deadline:
            gevent.sleep(0.002)
        if len(place.cards) == before:
            lost += 1
            continue
        latencies.append((place.cards[before] - sent) * 1000)
    return latencies, lost


def measure(url: str, where: str, work: Path) -> list[tuple]:
    """Rows for the bus in `where`: quiet, then with each number of web clients."""
    line = Line()
    pds = [{"address": 1, "secure": False}, {"address": 2, "secure": False}]
    reader = ReaderProcess(line.master, pds, work, 0.001, timeout=900)
    place = Place(where, line.path)
    rows = []
    try:
        gevent.sleep(2.0)  # readers online
        for clients in WEB_CLIENTS:
            stop, counts = gevent.event.Event(), {"rounds": 0}
            workers = [gevent.spawn(web_client, url, stop, counts, 0.1) for _ in range(clients)]
            gevent.sleep(1.0 if clients else 0)
            latencies, lost = card_latencies(place, reader)
            stop.set()
            gevent.joinall(workers, timeout=30)
            rows.append((where, clients, latencies, lost, counts["rounds"]))
    finally:
        place.close()
        reader.kill()
        line.close()
    return rows


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="doorctl-bench-place-"))
    rows = []
    with served(work / "data") as (url, _):
        for where in PLACES:
            rows += measure(url, where, work)
    print(f"{READS} cards per row; card submitted at the reader -> card reported by the bus")
    head = (
        f"{'bus':8} {'web clients':>11} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'worst ms':>8}"
    )
    print(f"{head} {'>150':>5} {'lost':>5} {'target':>7} {'ratio':>6} {'web rounds':>10}")
    for where, clients, latencies, lost, rounds in rows:
        p99 = percentile(latencies, 99)
        print(
            f"{where:8} {clients:11} {percentile(latencies, 50):7.2f} "
            f"{percentile(latencies, 90):7.2f} {p99:7.2f} {max(latencies):8.2f} "
            f"{sum(x > 150 for x in latencies):5} {lost:5} {TARGET_P99_MS:7.1f} "
            f"{p99 / TARGET_P99_MS:6.2f} "
            f"{rounds:10}"
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        bus_child(sys.argv[2])
    else:
        main()
