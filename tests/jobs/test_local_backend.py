"""The local backend, end to end: the real CLI, detached runner and supervisors, the job database."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jobs_helpers import roost, submitted_id

from roost.jobs import api
from roost.jobs.backend import JobState
from roost.jobs.store import Store


def test_failing_job_reports_exit_code_logs_and_stderr_tail(local: Path) -> None:
    done = roost("submit", "--wait", "--", "bash", "-c", "echo to-out; echo to-err >&2; exit 3")
    assert done.returncode == 3
    assert "to-out" in done.stdout
    job_id = submitted_id(done)
    status = roost("status", job_id)
    assert "FAILED" in status.stdout and "exit code 3" in status.stdout
    assert "to-err" in status.stdout  # the tail of stderr, where people look first
    assert roost("logs", job_id).stdout == "to-out\n"
    assert roost("logs", job_id, "--err").stderr == "to-err\n"
    listed = json.loads(roost("jobs", "--all", "--json").stdout)
    assert [(j["id"], j["state"], j["exit_code"]) for j in listed] == [(job_id, "FAILED", 3)]


def test_submit_a_python_script_with_threads_from_cpus_per_task(local: Path) -> None:
    (local / "show.py").write_text("import os, sys\nprint(os.environ['OMP_NUM_THREADS'], sys.argv[1:])\n")
    done = roost("submit", "--wait", "-c", "2", "show.py", "a b", "--flag")
    assert done.returncode == 0, done.stderr
    assert "2 ['a b', '--flag']" in done.stdout


def test_dry_run_prints_the_script_and_submits_nothing(local: Path) -> None:
    done = roost("submit", "--dry-run", "-t", "10:00", "--", "echo", "hi")
    assert done.stdout.startswith("#!/bin/bash\n")
    assert "#SBATCH --time='00:10:00'" in done.stdout
    assert json.loads(roost("jobs", "--all", "--json").stdout) == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--time", "abc"], "--time"),
        (["--mem", "4X"], "--mem"),
        (["--array", "5-1"], "--array"),
        (["--dependency", "afterok"], "--dependency"),
        (["--dependency", "afterok:L999"], "L999"),
        (["--cpus-per-task", "4096"], "cores"),
        (["missing.py"], "missing.py"),
    ],
)
def test_bad_input_is_a_clear_error_and_leaves_no_record(local: Path, args: list, words: str) -> None:
    done = roost("submit", *args) if args[-1].endswith(".py") else roost("submit", *args, "--", "true")
    assert done.returncode != 0
    assert "error:" in done.stderr and words in done.stderr
    assert "hint:" in done.stderr
    assert json.loads(roost("jobs", "--all", "--json").stdout) == []
    assert not list(local.glob("roost-*"))


def test_array_respects_its_limit_and_writes_per_task_logs(local: Path) -> None:
    marks = local / "marks"
    marks.mkdir()
    command = (
        f'echo "start $(date +%s.%N)" > {marks}/$SLURM_ARRAY_TASK_ID; sleep 0.3; '
        f'echo "end $(date +%s.%N)" >> {marks}/$SLURM_ARRAY_TASK_ID; echo task $ROOST_ARRAY_TASK_ID'
    )
    job = api.submit(command, array="0-5%2")
    record = job.wait(timeout=60)
    assert record.state is JobState.COMPLETED
    assert [t.task for t in record.tasks] == [0, 1, 2, 3, 4, 5]
    for task in range(6):
        assert (local / f"roost-{job.id}_{task}.out").read_text() == f"task {task}\n"
    intervals = []
    for task in range(6):
        start, end = (float(line.split()[1]) for line in (marks / str(task)).read_text().splitlines())
        intervals.append((start, end))
    for start, _ in intervals:
        overlapping = sum(1 for s, e in intervals if s <= start < e)
        assert overlapping <= 2


def test_dependency_chain_runs_in_order_and_a_broken_chain_is_cancelled(local: Path) -> None:
    chain = local / "chain"
    first = api.submit(f"sleep 0.3; echo first >> {chain}")
    second = api.submit(f"echo second >> {chain}; exit 1", dependency=f"afterok:{first.id}")
    third = api.submit(f"echo third >> {chain}", dependency=f"afterany:{second.id}")
    never = api.submit(f"echo never >> {chain}", dependency=f"afterok:{second.id}")
    records = api.wait(Store(), [first.id, second.id, third.id, never.id], timeout=60)
    assert [r.state for r in records] == [
        JobState.COMPLETED,
        JobState.FAILED,
        JobState.COMPLETED,
        JobState.CANCELLED,
    ]
    assert records[3].reason == "DependencyNeverSatisfied"
    assert chain.read_text() == "first\nsecond\nthird\n"


def test_time_limit_ends_the_job_as_timeout(local: Path) -> None:
    job = api.submit("echo started; sleep 30", time="0:01")
    record = job.wait(timeout=30)
    assert record.state is JobState.TIMEOUT
    assert record.exit_code == 128 + signal.SIGTERM
    assert job.stdout() == "started\n"


def test_cancel_kills_the_whole_process_tree(local: Path) -> None:
    pids = local / "pids"
    job = api.submit(f"sleep 300 & echo $! > {pids}; bash -c 'sleep 300 & echo $! >> {pids}; wait' & wait")
    deadline = time.time() + 20
    while not (pids.exists() and len(pids.read_text().split()) == 2) and time.time() < deadline:
        time.sleep(0.05)
    children = [int(p) for p in pids.read_text().split()]
    assert roost("cancel", job.id).returncode == 0
    record = job.wait(timeout=20)
    assert record.state is JobState.CANCELLED
    for pid in children:
        assert not _alive(pid), f"process {pid} of the cancelled job is still running"


def test_cancel_a_pending_job(local: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = api.submit("sleep 30", cpus_per_task=str(os.cpu_count() or 1))
    waiting = api.submit("echo never")
    api.cancel(Store(), [waiting.id, blocker.id])
    records = api.wait(Store(), [waiting.id, blocker.id], timeout=20)
    assert [r.state for r in records] == [JobState.CANCELLED, JobState.CANCELLED]
    assert not (local / f"roost-{waiting.id}.out").exists()


def test_mpi_job_runs_ranks_with_mpiexec(local: Path) -> None:
    code = "from mpi4py import MPI; c = MPI.COMM_WORLD; print(f'rank {c.Get_rank()} of {c.Get_size()}')"
    done = roost("submit", "--wait", "--mpi", "-n", "2", "--", sys.executable, "-c", code)
    assert done.returncode == 0, done.stderr
    # the launcher forwards each rank's output in chunks that may interleave: look for both, not for lines
    assert sorted(re.findall(r"rank \d of \d", done.stdout)) == ["rank 0 of 2", "rank 1 of 2"]


def _square_plus(x: int, offset: int = 0) -> int:
    return x * x + offset


def _explode(message: str) -> None:
    raise ValueError(message)


def test_python_callable_round_trip(local: Path) -> None:
    executor = api.Executor(backend="local", time="5:00")
    job = executor.submit(_square_plus, 7, offset=1)
    assert job.result(timeout=60) == 50
    assert job.state is JobState.COMPLETED
    failing = executor.submit(_explode, "no luck")
    with pytest.raises(api.JobFailed) as error:
        failing.result(timeout=60)
    assert "ValueError: no luck" in error.value.message
    assert isinstance(error.value.__cause__, ValueError)
    assert failing.state is JobState.FAILED


def test_map_array_runs_one_array_with_a_result_per_task(local: Path) -> None:
    executor = api.Executor(backend="local", array_limit=2)
    jobs = executor.map_array(_square_plus, [1, 2, 3], [0, 10, 20])
    assert len({job.id for job in jobs}) == 1  # one submission
    assert [job.result(timeout=60) for job in jobs] == [1, 14, 29]
    assert Store().get(jobs[0].id).spec.array is not None


def test_jobs_outlive_a_killed_cli(local: Path) -> None:
    cli = subprocess.Popen(
        [sys.executable, "-m", "roost", "submit", "--wait", "--", "bash", "-c", "sleep 1; echo survived"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert cli.stdout is not None
    first_line = cli.stdout.readline()
    job_id = first_line.split()[2]
    cli.kill()
    cli.wait()
    record = api.Job(job_id).wait(timeout=30)
    assert record.state is JobState.COMPLETED
    assert (local / f"roost-{job_id}.out").read_text() == "survived\n"


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_fifty_concurrent_submits_lose_and_duplicate_nothing(local: Path, journal: str) -> None:
    # "delete" (a rollback journal) is what a database on a home that several hosts mount gets.
    created = Store(journal=journal)
    assert created.journal_mode() == journal
    created.close()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "roost", "submit", "--parsable", "--", "echo", str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(50)
    ]
    ids = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        ids.append(out.strip())
    assert len(set(ids)) == 50
    assert sorted(Store().ids()) == sorted(ids)
    records = api.wait(Store(), ids, timeout=120)
    assert all(r.state is JobState.COMPLETED for r in records)
    outputs = {(local / f"roost-{job_id}.out").read_text() for job_id in ids}
    assert outputs == {f"{n}\n" for n in range(50)}
    assert Store().journal_mode() == journal  # later processes keep what the database was created with


def test_gpus_are_handed_out_one_job_per_device(local: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOST_LOCAL_GPUS", "2")
    jobs = [api.submit("echo gpu=$CUDA_VISIBLE_DEVICES; sleep 0.5", gpus="1") for _ in range(3)]
    plain = api.submit("echo gpu=$CUDA_VISIBLE_DEVICES")
    records = api.wait(Store(), [j.id for j in [*jobs, plain]], timeout=60)
    assert all(r.state is JobState.COMPLETED for r in records)
    devices = [job.stdout().strip() for job in jobs]
    assert sorted(set(devices)) == ["gpu=0", "gpu=1"]
    assert plain.stdout().strip() == "gpu="
    too_many = roost("submit", "--gpus", "3", "--", "true")
    assert too_many.returncode != 0 and "GPUs" in too_many.stderr


def test_wait_command_exit_code_follows_the_jobs(local: Path) -> None:
    ok = submitted_id(roost("submit", "--", "true"))
    bad = submitted_id(roost("submit", "--", "bash", "-c", "exit 5"))
    assert roost("wait", ok).returncode == 0
    assert roost("wait", ok, bad).returncode == 5


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[1].split()[0] != "Z"
    except OSError:
        return False


def test_shell_is_a_local_subshell_with_threads_set(local: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "roost", "shell", "-c", "3"],
        input="echo threads=$OMP_NUM_THREADS; exit 7\n",
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "SHELL": "/bin/bash"},
    )
    assert done.returncode == 7
    assert "threads=3" in done.stdout


def test_memory_requests_keep_jobs_apart(local: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOST_LOCAL_MEMORY", "1G")
    marks = local / "marks"
    jobs = [
        api.submit(f"echo start $(date +%s.%N) >> {marks}; sleep 0.4; echo end $(date +%s.%N) >> {marks}", mem="600M")
        for _ in range(2)
    ]
    records = api.wait(Store(), [j.id for j in jobs], timeout=60)
    assert all(r.state is JobState.COMPLETED for r in records)
    events = [line.split()[0] for line in marks.read_text().splitlines()]
    assert events == ["start", "end", "start", "end"]  # 2 x 600M never fit in 1G at once


def test_jobs_outlive_a_killed_runner(local: Path) -> None:
    job = api.submit("sleep 1; echo still-here")
    runner_pid_file = Path(os.environ["HOME"]) / ".local" / "share" / "roost" / "jobs" / "runner.pid"
    deadline = time.time() + 20
    while job.state is not JobState.RUNNING and time.time() < deadline:
        time.sleep(0.05)
    os.kill(int(runner_pid_file.read_text()), signal.SIGKILL)
    later = api.submit("echo after")  # starts a new runner
    records = api.wait(Store(), [job.id, later.id], timeout=30)
    assert [r.state for r in records] == [JobState.COMPLETED, JobState.COMPLETED]
    assert job.stdout() == "still-here\n"


def test_logs_follow_prints_until_the_job_ends(local: Path) -> None:
    job = api.submit("for i in 1 2 3; do echo line $i; sleep 0.3; done")
    done = roost("logs", "-f", job.id)
    assert done.returncode == 0
    assert done.stdout == "line 1\nline 2\nline 3\n"
    assert job.state is JobState.COMPLETED


def test_status_of_a_failed_array_points_at_the_failing_task(local: Path) -> None:
    script = '[ "$SLURM_ARRAY_TASK_ID" != 2 ] || { echo "task two broke" >&2; exit 2; }'
    job_id = submitted_id(roost("submit", "--array", "0-3", "--wrap", script))
    assert roost("wait", job_id).returncode == 2
    status = roost("status", job_id).stdout
    assert "COMPLETED=3 FAILED=1" in status
    assert f"roost-{job_id}_2.err (task 2)" in status and "task two broke" in status


def test_backend_and_local_capacity_from_the_config_file(work: Path) -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "roost" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[jobs]\nbackend = "local"\nlocal_cpus = 1\n')
    assert api.backend_name() == "local"
    done = roost("submit", "-c", "2", "--", "true")
    assert done.returncode != 0 and "offers 1" in done.stderr
    config.write_text('[jobs]\nbackend = "pbs"\n')
    assert "unknown job backend 'pbs'" in roost("submit", "--", "true").stderr


def test_job_records_are_private_to_the_user(local: Path) -> None:
    api.submit("true").wait(timeout=30)
    jobs_dir = Store().path.parent
    assert jobs_dir.stat().st_mode & 0o777 == 0o700
    assert Store().path.stat().st_mode & 0o777 == 0o600  # it holds each job's environment


def test_a_killed_supervisor_ends_its_task_as_node_fail(local: Path) -> None:
    job = api.submit("sleep 5")
    deadline = time.time() + 20
    while job.state is not JobState.RUNNING and time.time() < deadline:
        time.sleep(0.05)
    (pid,) = Store().connection().execute("SELECT pid FROM tasks WHERE job_id = ?", (job.id,)).fetchone()
    os.kill(pid, signal.SIGKILL)
    record = job.wait(timeout=20)
    assert record.state is JobState.NODE_FAIL
    assert "supervisor died" in record.reason


def test_a_job_over_its_memory_ends_as_out_of_memory(local: Path) -> None:
    grow = "import time; x = bytearray(300 * 1024 * 1024); print('allocated', flush=True); time.sleep(30)"
    job = api.submit([sys.executable, "-c", grow], mem="100M")
    record = job.wait(timeout=30)
    assert record.state is JobState.OUT_OF_MEMORY
    assert record.exit_code == 128 + signal.SIGKILL
    assert "more than the 100 MB asked for" in record.reason
    within = api.submit([sys.executable, "-c", "x = bytearray(10 * 1024 * 1024)"], mem="200M")
    assert within.wait(timeout=30).state is JobState.COMPLETED


def test_array_from_a_command_file_runs_one_line_per_task(local: Path) -> None:
    from array_from_helpers import EXPECTED_OUTPUT, write_command_file

    commands = write_command_file(local)
    done = roost("submit", "--wait", "--array-from", str(commands), "--array-limit", "2", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    job_id = submitted_id(done)
    record = Store().get(job_id)
    assert record.name == "sweep" and record.spec.array is not None and record.spec.array.text == "0-2%2"
    assert [(local / f"roost-{job_id}_{task}.out").read_text() for task in range(3)] == EXPECTED_OUTPUT
    assert (local / "third.txt").read_text() == "it's alpha=0.3\n"
    commands.write_text("echo changed\n" * 3)  # the lines travelled with the job: editing the file changes nothing
    assert "changed" not in record.script


def test_array_from_refuses_what_it_cannot_run(local: Path) -> None:
    (local / "empty.txt").write_text("# nothing yet\n\n")
    empty = roost("submit", "--array-from", "empty.txt")
    assert empty.returncode == 1 and "has no commands" in empty.stderr
    missing = roost("submit", "--array-from", "nope.txt")
    assert missing.returncode == 1 and "cannot read the command file" in missing.stderr
    (local / "two.txt").write_text("true\ntrue\n")
    both = roost("submit", "--array-from", "two.txt", "--", "true")
    assert both.returncode == 1 and "give only one of" in both.stderr
    limit_alone = roost("submit", "--array-limit", "3", "--", "true")
    assert limit_alone.returncode == 1 and "--array-limit goes with --array-from" in limit_alone.stderr
    assert roost("jobs", "--all", "--json", check=True).stdout.strip() == "[]"  # nothing recorded


def test_array_from_standard_input(local: Path) -> None:
    lines = "".join(f"echo seed={seed}\n" for seed in (1, 2, 3))
    done = subprocess.run(
        [sys.executable, "-m", "roost", "submit", "--wait", "--array-from", "-"],
        input=lines, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    job_id = submitted_id(done)
    assert [(local / f"roost-{job_id}_{task}.out").read_text() for task in range(3)] == [
        "seed=1\n", "seed=2\n", "seed=3\n"
    ]
