"""What a job could never do is refused at submit, in words, on both backends and in --dry-run.

sbatch accepts a job whose --chdir is missing (it then runs in /tmp), whose log directory is missing (it
then fails without a log) or which launches an MPI that is not there; roost says so before submitting.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from roost.errors import JobError
from roost.jobs import api
from roost.jobs.spec import JobSpec
from roost.jobs.store import Store


def roost(*args: str, cwd: Path, env: Dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "roost", *args], capture_output=True, text=True, timeout=120, cwd=str(cwd), env=env
    )


REFUSED = [
    (["--chdir", "/nonexistent"], "-D/--chdir /nonexistent does not exist"),
    (["--chdir", "/etc/passwd"], "-D/--chdir /etc/passwd is not a directory"),
    (["-o", "/nonexistent/dir/x"], "-o/--output /nonexistent/dir/x: the directory /nonexistent/dir does not exist"),
    (["--error", "missing/%j.err"], "--error missing/%j.err: the directory"),
    (["-o", "/tmp"], "-o/--output /tmp is a directory"),
    (["--mail-type", "NONSENSE"], "--mail-type 'NONSENSE': 'NONSENSE' is not one of Slurm's mail types"),
    (["--mail-type", "END,SOMETIMES"], "--mail-type 'END,SOMETIMES': 'SOMETIMES' is not one of Slurm's"),
    (["--", "/tmp"], "/tmp is a directory, not a program or script"),
    (["--", "./subdir"], "./subdir is a directory, not a program or script"),
    (["subdir.py"], "no Python script subdir.py"),
]


@pytest.mark.parametrize(("args", "message"), REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
@pytest.mark.parametrize("backend", [["--backend", "local"], ["--backend", "slurm", "--dry-run"]])
def test_a_job_that_could_never_run_is_refused_at_submit(
    args: List[str], message: str, backend: List[str], clean_environ: Dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "subdir").mkdir()
    (tmp_path / "subdir.py").mkdir()
    if "--" not in args and not args[0].endswith(".py"):
        args = [*args, "--", "true"]
    done = roost("submit", *backend, *args, cwd=tmp_path, env=clean_environ)
    assert done.returncode == 1 and done.stdout == "", done.stderr
    assert done.stderr.startswith(f"error: {message}") and "\nhint: " in done.stderr, done.stderr
    assert not (Path(clean_environ["HOME"]) / ".local/share/roost/jobs/jobs.sqlite").exists()


@pytest.mark.parametrize("launcher", ["local", "slurm"])
def test_mpi_without_a_launcher_on_the_jobs_path_is_refused(launcher: str, tmp_path: Path) -> None:
    spec = JobSpec.create(["python", "hello.py"], mpi=True, workdir=str(tmp_path))
    program = "mpiexec" if launcher == "local" else "srun"
    with pytest.raises(JobError, match=f"--mpi launches with {program}, and the job's PATH has none"):
        api.prepare(spec, launcher, {"PATH": str(tmp_path)})
    (tmp_path / program).write_text("#!/bin/sh\n")
    (tmp_path / program).chmod(0o755)
    assert f"{'srun --mpi=pmi2' if launcher == 'slurm' else 'mpiexec -n 1'} python hello.py" in api.prepare(
        spec, launcher, {"PATH": str(tmp_path)}
    )


def test_the_cli_says_when_mpiexec_is_missing(clean_environ: Dict[str, str], tmp_path: Path) -> None:
    env = dict(clean_environ, PATH="/usr/bin:/bin")
    done = roost("submit", "--backend", "local", "--mpi", "-n", "2", "--", "true", cwd=tmp_path, env=env)
    assert done.returncode == 1 and "error: --mpi launches with mpiexec" in done.stderr, done.stderr


def test_a_log_directory_per_job_cannot_be_checked_and_is_left_to_the_job(tmp_path: Path) -> None:
    spec = JobSpec.create(["true"], output="logs-%j/out", workdir=str(tmp_path))
    assert "#SBATCH --output='logs-%j/out'" in api.prepare(spec, "local", os.environ)


def test_cancelling_a_task_the_job_does_not_have_is_refused(clean_environ: Dict[str, str], tmp_path: Path) -> None:
    store = Store(tmp_path / "jobs.sqlite")
    plain = api.submit_spec(JobSpec.create(["true"], workdir=str(tmp_path)), backend="local", store=store)
    array = api.submit_spec(
        JobSpec.create(["true"], array="0-3", workdir=str(tmp_path)), backend="local", store=store
    )
    with pytest.raises(JobError, match=f"job {plain.id} is not an array: it has no task 99"):
        api.cancel(store, [f"{plain.id}_99"])
    with pytest.raises(JobError, match=f"array job {array.id} has no task 7"):
        api.cancel(store, [f"{array.id}_7"])
    with pytest.raises(JobError, match="is not a job id"):
        api.cancel(store, [f"{array.id}_x"])
    api.wait(store, [plain.id, array.id], timeout=60)
    assert store.get(plain.id).state.value == "COMPLETED"  # nothing was cancelled by the refused calls


@pytest.mark.parametrize("timeout", ["-5", "nan"])
def test_wait_refuses_a_negative_timeout(timeout: str, clean_environ: Dict[str, str], tmp_path: Path) -> None:
    submitted = roost("submit", "--backend", "local", "--parsable", "--", "true", cwd=tmp_path, env=clean_environ)
    job_id = submitted.stdout.strip()
    done = roost("wait", job_id, "--timeout", timeout, cwd=tmp_path, env=clean_environ)
    assert done.returncode == 1 and done.stderr.startswith("error: --timeout"), done.stderr
    with pytest.raises(JobError, match="--timeout -1 is not a number of seconds"):
        api.Job(job_id, Store()).wait(timeout=-1)
