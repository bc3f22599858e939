"""What the hub benchmarks share: a reader poll loop's 10 ms ticker and its lateness
table, and the appliance served in this (patched) process as `doorctl serve` serves it.

The benchmark scripts import this module by name (their folder is first on sys.path
when run as `python tests/bench/<name>.py`); pytest collects nothing from it.
"""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import gevent
import gevent.event

from doorctl.app import create_app
from doorctl.server import freeze_startup_objects, make_server

TICK = 0.010  # a reader poll loop's cadence
TARGET_WORST_MS = 20.0  # a reader poll is never this late
PASSWORD = "bench password"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"root:{PASSWORD}".encode()).decode()}


def ticker(lateness: list[float], stop: gevent.event.Event) -> None:
    """Sleep TICK and record how late each wake-up is in ms, like a reader poll loop."""
    while not stop.is_set():
        start = time.perf_counter()
        gevent.sleep(TICK)
        lateness.append((time.perf_counter() - start - TICK) * 1000)


@contextlib.contextmanager
def ticking() -> Iterator[list[float]]:
    """The ticker's lateness in ms while the block runs."""
    stop, lateness = gevent.event.Event(), []
    tick = gevent.spawn(ticker, lateness, stop)
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
    server = make_server(app, "127.0.0.1", 0)
    server.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", server.server_port
    finally:
        server.stop()
        doorctl.stop()
        doorctl.store.close()
