"""A real HTTP CONNECT proxy for the tests: Debian's tinyproxy with its own config.

It listens on 127.0.0.1 only, logs each CONNECT to a file in the test's directory, and
tunnels only to the ports the test names. Under CI (CI=true) a missing tinyproxy fails
the test; locally it is skipped. Each Tinyproxy kills only the process it started.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from support import free_port, require, start_listening, stop_peer


class Tinyproxy:
    """tinyproxy in the foreground, tunnelling to `ports`, asking for `login` if given."""

    def __init__(self, directory: Path, ports: list[int], login: tuple[str, str] | None = None):
        self.program = require("tinyproxy", "tinyproxy")
        directory.mkdir(parents=True, exist_ok=True)
        self.log = directory / "tinyproxy.log"
        self.port = free_port()
        lines = [
            f"Port {self.port}",
            "Listen 127.0.0.1",
            "Timeout 60",
            f'LogFile "{self.log}"',
            "LogLevel Connect",
            "MaxClients 20",
            *(f"ConnectPort {port}" for port in ports),
        ]
        if os.geteuid() == 0:
            lines += ["User root", "Group root"]  # else it can't write its log in tmp
        if login:
            lines.append(f"BasicAuth {login[0]} {login[1]}")
        self.config = directory / "tinyproxy.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen | None = None

    def start(self) -> Tinyproxy:
        self.process = start_listening(
            [self.program, "-d", "-c", str(self.config)],
            [self.port],
            "tinyproxy",
            lambda process: self.logged(),
            stderr=subprocess.DEVNULL,
        )
        return self

    def logged(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def connects(self, port: int, host: str = "127.0.0.1") -> int:
        """How many tunnels to `host`:`port` the proxy was asked for (its log says)."""
        return sum(1 for line in self.logged().splitlines() if f"CONNECT {host}:{port} " in line)

    def stop(self) -> None:
        stop_peer(self.process, 5)
        self.process = None
