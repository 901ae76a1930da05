"""Submitting an existing batch script (BENCHMARKS.md, "Batch scripts"): ``roost submit job.sh`` against
``sbatch job.sh`` on the real Slurm, and against ``roost submit -- CMD`` with the same options, N held
submissions each (--hold: nothing runs meanwhile), interleaved.

    python bench/batch_scripts.py --jobs 50
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

SCRIPT = """#!/bin/bash
#SBATCH --job-name=bench
#SBATCH --time=00:01:00
#SBATCH --cpus-per-task=1
#SBATCH --output=bench-%j.out

module load nothing 2>/dev/null || true
python3 -c 'print("hello")'
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=50)
    count = parser.parse_args().jobs
    if not shutil.which("sbatch"):
        sys.exit("no sbatch here: start Slurm with scripts/services/slurm.sh")
    data = tempfile.mkdtemp(prefix="roost-bench-")
    script = Path(data) / "job.sh"
    script.write_text(SCRIPT)
    env = dict(os.environ, ROOST_DATA_DIR=data, ROOST_JOBS_BACKEND="slurm")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached, as after a normal install
    from roost.shell.functions import fast_command

    contenders: Dict[str, List[str]] = {
        "sbatch --parsable --hold job.sh": ["sbatch", "--parsable", "--hold", "job.sh"],
        "roost submit (shell function)": [*fast_command(sys.executable, "roost.cli.entry"), "submit",
                                          "--parsable", "--directive=--hold", "job.sh"],
        "roost submit (console script)": [str(Path(sys.executable).parent / "roost"), "submit", "--parsable",
                                          "--directive=--hold", "job.sh"],
        # the same job given as a command, for what reading the script itself costs
        "roost submit -- CMD (shell function)": [*fast_command(sys.executable, "roost.cli.entry"), "submit",
                                                 "--parsable", "--directive=--hold", "-J", "bench", "-t", "1",
                                                 "-c", "1", "-o", "bench-%j.out", "--", "python3", "-c", "1"],
    }
    ids: List[str] = []

    def run(argv: List[str]) -> Callable[[], None]:
        def submit() -> None:
            done = subprocess.run(argv, capture_output=True, text=True, check=True, env=env, cwd=data)
            ids.append(done.stdout.strip())

        return submit

    run(contenders["roost submit (shell function)"])()  # untimed: writes roost's bytecode cache
    times: Dict[str, List[float]] = {label: [] for label in contenders}
    load = os.getloadavg()[0]
    try:
        for _ in range(count):  # round robin: a burst of load hits every contender alike
            for label, argv in contenders.items():
                start = time.perf_counter()
                run(argv)()
                times[label].append(time.perf_counter() - start)
    finally:
        subprocess.run(["scancel", *ids], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)
    peer = statistics.median(times["sbatch --parsable --hold job.sh"])
    print(f"{count} submissions each, interleaved; load average {load:.2f} before")
    for label, values in times.items():
        median = statistics.median(values)
        print(f"  {label:<34} median {median * 1000:7.1f} ms   {median / peer:5.2f} x sbatch")


if __name__ == "__main__":
    main()
