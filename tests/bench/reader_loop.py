"""What the hub benchmarks share: a reader poll loop's 10 ms ticker and its lateness
table, and the appliance served in this (patched) process as `doorctl serve` serves it.

The benchmark scripts import this module by name (their folder is first on sys.path
when run as `python tests/bench/<name>.py`); pytest collects nothing from it.
"""

from __future__ import annotations

import base64
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import gevent
import gevent.event
from gevent import monkey, subprocess
from gevent.hub import Waiter, get_hub

from doorctl.app import create_app
from doorctl.server import Limits, freeze_startup_objects, make_server

TICK = 0.010  # a reader poll loop's cadence
TARGET_WORST_MS = 20.0
# Every benchmark client comes from 127.0.0.1; in the field they are many addresses.
BENCH_LIMITS = Limits(connections_per_client=1000)  # a reader poll is never this late
PASSWORD = "bench password"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"root:{PASSWORD}".encode()).decode()}


def ticker(lateness: list[float], stop: gevent.event.Event) -> None:
    """Sleep TICK and record how late each wake-up is in ms, like a reader poll loop."""
    while not stop.is_set():
        start = time.perf_counter()
        gevent.sleep(TICK)
        lateness.append((time.perf_counter() - start - TICK) * 1000)


def priority_ticker(lateness: list[float], stop: gevent.event.Event) -> None:
    """The hub ticker on a timer of libev's highest priority: when it is due with web
    work in the same turn of the loop, it runs first."""
    hub = get_hub()
    while not stop.is_set():
        start = time.perf_counter()
        waiter, timer = Waiter(hub), hub.loop.timer(TICK)
        timer.priority = 2  # EV_MAXPRI
        timer.start(waiter.switch, None)
        waiter.get()
        timer.close()
        lateness.append((time.perf_counter() - start - TICK) * 1000)


def thread_ticker(lateness: list[float], stop: gevent.event.Event) -> None:
    """The same loop on an OS thread of its own (the unpatched sleep): it needs the GIL
    only to record, and gets it within one switch interval of asking."""
    sleep = monkey.get_original("time", "sleep")
    while not stop.is_set():
        start = time.perf_counter()
        sleep(TICK)
        lateness.append((time.perf_counter() - start - TICK) * 1000)


PROCESS_TICKER = f"""
import sys, time
lateness, end = [], time.perf_counter() + float(sys.argv[1])
while time.perf_counter() < end:
    start = time.perf_counter()
    time.sleep({TICK})
    lateness.append((time.perf_counter() - start - {TICK}) * 1000)
print(" ".join(f"{{x:.3f}}" for x in lateness))
"""


@contextlib.contextmanager
def ticking(where: str = "hub", seconds: float = 0.0) -> Iterator[list[float]]:
    """The ticker's lateness in ms while the block runs: a greenlet on the hub (on a
    timer of the highest priority for "priority"), an OS thread, or a process of its
    own (which runs for `seconds`)."""
    stop, lateness = gevent.event.Event(), []
    if where == "process":
        child = subprocess.Popen(
            [sys.executable, "-c", PROCESS_TICKER, str(seconds)], stdout=subprocess.PIPE
        )
        yield lateness
        lateness += [float(x) for x in child.communicate()[0].split()]
        return
    if where == "thread":
        start_thread = monkey.get_original("_thread", "start_new_thread")
        start_thread(thread_ticker, (lateness, stop))
        yield lateness
        stop.set()
        return
    tick = gevent.spawn(priority_ticker if where == "priority" else ticker, lateness, stop)
    try:
        yield lateness
    finally:
        stop.set()
        tick.join(timeout=30)


def percentile(values: list[float], p: float) -> float:
    """The `p`th percentile of `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def row(name: str, figure: float, target: float | None = None, width: int = 44) -> None:
    """One line of a benchmark's table: the measure, its figure, target and ratio."""
    ratio = f"{figure / target:7.2f}" if target else f"{'':>7}"
    target_text = f"{target:9.1f}" if target else f"{'':>9}"
    print(f"{name:{width}} {figure:9.2f} {target_text} {ratio}")


def lateness_rows(name: str, lateness: list[float], width: int = 44) -> None:
    """The ticker's p99 and worst lateness under `name`, the worst against its target."""
    row(f"tick lateness p99 ms, {name}", percentile(lateness, 99), width=width)
    row(f"tick lateness worst ms, {name}", max(lateness), TARGET_WORST_MS, width)


@contextlib.contextmanager
def served(data_dir: Path) -> Iterator[tuple[str, int]]:
    """The app on the simulated board behind the server of `doorctl serve`, root's
    password PASSWORD; its base URL and port. Stopped, its store closed, at the end."""
    app = create_app({"DATA_DIR": str(data_dir), "HARDWARE": "sim"})
    doorctl = app.extensions["doorctl"]
    doorctl.users.set_root_password(PASSWORD)
    doorctl.start()
    freeze_startup_objects()
    server = make_server(app, "127.0.0.1", 0, BENCH_LIMITS)
    server.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", server.server_port
    finally:
        server.stop()
        doorctl.stop()
        doorctl.store.close()
