"""Kept-alive connections (on demand: `python tests/bench/bench_keepalive.py`; pytest
ignores it).

The appliance's promise: browsers and REST clients keep their connections alive, and a
request on a kept-alive connection is answered as fast as the first. This runs the
real app behind the HTTP and HTTPS servers of `doorctl serve` in this (patched)
process; a child process (http.client, like a REST script) sends `GET /api/v1/doors/1`
with HTTP Basic back to back on one connection and times each answer. It does so with
the server as it was (no TCP_NODELAY, the head and body of an answer in two writes),
with each of the two changes alone, and as it is, and prints p50 and p99 of the
requests after the first, with the ratio of p50 to the server as it was.
"""

from gevent import monkey

monkey.patch_all()

import contextlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from gevent import subprocess  # noqa: E402
from gevent.pywsgi import WSGIHandler  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reader_loop import BASIC, PASSWORD, percentile  # noqa: E402

from doorctl import server as web  # noqa: E402
from doorctl.app import create_app  # noqa: E402

REQUESTS = 200
PATH = "/api/v1/doors/1"
# (name, TCP_NODELAY on accepted sockets, head and small body in one write)
VARIANTS = (
    ("before: two writes, Nagle", False, False),
    ("TCP_NODELAY only", True, False),
    ("one write only", False, True),
    ("now: TCP_NODELAY and one write", True, True),
)


def client(url: str, count: int) -> None:
    """The child process: `count` GETs on one kept-alive connection; ms of each, as JSON."""
    import http.client  # noqa: PLC0415 - only the unpatched child needs it
    import ssl  # noqa: PLC0415
    import time  # noqa: PLC0415
    from urllib.parse import urlsplit  # noqa: PLC0415

    parts = urlsplit(url)
    if parts.scheme == "https":
        context = ssl._create_unverified_context()  # noqa: S323 - the device's own certificate
        connection = http.client.HTTPSConnection(parts.hostname, parts.port, context=context)
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        connection.request("GET", PATH, headers=BASIC)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
        times.append((time.perf_counter() - start) * 1000)
    print(json.dumps(times))


@contextlib.contextmanager
def variant(nodelay: bool, one_write: bool):
    """The server with either change taken out, for the time of the block."""
    saved = web.no_delay, web.Handler._write_with_headers, web.Handler._sendall
    if not nodelay:
        web.no_delay = lambda sock: None
    if not one_write:
        web.Handler._write_with_headers = WSGIHandler._write_with_headers
        web.Handler._sendall = WSGIHandler._sendall
    try:
        yield
    finally:
        web.no_delay, web.Handler._write_with_headers, web.Handler._sendall = saved


def measure(url: str) -> list[float]:
    """The answer times (ms) of the requests after the first on one connection."""
    child = subprocess.run(
        [sys.executable, __file__, "--client", url, str(REQUESTS)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(child.stdout)[1:]


def main() -> None:
    app = create_app({"DATA_DIR": tempfile.mkdtemp(), "HARDWARE": "sim"})
    doorctl = app.extensions["doorctl"]
    doorctl.users.set_root_password(PASSWORD)
    doorctl.https.ensure_device_certificate()
    doorctl.start()
    web.freeze_startup_objects()
    servers = {
        "http": web.make_server(app, "127.0.0.1", 0),
        "https": web.make_server(app, "127.0.0.1", 0, ssl_context=doorctl.https.context()),
    }
    for server in servers.values():
        server.start()
    results = {}
    for name, nodelay, one_write in VARIANTS:
        with variant(nodelay, one_write):
            for scheme, server in servers.items():
                results[name, scheme] = measure(f"{scheme}://127.0.0.1:{server.server_port}")
    for server in servers.values():
        server.stop()
    doorctl.stop()
    print_table(results)


def print_table(results: dict) -> None:
    """p50 and p99 per variant and protocol; p50 against the server as it was."""
    before = VARIANTS[0][0]
    print(f"GET {PATH} on one kept-alive connection, requests 2 to {REQUESTS}")
    print(f"{'server':32} {'proto':5} {'p50 ms':>7} {'p99 ms':>7} {'p50 / before':>12}")
    for (name, scheme), times in results.items():
        p50 = percentile(times, 50)
        ratio = p50 / percentile(results[before, scheme], 50)
        print(f"{name:32} {scheme:5} {p50:7.2f} {percentile(times, 99):7.2f} {ratio:12.2f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--client"]:
        client(sys.argv[2], int(sys.argv[3]))
    else:
        main()
