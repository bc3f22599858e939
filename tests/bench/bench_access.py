"""Access control benchmark (run on demand: python tests/bench/bench_access.py).

Decision latency with 100,000 credentials, a 100,000-row CSV import while a reader
loop greenlet ticks every 10 ms (its worst gap is reported), and process RSS.
"""

from __future__ import annotations

import csv
import io
import resource
import sys
import tempfile
import time
from pathlib import Path

import gevent

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from doorctl.core.access_control.cardholder_csv import COLUMNS  # noqa: E402
from doorctl.core.access_control.cardholder_import import import_csv  # noqa: E402
from doorctl.core.access_control.credentials import card_key  # noqa: E402
from doorctl.core.appliance import Appliance  # noqa: E402

N = 100_000
DECISIONS = 20_000


def csv_text(first: int, count: int) -> str:
    """`count` cardholders, each with a 34-bit H10306 card (no PINs)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS)
    writer.writeheader()
    for i in range(first, first + count):
        writer.writerow(
            {
                "name": f"Person {i}",
                "card_format": "H10306",
                "card_facility": i // 65536,
                "card_number": i % 65536,
            }
        )
    return out.getvalue()


def import_with_ticker(appliance: Appliance, text: str) -> tuple[float, float, object]:
    """Import in the child process while a 10 ms ticker runs; (seconds, worst gap, result)."""
    gaps = []

    def ticker():
        last = time.perf_counter()
        while True:
            gevent.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    loop = gevent.spawn(ticker)
    start = time.perf_counter()
    source = io.BytesIO(text.encode())
    result = import_csv(appliance.event_log, appliance.data_dir, source, "utf-8")
    elapsed = time.perf_counter() - start
    loop.kill()
    return elapsed, max(gaps), result


def percentile(values: list[float], p: float) -> float:
    return sorted(values)[int(len(values) * p) - 1]


def decision_latency(appliance: Appliance) -> tuple[list[float], list[float]]:
    """Decision only (lookup + rules + schedule), and the full path (door and event too)."""
    access, reader, door = appliance.access, appliance.access.readers["wiegand"], appliance.doors[1]
    decide, full = [], []
    for i in range(DECISIONS):
        key = card_key("H10306", (i * 7919 % N) // 65536, (i * 7919 % N) % 65536)
        start = time.perf_counter()
        access.decider.card(key, reader, door, time.time(), access.tz)
        decide.append(time.perf_counter() - start)
    for i in range(2000):
        key = card_key("H10306", (i * 31 % N) // 65536, (i * 31 % N) % 65536)
        start = time.perf_counter()
        access.present_card("wiegand", key)
        full.append(time.perf_counter() - start)
        gevent.sleep(0)
    return decide, full


def main() -> None:
    data = Path(tempfile.mkdtemp(prefix="doorctl-bench-"))
    appliance = Appliance(data, "sim")
    appliance.start()
    seconds, gap, result = import_with_ticker(appliance, csv_text(0, N))
    assert not result.errors, result.errors[:3]
    schedule = appliance.access.schedules.create(
        {
            "name": "Always",
            "intervals": [
                {
                    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    "start": "00:00",
                    "end": "24:00",
                }
            ],
        }
    )
    appliance.store.execute(
        "INSERT INTO access_rules (name, door_id, direction, schedule_id, authentication) "
        "VALUES ('all', 1, 'both', ?, 'card')",
        (schedule.id,),
    )
    appliance.store.execute("INSERT INTO rule_cardholders SELECT 1, id FROM cardholders")
    decide, full = decision_latency(appliance)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [
        ("decision p50 (ms)", percentile(decide, 0.5) * 1e3, 0.2),
        ("decision p99 (ms)", percentile(decide, 0.99) * 1e3, 0.2),
        ("full path p99 (ms)", percentile(full, 0.99) * 1e3, 1.0),
        ("CSV import 100k rows (s)", seconds, 10.0),
        ("reader loop worst gap (ms)", gap * 1e3, 20.0),
        ("peak RSS of doorctl (MiB)", rss, 200.0),
    ]
    print(f"{'measure':32} {'figure':>10} {'target':>10} {'ratio':>8}")
    for name, figure, target in rows:
        print(f"{name:32} {figure:10.3f} {target:10.3f} {figure / target:8.2f}")
    appliance.stop()


if __name__ == "__main__":
    main()
