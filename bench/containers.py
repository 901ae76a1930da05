"""Container wrapper overhead (BENCHMARKS.md, section "Containers").

``python -c pass`` through the wrapper `roost container add` writes, against ``ch-run`` started directly on
the same image: once with exactly the options the wrapper passes (the wrapper's own cost: one ``sh`` and
a few builtins), once with ch-run's bare minimum (what binding home and the extras directory add).  Runs
are interleaved so that drift on the shared machine hits every command alike.

    python bench/containers.py [--image /var/tmp/roost-test-images/python] [--runs 60]
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
from typing import Dict, List


def _time_once(argv: List[str], env: Dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="/var/tmp/roost-test-images/python")
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    ch_run = shutil.which("ch-run")
    if not ch_run or not Path(args.image).is_dir():
        sys.exit("needs ch-run and the test image: run scripts/services/charliecloud.sh")

    data = tempfile.mkdtemp(prefix="roost-bench-")
    env = dict(os.environ, ROOST_DATA_DIR=data, USER=os.environ.get("USER") or "root")
    os.chdir(data)  # under /tmp: visible inside the container without a bind
    env["PWD"] = data
    from roost.containers import api

    os.environ.update(ROOST_DATA_DIR=data)
    container = api.add("bench/1", args.image, runtime="charliecloud", commands=["python3"],
                        binds=["$HOME"]).container
    wrapper = str(container.wrapper("python3"))
    inside = container.commands["python3"]
    same_options = api.command_argv(container, "python3", ["-c", "pass"], env)
    commands = {
        "roost wrapper": [wrapper, "-c", "pass"],
        "ch-run, the wrapper's options": same_options,
        "ch-run, bare": [ch_run, args.image, "--", inside, "-c", "pass"],
    }
    run_env = api.run_environ(container, env)
    for argv in commands.values():  # warm the page cache
        for _ in range(5):
            _time_once(argv, run_env)
    times: Dict[str, List[float]] = {label: [] for label in commands}
    for _ in range(args.runs):
        for label, argv in commands.items():
            times[label].append(_time_once(argv, run_env))
    medians = {label: statistics.median(values) for label, values in times.items()}
    print(f"image {args.image}, {args.runs} interleaved runs each, `python -c pass` inside")
    for label, median in medians.items():
        print(f"{label:<32} median {median * 1000:7.2f} ms")
    ratio = medians["roost wrapper"] / medians["ch-run, the wrapper's options"]
    print(f"ratio wrapper / ch-run with the same options: {ratio:.3f}")
    print(f"ratio wrapper / bare ch-run:                  {medians['roost wrapper'] / medians['ch-run, bare']:.3f}")
    shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
