"""What the import-light layer (roost._records: NamedTuple and Enum without typing and enum) saves on the two hot
paths, `module load` and `roost activate` (BENCHMARKS.md, "What the import-light layer saves").

Each hot command runs as its shell function runs it (``python -E -S``, roost.cli.shell_init.fast_command), in two
variants interleaved run by run: as shipped, and with ``import enum, typing`` first, which is what the real
types would add (nothing else on these paths imports them: checked here).  Medians of wall time and of the
child's CPU time (user + system, which waiting for a core does not inflate).

    python bench/import_light.py --runs 30
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

MODULEFILES = {
    "gcc/12.lua": 'prepend_path("PATH", "/opt/gcc/12/bin")\nsetenv("CC", "gcc")\n',
    "python/3.12.lua": 'prepend_path("PATH", "/opt/python/3.12/bin")\nsetenv("PYTHON_ROOT", "/opt/python/3.12")\n',
}


def _run(argv: List[str], env: Dict[str, str]) -> Tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _with_real_types(argv: List[str], missing: List[str]) -> List[str]:
    python, e, s, c, boot, *rest = argv
    return [python, e, s, c, f"import {', '.join(missing)};" + boot, *rest]


def _imports_of(argv: List[str], env: Dict[str, str]) -> set:
    python, e, s, c, boot, *rest = argv
    probe = boot.replace("sys.exit(main())", "main();print(' '.join(sys.modules), file=sys.stderr)")
    done = subprocess.run([python, e, s, c, probe, *rest], env=env, capture_output=True, text=True, check=True)
    return set(done.stderr.split())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    from roost.cli.shell_init import fast_command

    top = Path(tempfile.mkdtemp(prefix="roost-bench-light-"))
    tree = top / "modules"
    for name, text in MODULEFILES.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LMOD", "_ModuleTable", "__LMOD", "ROOST_"))}
    env.update(MODULEPATH=str(tree), ROOST_CACHE_DIR=str(top / "cache"), ROOST_ENVS_DIR=str(top / "envs"),
               ROOST_DATA_DIR=str(top / "data"), LOADEDMODULES="", _LMFILES_="")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "roost", "env", "create", "bench", "-q", "-m", "gcc/12", "-m", "python/3.12"],
                   env=env, check=True, capture_output=True)
    commands = {
        "module load gcc/12 python/3.12": [*fast_command(sys.executable, "roost.modules.command"), "bash", "load",
                                           "gcc/12", "python/3.12"],
        "roost activate bench (2 modules + venv)": [*fast_command(sys.executable, "roost.envs.command"), "bash",
                                                    "activate", "bench"],
    }
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {os.getloadavg()[0]:.1f}, "
          f"Python {sys.version.split()[0]}, {args.runs} runs per variant")
    for label, argv in commands.items():
        missing = sorted({"enum", "typing"} - _imports_of(argv, env))  # what the real types would add here
        if not missing:
            print(f"{label}: imports enum and typing anyway; the layer saves nothing here")
            continue
        for _ in range(3):  # bytecode and roost's caches warm
            _run(argv, env)
        shipped: List[Tuple[float, float]] = []
        real: List[Tuple[float, float]] = []
        for index in range(args.runs):
            order = [(shipped, argv), (real, _with_real_types(argv, missing))]
            for times, command in order if index % 2 else order[::-1]:
                times.append(_run(command, env))
        rows = {name: (statistics.median(w for w, _ in t) * 1000, statistics.median(c for _, c in t) * 1000)
                for name, t in (("shipped", shipped), ("real", real))}
        (wall, cpu), (real_wall, real_cpu) = rows["shipped"], rows["real"]
        print(f"{label}: shipped wall {wall:.1f} ms cpu {cpu:.1f} ms; with {'+'.join(missing)} wall {real_wall:.1f} ms "
              f"cpu {real_cpu:.1f} ms; saved wall {real_wall - wall:.1f} ms cpu {real_cpu - cpu:.1f} ms")
    for name in ("enum", "typing", "enum, typing"):
        costs = []
        for _ in range(args.runs):
            done = subprocess.run([sys.executable, "-E", "-S", "-X", "importtime", "-c",
                                   f"import collections, functools; import {name}"],
                                  env=env, capture_output=True, text=True, check=True)
            wanted = {f" {n.strip()}" for n in name.split(",")}  # top level only: nested lines are indented
            costs.append(sum(int(line.split("|")[1]) for line in done.stderr.splitlines()
                             if line.split("|")[-1] in wanted))
        print(f"-X importtime, cumulative for `import {name}` after collections and functools: "
              f"median {statistics.median(costs) / 1000:.1f} ms")


if __name__ == "__main__":
    main()
