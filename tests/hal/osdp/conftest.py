"""Fixtures: a pty as the RS-485 bus, libosdp readers in child processes, a bus."""

from __future__ import annotations

import gevent
import gevent.event
import pytest
from support_osdp import Line, reader_processes

from doorctl.hal.osdp import KeyStore, OsdpBus, ReaderConfig


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
    line = Line()
    yield line.master, line.path
    line.close()


@pytest.fixture
def spawn_reader(pty_bus, tmp_path):
    """Start libosdp readers on the bus; every child is killed at teardown."""
    with reader_processes(pty_bus[0], tmp_path, 0.02) as spawn:
        yield spawn


@pytest.fixture
def make_bus_on(tmp_path):
    """Build and start an OsdpBus on a given port; stopped at teardown."""
    buses: list[OsdpBus] = []

    def make(port: str, *configs: ReaderConfig, **kwargs) -> tuple[OsdpBus, Events]:
        events = Events()
        kwargs.setdefault("key_store", KeyStore(tmp_path / "keys"))
        bus = OsdpBus(port, list(configs), events, **kwargs)
        bus.start()
        buses.append(bus)
        return bus, events

    yield make
    for bus in buses:
        bus.stop()


@pytest.fixture
def make_bus(pty_bus, make_bus_on):
    """Build and start an OsdpBus on the pty; stopped at teardown."""
    return lambda *configs, **kwargs: make_bus_on(pty_bus[1], *configs, **kwargs)
