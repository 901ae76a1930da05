"""Benchmark: what the per-env change lock costs one change (results in BENCHMARKS.md, "Environments").

roost = roost.envs.changelock.hold() entered and left (O_EXCL create, owner JSON, fsync, heartbeat thread,
release) vs peer = fcntl.flock on a lock file (open, LOCK_EX, LOCK_UN, close), which is what a flock-based
lock costs where flock works.  Both in the same directory (default: a fresh one under /tmp; pass --dir to
measure a shared file system).

Usage: python bench/changelock.py [--runs 300] [--dir DIR]
"""

from __future__ import annotations

import argparse
import fcntl
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable, List


def timings(step: Callable[[], None], runs: int) -> List[float]:
    found = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        found.append(time.perf_counter() - start)
    return found


def main() -> None:
    from roost.envs import changelock

    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="bench-changelock-"))
    flock_file = root / "peer.lock"

    def roost_lock() -> None:
        with changelock.hold(root, "bench", "bench", timeout=5, progress=lambda message: None):
            pass

    def flock() -> None:
        with open(flock_file, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            fcntl.flock(handle, fcntl.LOCK_UN)

    roost_times, flock_times = [], []
    for _ in range(args.runs // 50):  # interleaved blocks, so load changes hit both alike
        roost_times += timings(roost_lock, 50)
        flock_times += timings(flock, 50)
    ours, peer = statistics.median(roost_times) * 1e3, statistics.median(flock_times) * 1e3
    print(f"change lock (hold+release): median {ours:.3f} ms over {len(roost_times)} runs")
    print(f"flock peer:                 median {peer:.3f} ms over {len(flock_times)} runs")
    print(f"ratio {ours / peer:.1f}; directory {root}")


if __name__ == "__main__":
    main()
