"""Tcl modulefiles: roost versus Lmod 8.6 in one run, plus what the embedded Tcl costs inside roost.

    python bench/tcl.py             # ~1 min; writes "## Tcl modulefiles" in BENCHMARKS.md
    python bench/tcl.py --no-write  # print only

Timed commands (each tool's command run directly, ``TOOL bash ARGS``, as the ``module`` function runs it: roost
as ``python -E -S -c ...`` from ``roost shell-init``; the two tools alternate run by run; medians):
  load    load app: a Tcl modulefile that loads two more Tcl modulefiles (3 files, Lmod runs tcl2lua on each)
  spider  spider (every name): evaluates all 400 Tcl modulefiles of the tree; cold = both tools' caches deleted
          before each run (roost: ROOST_CACHE_DIR; Lmod: ~/.cache/lmod and ~/.lmod.d in a private HOME).
          A warm spider reads the caches and runs no Tcl at all (see bench/modules.py for it).

In-process figures (roost only): importing ``_tkinter`` and creating the interpreter, and evaluating one small
modulefile (setenv, prepend-path, module-whatis) once the interpreter exists.
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
from typing import Dict, List, Sequence, Tuple

from benchmarks_md import write_section

REPO = Path(__file__).resolve().parent.parent
SECTION_TITLE = "## Tcl modulefiles"
LMOD_CMD = "/usr/share/lmod/lmod/libexec/lmod"
NAMES, VERSIONS = 100, 4

MODULEFILE = """#%Module1.0
proc ModulesHelp {{ }} {{ puts stderr "{name} {version}: generated for the benchmark" }}
module-whatis "{name} {version}"
set root /opt/{name}/{version}
setenv {var}_ROOT $root
prepend-path PATH $root/bin
prepend-path LD_LIBRARY_PATH $root/lib
if {{ [info exists env(HOME)] }} {{ setenv {var}_HOME $env(HOME) }}
"""


def write_tree(root: Path) -> Path:
    core = root / "Core"
    for index in range(NAMES):
        name = f"tool{index:03d}"
        for minor in range(VERSIONS):
            version = f"1.{minor}"
            path = core / name / version
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(MODULEFILE.format(name=name, version=version, var=name.upper()))
    for name, body in (("dep1", ""), ("dep2", "module load dep1\n"), ("app", "module load dep2\n")):
        (core / name).mkdir(parents=True, exist_ok=True)
        (core / name / "1.0").write_text(
            "#%Module1.0\n" + body + f"setenv {name.upper()} 1\nprepend-path PATH /opt/{name}/bin\n"
        )
    return core


def environ(core: Path, home: Path, cache: Path) -> Dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "USER": "bench",
            "MODULEPATH": str(core), "ROOST_CACHE_DIR": str(cache)}


def time_once(command: Sequence[str], env: Dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(list(command), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def compare(args: Sequence[str], env: Dict[str, str], runs: int, cold: bool) -> Tuple[float, float]:
    from roost.cli.shell_init import fast_command  # what the `module` shell function runs

    commands = {"roost": [*fast_command(sys.executable, "roost.modules.command"), "bash", *args],
                "lmod": [LMOD_CMD, "bash", *args]}
    times: Dict[str, List[float]] = {"roost": [], "lmod": []}
    caches = [Path(env["ROOST_CACHE_DIR"]), Path(env["HOME"]) / ".cache" / "lmod", Path(env["HOME"]) / ".lmod.d"]
    for tool in commands:  # one untimed run each (warms the OS page cache and, when warm, the tools' caches)
        time_once(commands[tool], env)
    for run in range(runs):
        order = ["roost", "lmod"] if run % 2 == 0 else ["lmod", "roost"]
        for tool in order:
            if cold:
                for cache in caches:
                    shutil.rmtree(cache, ignore_errors=True)
            times[tool].append(time_once(commands[tool], env))
    return statistics.median(times["roost"]), statistics.median(times["lmod"])


def in_process_figures(core: Path) -> Tuple[float, float]:
    code = f"""
import time, sys
from roost.modules import tcl
from roost.modules.engine import Engine
from roost.modules.frame import Frame
engine = Engine({{"PATH": "/usr/bin:/bin", "MODULEPATH": {str(core)!r}}})
text = open({str(core / "tool000" / "1.0")!r}).read()
start = time.perf_counter()
tcl.evaluate_modulefile(Frame(engine, "tool000/1.0", "f", "load"), text)
made = time.perf_counter() - start
runs = []
for _ in range(300):
    t = time.perf_counter()
    tcl.evaluate_modulefile(Frame(engine, "tool000/1.0", "f", "load"), text)
    runs.append(time.perf_counter() - t)
runs.sort()
print(made, runs[len(runs) // 2])
"""
    samples = []
    for _ in range(7):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        samples.append(tuple(float(x) for x in out.split()))
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-write", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="roost-bench-tcl-") as work:
        core = write_tree(Path(work) / "tree")
        home = Path(work) / "home"
        home.mkdir()
        env = environ(core, home, Path(work) / "roost-cache")
        rows = []
        for label, args, cold in (("`module load app` (3 Tcl modulefiles)", ("load", "app"), False),
                                  ("`module spider` cold (400 Tcl modulefiles)", ("spider",), True)):
            roost, lmod = compare(args, env, options.runs, cold)
            rows.append(f"| {label} | {roost * 1e3:.0f} ms | {lmod * 1e3:.0f} ms | {roost / lmod:.2f} |")
        made, per_file = in_process_figures(core)
    lines = [
        SECTION_TITLE,
        "",
        f"`python bench/tcl.py` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores shared with other work; "
        f"medians of {options.runs} alternating runs).",
        "",
        "| command | roost | Lmod 8.6 | roost/Lmod |",
        "|---|---|---|---|",
        *rows,
        "",
        f"Inside roost: the first Tcl modulefile of a process (importing `_tkinter`, creating the interpreter "
        f"and its child, evaluating) {made * 1e3:.1f} ms; each further modulefile "
        f"{per_file * 1e3:.2f} ms (fresh state per file: the child interpreter is reset, not recreated).",
        "",
    ]
    section = "\n".join(lines)
    print(section)
    if not options.no_write:
        write_section(SECTION_TITLE, section)


if __name__ == "__main__":
    main()
