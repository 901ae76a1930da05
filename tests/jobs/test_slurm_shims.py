"""Slurm's commands over the local backend (``roost slurm NAME``, and on PATH after ``shell-init
--slurm-shims``): the formats that scripts parse, and a real Slurm never shadowed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest
from jobs_helpers import roost

pytestmark = pytest.mark.usefixtures("work")


def _slurm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "roost", "slurm", *args], capture_output=True, text=True,
                          timeout=120)


def test_sbatch_parsable_prints_an_id_that_squeue_and_sacct_know() -> None:
    job = _slurm("sbatch", "--parsable", "-t", "1", "--wrap", "sleep 30").stdout.strip()
    assert job.startswith("L") and job[1:].isdigit()
    listed = _slurm("squeue", "-h", "-o", "%i").stdout.split()
    assert listed == [job]
    wide = _slurm("squeue").stdout.splitlines()
    assert wide[0].split() == ["JOBID", "PARTITION", "NAME", "USER", "ST", "TIME", "NODES", "NODELIST(REASON)"]
    assert _slurm("scancel", job).returncode == 0
    deadline = time.monotonic() + 30
    while _slurm("squeue", "-h", "-o", "%i").stdout.strip() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _slurm("squeue", "-h", "-o", "%i").stdout.strip() == ""
    assert _slurm("sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", job).stdout.strip() == f"{job}|CANCELLED"


def test_sbatch_says_submitted_batch_job_and_wait_returns_the_exit_code() -> None:
    done = _slurm("sbatch", "-W", "--wrap", "exit 4")
    assert done.returncode == 4 and done.stdout.startswith("Submitted batch job L")
    job = done.stdout.split()[-1]
    assert _slurm("sacct", "-n", "-P", "-o", "JobID,ExitCode", "-j", job).stdout.strip() == f"{job}|4:0"


def test_sbatch_reads_the_script_from_standard_input() -> None:
    """`sbatch <<EOF`: the script, its #SBATCH lines and all, on standard input; named "sbatch" as Slurm does."""
    script = "#!/bin/bash\n#SBATCH --job-name=from-stdin\necho \"hello from $SLURM_JOB_NAME\"\n"
    done = subprocess.run([sys.executable, "-m", "roost", "slurm", "sbatch", "-W", "--parsable"], input=script,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    job = done.stdout.strip()
    assert _slurm("sacct", "-n", "-X", "-P", "-o", "JobID,JobName,State", "-j", job).stdout.strip() == \
        f"{job}|from-stdin|COMPLETED"
    unnamed = subprocess.run([sys.executable, "-m", "roost", "slurm", "sbatch", "-W", "--parsable"],
                             input="#!/bin/bash\ntrue\n", capture_output=True, text=True, timeout=120)
    job = unnamed.stdout.strip()
    assert _slurm("sacct", "-n", "-X", "-P", "-o", "JobName", "-j", job).stdout.strip() == "sbatch"


def test_sbatch_refuses_a_script_on_standard_input_that_is_not_utf8() -> None:
    done = subprocess.run([sys.executable, "-m", "roost", "slurm", "sbatch", "--parsable"],
                          input=b"#!/bin/bash\necho caf\xe9\n", capture_output=True, timeout=60)
    assert done.returncode != 0 and b"not UTF-8" in done.stderr and b"Traceback" not in done.stderr


def test_sbatch_without_a_script_or_input_says_how_to_give_one() -> None:
    done = subprocess.run([sys.executable, "-m", "roost", "slurm", "sbatch"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "sbatch <<'EOF'" in done.stderr


def test_an_array_is_one_pending_line_and_one_line_per_running_task() -> None:
    job = _slurm("sbatch", "--parsable", "--array=0-3%1", "-t", "1", "--wrap", "sleep 30").stdout.strip()
    try:
        deadline = time.monotonic() + 30
        lines: List[str] = []
        while time.monotonic() < deadline:
            lines = _slurm("squeue", "-h", "-o", "%i %t").stdout.splitlines()
            if any(line.endswith(" R") for line in lines):
                break
            time.sleep(0.2)
        assert sorted(lines) == sorted([f"{job}_0 R", f"{job}_[1-3] PD"])
    finally:
        _slurm("scancel", job)


def test_srun_outside_a_job_runs_ntasks_copies_and_streams_their_output() -> None:
    done = _slurm("srun", "-n", "2", "bash", "-c", "echo task $SLURM_PROCID$PMI_RANK of $SLURM_NTASKS")
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.splitlines()) == ["task 0 of 2", "task 1 of 2"]


def test_srun_in_a_job_refuses_more_tasks_than_the_job_has() -> None:
    done = roost("submit", "--wait", "--backend", "local", "-n", "1", "--wrap", "srun -n 2 true")
    assert done.returncode != 0 and "srun asks for 2 tasks" in done.stderr + done.stdout


def test_srun_reports_options_it_cannot_honour() -> None:
    done = roost("submit", "--wait", "--backend", "local", "--wrap", "srun --cpu-bind=cores echo ran")
    assert done.returncode == 0 and "ran" in done.stdout
    assert "ignores --cpu-bind=cores" in done.stdout + done.stderr


def _shims_dir() -> Path:
    init = roost("shell-init", "bash", "--slurm-shims", check=True).stdout
    line = next(line for line in init.splitlines() if "slurm-shims" in line and "PATH" in line)
    directory = line.split("'")[1]
    assert line.startswith('export PATH="${PATH:+$PATH:}') or "${PATH:+" in line  # appended, not prepended
    return Path(directory)


def test_shell_init_puts_the_shims_after_everything_else_on_path() -> None:
    directory = _shims_dir()
    assert sorted(p.name for p in directory.iterdir()) == ["sacct", "salloc", "sbatch", "scancel", "squeue", "srun"]
    env = dict(os.environ, PATH=str(directory))
    done = subprocess.run(["sbatch", "--parsable", "--wrap", "true"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.strip().startswith("L"), done.stderr


@pytest.mark.service("slurm")
def test_a_real_slurm_on_path_wins_over_the_shims() -> None:
    directory = _shims_dir()
    real = shutil.which("sbatch")
    assert real is not None
    env = dict(os.environ, PATH=f"{os.path.dirname(real)}:{directory}")
    found = subprocess.run(["bash", "-c", "command -v sbatch"], capture_output=True, text=True, env=env, timeout=30)
    assert found.stdout.strip() == real


def test_the_config_key_turns_the_shims_on(tmp_path: Path) -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "roost" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[jobs]\nslurm_shims = true\n")
    init = roost("shell-init", "bash", check=True).stdout
    assert "slurm-shims" in init


def test_salloc_runs_the_command_with_the_allocation_and_srun_inside_it() -> None:
    inner = "echo ntasks=$SLURM_NTASKS; srun bash -c 'echo step $SLURM_PROCID$PMI_RANK'"
    done = _slurm("salloc", "-n", "2", "bash", "-c", inner)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "ntasks=2" and sorted(lines[1:]) == ["step 0", "step 1"]
    assert "Granted job allocation" in done.stderr


def test_salloc_refuses_what_the_machine_cannot_give() -> None:
    done = _slurm("salloc", "-c", "4096", "true")
    assert done.returncode == 1 and "asks for 4096 cores" in done.stderr
