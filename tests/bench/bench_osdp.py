"""OSDP benchmark (on demand: `python tests/bench/bench_osdp.py`; pytest ignores tests/bench).

Latency from the libosdp reader harness being told to submit a card read to doorctl's
relay energising (access granted), p50 and p99, at 115200 and 9600 baud, next to the
wire time of the frames and to libosdp's own control panel (osdp.ControlPanel at its
defaults, in a child process, against the same harness). Then the CPU seconds per
minute doorctl spends polling two idle readers, at the default poll interval and at
longer ones, next to libosdp's control panel polling the same two readers at its
defaults; polls are counted at the readers, so both get a CPU cost per poll (target:
at most half of libosdp's). Card to relay is measured again while 8 and then 50
browser-like clients use the web server (BENCH_WEB_CLIENTS); a card that never opens
the door is counted lost (and told with whether the reader sent it and what doorctl made
of it), one that opens it after 2 s late. BENCH_QUICK=1 runs 115200 baud and the 15 ms
interval only.

Each figure is taken for both placements of the readers and the door engine, one
after the other in the same run (BENCH_PLACEMENTS): "whole" (one process,
`doorctl serve --engine-in-process`) and "engine" (the readers, door and decisions in
a child process, as `doorctl serve` runs by default). With the engine apart, the relay is
timed by the relay event's own time, stamped in the engine as the relay moves, and
the polling CPU is the engine process's.

The line is a pseudo-terminal, which ignores the baud rate: bytes arrive at once. So
the 9600 and 115200 rows differ only by doorctl's own baud-dependent waits; the wire
floor column (poll + card reply, 10 bits a byte) is computed, not measured. The
harness PD refreshes every 1 ms so that the reader is not the bottleneck.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # as `doorctl serve` runs: the web load below needs it

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS.parent), str(TESTS), str(TESTS / "bench")]

import gevent  # noqa: E402
import gevent.event  # noqa: E402
from bench_hub import PASSWORD, web_client  # noqa: E402
from flask import Flask  # noqa: E402
from gevent import subprocess  # noqa: E402
from reader_loop import BENCH_LIMITS  # noqa: E402
from support_osdp import Line, ReaderProcess  # noqa: E402

from doorctl.app import create_app  # noqa: E402
from doorctl.core.access_control.readers import CARD_READ  # noqa: E402
from doorctl.core.appliance import Appliance  # noqa: E402
from doorctl.core.system.security import SECTION as SECURITY  # noqa: E402
from doorctl.hal.wiegand import encode_card  # noqa: E402
from doorctl.server import freeze_startup_objects, make_server  # noqa: E402

READS = int(os.environ.get("BENCH_READS", "150"))
CARD_BITS = encode_card("H10301", 12, 345)
POLL_BYTES = 8  # SOM, address, length (2), control, osdp_POLL, CRC (2)
CARD_REPLY_BYTES = 18  # header (5), osdp_RAW, reader, format, bit count (2), 4 data bytes, CRC
P99_TARGET_MS = 20.0
# CPU per poll against libosdp's own control panel polling the same readers.
CPU_PER_POLL_TARGET = 0.5
CPU_SECONDS = int(os.environ.get("BENCH_CPU_SECONDS", "20"))
WEB_CLIENTS = tuple(int(n) for n in os.environ.get("BENCH_WEB_CLIENTS", "8,50").split(","))
# BENCH_QUICK=1: 115200 baud only, polling at 15 ms only, no libosdp CP latency run.
QUICK = os.environ.get("BENCH_QUICK") == "1"
# A card whose relay has not moved this long after the reader sent it is lost.
LOST_AFTER = 2.0
# How much later than the relay the web process may hear of it (engine placement).
NEWS_SLACK = 8.0
ACCESS_TIME = 0.1
# The reader harness ends itself after this long; a doorctl run takes about two minutes.
CHILD_LIFETIME = 900
PLACEMENTS = tuple(os.environ.get("BENCH_PLACEMENTS", "whole,engine").split(","))
RELAY_TOPIC = "tns1:Device/Trigger/Relay"


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def wire_floor_ms(baud: int) -> float:
    """Time on the wire of a poll and its card reply."""
    return (POLL_BYTES + CARD_REPLY_BYTES) * 10 / baud * 1000


def app_with_two_readers(data_dir: Path, line: Line, baud: int, placement: str) -> Flask:
    """The web app of a started appliance with Ann's card and two readers on the line."""
    config = {"DATA_DIR": str(data_dir), "HARDWARE": "sim", "READER_TEST_PORTS": True}
    app = create_app({**config, "ENGINE_PROCESS": placement == "engine"})
    doorctl = app.extensions["doorctl"]
    doorctl.users.set_root_password(PASSWORD)
    doorctl.settings.update("door", {"access_time": ACCESS_TIME})
    # Every web client comes from 127.0.0.1, and logins still being checked count as
    # failures: with blocking on, the busy web would be blocked (429) and idle.
    doorctl.settings.update(SECURITY, {"blocking": False})
    doorctl.start()
    freeze_startup_objects()
    access = doorctl.access
    holder = access.cardholders.create({"name": "Ann"})
    card = {"format": "H10301", "facility": 12, "number": 345}
    access.credentials.create({"cardholder_id": holder["id"], "card": card})
    access.rules.create({"cardholder_ids": [holder["id"]]})
    for address, direction in ((1, "entry"), (2, "exit")):
        reader = {"id": f"r{address}", "port": line.path, "baud": baud, "address": address}
        doorctl.readers.add({**reader, "direction": direction})
    return app


def wait_for(check, timeout: float = 10.0) -> None:
    with gevent.Timeout(timeout):
        while not check():
            gevent.sleep(0.001)


@dataclass
class Reads:
    """Card to relay in ms for each card that opened the door in time, the cards that
    opened it later than LOST_AFTER (late), and the cards that never did (lost)."""

    latencies: list[float]
    lost: int
    late: int = 0
    # POLLs the readers answered with NAK (libosdp's answer to a repeated SQN, a retry).
    poll_naks: int = 0


class RelayWatch:
    """When the relay energised, and whether it is energised now, in either placement:
    the board's own callback in one process, the relay event's time from the engine."""

    def __init__(self, doorctl: Appliance):
        self.energised: list[float] = []
        self.active = False
        if doorctl.role == "web":
            self.clock = time.time  # the event's time is the engine's wall clock
            doorctl.bus.subscribe(self._event, RELAY_TOPIC)
        else:
            self.clock = time.monotonic
            doorctl.board.outputs["relay"].on_change(self._changed)

    def _changed(self, name: str, active: bool) -> None:
        self.active = active
        if active:
            self.energised.append(time.monotonic())

    def _event(self, event) -> None:
        if event.source.get("port") == "relay":
            self.active = event.data["circuit"] == "closed"
            if self.active:
                self.energised.append(event.time)


def doorctl_latencies(doorctl: Appliance, child: ReaderProcess) -> Reads:
    """Card submitted at the reader to relay energised, in ms, READS times; a card that
    energised the relay more than LOST_AFTER seconds after it was sent is late, one that
    never did (within LOST_AFTER + NEWS_SLACK) is lost: the two have different causes
    (a slow machine, a card dropped)."""
    relay = RelayWatch(doorctl)
    energised = relay.energised
    naks_before = poll_naks(doorctl)
    reads = Reads([], 0)
    heard: list = []  # what the controller made of each card: its read, its decision
    doorctl.bus.subscribe(heard.append, CARD_READ, "tns1:AccessControl/")
    for n in range(READS):
        wait_for(lambda: not relay.active)
        gevent.sleep(0.005 + (n % 7) * 0.003)  # spread the reads over the poll cycle
        before = len(energised)
        sent = relay.clock()
        heard.clear()
        while not child.lines.empty():
            child.lines.get()
        child.send(cmd="card", address=1 + n % 2, bits=CARD_BITS)
        try:  # the relay's own time decides; its news may reach a busy web process late
            wait_for(lambda b=before: len(energised) > b, LOST_AFTER + NEWS_SLACK)
        except gevent.Timeout:
            reads.lost += 1
            said = [(e.topic.rsplit("/", 2)[-2:], e.source.get("reader")) for e in heard]
            lines = [child.lines.get() for _ in range(child.lines.qsize())]
            sent = [line for line in lines if line.get("event") == "card_sent"]
            print(f"card {n} at r{1 + n % 2} lost: the reader sent {sent}; doorctl heard {said}")
            continue
        if energised[before] - sent > LOST_AFTER:
            reads.late += 1
            continue
        reads.latencies.append((energised[before] - sent) * 1000)
    reads.poll_naks = poll_naks(doorctl) - naks_before
    return reads


def poll_naks(doorctl: Appliance) -> int:
    """How many POLLs the readers have answered with NAK so far."""
    return sum(r["naks"].get("osdp_POLL", {}).get("count", 0) for r in doorctl.readers.list())


def latencies_with_busy_web(app: Flask, child: ReaderProcess, web_clients: int):
    """Card to relay while `web_clients` browser-like clients use the real server;
    (Reads, web rounds)."""
    doorctl = app.extensions["doorctl"]
    server = make_server(app, "127.0.0.1", 0, BENCH_LIMITS)
    server.start()
    url = f"http://127.0.0.1:{server.server_port}"
    stop, counts = gevent.event.Event(), {"rounds": 0}
    clients = [gevent.spawn(web_client, url, stop, counts, ACCESS_TIME) for _ in range(web_clients)]
    try:
        gevent.sleep(1.0)  # let the clients get going
        return doorctl_latencies(doorctl, child), counts["rounds"]
    finally:
        stop.set()
        gevent.joinall(clients, timeout=30)
        server.stop()


@dataclass
class Polling:
    """CPU seconds per minute spent polling, and the polls the readers counted."""

    cpu_per_minute: float
    polls_per_second: float

    @property
    def percent(self) -> float:
        return self.cpu_per_minute / 60 * 100

    @property
    def us_per_poll(self) -> float:
        return self.cpu_per_minute / 60 / self.polls_per_second * 1e6


def engine_cpu(doorctl: Appliance):
    """The CPU seconds of the process that polls: this one, or the engine process."""
    if doorctl.role == "web":
        return lambda: process_cpu(doorctl.engine.child.pid)
    return own_cpu


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """User + system seconds of another process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def polling(child: ReaderProcess, cpu_seconds) -> Polling:
    """Idle polling over CPU_SECONDS: CPU by `cpu_seconds()`, polls counted at the reader."""
    gevent.sleep(1.0)  # let a restarted bus settle
    frames, cpu, start = child.frames(), cpu_seconds(), time.monotonic()
    gevent.sleep(CPU_SECONDS)
    frames, cpu = child.frames() - frames, cpu_seconds() - cpu
    elapsed = time.monotonic() - start
    return Polling(cpu * 60 / elapsed, frames / elapsed)


def run_doorctl(baud: int, work: Path, intervals: tuple[int, ...], secure: bool, placement: str):
    """doorctl's latencies at `baud`; its idle polling at each poll interval (ms) and,
    if `secure`, at 15 ms in a secure channel."""
    line = Line()
    pds = [{"address": 1}, {"address": 2}]
    keys = work / f"readers-{baud}-{placement}"  # readers keyed in one run keep that key
    keys.mkdir()
    child = ReaderProcess(line.master, pds, keys, 0.001, timeout=CHILD_LIFETIME)
    app = app_with_two_readers(work / f"data-{baud}-{placement}", line, baud, placement)
    doorctl = app.extensions["doorctl"]
    costs = {}
    try:
        wait_for(lambda: all(r["online"] for r in doorctl.readers.list()[1:]))
        latencies = doorctl_latencies(doorctl, child)
        busy = {n: latencies_with_busy_web(app, child, n) for n in WEB_CLIENTS} if secure else {}
        for interval in intervals:
            doorctl.readers.update("r1", {"poll_interval": interval})  # r2 shares the bus
            wait_for(lambda: all(r["online"] for r in doorctl.readers.list()[1:]))
            costs[f"every {interval} ms"] = polling(child, engine_cpu(doorctl))
        if secure:
            doorctl.readers.update("r1", {"poll_interval": 15, "secure_channel": "install"})
            doorctl.readers.update("r2", {"secure_channel": "install"})
            wait_for(lambda: all(r["sc"] == "up" for r in doorctl.readers.list()[1:]), 30)
            costs["every 15 ms, secure channel"] = polling(child, engine_cpu(doorctl))
    finally:
        doorctl.stop()
        doorctl.store.close()
        child.kill()
        line.close()
    return latencies, busy, costs


def start_libosdp_cp(line: Line, baud: int, addresses: list[int]) -> subprocess.Popen:
    """libosdp's ControlPanel in a child process, once all its readers are online."""
    cp = subprocess.Popen(
        [sys.executable, __file__, "--cp", line.path, str(baud), *map(str, addresses)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert json.loads(cp.stdout.readline())["event"] == "online"
    return cp


def stop_libosdp_cp(cp: subprocess.Popen) -> None:
    cp.kill()
    cp.wait()
    cp.stdout.close()


def libosdp_cp_polling(work: Path) -> Polling:
    """libosdp's ControlPanel at its defaults polling two idle readers."""
    line = Line()
    pds = [{"address": 1, "secure": False}, {"address": 2, "secure": False}]
    child = ReaderProcess(line.master, pds, work, 0.001)
    cp = start_libosdp_cp(line, 115200, [1, 2])
    try:
        return polling(child, lambda: process_cpu(cp.pid))
    finally:
        stop_libosdp_cp(cp)
        child.kill()
        line.close()


def run_libosdp_cp(baud: int, work: Path) -> list[float]:
    """libosdp's ControlPanel (child process) against the same harness: card to event."""
    line = Line()
    child = ReaderProcess(line.master, [{"address": 1, "secure": False}], work, 0.001)
    cp = start_libosdp_cp(line, baud, [1])
    try:
        latencies = []
        for n in range(READS):
            gevent.sleep(0.005 + (n % 7) * 0.003)
            sent = time.monotonic()
            child.send(cmd="card", bits=CARD_BITS)
            latencies.append((json.loads(cp.stdout.readline())["t"] - sent) * 1000)
    finally:
        stop_libosdp_cp(cp)
        child.kill()
        line.close()
    return latencies


def libosdp_cp_child(port: str, baud: int, addresses: list[int]) -> None:
    """Child process: libosdp's CP on the pty; prints the monotonic time of each card."""
    import osdp
    import serial

    class PortChannel(osdp.Channel):
        def __init__(self):
            super().__init__()
            self.port = serial.serial_for_url(port, baudrate=baud, timeout=0)

        def read(self, max_bytes: int) -> bytes:
            return self.port.read(max_bytes)

        def write(self, buf: bytes) -> int:
            return self.port.write(bytes(buf))

        def flush(self) -> None:
            self.port.reset_input_buffer()

    def on_event(pd: int, event: dict) -> int:
        if event.get("event") == osdp.Event.CardRead:
            print(json.dumps({"t": time.monotonic()}), flush=True)
        return 0

    channel = PortChannel()
    infos = [osdp.PDInfo(address, channel) for address in addresses]
    cp = osdp.ControlPanel(infos, osdp.LogLevel.Error, event_handler=on_event)
    cp.start()
    cp.online_wait_all(timeout=10)
    print(json.dumps({"event": "online"}), flush=True)
    time.sleep(3600)  # the benchmark kills this process when it is done


def table(rows: list[tuple]) -> str:
    """The results as a fixed-width table."""
    head = ("measure", "figure", "target", "ratio")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(4)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    rule = "  ".join("-" * w for w in widths)
    return "\n".join(
        ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)), rule, *lines]
    )


def latency_rows(baud: int, reads: Reads, cp: list[float]) -> list[tuple]:
    """Card to relay for doorctl, lost cards, card to event for libosdp's CP, and the
    wire floor."""
    latencies = reads.latencies
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    target = f"< {P99_TARGET_MS:g} ms" if baud == 115200 else "-"
    ratio = f"{p99 / P99_TARGET_MS:.2f}" if baud == 115200 else "-"
    rows = [
        (f"{baud} baud: wire floor (poll + card reply)", f"{wire_floor_ms(baud):.2f} ms", "-", "-"),
        (f"{baud} baud: doorctl card -> relay p50", f"{p50:.2f} ms", "-", "-"),
        (f"{baud} baud: doorctl card -> relay p99", f"{p99:.2f} ms", target, ratio),
        (f"{baud} baud: doorctl cards lost", f"{reads.lost} of {READS}", "0", "-"),
        (f"{baud} baud: doorctl cards late (> {LOST_AFTER:g} s)", f"{reads.late}", "0", "-"),
        (f"{baud} baud: POLLs answered with NAK (retries)", f"{reads.poll_naks}", "-", "-"),
    ]
    if not cp:
        return rows
    cp50, cp99 = percentile(cp, 50), percentile(cp, 99)
    return [
        *rows,
        (
            f"{baud} baud: libosdp CP card -> event p50",
            f"{cp50:.2f} ms",
            "-",
            f"doorctl/CP {p50 / cp50:.2f}",
        ),
        (
            f"{baud} baud: libosdp CP card -> event p99",
            f"{cp99:.2f} ms",
            "-",
            f"doorctl/CP {p99 / cp99:.2f}",
        ),
    ]


def busy_rows(baud: int, web_clients: int, reads: Reads, rounds: int) -> list[tuple]:
    """Card to relay while the web is busy, against the same 20 ms target; lost cards."""
    p50, p99 = percentile(reads.latencies, 50), percentile(reads.latencies, 99)
    name = f"{baud} baud, web busy ({web_clients} clients, {rounds} rounds)"
    return [
        (f"{name}: doorctl card -> relay p50", f"{p50:.2f} ms", "-", "-"),
        (
            f"{name}: doorctl card -> relay p99",
            f"{p99:.2f} ms",
            f"< {P99_TARGET_MS:g} ms",
            f"{p99 / P99_TARGET_MS:.2f}",
        ),
        (f"{name}: doorctl cards lost", f"{reads.lost} of {READS}", "0", "-"),
        (f"{name}: doorctl cards late (> {LOST_AFTER:g} s)", f"{reads.late}", "0", "-"),
        (f"{name}: POLLs answered with NAK (retries)", f"{reads.poll_naks}", "-", "-"),
    ]


def polling_rows(name: str, cost: Polling, reference: Polling | None) -> list[tuple]:
    """CPU per minute, polls per second, and CPU per poll against libosdp's CP's."""
    target = "-" if reference is None else f"<= {CPU_PER_POLL_TARGET:g} x CP"
    ratio = "-" if reference is None else f"{cost.us_per_poll / reference.us_per_poll:.2f}"
    return [
        (f"{name}: CPU s/min", f"{cost.cpu_per_minute:.2f} s ({cost.percent:.2f} %)", "-", "-"),
        (f"{name}: polls/s (counted at the readers)", f"{cost.polls_per_second:.0f}", "-", "-"),
        (f"{name}: CPU per poll", f"{cost.us_per_poll:.0f} us", target, ratio),
    ]


def placed(placement: str, rows: list[tuple]) -> list[tuple]:
    """Rows named with the placement they were measured in."""
    return [(f"[{placement}] {row[0]}", *row[1:]) for row in rows]


def runs() -> tuple:
    """(baud, poll intervals in ms, whether with the secure channel and the busy web)."""
    if QUICK:
        return ((115200, (15,), True),)
    return ((115200, (15, 30, 50), True), (9600, (15,), False))


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        reference = libosdp_cp_polling(work)
        for baud, intervals, secure in runs():
            cp = [] if QUICK else run_libosdp_cp(baud, work)
            for placement in PLACEMENTS:
                reads, busy, costs = run_doorctl(baud, work, intervals, secure, placement)
                rows += placed(placement, latency_rows(baud, reads, cp))
                for web_clients, (busy_reads, rounds) in busy.items():
                    rows += placed(placement, busy_rows(baud, web_clients, busy_reads, rounds))
                for how, cost in costs.items():
                    name = f"{baud} baud: doorctl polling 2 readers {how}"
                    rows += placed(placement, polling_rows(name, cost, reference))
        rows += polling_rows("libosdp CP polling 2 readers at its defaults", reference, None)
    print(f"{READS} card reads per run; the pty ignores the baud rate (wire floor computed)")
    print(table(rows))


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "--cp":
        libosdp_cp_child(sys.argv[2], int(sys.argv[3]), [int(a) for a in sys.argv[4:]])
    else:
        main()
