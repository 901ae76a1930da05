"""Shell start-up benchmark: what the README's init line adds to a new bash, against Lmod's init, in one run.

    python bench/shell_init.py              # 200 runs of each; writes "## Shell start-up" in BENCHMARKS.md
    python bench/shell_init.py --runs 50 --no-write

Each run starts ``bash --norc -c SCRIPT`` (a new non-interactive shell, as ssh to a node or a batch job gets)
for four scripts, in an order that rotates run by run so that load from other users hits all alike:

    bare     true                                           the shell alone
    lmod     source /usr/share/lmod/lmod/init/bash          Lmod's init (the peer)
    roost    the README's line, its cache file written       what every shell after the first pays
    eval     eval "$(roost shell-init bash)"                the old line (a Python start per shell)

"Adds" is the median of the script minus the median of ``bare``.  Target: roost adds <= 15 ms.
A private HOME holds the cache file; roost is the console script beside this Python.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

from benchmarks_md import write_section

REPO = Path(__file__).resolve().parent.parent
SECTION_TITLE = "## Shell start-up"
LMOD_INIT = "/usr/share/lmod/lmod/init/bash"
TARGET_MS = 15.0


def readme_line() -> str:
    for line in (REPO / "README.md").read_text().splitlines():
        if "~/.cache/roost/init.bash" in line:
            return line.split("  #")[0].strip()
    raise SystemExit("README.md has no init line naming ~/.cache/roost/init.bash")


def scripts() -> Dict[str, str]:
    return {
        "bare": "true",
        "lmod": f"source {LMOD_INIT}",
        "roost": readme_line() + "; type module >/dev/null",
        "eval": 'eval "$(roost shell-init bash)"; type module >/dev/null',
    }


def time_once(script: str, env: Dict[str, str]) -> Tuple[float, float]:
    """Wall-clock and CPU (user + system of the shell and everything it started) milliseconds of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(["bash", "--norc", "-c", script], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or done.stderr:
        raise SystemExit(f"{script!r} failed: {done.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed * 1000, cpu * 1000


def measure(runs: int) -> Dict[str, List[Tuple[float, float]]]:
    home = tempfile.mkdtemp(prefix="roost-bench-home-")
    bin_dir = str(Path(sys.executable).parent)
    env = {"HOME": home, "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C.UTF-8",
           "USER": os.environ.get("USER", "bench")}
    table = scripts()
    time_once(table["roost"], env)  # the first shell writes the cache file
    times: Dict[str, List[Tuple[float, float]]] = {name: [] for name in table}
    names = list(table)
    for run in range(runs):
        shift = run % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(time_once(table[name], env))
    return times


def render_section(times: Dict[str, List[Tuple[float, float]]], runs: int) -> str:
    medians = {name: statistics.median(wall for wall, _ in values) for name, values in times.items()}
    cpu = {name: statistics.median(used for _, used in values) for name, values in times.items()}
    added = {name: medians[name] - medians["bare"] for name in medians}
    cpu_added = {name: cpu[name] - cpu["bare"] for name in cpu}
    load = os.getloadavg()[0]
    labels = {
        "bare": "`bash --norc -c true` (the shell alone)",
        "lmod": f"`source {LMOD_INIT}` (Lmod 8.6 init, the peer)",
        "roost": f"README line, cache written: `{readme_line()}`",
        "eval": '`eval "$(roost shell-init bash)"` (the old line)',
    }
    rows = [f"| {labels[name]} | {medians[name]:.2f} ms | {added[name]:+.2f} ms | {cpu[name]:.2f} ms | "
            f"{cpu_added[name]:+.2f} ms |" for name in times]
    verdict = "met" if max(added["roost"], cpu_added["roost"]) <= TARGET_MS else "NOT met"
    return "\n".join([
        SECTION_TITLE,
        "",
        f"What the init line adds to a new `bash --norc -c ...` (ssh to a node, a batch job). Command: "
        f"`python bench/shell_init.py --runs {runs}` ({runs} runs of each, order rotating run by run, medians of "
        f"one run; {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, load average {load:.1f} on the "
        "2-core machine shared with other work).",
        "",
        "| script | median wall | adds (wall) | median CPU | adds (CPU) |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"roost's line adds **{added['roost']:.2f} ms** wall, {cpu_added['roost']:.2f} ms CPU (target <= "
        f"{TARGET_MS:.0f} ms: {verdict}); Lmod's init adds {added['lmod']:.2f} ms wall, {cpu_added['lmod']:.2f} ms "
        f"CPU; the old `eval` line adds {added['eval']:.2f} ms wall. CPU is user + system time of the shell "
        "and all it started (getrusage), which the machine's load disturbs less than wall time (a wall difference "
        "of a few ms either way is this shared machine's noise). The cached file is "
        "rendered by roost.shell.render and checked by ~20 shell tests (`[ -x ]`, `[ -nt ]`, string "
        "compares) before it defines the functions; no program starts.",
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    section = render_section(measure(args.runs), args.runs)
    print(section)
    if not args.no_write:
        write_section(SECTION_TITLE, section)


if __name__ == "__main__":
    main()
