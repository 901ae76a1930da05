"""The batch scripts users already have (tests/jobs/scripts/), submitted as ``roost submit job.sh`` to the
real single-node Slurm and to the local backend: each must run as sbatch runs it, with the same answers."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from jobs_helpers import roost

SCRIPTS = Path(__file__).parent / "scripts"
BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("slurm", id="slurm", marks=pytest.mark.service("slurm")),
]


@pytest.fixture
def here(work: Path) -> Path:
    for script in SCRIPTS.glob("*.sh"):
        shutil.copy(script, work / script.name)
    return work


def _submit_and_wait(backend: str, *args: str) -> subprocess.CompletedProcess[str]:
    return roost("submit", "--wait", "--backend", backend, *args, timeout=120)


def _job_id(done: subprocess.CompletedProcess[str]) -> str:
    line = next(line for line in done.stdout.splitlines() if line.startswith("Submitted job "))
    return line.split()[2]


def _output(here: Path, pattern: str) -> str:
    files = sorted(here.glob(pattern))
    assert len(files) == 1, (pattern, sorted(p.name for p in here.iterdir()))
    return files[0].read_text()


def _ranks(output: Path) -> List[str]:
    """The ranks an MPI job reported (mpiexec's output forwarding may split a rank's line around another's)."""
    return sorted(re.findall(r"rank (\d+ of \d+)", output.read_text()))


@pytest.mark.parametrize("backend", BACKENDS)
def test_serial_script_runs_with_its_name_time_limit_and_output_pattern(here: Path, backend: str) -> None:
    done = _submit_and_wait(backend, "serial.sh")
    assert done.returncode == 0, done.stderr
    job = _job_id(done)
    text = (here / f"serial-{job}.out").read_text()
    assert f"job {job} named serial from {here}" in text and "hello from python" in text
    status = roost("status", "--json", job, check=True).stdout
    assert '"time": 120' in status and f"serial-{job}.out" in status  # the record has the limit and the file


@pytest.mark.parametrize("backend", BACKENDS)
def test_cpus_per_task_reaches_the_threads(here: Path, backend: str) -> None:
    done = _submit_and_wait(backend, "openmp.sh")
    assert done.returncode == 0, done.stderr
    assert "threads 2 cpus 2" in (here / f"openmp-{_job_id(done)}.out").read_text()


@pytest.mark.parametrize("backend", BACKENDS)
def test_srun_starts_ntasks_mpi_ranks(here: Path, backend: str) -> None:
    pytest.importorskip("mpi4py")
    done = _submit_and_wait(backend, "mpi.sh")
    assert done.returncode == 0, done.stderr
    assert _ranks(here / f"mpi-{_job_id(done)}.out") == ["0 of 2", "1 of 2"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_array_directive_makes_tasks_with_their_own_files(here: Path, backend: str) -> None:
    done = _submit_and_wait(backend, "array.sh")
    assert done.returncode == 0, done.stderr
    job = _job_id(done)
    for task in (1, 2, 3):
        assert (here / f"array-{job}_{task}.out").read_text().strip() == f"task {task} of array {job}"
        assert f"task {task} of array {job}" in done.stdout  # --wait streamed every task's output
    logs = roost("logs", job, "--task", "2", check=True).stdout
    assert logs.strip() == f"task 2 of array {job}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_request_the_machine_cannot_meet_is_refused_at_submit(here: Path, backend: str) -> None:
    done = roost("submit", "--backend", backend, "gpu.sh")
    assert done.returncode == 1 and "error:" in done.stderr and "hint:" in done.stderr, done.stderr
    assert roost("jobs", "--all", "--json", check=True).stdout.strip() == "[]"


@pytest.mark.parametrize("backend", BACKENDS)
def test_venv_activated_inside_the_script_with_a_script_argument(here: Path, backend: str) -> None:
    venv = here / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    done = _submit_and_wait(backend, "venv.sh", str(venv))
    assert done.returncode == 0, done.stderr
    assert f"prefix {venv}" in (here / f"venv-{_job_id(done)}.out").read_text()


@pytest.mark.parametrize("backend", BACKENDS)
def test_module_load_inside_the_script(here: Path, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = here / "modulefiles" / "hello"
    tree.mkdir(parents=True)
    (tree / "1.0.lua").write_text('setenv("HELLO_MODULE", "loaded")\n')
    monkeypatch.setenv("MODULEPATH", str(here / "modulefiles"))
    done = _submit_and_wait(backend, "modules.sh")
    assert done.returncode == 0, done.stderr
    text = (here / f"modules-{_job_id(done)}.out").read_text()
    assert "HELLO_MODULE=loaded" in text and "hello/1.0" in text


@pytest.mark.parametrize("backend", BACKENDS)
def test_wait_returns_the_script_exit_code(here: Path, backend: str) -> None:
    done = _submit_and_wait(backend, "fails.sh")
    assert done.returncode == 3, done.stderr
    assert "about to fail" in done.stdout


@pytest.mark.parametrize("backend", BACKENDS)
def test_command_line_overrides_the_script(here: Path, backend: str) -> None:
    done = _submit_and_wait(backend, "-J", "renamed", "-o", "%x-%j.txt", "serial.sh")
    assert done.returncode == 0, done.stderr
    assert "named renamed" in (here / f"renamed-{_job_id(done)}.txt").read_text()


def test_dry_run_shows_roosts_additions_after_the_directives(here: Path) -> None:
    done = roost("submit", "--dry-run", "--backend", "local", "-c", "2", "serial.sh", check=True)
    lines: List[str] = done.stdout.splitlines()
    first_command = next(i for i, line in enumerate(lines) if line.startswith("echo "))
    module_at = next(i for i, line in enumerate(lines) if line.startswith("module ()"))
    threads_at = lines.index("export OMP_NUM_THREADS='2';")
    last_directive = max(i for i, line in enumerate(lines) if line.startswith("#SBATCH"))
    assert last_directive < module_at < threads_at < first_command
    assert lines[: last_directive + 1] == (SCRIPTS / "serial.sh").read_text().splitlines()[: last_directive + 1]


def test_unknown_directives_are_reported_once_on_the_local_backend(here: Path) -> None:
    (here / "site.sh").write_text("#!/bin/bash\n#SBATCH --reservation=maint -p gpu\n#SBATCH --qos=high\necho ok\n")
    done = roost("submit", "--backend", "local", "site.sh", check=True)
    assert done.stderr.count("ignores") == 1
    assert "--reservation=maint" in done.stderr and "--partition=gpu" in done.stderr and "--qos=high" in done.stderr


def test_array_from_refuses_a_batch_script(here: Path) -> None:
    done = roost("submit", "--backend", "local", "--array-from", "array.sh")
    assert done.returncode == 1 and "is a batch script" in done.stderr and "roost submit" in done.stderr


def test_a_python_script_keeps_its_meaning_and_its_directives(here: Path) -> None:
    (here / "train.py").write_text("#!/usr/bin/env python3\n#SBATCH --time=3 -c 2\nimport os\n"
                                   "print('cpus', os.environ['SLURM_CPUS_PER_TASK'])\n")
    done = _submit_and_wait("local", "train.py")
    assert done.returncode == 0, done.stderr
    assert "cpus 2" in done.stdout


def test_local_jobs_see_slurms_variables(here: Path) -> None:
    (here / "env.sh").write_text("#!/bin/bash\n#SBATCH -n 2 -c 1 --mem=100M --time=1\nenv | grep '^SLURM_' | sort\n"
                                 "test -d \"$SLURM_TMPDIR\" && echo scratch-exists\n")
    done = _submit_and_wait("local", "env.sh")
    assert done.returncode == 0, done.stderr
    seen: Dict[str, str] = dict(line.split("=", 1) for line in done.stdout.splitlines() if line.startswith("SLURM_"))
    assert seen["SLURM_NTASKS"] == "2" and seen["SLURM_CPUS_PER_TASK"] == "1" and seen["SLURM_CPUS_ON_NODE"] == "2"
    assert seen["SLURM_MEM_PER_NODE"] == "100" and seen["SLURM_NNODES"] == "1" and seen["SLURM_JOB_NAME"] == "env.sh"
    assert seen["SLURM_SUBMIT_DIR"] == str(here) and seen["SLURM_JOB_NODELIST"]
    assert "scratch-exists" in done.stdout
    assert not Path(seen["SLURM_TMPDIR"]).exists()  # removed with the job


def test_a_script_without_interpreter_line_is_refused_as_sbatch_refuses_it(here: Path) -> None:
    (here / "bare.sh").write_text("#SBATCH -t 1\necho hi\n")
    done = roost("submit", "--backend", "local", "bare.sh")
    assert done.returncode == 1 and "no #! line" in done.stderr and "#!/bin/bash" in done.stderr


@pytest.mark.parametrize("backend", BACKENDS)
def test_mpirun_from_the_environment_starts_ntasks_ranks(here: Path, backend: str) -> None:
    pytest.importorskip("mpi4py")
    if not shutil.which("mpirun"):
        pytest.skip("no mpirun on PATH (pip install mpich)")
    done = _submit_and_wait(backend, "mpirun.sh")
    assert done.returncode == 0, done.stderr
    assert _ranks(here / f"mpirun-{_job_id(done)}.out") == ["0 of 2", "1 of 2"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_module_works_in_roosts_own_jobs_too(here: Path, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = here / "modulefiles" / "hello"
    tree.mkdir(parents=True)
    (tree / "1.0.lua").write_text('setenv("HELLO_MODULE", "loaded")\n')
    monkeypatch.setenv("MODULEPATH", str(here / "modulefiles"))
    done = _submit_and_wait(backend, "--wrap", "module load hello/1.0 && echo HELLO_MODULE=$HELLO_MODULE")
    assert done.returncode == 0, done.stderr
    assert "HELLO_MODULE=loaded" in done.stdout


def test_gpus_asked_for_through_a_directive_are_refused_without_gpus(here: Path) -> None:
    done = roost("submit", "--backend", "local", "--directive=--gpus-per-node=4", "--", "true")
    assert done.returncode == 1 and "asks for 4 GPUs" in done.stderr and "hint:" in done.stderr


def test_more_cores_than_the_machine_has_are_refused_from_the_script(here: Path) -> None:
    (here / "big.sh").write_text("#!/bin/bash\n#SBATCH --ntasks=4096\necho never\n")
    done = roost("submit", "--backend", "local", "big.sh")
    assert done.returncode == 1 and "asks for 4096 cores" in done.stderr and "hint:" in done.stderr


@pytest.mark.service("slurm")
@pytest.mark.parametrize(("command_line", "expected"), [((), "00:07:00"), (("-t", "9"), "00:09:00")])
def test_sbatch_input_variables_sit_between_the_script_and_the_command_line(
    here: Path, monkeypatch: pytest.MonkeyPatch, command_line: Tuple[str, ...], expected: str
) -> None:
    (here / "limits.sh").write_text("#!/bin/bash\n#SBATCH --time=5\ntrue\n")
    monkeypatch.setenv("SBATCH_TIMELIMIT", "7")
    done = roost("submit", "--backend", "slurm", "--directive=--hold", *command_line, "limits.sh", check=True)
    job = _job_id(done)
    try:
        shown = subprocess.run(["scontrol", "show", "job", "-o", job], capture_output=True, text=True, timeout=60)
        assert f"TimeLimit={expected}" in shown.stdout  # what Slurm applied
        record = roost("status", "--json", job, check=True).stdout
        minutes = int(expected.split(":")[1])
        assert f'"time": {minutes * 60}' in record  # what roost recorded: the same
    finally:
        subprocess.run(["scancel", job], capture_output=True, timeout=60)


def test_a_missing_script_is_an_error_not_a_command(here: Path) -> None:
    done = roost("submit", "--backend", "local", "nosuch.sh")
    assert done.returncode == 1 and "no batch script nosuch.sh in" in done.stderr and "hint:" in done.stderr


def test_a_gpu_job_gets_its_own_devices_on_the_local_backend(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOST_LOCAL_GPUS", "2")  # two device ids for the local backend to hand out
    (here / "gpu1.sh").write_text("#!/bin/bash\n#SBATCH --gpus-per-node=1 -t 1\n"
                                  "echo gpus=$SLURM_GPUS visible=$CUDA_VISIBLE_DEVICES\n")
    done = _submit_and_wait("local", "gpu1.sh")
    assert done.returncode == 0, done.stderr
    assert "gpus=1 visible=0" in done.stdout


@pytest.mark.service("slurm")
@pytest.mark.parametrize(("command_line", "expected"), [((), "00:07:00"), (("-t", "9"), "00:09:00")])
def test_input_variables_count_for_roosts_own_jobs_under_the_command_line(
    here: Path, monkeypatch: pytest.MonkeyPatch, command_line: Tuple[str, ...], expected: str
) -> None:
    monkeypatch.setenv("SBATCH_TIMELIMIT", "7")
    done = roost("submit", "--backend", "slurm", "--directive=--hold", *command_line, "--", "true", check=True)
    job = _job_id(done)
    try:
        shown = subprocess.run(["scontrol", "show", "job", "-o", job], capture_output=True, text=True, timeout=60)
        assert f"TimeLimit={expected}" in shown.stdout
        minutes = int(expected.split(":")[1])
        assert f'"time": {minutes * 60}' in roost("status", "--json", job, check=True).stdout
    finally:
        subprocess.run(["scancel", job], capture_output=True, timeout=60)


def test_input_variables_count_on_the_local_backend_too(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SBATCH_JOB_NAME", "from-env")
    done = _submit_and_wait("local", "--", "bash", "-c", "echo name=$SLURM_JOB_NAME")
    assert done.returncode == 0 and "name=from-env" in done.stdout


def test_dos_line_breaks_are_refused_with_the_fix(here: Path) -> None:
    (here / "windows.sh").write_bytes(b"#!/bin/bash\r\n#SBATCH -t 1\r\necho hi\r\n")
    done = roost("submit", "--backend", "local", "windows.sh")
    assert done.returncode == 1 and "DOS line breaks" in done.stderr and "dos2unix" in done.stderr


@pytest.mark.parametrize("backend", BACKENDS)
def test_module_reaches_a_bash_script_the_job_starts(here: Path, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lmod's init exports module/ml to child bash processes; a job step written as `bash step.sh` relies on it."""
    tree = here / "modulefiles" / "hello"
    tree.mkdir(parents=True)
    (tree / "1.0.lua").write_text('setenv("HELLO_MODULE", "loaded")\n')
    (here / "step.sh").write_text("module load hello/1.0 || exit 9\nml\necho HELLO_MODULE=$HELLO_MODULE\n")
    monkeypatch.setenv("MODULEPATH", str(here / "modulefiles"))
    done = _submit_and_wait(backend, "--wrap", "bash step.sh")
    assert done.returncode == 0, done.stderr
    assert "HELLO_MODULE=loaded" in done.stdout
