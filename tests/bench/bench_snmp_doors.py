"""SNMP walks of doorctl's objects and the hub (on demand:
`python tests/bench/bench_snmp_doors.py`; pytest ignores it).

Runs the appliance on the simulated board with SNMP on (doorctl's own snmpd on
loopback, doorctl's objects through the pass_persist child), and a 10 ms ticker on the
hub, as a reader poll loop is. For BENCH_SECONDS (5) it measures the ticker's lateness
idle, then while snmpwalk walks the doorctl tree back to back, and prints walks and
objects per second and the lateness, with the ratio to idle and to the 10 ms target.
It also times what a state change costs the hub: reading every part again and writing
the snapshot file.
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
from gevent import subprocess  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
TICK = 0.01
TARGET = 0.010  # a reader poll that is 10 ms late has missed its turn


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def appliance():
    """The app's appliance, started, with SNMP v2c on loopback."""
    from doorctl.app import create_app

    data = Path(tempfile.mkdtemp()) / "data"
    config = {"DATA_DIR": str(data), "HARDWARE": "sim", "TESTING": True}
    config["CHRONY_SOCKET"] = str(data.parent / "no-chronyd" / "chronyd.sock")
    config["ENGINE_PROCESS"] = False
    doorctl = create_app(config).extensions["doorctl"]
    doorctl.snmp.address = "127.0.0.1"
    doorctl.start()
    port = free_udp_port()
    record = {"version": "v1_v2c", "port": port, "read_community": "public"}
    doorctl.settings.update("snmp", record)
    doorctl.snmp_objects.current()
    return doorctl, port


def late_ticks(during) -> list[float]:
    """How late each 10 ms tick of a hub ticker was while `during()` ran."""
    lateness: list[float] = []

    def tick():
        while True:
            due = time.perf_counter() + TICK
            gevent.sleep(TICK)
            lateness.append(max(0.0, time.perf_counter() - due))

    ticker = gevent.spawn(tick)
    during()
    ticker.kill()
    return lateness


def walks(port: int, counts: dict) -> None:
    """snmpwalk of the doorctl tree, back to back for SECONDS, from one shell of its
    own (a manager elsewhere: no process is started from the hub meanwhile)."""
    from doorctl.core.system.snmp import mib

    walk = f"snmpwalk -v2c -c public -m '' -On 127.0.0.1:{port} .{mib.OBJECTS}"
    counts["objects"] = (
        len(subprocess.run(walk, shell=True, capture_output=True).stdout.split(b"\n")) - 1
    )
    loop = f"end=$((SECONDS+{SECONDS:.0f})); n=0; "
    loop += (
        f"while [ $SECONDS -lt $end ]; do {walk} >/dev/null || exit 1; n=$((n+1)); done; echo $n"
    )
    done = subprocess.run(["bash", "-c", loop], capture_output=True, check=True)
    counts["walks"] = int(done.stdout)


def change_cost(doorctl, times: int = 200) -> tuple[float, float, int]:
    """A state change: seconds the hub is held (reading every part), seconds the snapshot
    file's write takes on the threadpool, and the file's size."""
    from doorctl.core.system.snmp.objects import PARTS

    objects = doorctl.snmp_objects
    started = time.perf_counter()
    for _ in range(times):
        for part in PARTS:
            objects.parts[part]()
    reads = (time.perf_counter() - started) / times
    started = time.perf_counter()
    for _ in range(times):
        objects._write(objects.snapshot)
    return reads, (time.perf_counter() - started) / times, objects.path.stat().st_size


def row(name: str, lateness: list[float], idle_p99: float, rate: str) -> str:
    ms = sorted(x * 1000 for x in lateness)
    p50, p99 = statistics.median(ms), ms[int(len(ms) * 0.99) - 1]
    ratio = p99 / idle_p99 if idle_p99 else float("nan")
    return (
        f"| {name} | {rate} | {p50:.2f} | {p99:.2f} | {ms[-1]:.2f} | {ratio:.2f} "
        f"| {p99 / (TARGET * 1000):.2f} |"
    )


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    doorctl, port = appliance()
    try:
        idle = late_ticks(lambda: gevent.sleep(SECONDS))
        counts = {"walks": 0, "objects": 0}
        walking = late_ticks(lambda: walks(port, counts))
        reads, write, size = change_cost(doorctl)
    finally:
        doorctl.stop()
    idle_p99 = sorted(idle)[int(len(idle) * 0.99) - 1] * 1000
    per_second = counts["walks"] / SECONDS
    rate = f"{per_second:.1f} walks/s, {per_second * counts['objects']:.0f} objects/s"
    print(f"{SECONDS:.0f} s each; a walk is {counts['objects']} objects")
    print(
        "| hub ticker (10 ms) | SNMP | p50 late ms | p99 late ms | max ms | p99/idle | p99/10 ms |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(row("idle", idle, idle_p99, "none"))
    print(row("during walks", walking, idle_p99, rate))
    print(
        f"a state change of every part: {reads * 1e6:.0f} µs on the hub to read them, "
        f"{write * 1e6:.0f} µs on the threadpool to write {size} bytes"
    )


if __name__ == "__main__":
    main()
