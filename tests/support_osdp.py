"""Helpers for tests with libosdp readers: the reader harness in a child process, ptys.

Kept out of conftest.py so test modules (and tests/hal/osdp/conftest.py) import them by a
name no conftest shadows; not named `osdp`, which is libosdp's own package.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import tty
from pathlib import Path

import gevent
from gevent import subprocess
from gevent.queue import Queue
from support import missing

HARNESS = Path(__file__).resolve().parent / "peers" / "osdp_reader.py"
CHILD_TIMEOUT = 60


class ReaderProcess:
    """One libosdp child process on the bus, driven by JSON lines."""

    def __init__(
        self,
        master_fd: int,
        pds: list[dict],
        directory: Path,
        refresh: float,
        timeout: float = CHILD_TIMEOUT,
    ) -> None:
        args = [sys.executable, str(HARNESS), "--fd", str(master_fd), "--dir", str(directory)]
        args += ["--timeout", str(timeout), "--refresh", str(refresh)]
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

    def frames(self) -> int:
        """How many frames the control panel has sent on the bus so far."""
        self.send(cmd="counts")
        return self.expect(lambda e: e["event"] == "counts")["frames"]

    def kill(self) -> None:
        """End the child (only this one, by its own handle) and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self._reader.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            stream.close()
        self.stderr.close()


@contextlib.contextmanager
def reader_processes(master_fd: int, directory: Path, refresh: float):
    """A function starting libosdp reader children on a line; all are killed at the end."""
    require_libosdp()
    children: list[ReaderProcess] = []

    def spawn(*pds: dict, refresh: float = refresh) -> ReaderProcess:
        child = ReaderProcess(master_fd, list(pds), directory, refresh)
        children.append(child)
        return child

    try:
        yield spawn
    finally:
        for child in children:
            child.kill()


def require_libosdp() -> None:
    """Skip when libosdp's Python package is missing, but fail under CI (CI=true)."""
    if importlib.util.find_spec("osdp") is not None:
        return
    missing("libosdp is missing (a dev dependency: pip install -e .[dev])")


class Line:
    """A pseudo-terminal as the RS-485 line: doorctl opens `path`, readers use the master."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)

    def close(self) -> None:
        """Close both ends (a port opened on `path` then fails)."""
        os.close(self.master)
        os.close(self.slave)


def wait_until(check, timeout: float = 10.0, what: str = "condition"):
    """Let the greenlets run until check() returns something true; return it."""
    with gevent.Timeout(timeout, AssertionError(f"{what} not met in {timeout}s")):
        while True:
            result = check()
            if result:
                return result
            gevent.sleep(0.01)
