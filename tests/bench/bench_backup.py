"""Backup restore and the hub (on demand: `python tests/bench/bench_backup.py`).

A backup of many cardholders is made and restored through the API while a 10 ms
ticker runs where a reader poll loop would; its worst lateness is printed next to
the same ticker on an idle hub. Decrypting, inflating, parsing, migrating and sealing
a restore run off the hub, so the two should be close.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import base64  # noqa: E402
import io  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reader_loop import ticker  # noqa: E402

from doorctl.app import create_app  # noqa: E402

CARDHOLDERS = 4000
NOTES = "n" * 10_000  # ~40 MB of JSON to decrypt, inflate, parse, migrate and seal
PASSWORD = "bench password"
HEADERS = {"Authorization": "Basic " + base64.b64encode(f"root:{PASSWORD}".encode()).decode()}


def worst_lateness_ms(work) -> float:
    """The ticker's worst lateness in ms while `work()` runs."""
    lateness: list[float] = []
    stop = gevent.event.Event()
    loop = gevent.spawn(ticker, lateness, stop)
    try:
        work()
    finally:
        stop.set()
        loop.join()
    return max(lateness)


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    config = {"DATA_DIR": str(data_dir), "HARDWARE": "sim", "TESTING": True}
    app = create_app(config | {"ENGINE_PROCESS": False, "BACKUP_COST": {"n": 1024, "r": 8, "p": 1}})
    doorctl = app.extensions["doorctl"]
    doorctl.start()
    doorctl.users.set_root_password(PASSWORD)
    rows = ((f"Cardholder {i}", NOTES) for i in range(CARDHOLDERS))
    with doorctl.store.conn:
        doorctl.store.conn.executemany("INSERT INTO cardholders (name, notes) VALUES (?, ?)", rows)
    client = app.test_client()
    made = client.post("/api/v1/maintenance/backup", json={"password": PASSWORD}, headers=HEADERS)
    data = made.get_data()

    def restore():
        form = {"file": (io.BytesIO(data), "unit.backup"), "password": PASSWORD}
        answer = client.post("/api/v1/maintenance/backup/restore", data=form, headers=HEADERS)
        assert answer.status_code == 200, answer.json

    idle = worst_lateness_ms(lambda: gevent.sleep(2))
    started = time.perf_counter()
    busy = worst_lateness_ms(restore)
    seconds = time.perf_counter() - started
    print(f"restore of {CARDHOLDERS} cardholders ({len(data) / 2**20:.1f} MiB): {seconds:.2f} s")
    print(f"{'measure':44} {'figure':>8} {'reference':>10} {'ratio':>7}")
    print(
        f"{'ticker worst lateness, restoring vs idle (ms)':44} {busy:8.1f} {idle:10.1f} "
        f"{busy / max(idle, 0.01):7.1f}"
    )
    doorctl.stop()


if __name__ == "__main__":
    main()
