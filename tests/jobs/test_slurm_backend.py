"""The Slurm backend against the real single-node Slurm (scripts/services/slurm.sh starts it)."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Optional, Tuple

import pytest
from jobs_helpers import roost, submitted_id

from roost.jobs import api
from roost.jobs.backend import JobState
from roost.jobs.slurm import SlurmBackend
from roost.jobs.store import Store

pytestmark = pytest.mark.service("slurm")


@pytest.fixture
def slurm(work: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ROOST_JOBS_BACKEND", "slurm")
    return work


def test_submit_wait_status_logs_of_a_failing_job(slurm: Path) -> None:
    done = roost("submit", "--wait", "-t", "1", "--", "bash", "-c", "echo to-out; echo to-err >&2; exit 3")
    assert done.returncode == 3, done.stderr
    assert "to-out" in done.stdout
    job_id = submitted_id(done)
    assert job_id.isdigit()  # Slurm's own id
    status = roost("status", job_id)
    assert "FAILED" in status.stdout and "exit code 3" in status.stdout and "to-err" in status.stdout
    assert roost("logs", job_id).stdout == "to-out\n"
    assert roost("logs", job_id, "--err").stderr == "to-err\n"
    data = json.loads(roost("status", job_id, "--json").stdout)
    assert (data["backend"], data["state"], data["exit_code"]) == ("slurm", "FAILED", 3)


def test_array_with_a_limit_runs_one_at_a_time(slurm: Path) -> None:
    marks = slurm / "marks"
    marks.mkdir()
    command = (
        f'echo "$(date +%s.%N)" > {marks}/$SLURM_ARRAY_TASK_ID; sleep 0.3; '
        f'echo "$(date +%s.%N)" >> {marks}/$SLURM_ARRAY_TASK_ID; echo task $SLURM_ARRAY_TASK_ID'
    )
    job = api.submit(command, array="0-2%1", time="1")
    record = job.wait(timeout=90)
    assert record.state is JobState.COMPLETED
    assert [t.task for t in record.tasks] == [0, 1, 2]
    intervals = sorted(tuple(float(x) for x in (marks / str(i)).read_text().split()) for i in range(3))
    for (_, end), (start, _) in zip(intervals, intervals[1:]):
        assert start >= end - 0.05  # %1: never two at once
    assert job.stdout(task=2) == "task 2\n"


def test_dependency_chain(slurm: Path) -> None:
    chain = slurm / "chain"
    first = api.submit(f"sleep 0.5; echo first >> {chain}", time="1")
    second = api.submit(f"echo second >> {chain}", dependency=f"afterok:{first.id}", time="1")
    third = api.submit(f"echo third >> {chain}", dependency=f"afterany:{second.id}", time="1")
    records = api.wait(Store(), [first.id, second.id, third.id], timeout=90)
    assert [r.state for r in records] == [JobState.COMPLETED] * 3
    assert chain.read_text() == "first\nsecond\nthird\n"


def test_cancel_a_running_job(slurm: Path) -> None:
    job = api.submit("echo started; sleep 120", time="5")
    deadline = time.time() + 30
    while job.state is not JobState.RUNNING and time.time() < deadline:
        time.sleep(0.2)
    assert roost("cancel", job.id).returncode == 0
    # With cgroups Slurm holds a cancelled job COMPLETING for a moment: still running, and `roost status` says why.
    shown = roost("status", job.id).stdout
    assert "CANCELLED" in shown or "completing" in shown, shown
    record = job.wait(timeout=30)
    assert record.state is JobState.CANCELLED


def test_mpi_job_under_srun_pmi2(slurm: Path) -> None:
    code = "from mpi4py import MPI; c = MPI.COMM_WORLD; print(f'rank {c.Get_rank()} of {c.Get_size()}')"
    done = roost("submit", "--wait", "--mpi", "-n", "2", "-t", "1", "--", sys.executable, "-c", code, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    # the launcher forwards each rank's output in chunks that may interleave: look for both, not for lines
    assert sorted(re.findall(r"rank \d of \d", done.stdout)) == ["rank 0 of 2", "rank 1 of 2"]


def _cube(x: int) -> int:
    return x**3


def test_python_callable_round_trip(slurm: Path) -> None:
    job = api.Executor(backend="slurm", time="1").submit(_cube, 3)
    assert job.result(timeout=90) == 27


def test_scheduler_refusal_is_an_error_without_a_record(slurm: Path) -> None:
    done = roost("submit", "--partition", "no-such-partition", "--", "true")
    assert done.returncode != 0
    assert "error: Slurm refused the job" in done.stderr and "partition" in done.stderr
    assert "hint:" in done.stderr
    assert json.loads(roost("jobs", "--all", "--json").stdout) == []


def test_status_of_many_jobs_is_one_query(slurm: Path) -> None:
    jobs = [api.submit("true", time="1") for _ in range(5)]
    api.wait(Store(), [j.id for j in jobs], timeout=90)
    backend = SlurmBackend(Store())
    statuses = backend.status([j.id for j in jobs])
    assert backend.queries == 1
    assert all(statuses[j.id].state is JobState.COMPLETED for j in jobs)


def test_shell_runs_on_a_compute_node_under_srun_pty(slurm: Path) -> None:
    import os
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child becomes roost
        os.execv(sys.executable, [sys.executable, "-m", "roost", "shell", "-t", "1", "-c", "1"])
    os.write(fd, b"echo in-job=$SLURM_JOB_ID threads=$OMP_NUM_THREADS; exit 4\n")
    output = b""
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    text = output.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 4, text
    assert "in-job=" in text and "threads=1" in text
    assert "in-job= " not in text  # SLURM_JOB_ID is set: the shell runs inside an allocation


def test_zz_time_limit_ends_the_job_as_timeout(slurm_timeout_job: Optional[Tuple[Path, str]]) -> None:
    """Runs last (zz): the job was submitted when the job tests started (see conftest.slurm_timeout_job)."""
    assert slurm_timeout_job is not None
    store_path, job_id = slurm_timeout_job
    store = Store(store_path)
    record = api.wait(store, [job_id], timeout=180)[0]
    assert record.state is JobState.TIMEOUT
    assert (store_path.parent / f"roost-{job_id}.out").read_text() == "started\n"


def test_array_from_a_command_file_under_sbatch(slurm: Path) -> None:
    from array_from_helpers import EXPECTED_OUTPUT, write_command_file

    commands = write_command_file(slurm)
    done = roost("submit", "--wait", "-t", "1", "--array-from", str(commands), timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    job_id = submitted_id(done)
    assert [(slurm / f"roost-{job_id}_{task}.out").read_text() for task in range(3)] == EXPECTED_OUTPUT
    assert (slurm / "third.txt").read_text() == "it's alpha=0.3\n"
