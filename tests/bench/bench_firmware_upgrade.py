"""A firmware upgrade, timed (on demand: `python tests/bench/bench_firmware_upgrade.py`).

Builds a bundle of this checkout at a bumped version, signed with a throwaway key
installed as the owner's key, runs a unit under `doorctl supervise` on the simulated
board, and RUNS times uploads the bundle, waits for the new version to serve and
report healthy, then rolls back. Prints the median of each stretch next to the health
time a new version has (60 s), the reference it must stay well inside.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "maintenance"))

from firmware_support import BUMPED, Supervised  # noqa: E402
from support_bundle import dependency_wheels, make_bundle  # noqa: E402

from doorctl import __version__  # noqa: E402
from doorctl.core.maintenance import firmware as fw  # noqa: E402
from doorctl.core.maintenance.keys import keygen  # noqa: E402

RUNS = 3


def upgrade_once(unit: Supervised, bundle: Path) -> dict[str, float]:
    """One upgrade: seconds to the 202 answer, to serving, to healthy; then roll back."""
    start = time.perf_counter()
    status, answer = unit.upload(bundle)
    assert status == 202, answer
    switched = time.perf_counter()
    assert unit.next_start() == BUMPED
    serving = time.perf_counter()
    while fw.state_of(unit.firmware)["trial"]:
        unit.wait_for(unit.firmware / fw.HEALTH_NAME)
        time.sleep(0.01)  # the supervisor ends the trial right after the report
    healthy = time.perf_counter()
    status, answer = unit.call("POST", "/api/v1/firmware/rollback", {})
    assert status == 202, answer
    assert unit.next_start() == __version__
    return {
        "upload, verify, install, switch (to 202)": switched - start,
        "restart to the new version serving": serving - switched,
        "upload to the new version serving": serving - start,
        "upload to healthy (trial ended)": healthy - start,
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        key, _ = keygen(tmp / "key")
        began = time.perf_counter()
        bundle = make_bundle(tmp / "bundle", key, dependency_wheels(tmp), version=BUMPED)
        built = time.perf_counter() - began
        size = bundle.stat().st_size / 2**20
        unit = Supervised(tmp / "data")
        try:
            unit.set_up(key)
            runs = [upgrade_once(unit, bundle) for _ in range(RUNS)]
        finally:
            unit.stop()
    print(f"bundle of doorctl {BUMPED}: {size:.1f} MiB, built in {built:.1f} s")
    title = f"stretch (median of {RUNS})"
    print(f"{title:44} {'seconds':>8} {'health time':>12} {'ratio':>6}")
    for name in runs[0]:
        figure = statistics.median(r[name] for r in runs)
        reference = fw.HEALTH_SECONDS
        print(f"{name:44} {figure:8.2f} {reference:12.0f} {figure / reference:6.2f}")


if __name__ == "__main__":
    main()
