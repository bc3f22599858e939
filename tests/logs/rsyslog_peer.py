"""A real rsyslogd for the remote syslog tests: UDP, TCP and TLS inputs on loopback, each
writing exactly what arrived (`%rawmsg%`, one message a line) to a file of its own.

rsyslogd runs in the foreground with its own configuration, work directory and pid
file; `stop()` ends only the process it started. The TLS input (the gtls driver of
rsyslog-gnutls) presents a certificate for `localhost` that the test CA signed.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from brokers import Pki
from support import free_port, require, start_listening, stop_peer

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
PROTOCOLS = ("udp", "tcp", "tls")


@dataclass
class Rsyslog:
    """rsyslogd listening on 127.0.0.1 with one input per protocol."""

    directory: Path
    pki: Pki
    ports: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        require(RSYSLOGD, "rsyslog")
        (self.directory / "work").mkdir(parents=True, exist_ok=True)
        self.ports = self.ports or {p: free_port() for p in PROTOCOLS}
        self.config = self.directory / "rsyslog.conf"
        self.config.write_text(self._config())

    def _config(self) -> str:
        d, pki = self.directory, self.pki
        rules = "".join(
            f'ruleset(name="{p}") {{ action(type="omfile" file="{d / p}.log" template="raw") }}\n'
            for p in PROTOCOLS
        )
        return (
            f'global(workDirectory="{d / "work"}" defaultNetstreamDriverCAFile="{pki.ca}"\n'
            f'  defaultNetstreamDriverCertFile="{pki.cert}" '
            f'defaultNetstreamDriverKeyFile="{pki.key}")\n'
            'module(load="imudp")\nmodule(load="imtcp")\n'
            'template(name="raw" type="string" string="%rawmsg%\\n")\n'
            f"{rules}"
            f'input(type="imudp" address="127.0.0.1" port="{self.ports["udp"]}" ruleset="udp")\n'
            f'input(type="imtcp" address="127.0.0.1" port="{self.ports["tcp"]}" ruleset="tcp")\n'
            f'input(type="imtcp" address="127.0.0.1" port="{self.ports["tls"]}" ruleset="tls"\n'
            '  streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")\n'
        )

    def start(self) -> Rsyslog:
        """Start rsyslogd and wait until its TCP and TLS inputs take connections."""
        self.process = start_listening(
            [RSYSLOGD, "-n", "-f", str(self.config), "-i", str(self.directory / "pid")],
            [self.ports["tcp"], self.ports["tls"]],
            "rsyslogd",
            lambda process: process.stderr.read(),
            stderr=subprocess.PIPE,
        )
        return self

    def stop(self) -> None:
        """SIGTERM, and wait until it has exited (its connections are closed by then)."""
        stop_peer(self.process)

    def received(self, protocol: str) -> list[str]:
        """Every message that arrived over the protocol, as it arrived."""
        path = self.directory / f"{protocol}.log"
        return path.read_text().splitlines() if path.exists() else []
