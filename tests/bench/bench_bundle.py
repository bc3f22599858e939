"""The release bundle for a Pi (on demand: `python tests/bench/bench_bundle.py`).

Builds a bundle of this checkout for linux_aarch64 and Python 3.11 (`pip download
--platform`, as `doorctl bundle build --target linux_aarch64-cp311` does), signed with
a throwaway key, and prints its size next to doorctl's own wheel and to all its wheels
together, the size of the `pi` extra's wheels it carries (rpi-lgpio, lgpio, smbus2),
and the time a unit takes to verify and extract it (median of 5) next to
reading and hashing the same file once with hashlib, the least any check could cost.
"""

from __future__ import annotations

import hashlib
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support import REPO  # noqa: E402

from doorctl.core.maintenance.bundle import build_bundle, read_bundle, trusted_keys  # noqa: E402
from doorctl.core.maintenance.keys import PUBLIC_KEY_FILE, keygen  # noqa: E402

TARGET = "linux_aarch64-cp311"
PI_EXTRA = ("rpi_lgpio-", "lgpio-", "smbus2-")  # the pi extra's wheels (rpi-lgpio needs lgpio)
RUNS = 5
MIB = 1 << 20


def hash_once(path: Path) -> float:
    """Seconds to read and SHA-256 the whole file: the floor of any verification."""
    start = time.perf_counter()
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(MIB):
            digest.update(chunk)
    return time.perf_counter() - start


def verify(path: Path, work: Path, keys) -> float:
    """Seconds read_bundle takes to check and extract the bundle into a fresh folder."""
    into = work / "into"
    shutil.rmtree(into, ignore_errors=True)
    start = time.perf_counter()
    read_bundle(path, into, trusted=keys, running_version="0.0.1", target=TARGET)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        private, _public = keygen(work / "key")
        trusted = work / "trusted"
        trusted.mkdir()
        shutil.copy(work / "key" / PUBLIC_KEY_FILE, trusted / "bench.pem")
        start = time.perf_counter()
        path = build_bundle(work / "out", signing_key=private, project=REPO, target=TARGET)
        built = time.perf_counter() - start
        with tarfile.open(path) as archive:
            sizes = {m.name: m.size for m in archive if m.name.startswith("wheels/")}
        own = next(size for name, size in sizes.items() if name.startswith("wheels/doorctl-"))
        pi = {n: s for n, s in sizes.items() if n.removeprefix("wheels/").startswith(PI_EXTRA)}
        keys = trusted_keys(work / "data", extra=trusted)
        verified = statistics.median(verify(path, work, keys) for _ in range(RUNS))
        hashed = statistics.median(hash_once(path) for _ in range(RUNS))
        bundle = path.stat().st_size
    print(f"bundle {path.name}: {len(sizes)} wheels, built in {built:.1f} s")
    print("pi extra: " + ", ".join(sorted(n.removeprefix("wheels/") for n in pi)))
    print(f"{'measure':44} {'figure':>10} {'reference':>10} {'ratio':>8}")
    rows = [
        ("doorctl's wheel alone (MiB)", own / MIB, own / MIB),
        ("all wheels, doorctl and dependencies (MiB)", sum(sizes.values()) / MIB, own / MIB),
        ("the pi extra's wheels (MiB)", sum(pi.values()) / MIB, own / MIB),
        ("bundle file (MiB) vs doorctl's wheel", bundle / MIB, own / MIB),
        ("bundle file (MiB) vs all wheels", bundle / MIB, sum(sizes.values()) / MIB),
        ("verify and extract (ms) vs hashing it once", verified * 1000, hashed * 1000),
    ]
    for name, figure, reference in rows:
        print(f"{name:44} {figure:10.2f} {reference:10.2f} {figure / reference:8.2f}")


if __name__ == "__main__":
    main()
