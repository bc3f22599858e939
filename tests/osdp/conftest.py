"""Fixtures: a pty as the RS-485 bus, libosdp readers in child processes, a bus."""

from __future__ import annotations

import json
import os
import sys
import tty
from pathlib import Path

import gevent
import gevent.event
import pytest
from gevent import subprocess
from gevent.queue import Queue

from doorctl.hal.osdp import KeyStore, OsdpBus, ReaderConfig

HARNESS = Path(__file__).resolve().parents[1] / "peers" / "osdp_reader.py"
CHILD_TIMEOUT = 60


class ReaderProcess:
    """One libosdp child process on the bus, driven by JSON lines."""

    def __init__(self, master_fd: int, pds: list[dict], directory: Path, refresh: float) -> None:
        args = [sys.executable, str(HARNESS), "--fd", str(master_fd), "--dir", str(directory)]
        args += ["--timeout", str(CHILD_TIMEOUT), "--refresh", str(refresh)]
        for pd in pds:
            args += ["--pd", json.dumps(pd)]
        self.stderr = open(directory / "reader-stderr.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            args,
            pass_fds=[master_fd],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )
        self.lines: Queue = Queue()
        self._reader = gevent.spawn(self._collect)
        self.expect(lambda e: e["event"] == "ready", timeout=10)

    def _collect(self) -> None:
        """Move the child's output lines into a queue."""
        for line in self.proc.stdout:
            try:
                self.lines.put(json.loads(line))
            except ValueError:
                # libosdp's Python wrapper prints its own errors to stdout.
                self.lines.put({"event": "text", "line": line.decode(errors="replace")})

    def send(self, **request) -> None:
        """Send one command line to the child."""
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        self.proc.stdin.flush()

    def expect(self, match, timeout: float = 5.0) -> dict:
        """The next output line for which match(line) is true."""
        with gevent.Timeout(timeout, AssertionError(f"no matching line in {timeout}s")):
            while True:
                line = self.lines.get()
                if match(line):
                    return line

    def kill(self) -> None:
        """End the child (only this one, by its own handle) and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self._reader.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            stream.close()
        self.stderr.close()


class Events:
    """Events from the bus callback, to wait on in tests (each is taken once)."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str, dict]] = []
        self._taken: set[int] = set()
        self._arrived = gevent.event.Event()

    def __call__(self, address: int, kind: str, data: dict) -> None:
        self.seen.append((address, kind, data))
        self._arrived.set()

    def wait(self, kind: str, address: int | None = None, timeout: float = 10.0) -> dict:
        """The oldest event of `kind` (from `address`) not yet taken by a wait."""
        with gevent.Timeout(timeout, False):
            while True:
                found = self._take(kind, address)
                if found is not None:
                    return found
                self._arrived.clear()
                self._arrived.wait()
        raise AssertionError(f"no {kind} event from {address} in {timeout}s; saw {self.seen}")

    def _take(self, kind: str, address: int | None) -> dict | None:
        for i, (addr, got, data) in enumerate(self.seen):
            if i not in self._taken and got == kind and address in (None, addr):
                self._taken.add(i)
                return data
        return None


@pytest.fixture
def pty_bus():
    """A pseudo-terminal pair in raw mode: the CP opens the slave by path."""
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    path = os.ttyname(slave)
    yield master, path
    os.close(master)
    os.close(slave)


@pytest.fixture
def spawn_reader(pty_bus, tmp_path):
    """Start libosdp readers on the bus; every child is killed at teardown."""
    children: list[ReaderProcess] = []

    def spawn(*pds: dict, refresh: float = 0.02) -> ReaderProcess:
        child = ReaderProcess(pty_bus[0], list(pds), tmp_path, refresh)
        children.append(child)
        return child

    yield spawn
    for child in children:
        child.kill()


@pytest.fixture
def make_bus(pty_bus, tmp_path):
    """Build and start an OsdpBus on the pty; stopped at teardown."""
    buses: list[OsdpBus] = []

    def make(*configs: ReaderConfig, **kwargs) -> tuple[OsdpBus, Events]:
        events = Events()
        kwargs.setdefault("key_store", KeyStore(tmp_path / "keys"))
        bus = OsdpBus(pty_bus[1], list(configs), events, **kwargs)
        bus.start()
        buses.append(bus)
        return bus, events

    yield make
    for bus in buses:
        bus.stop()
