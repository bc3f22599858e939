"""TLS handshakes (on demand: `python tests/bench/bench_tls.py`; pytest ignores it).

The appliance's promise: HTTPS costs the hub little enough that a reader poll is never
late for it. This runs the real app behind the HTTPS server of `doorctl serve` in this
(patched) process, with the device certificate (ECDSA P-256), and a 10 ms greenlet
standing in for the reader loop. It measures that greenlet's lateness idle and while
`openssl s_time -new` processes make full handshakes back to back, and prints the
handshakes per second they got.
"""

from gevent import monkey

monkey.patch_all()

import re  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
from gevent import subprocess  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from doorctl.app import create_app  # noqa: E402
from doorctl.server import freeze_startup_objects, make_server  # noqa: E402

SECONDS = 10
CLIENTS = (1, 4)
TICK = 0.010
TARGET_P99_MS = 5.0  # the reader loop's lateness at p99 during a handshake flood


def tick_lateness(seconds: float) -> list[float]:
    """How late (ms) a 10 ms sleep loop wakes, over `seconds`."""
    late, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        gevent.sleep(TICK)
        late.append((time.perf_counter() - start - TICK) * 1000)
    return late


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def flood(port: int, clients: int) -> tuple[list[float], int]:
    """Lateness while `clients` openssl processes handshake; the handshakes they made."""
    openssl = shutil.which("openssl")
    command = [openssl, "s_time", "-connect", f"127.0.0.1:{port}", "-new"]
    children = [
        subprocess.Popen([*command, "-time", str(SECONDS)], stdout=subprocess.PIPE, text=True)
        for _ in range(clients)
    ]
    late = tick_lateness(SECONDS)
    total = 0
    for child in children:
        out = child.communicate(timeout=SECONDS + 30)[0]
        match = re.search(r"(\d+) connections in [\d.]+s", out)
        total += int(match.group(1)) if match else 0
    return late, total


def main() -> None:
    app = create_app({"DATA_DIR": tempfile.mkdtemp(), "HARDWARE": "sim"})
    doorctl = app.extensions["doorctl"]
    doorctl.https.ensure_device_certificate()
    doorctl.start()
    freeze_startup_objects()
    server = make_server(app, "127.0.0.1", 0, ssl_context=doorctl.https.context())
    server.start()
    idle = tick_lateness(SECONDS)
    rows = [("idle", idle, 0)]
    for clients in CLIENTS:
        late, count = flood(server.server_port, clients)
        rows.append((f"{clients} openssl s_time -new", late, count))
    server.stop()
    doorctl.stop()
    head = f"{'10 ms loop lateness':28} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    print(f"{head} {'target':>7} {'ratio':>6} {'handshakes/s':>13}")
    for name, late, count in rows:
        p99 = percentile(late, 99)
        print(
            f"{name:28} {percentile(late, 50):7.2f} {p99:7.2f} {max(late):7.2f} "
            f"{TARGET_P99_MS:7.1f} {p99 / TARGET_P99_MS:6.2f} {count / SECONDS:13.0f}"
        )


if __name__ == "__main__":
    main()
