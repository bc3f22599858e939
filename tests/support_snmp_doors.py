"""net-snmp peers for the tests of doorctl's objects and notifications: doorctl's own snmpd
turned on through the REST API, snmptrapd, snmpwalk, and the MIB modules DOORCTL-MIB imports.

Debian ships net-snmp's own MIBs (NET-SNMP-MIB) but not the IETF's base modules
(SNMPv2-SMI, -TC, -CONF: non-free, fetched by snmp-mibs-downloader from the IETF).
The npm package `net-snmp` carries them; NPM_PACKAGE's tarball is fetched once with
npm, its hash checked, and the three files kept in the user's cache.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from support import missing, require

from doorctl.core.system.snmp import mib

NPM_PACKAGE = "net-snmp@3.29.2"
NPM_SHA256 = "a89a7a7e29638b5353aa246563821172754ff1980bfc4b5dbd09dc1b217c6f04"
BASE_MODULES = ("SNMPv2-SMI", "SNMPv2-TC", "SNMPv2-CONF")
NET_SNMP_MIBS = "/usr/share/snmp/mibs"  # Debian's libsnmp-base: NET-SNMP-MIB
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "doorctl-tests"


def standard_mibs() -> Path:
    """A folder with SNMPv2-SMI, SNMPv2-TC and SNMPv2-CONF (fetched once, then cached)."""
    folder = CACHE / NPM_PACKAGE.replace("@", "-") / "mibs"
    if all((folder / f"{name}.mib").is_file() for name in BASE_MODULES):
        return folder
    npm = require("npm", "npm (to fetch the IETF's SNMPv2 base MIB modules)")
    with tempfile.TemporaryDirectory() as work:
        done = subprocess.run(
            [npm, "pack", "--silent", NPM_PACKAGE], cwd=work, capture_output=True, timeout=120
        )
        tarballs = list(Path(work).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            missing(f"npm could not fetch {NPM_PACKAGE}: {done.stderr.decode()[-300:]}")
        data = tarballs[0].read_bytes()
        assert hashlib.sha256(data).hexdigest() == NPM_SHA256, f"{NPM_PACKAGE} changed"
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarballs[0]) as tar:
            for name in BASE_MODULES:
                member = tar.extractfile(f"package/lib/mibs/{name}.mib")
                (folder / f"{name}.mib").write_bytes(member.read())
    return folder


def mib_path() -> str:
    """The MIB search path: the base modules, net-snmp's own, doorctl's."""
    return ":".join([str(standard_mibs()), NET_SNMP_MIBS, str(mib.MIB_FILE.parent)])


def udp_port(pid: int, timeout: float = 10) -> int:
    """The UDP port a child bound to port 0 got (its socket's inode in /proc/net/udp)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inodes = set()
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd) if fd.is_symlink() else ""
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        for line in Path(f"/proc/{pid}/net/udp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes and fields[1].startswith("0100007F:"):
                return int(fields[1].split(":")[1], 16)
        time.sleep(0.05)
    raise AssertionError(f"process {pid} bound no UDP port on 127.0.0.1")


class Peer:
    """A net-snmp daemon in the foreground, logging to a file, on a port of its own."""

    def __init__(self, argv: list[str], log: Path, env: dict):
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                argv, stdout=output, stderr=subprocess.STDOUT, env={**os.environ, **env}
            )
        self.port = udp_port(self.process.pid)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def snmp_on(admin_api, doorctl, **settings) -> int:
    """SNMP turned on through the REST API (v2c, community "public" unless `settings`
    say otherwise), its snmpd on loopback; the agent's port."""
    from snmp_peers import free_udp_port

    require("/usr/sbin/snmpd", "net-snmp's agent (Debian package snmpd)")
    doorctl.snmp.address = "127.0.0.1"
    port = free_udp_port()
    body = {"version": "v1_v2c", "port": port, "read_community": "public", **settings}
    answer = admin_api.put("/api/v1/snmp", json=body)
    assert answer.status_code == 200, answer.json
    return port


def start_snmptrapd(folder: Path, community: str = "public", extra: tuple = ()) -> Peer:
    """snmptrapd that logs every notification numerically (-On) to its log file."""
    trapd = require("/usr/sbin/snmptrapd", "net-snmp's trap receiver (Debian package snmptrapd)")
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "snmptrapd.conf"
    conf.write_text("\n".join([f"authCommunity log {community}", *extra]) + "\n")
    argv = [trapd, "-f", "-Lo", "-On", "-C", "-c", str(conf), "udp:127.0.0.1:0"]
    env = {"SNMP_PERSISTENT_DIR": str(folder), "MIBS": ""}
    return Peer(argv, folder / "snmptrapd.log", env)


def walk(port: int, oid: str = mib.OBJECTS, mibs: bool = False) -> list[str]:
    """snmpwalk's lines for the subtree; with `mibs`, names from DOORCTL-MIB."""
    snmpwalk = require("snmpwalk", "net-snmp's snmpwalk (Debian package snmp)")
    names = ["-m", "DOORCTL-MIB", "-M", mib_path()] if mibs else ["-m", "", "-On"]
    argv = [snmpwalk, "-v2c", "-c", "public", "-t", "5", *names, f"127.0.0.1:{port}", oid]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()
