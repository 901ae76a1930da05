"""The batch script renderer against recorded golden files (tests/jobs/golden/*.sh)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from roost.jobs.script import render_script
from roost.jobs.spec import JobSpec
from roost.shell.change import EnvChange

GOLDEN = Path(__file__).parent / "golden"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ROOST_REGENERATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"script differs from {path}; ROOST_REGENERATE_GOLDEN=1 rewrites it"


def test_plain_job() -> None:
    spec = JobSpec.create(["python", "train.py", "--lr", "0.1"], workdir="/home/ada/project")
    check_golden("plain.sh", render_script(spec))


def test_every_option_sorted_and_quoted() -> None:
    spec = JobSpec.create(
        ["python", "it's here.py", "$HOME"],
        job_name="my job",
        partition="gpu",
        account="proj-1",
        qos="high",
        time="1-02:00:00",
        nodes="1",
        ntasks="4",
        ntasks_per_node="4",
        cpus_per_task="8",
        mem="16G",
        gpus="a100:2",
        array="0-99%10",
        dependency="afterok:123",
        output="logs/%x-%A_%a.out",
        error="logs/%x-%A_%a.err",
        constraint="avx512",
        exclusive=True,
        mail_type="END,FAIL",
        mail_user="ada@example.org",
        directives=["--reservation=maint", "--requeue"],
        workdir="/home/ada/p",
    )
    check_golden("all_options.sh", render_script(spec))


def test_mpi_launchers_differ_by_backend() -> None:
    spec = JobSpec.create(["python", "hello_mpi.py"], ntasks="4", mpi=True, workdir="/w")
    check_golden("mpi_slurm.sh", render_script(spec, launcher="slurm"))
    check_golden("mpi_local.sh", render_script(spec, launcher="local"))


def test_environment_setup_comes_before_threads_and_command() -> None:
    setup = EnvChange().set("PATH", "/opt/env/bin:/usr/bin").set("VIRTUAL_ENV", "/opt/env").unset("PYTHONHOME")
    spec = JobSpec.create(
        [],
        wrap="python -c 'print(1)'",
        env="analysis",
        modules=["gcc/12"],
        cpus_per_task="2",
        environment={"ROOST_CALL_DIR": "/tmp/c"},
        workdir="/w",
    )
    check_golden("with_setup.sh", render_script(spec, launcher="local", setup=setup))


@pytest.mark.parametrize("golden", sorted(p.name for p in GOLDEN.glob("*.sh")))
def test_golden_scripts_are_valid_bash(golden: str) -> None:
    done = subprocess.run(["bash", "-n", str(GOLDEN / golden)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_output_without_error_sends_stderr_to_the_same_file() -> None:
    spec = JobSpec.create(["true"], output="all.log", workdir="/w")
    script = render_script(spec)
    assert "#SBATCH --output='all.log'" in script
    assert "--error" not in script
