"""Benchmark of env start-up images (results go in BENCHMARKS.md, section "Start-up images").

An env with numpy, scipy and pandas, made by roost with uv:

1. Image build time: `roost env pack` (copy with hard links, compile bytecode, mksquashfs).
2. File-system calls per rank on the env store (which stands for the shared file system) for
   `python -c 'import numpy, scipy.linalg, pandas'` run as a one-task job: the job script roost writes, run
   with bash (as the local backend does) under `strace -f -e trace=%file,%desc`, counting calls whose path
   lies under the env store.  Unpacked (ROOST_PACK_METHOD=off) vs packed (mount) vs packed (stage), same run.
   Target: packed <= 10 per rank.
3. Wall time from `srun` to all 8 ranks past their imports (2 nodes x 4 ranks, scripts/services/slurm-multi.sh):
   the batch script roost writes for `--mpi -N 2 -n 8`, with `date` printed before its srun line; each rank
   prints the time after its imports.  Unpacked vs packed, alternating, medians.

Usage: python bench/startup.py [--runs 5] [--work DIR] [--python PATH]
Needs PyPI (first run), squashfs-tools + squashfuse + strace (scripts/services/squashfs.sh), and the
multi-node cluster for part 3.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.envs import default_python

PACKAGES = ["numpy", "scipy", "pandas"]
IMPORTS = "import numpy, scipy.linalg, pandas"
MULTI_CONF = "/etc/slurm-multi/slurm.conf"
# Ranks as srun starts them (--mpi: srun --mpi=pmi2); the rank number from Slurm, so that MPI's own start-up
# (not what is measured) stays out of it.
RANK = (
    "import time, os; import numpy, scipy.linalg, pandas; "
    "print('T1', os.environ['SLURM_PROCID'], os.environ['SLURMD_NODENAME'], repr(time.time()), flush=True)"
)


def roost(environ: Dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "roost", *args], capture_output=True, text=True, env=environ)
    if done.returncode != 0:
        raise SystemExit(f"roost {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def bench_environ(work: Path) -> Dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_") and k != "VIRTUAL_ENV"}
    environ.update(
        ROOST_ENVS_DIR=str(work / "envs"),
        ROOST_UV_CACHE=str(work / "uv-cache"),
        ROOST_DATA_DIR=str(work / "data"),
        ROOST_SITE_CONFIG=str(work / "site.toml"),
        ROOST_PACK_DIR=str(work / "node-local"),
    )
    (work / "site.toml").write_text("[envs]\nseed_pip = false\n")
    (work / "node-local").mkdir(exist_ok=True)
    return environ


def script_for(environ: Dict[str, str], method: str, backend: str, **options: object) -> str:
    from roost.jobs import api
    from roost.jobs.spec import JobSpec

    spec = JobSpec.create(**options)  # type: ignore[arg-type]
    return api.prepare(spec, backend, dict(environ, ROOST_PACK_METHOD=method))


_PATH = re.compile(r'"((?:[^"\\]|\\.)*)"')


def calls_on_store(environ: Dict[str, str], method: str, work: Path) -> int:
    script = script_for(environ, method, "local", command=("python", "-c", IMPORTS), env="big", workdir=str(work))
    (work / "one-task.sh").write_text(script)
    trace = work / f"strace-{method}.txt"
    subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=%file,%desc", "-o", str(trace), "bash", str(work / "one-task.sh")],
        env=environ, check=True, capture_output=True, cwd=work,
    )  # fmt: skip
    store = environ["ROOST_ENVS_DIR"].rstrip("/") + "/"
    count = 0
    for line in trace.read_text().splitlines():
        match = _PATH.search(line)
        if match and (match.group(1) + "/").startswith(store):
            count += 1
    return count


def mpi_wall_time(environ: Dict[str, str], method: str, work: Path) -> float:
    script = script_for(
        environ, method, "slurm", command=("python", "-c", RANK), env="big", nodes=2, ntasks=8, ntasks_per_node=4,
        mpi=True, workdir=str(work), output=str(work / f"mpi-{method}-%j.out"), time="10",
    )  # fmt: skip
    lines = script.rstrip("\n").split("\n")
    lines.insert(len(lines) - 1, "date +'T0 %s.%N'")  # the moment the srun line starts
    (work / f"mpi-{method}.sh").write_text("\n".join(lines) + "\n")
    multi = dict(environ, SLURM_CONF=MULTI_CONF)
    job = subprocess.run(
        ["sbatch", "--parsable", "--wait", str(work / f"mpi-{method}.sh")],
        env=multi, capture_output=True, text=True, check=True, cwd=work,
    ).stdout.strip()  # fmt: skip
    output = (work / f"mpi-{method}-{job}.out").read_text()
    start = float(next(line.split()[1] for line in output.splitlines() if line.startswith("T0 ")))
    ends = [float(line.split()[3]) for line in output.splitlines() if line.startswith("T1 ")]
    if len(ends) != 8:
        raise SystemExit(f"expected 8 ranks, got {len(ends)}:\n{output}")
    return max(ends) - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--python", default=default_python())
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="roost-bench-startup-"))
    work.mkdir(parents=True, exist_ok=True)
    environ = bench_environ(work)
    if not (work / "envs" / "big").exists():
        started = time.perf_counter()
        roost(environ, "env", "create", "big", "--python", args.python, *PACKAGES, "-q")
        print(f"create: {time.perf_counter() - started:.1f} s")
    # Bytecode in the shared copy too, as pip leaves it (uv does not compile, and PYTHONDONTWRITEBYTECODE may
    # be set): the comparison is then of where the files are read from, not of compiling them.
    subprocess.run([str(work / "envs" / "big" / "bin" / "python"), "-m", "compileall", "-q",
                    str(work / "envs" / "big" / "lib")], check=False, stdout=subprocess.DEVNULL)  # fmt: skip
    shown = json.loads(roost(environ, "env", "show", "big", "--json"))
    started = time.perf_counter()
    packed = json.loads(roost(environ, "env", "pack", "big", "--json"))
    build = time.perf_counter() - started
    results: Dict[str, object] = {
        "env_files": packed["files"],
        "env_bytes": shown["size_bytes"],
        "image_bytes": packed["size_bytes"],
        "pack_seconds": round(build, 1),
    }
    results["calls_per_rank"] = {m: calls_on_store(environ, m, work) for m in ("off", "auto", "stage")}
    if Path(MULTI_CONF).exists():
        times: Dict[str, List[float]] = {"off": [], "auto": [], "stage": []}
        for _ in range(args.runs):
            for method in times:
                times[method].append(mpi_wall_time(environ, method, work))
        results["srun_to_imports_8_ranks_s"] = {m: round(statistics.median(t), 3) for m, t in times.items()}
        results["runs"] = {m: [round(x, 3) for x in t] for m, t in times.items()}
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
