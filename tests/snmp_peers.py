"""net-snmp's own tools as the SNMP tests' peers: snmpget/snmpwalk as the manager and
snmptrapd as the trap receiver, each with its own configuration (never the host's).

No MIB files are read (Debian ships the standard ones apart): OIDs are numeric."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import time
from pathlib import Path

from support import require

SYS_DESCR = ".1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = ".1.3.6.1.2.1.1.2.0"
SYS_UP_TIME = ".1.3.6.1.2.1.1.3.0"
SYS_CONTACT = ".1.3.6.1.2.1.1.4.0"
SYS_NAME = ".1.3.6.1.2.1.1.5.0"
SYS_LOCATION = ".1.3.6.1.2.1.1.6.0"
SYSTEM = ".1.3.6.1.2.1.1"
COLD_START = ".1.3.6.1.6.3.1.1.5.1"
SNMP_TRAP_OID = ".1.3.6.1.6.3.1.1.4.1.0"
# no MIB files and no ~/.snmp: the tools read only what the test gives them
QUIET = {**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent", "SNMPCONFPATH": "/nonexistent"}


def free_udp_port() -> int:
    """A UDP port on loopback that nothing uses right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def snmp(tool: str, port: int, options: list[str], *oids: str) -> subprocess.CompletedProcess:
    """Run snmpget/snmpwalk against 127.0.0.1:port: one try of a second, numeric OIDs."""
    command = [require(tool, "net-snmp's tools (Debian snmp)"), "-t", "1", "-r", "0", "-On"]
    return subprocess.run(
        [*command, *options, f"udp:127.0.0.1:{port}", *oids],
        capture_output=True,
        text=True,
        env=QUIET,
        timeout=30,
    )


def values(output: str) -> dict[str, str]:
    """snmpget/snmpwalk -On output as {oid: value}, the type and quotes taken off."""
    found = {}
    for line in output.splitlines():
        oid, _, value = line.partition(" = ")
        value = value.split(": ", 1)[-1]
        found[oid] = value.strip('"')
    return found


def v2c(community: str) -> list[str]:
    return ["-v", "2c", "-c", community]


def v3(user: str, auth: str, auth_key: str, privacy_key: str) -> list[str]:
    level = ["-v", "3", "-l", "authPriv", "-u", user]
    return [*level, "-a", auth, "-A", auth_key, "-x", "AES", "-X", privacy_key]


class TrapReceiver:
    """snmptrapd in the foreground on a free loopback port, printing what it receives."""

    def __init__(self, directory: Path, config: list[str]):
        self.port = free_udp_port()
        directory.mkdir(parents=True, exist_ok=True)
        conf = directory / "snmptrapd.conf"
        conf.write_text("\n".join(["doNotFork yes", *config]) + "\n")
        program = require("snmptrapd", "net-snmp's trap receiver (Debian snmptrapd)")
        environment = {**QUIET, "SNMP_PERSISTENT_DIR": str(directory / "persistent")}
        self.process = subprocess.Popen(
            [program, "-f", "-Lo", "-On", "-C", "-c", str(conf), f"udp:127.0.0.1:{self.port}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=environment,
        )
        self.lines: list[str] = []
        self._partial = b""
        self.wait_for("NET-SNMP version")

    def wait_for(self, text: str, seconds: float = 15) -> str:
        """The first line (of those received so far or to come) that holds `text`."""
        deadline = time.monotonic() + seconds
        while True:
            for line in self.lines:
                if text in line:
                    return line
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None:
                raise AssertionError(f"snmptrapd never said {text!r}; it said {self.lines}")
            ready, _, _ = select.select([self.process.stdout], [], [], left)
            if ready:
                self._read()

    def _read(self) -> None:
        """What snmptrapd printed since, split into whole lines (a trap is two)."""
        *lines, self._partial = (
            self._partial + os.read(self.process.stdout.fileno(), 65536)
        ).split(b"\n")
        self.lines += [line.decode(errors="replace") for line in lines]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.process.stdout.close()
