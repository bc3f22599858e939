"""SNMP benchmark (run on demand: python tests/bench/bench_snmp.py).

doorctl's SNMP engine is net-snmp's snmpd, a child process: this measures what that
costs and whether it disturbs doorctl. snmpd's start on a saved change (v2c, v3),
an snmpget round trip (the tool's own start included) over v2c and v3 authPriv, the
RSS of snmpd beside doorctl's, and the worst gap of a 10 ms ticker in doorctl's
process while managers walk the system group, against the ticker alone (the ratio).
"""

from __future__ import annotations

import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import gevent
from gevent import subprocess

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from snmp_peers import QUIET, SYS_DESCR, SYSTEM, free_udp_port, v2c, v3  # noqa: E402

from doorctl.core.appliance import Appliance  # noqa: E402

STARTS = 10
GETS = 50
WALKS = 50
V3_USER = {"name": "nms", "auth_key": "auth-pass-1", "privacy_key": "priv-pass-1"}


def run(*command: str) -> None:
    """One net-snmp tool run, through gevent's subprocess (the hub keeps ticking)."""
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=QUIET)


def tool(name: str, port: int, options: list[str], oid: str) -> list[str]:
    return [name, "-t", "2", "-r", "0", "-On", *options, f"udp:127.0.0.1:{port}", oid]


def start_seconds(appliance: Appliance, settings: dict) -> float:
    """Median seconds from a saved change to snmpd answering (restart included)."""
    times = []
    for number in range(STARTS):
        began = time.perf_counter()
        appliance.settings.update("snmp", {**settings, "sys_name": f"door-{number}"})
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def get_seconds(command: list[str]) -> float:
    """Median seconds of one snmpget, its process start included."""
    times = []
    for _ in range(GETS):
        began = time.perf_counter()
        run(*command)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def worst_gap(load) -> float:
    """The worst gap (s) of a 10 ms ticker in this process while `load()` runs."""
    gaps = []

    def ticker():
        last = time.perf_counter()
        while True:
            gevent.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    loop = gevent.spawn(ticker)
    load()
    loop.kill()
    return max(gaps)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        appliance = Appliance(Path(directory), "sim", serial="BENCH0001")
        appliance.snmp.address = "127.0.0.1"
        appliance.start()
        try:
            report(appliance)
        finally:
            appliance.stop()
            appliance.store.close()


def report(appliance: Appliance) -> None:
    port = free_udp_port()
    community = {"version": "v1_v2c", "port": port, "read_community": "bench"}
    appliance.snmp_users.create(V3_USER)
    secure = {"version": "v3", "port": port}
    v3_options = v3("nms", "SHA-256", "auth-pass-1", "priv-pass-1")
    rows = [("snmpd start, v2c (s)", start_seconds(appliance, community))]
    rows.append(("snmpget v2c (s)", get_seconds(tool("snmpget", port, v2c("bench"), SYS_DESCR))))
    rows.append(("snmpd start, v3 (s)", start_seconds(appliance, secure)))
    rows.append(
        ("snmpget v3 authPriv (s)", get_seconds(tool("snmpget", port, v3_options, SYS_DESCR)))
    )
    rows.append(("snmpd RSS (MiB)", rss_kib(appliance.snmp.process.pid) / 1024))
    rows.append(("doorctl RSS (MiB)", rss_kib(os.getpid()) / 1024))
    idle = worst_gap(lambda: gevent.sleep(WALKS * 0.05))
    # the manager is another process (one fork here): a fork of doorctl per walk would
    # measure the fork, not snmpd
    walk = " ".join(shlex.quote(a) for a in tool("snmpwalk", port, v3_options, SYSTEM))
    busy = worst_gap(lambda: run("sh", "-c", f"for i in $(seq {WALKS}); do {walk}; done"))
    rows += [
        ("ticker worst gap, idle (ms)", idle * 1000),
        ("ticker worst gap, walks (ms)", busy * 1000),
    ]
    print(f"{'measure':<32}{'value':>10}")
    for name, value in rows:
        print(f"{name:<32}{value:>10.3f}")
    print(f"{'walks/idle worst-gap ratio':<32}{busy / idle:>10.2f}")


if __name__ == "__main__":
    main()
