"""Real chronyd peers for the Date and time tests: an NTP server on loopback and a
client whose sources doorctl writes, each with its own configuration, command socket,
pid and drift files in the test's directory, and -x: neither touches the clock."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from support import require

DEADLINE = 20.0


def free_udp_port() -> int:
    """A loopback UDP port the OS has just given out (chronyd's `port` can't be 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Chronyd:
    """One chronyd run by the test; `socket` is its command socket."""

    def __init__(self, directory: Path, lines: list[str]):
        self.directory = directory
        sockets = directory / "run"
        sockets.mkdir(mode=0o700, parents=True)  # chronyd refuses a socket dir others see
        self.socket = str(sockets / "chronyd.sock")
        self.config = directory / "chrony.conf"
        common = [
            "cmdport 0",
            f"bindcmdaddress {self.socket}",
            f"pidfile {directory / 'chronyd.pid'}",
            f"driftfile {directory / 'chrony.drift'}",
        ]
        self.config.write_text("\n".join([*common, *lines]) + "\n")
        self.chronyd = require("chronyd", "chrony")
        self.chronyc = require("chronyc", "chrony")
        self.process: subprocess.Popen | None = None
        self.log = None

    def start(self) -> Chronyd:
        """Start it in the foreground (-d) without control of the clock (-x); wait until
        its command socket answers."""
        user = ["-u", "root"] if os.geteuid() == 0 else ["-U"]
        self.log = (self.directory / "chronyd.log").open("w")
        self.process = subprocess.Popen(
            [self.chronyd, "-x", "-d", *user, "-f", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        self.wait_for(lambda: self.chronyc_run("tracking").returncode == 0, "its command socket")
        return self

    def chronyc_run(self, *commands: str) -> subprocess.CompletedProcess:
        """chronyc's CSV answer to commands, through this chronyd's socket."""
        argv = [self.chronyc, "-h", self.socket, "-c", "-N", "-m", *commands]
        return subprocess.run(argv, capture_output=True, text=True, timeout=5)

    def wait_for(self, done, what: str) -> None:
        """Poll until done() holds; fail naming what was awaited after DEADLINE."""
        deadline = time.monotonic() + DEADLINE
        while not done():
            if self.process is not None and self.process.poll() is not None:
                log = (self.directory / "chronyd.log").read_text()
                raise AssertionError(f"chronyd ended while waiting for {what}: {log}")
            if time.monotonic() > deadline:
                raise AssertionError(f"chronyd: no {what} within {DEADLINE} s")
            time.sleep(0.05)

    def stop(self) -> None:
        """End this chronyd (only the one the test started, by its process)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        if self.log is not None:
            self.log.close()


def ntp_server(directory: Path) -> tuple[Chronyd, int]:
    """A chronyd serving its own time (stratum 8) on a loopback UDP port."""
    port = free_udp_port()
    lines = [f"port {port}", "bindaddress 127.0.0.1", "allow 127.0.0.1", "local stratum 8"]
    return Chronyd(directory, lines).start(), port


def ntp_client(directory: Path) -> tuple[Chronyd, Path]:
    """A chronyd that serves nobody, reads doorctl's sources file from its sourcedir and
    takes a manual time (`manual`); the path doorctl writes."""
    sources = directory / "sources.d"
    sources.mkdir(parents=True)
    lines = ["port 0", f"sourcedir {sources}", "manual"]
    return Chronyd(directory, lines).start(), sources / "doorctl.sources"
