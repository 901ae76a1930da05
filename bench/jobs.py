"""Job benchmarks (BENCHMARKS.md, section "Jobs").

(a) Submission overhead on the real Slurm: ``roost submit`` (the CLI, one process per job, and the Python
    API in one process) against raw ``sbatch``, N jobs each, held with --begin so nothing runs meanwhile.
(b) Scheduling overhead of the local backend: N trivial tasks as one array, wall time per task; and the same
    Python no-op callable as an array through roost's Executor.map_array beside submitit's LocalExecutor.map_array.

    python bench/jobs.py slurm --jobs 100
    python bench/jobs.py local --tasks 1000
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
from typing import Callable, Dict, List, Optional


def _timed(action: Callable[[], object], count: int) -> List[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def _summary(label: str, times: List[float]) -> Dict[str, float]:
    median = statistics.median(times)
    print(f"{label:<34} n={len(times):<5} median {median * 1000:8.1f} ms   total {sum(times):7.2f} s")
    return {"median": median, "total": sum(times)}


def bench_slurm(jobs: int) -> None:
    if not shutil.which("sbatch"):
        sys.exit("no sbatch here: start Slurm with scripts/services/slurm.sh")
    held = "--begin=now+3600"  # queued, never started: this measures submission only
    data = tempfile.mkdtemp(prefix="roost-bench-")
    env = dict(os.environ, ROOST_DATA_DIR=data, ROOST_JOBS_BACKEND="slurm")
    # As after a normal install: bytecode cached (this machine sets PYTHONDONTWRITEBYTECODE=1 for everyone).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    ids: List[str] = []

    def sbatch() -> None:
        out = subprocess.run(
            ["sbatch", "--parsable", held, "-t", "1", "--wrap", "true"],
            capture_output=True,
            text=True,
            check=True,
            cwd=data,
        )
        ids.append(out.stdout.strip())

    submit_args = ["submit", "--parsable", f"--directive={held}", "-t", "1", "--", "true"]
    from roost.cli.shell_init import fast_command

    # What `roost submit` runs in a shell set up by `eval "$(roost shell-init bash)"` (the documented set-up).
    shell_function = [*fast_command(sys.executable, "roost.cli.entry"), *submit_args]
    # The console script pip writes beside the interpreter: a normal `python` start (site-packages' .pth files).
    console_script = [str(Path(sys.executable).parent / "roost"), *submit_args]

    def run_cli(argv: List[str]) -> Callable[[], None]:
        def submit() -> None:
            out = subprocess.run(argv, capture_output=True, text=True, check=True, env=env, cwd=data)
            ids.append(out.stdout.strip())

        return submit

    os.environ.update(ROOST_DATA_DIR=data, ROOST_JOBS_BACKEND="slurm")
    from roost.jobs import api
    from roost.jobs.store import Store

    store = Store()

    def roost_api() -> None:
        ids.append(api.submit(["true"], store=store, time="1", directives=[held], workdir=data).id)

    def python_start() -> None:
        subprocess.run([sys.executable, "-E", "-S", "-c", "pass"], check=True)

    print(f"(a) submitting {jobs} jobs each, interleaved; Slurm 22.05 on localhost")
    run_cli(shell_function)()  # untimed: writes roost's bytecode cache
    contenders: Dict[str, Callable[[], None]] = {
        "sbatch --parsable --wrap true": sbatch,
        "roost submit (shell function)": run_cli(shell_function),
        "roost submit (console script)": run_cli(console_script),
        "roost.jobs.api.submit (in process)": roost_api,
        "python -E -S -c pass (floor)": python_start,
    }
    times: Dict[str, List[float]] = {label: [] for label in contenders}
    for _ in range(jobs):  # round robin: a burst of load hits every contender alike
        for label, action in contenders.items():
            times[label].extend(_timed(action, 1))
    medians = {label: _summary(label, values)["median"] for label, values in times.items()}
    raw = medians["sbatch --parsable --wrap true"]
    for label, median in medians.items():
        print(f"  {label:<36} {median / raw:6.2f} x sbatch")
    # The same number of jobs when they are a sweep: one --array-from submission against a loop of sbatch calls.
    sweep = Path(data) / "sweep.txt"
    sweep.write_text("".join(f"true {n}\n" for n in range(jobs)))
    as_array = [*fast_command(sys.executable, "roost.cli.entry"), "submit", "--parsable", f"--directive={held}",
                "-t", "1", "--array-from", str(sweep)]
    array_times = _timed(run_cli(as_array), 10)
    loop_total = sum(times["sbatch --parsable --wrap true"])
    array_median = statistics.median(array_times)
    print(
        f"{jobs} commands: a loop of sbatch calls {loop_total * 1000:.0f} ms in all; roost submit --array-from "
        f"(one array, shell function) {array_median * 1000:.1f} ms median of 10: ratio {array_median / loop_total:.3f}"
    )
    for start_index in range(0, len(ids), 500):
        subprocess.run(["scancel", *ids[start_index : start_index + 500]], check=False)
    shutil.rmtree(data, ignore_errors=True)


def _runner_cpu_seconds(pid_file: Path) -> Optional[float]:
    """CPU used by the runner and every process it reaped (supervisors, and through them the tasks):
    a figure that, unlike wall time, does not depend on what else the machine is doing."""
    try:
        stat = Path(f"/proc/{pid_file.read_text().strip()}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def _noop_of(_: int) -> None:
    return None


def bench_local(tasks: int, peer_tasks: int) -> None:
    data = tempfile.mkdtemp(prefix="roost-bench-")
    os.environ.update(ROOST_DATA_DIR=data, ROOST_JOBS_BACKEND="local")
    from roost.jobs import api
    from roost.jobs.store import Store

    cores = len(os.sched_getaffinity(0))
    print(f"(b) trivial tasks on the local backend, {cores} cores")
    start = time.perf_counter()
    job = api.submit("true", array=f"0-{tasks - 1}", workdir=data, output="/dev/null", error="/dev/null", store=Store())
    record = job.wait(timeout=3600)
    wall = time.perf_counter() - start
    assert record.state.value == "COMPLETED", record.state
    print(f"{'roost array, task = true':<40} n={tasks:<5} wall {wall:7.2f} s   per task {wall / tasks * 1000:7.1f} ms")
    cpu = _runner_cpu_seconds(Path(data) / "jobs" / "runner.pid")
    if cpu is not None:
        print(
            f"{'  CPU of runner + supervisors + tasks':<40} {cpu:25.2f} s   per task {cpu / tasks * 1000:7.1f} ms"
            f"   (= {cpu / tasks / cores * 1000:.1f} ms of wall on {cores} idle cores)"
        )
    start = time.perf_counter()
    executor = api.Executor(backend="local", output="/dev/null", error="/dev/null", workdir=data)
    handles = executor.map_array(_noop_of, range(peer_tasks))
    for handle in handles:
        handle.result(timeout=3600)
    wall = time.perf_counter() - start
    print(
        f"{'roost Executor.map_array, task = noop()':<40} n={peer_tasks:<5} wall {wall:7.2f} s   per task "
        f"{wall / peer_tasks * 1000:7.1f} ms"
    )
    try:
        import submitit
    except ImportError:
        print("submitit is not installed (pip install submitit): peer skipped")
        return
    folder = Path(data) / "submitit"
    peer = submitit.LocalExecutor(folder=str(folder))
    peer.update_parameters(timeout_min=60)
    start = time.perf_counter()
    peer_jobs = peer.map_array(_noop_of, range(peer_tasks))
    for peer_job in peer_jobs:
        peer_job.result()
    wall = time.perf_counter() - start
    print(
        f"{'submitit LocalExecutor, task = noop()':<40} n={peer_tasks:<5} wall {wall:7.2f} s   per task "
        f"{wall / peer_tasks * 1000:7.1f} ms"
    )
    shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="which", required=True)
    slurm = sub.add_parser("slurm")
    slurm.add_argument("--jobs", type=int, default=100)
    local = sub.add_parser("local")
    local.add_argument("--tasks", type=int, default=1000)
    local.add_argument("--peer-tasks", type=int, default=200, help="tasks for the Python-per-task runs")
    args = parser.parse_args()
    if args.which == "slurm":
        bench_slurm(args.jobs)
    else:
        bench_local(args.tasks, args.peer_tasks)


if __name__ == "__main__":
    main()
