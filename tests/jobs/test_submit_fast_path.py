"""`roost submit` without click: the fast path reads arguments exactly as the documented CLI does, hands
everything else to it, and stays import-light (what makes submitting in a loop cheap)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
from jobs_helpers import roost
from tests.conftest import require_service

from roost.cli.jobs import submit as click_submit
from roost.jobs.options import SUBMIT_OPTIONS, parse_fast

SAME_AS_CLICK = [
    ["--", "python", "train.py", "--epochs", "3"],
    ["-t", "10:00", "-c", "4", "-e", "myenv", "--", "python", "x.py"],
    ["-t10", "-c4", "--mem=4G", "-n", "2", "--mpi", "hello.py", "arg", "--flag"],
    ["--time=1-00:00:00", "--array", "0-99%10", "--wrap", "python task.py $SLURM_ARRAY_TASK_ID"],
    ["-m", "gcc/12", "--module=openmpi/4", "-m", "python/3.11", "--", "true"],
    ["--directive=--begin=now+60", "--directive", "--reservation=x", "--exclusive", "--", "true"],
    ["--backend", "local", "--parsable", "--dry-run", "-J", "name with spaces", "--", "echo", "-n"],
    ["-p", "gpu", "-A", "proj", "-q", "high", "-G", "a100:2", "--gres=gpu:1", "-C", "avx512", "run.sh"],
    ["-o", "out-%j.txt", "--error", "err-%j.txt", "--mail-type", "END", "--mail-user", "me@x", "--", "t"],
    ["-d", "afterok:12:13", "-D", "/tmp", "--ntasks-per-node", "2", "-N", "2", "--mem-per-cpu", "1G", "x"],
    ["-t", "-5", "--", "true"],  # a value that looks like an option is still the value
    ["script.py", "--time", "5"],  # options after the command belong to the command
    ["--", "--", "odd"],
    ["--array-from", "sweep.txt", "--array-limit", "5", "-t", "5"],
]


@pytest.mark.parametrize("argv", SAME_AS_CLICK, ids=[" ".join(a)[:40] for a in SAME_AS_CLICK])
def test_fast_parser_reads_arguments_as_click_does(argv: List[str]) -> None:
    parsed = parse_fast(argv, SUBMIT_OPTIONS)
    assert parsed is not None
    values, command = parsed
    context = click_submit.make_context("submit", list(argv))
    expected = dict(context.params)
    assert command == list(expected.pop("command"))
    assert values == expected


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["-h"], ["--bogus", "x", "--", "true"], ["-t"], ["--backend", "pbs", "--", "true"],
     ["--mpi=yes", "--", "true"], ["-Z", "true"]],
)
def test_arguments_the_fast_parser_leaves_to_click(argv: List[str]) -> None:
    assert parse_fast(argv, SUBMIT_OPTIONS) is None


def test_click_explains_what_the_fast_parser_leaves(clean_environ: None) -> None:
    unknown = roost("submit", "--bogus", "x", "--", "true")
    assert unknown.returncode == 2 and "No such option" in unknown.stderr and "--bogus" in unknown.stderr
    missing = roost("submit", "-t")
    assert missing.returncode == 2 and "requires an argument" in missing.stderr
    helped = roost("submit", "--help")
    assert helped.returncode == 0 and "--cpus-per-task" in helped.stdout and "--dry-run" in helped.stdout


def test_bad_values_fail_on_the_fast_path_with_the_library_message(clean_environ: None) -> None:
    done = roost("submit", "--backend", "local", "-t", "soon", "--", "true")
    assert done.returncode == 1
    assert "error: --time 'soon' is not a time limit" in done.stderr and "hint:" in done.stderr
    assert roost("jobs", "--all", "--json", check=True).stdout.strip() == "[]"  # no record left behind


_SHELL_SCRIPTS = {
    "bash": ["bash", "-c", 'eval "$(roost shell-init bash)"\n{body}'],
    "zsh": ["zsh", "-f", "-c", 'eval "$(roost shell-init zsh)"\n{body}'],
    "fish": ["fish", "--no-config", "-c", "roost shell-init fish | source\n{body}"],
}
_SUBMIT_AND_READ = {
    "posix": "id=$(roost submit --backend local --parsable -c 2 -- sh -c 'echo threads=$OMP_NUM_THREADS')\n"
             'roost wait "$id" && cat "roost-$id.out"',
    "fish": "set id (roost submit --backend local --parsable -c 2 -- sh -c 'echo threads=$OMP_NUM_THREADS')\n"
            'roost wait $id; and cat roost-$id.out',
}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_function_submits_through_the_fast_path(clean_environ: None, tmp_path: Path, shell: str) -> None:
    if shutil.which(shell) is None:
        require_service(shell)
    *argv, template = _SHELL_SCRIPTS[shell]
    body = _SUBMIT_AND_READ["fish" if shell == "fish" else "posix"]
    done = subprocess.run(
        [*argv, template.format(body=body)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "threads=2" in done.stdout


def test_submit_path_stays_import_light() -> None:
    """What `roost submit` imports under `python -E -S` (the shell function's way): not click nor the rest of
    the CLI, nor the module engine (lupa) unless the job loads modules.  The standard library is in: the
    per-job CLI target that kept typing, dataclasses, subprocess, json, re and enum out is retired (issue 15);
    sbatch itself costs more than they do."""
    code = (
        "import sys; import roost.cli.entry, roost.jobs.command, roost.jobs.api, roost.jobs.slurm, roost.jobs.store;"
        "print(' '.join(sorted(sys.modules)))"
    )
    import roost as package

    src = str(Path(package.__file__ or "").parent.parent)
    done = subprocess.run(
        [sys.executable, "-E", "-S", "-c", f"import sys; sys.path.insert(0, {src!r}); {code}"],
        capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]},
    )
    loaded = set(done.stdout.split())
    heavy = {"click", "rich", "lupa", "roost.cli.main", "roost.cli.jobs", "roost.modules.engine", "roost.envs.api"}
    assert not heavy & loaded
    assert {"roost.jobs.slurm", "roost.jobs.store"} <= loaded  # the list above is checked against a real import
