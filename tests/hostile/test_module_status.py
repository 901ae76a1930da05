"""`module` fails when the engine fails: the `module`/`ml` shell functions return the engine's status in bash, zsh
and fish, so `module load X || exit 1` always works, in a terminal and in a job script.

Lmod is the reference for os.exit(N) in a modulefile: it prints what the modulefile said before, changes nothing
and `$LMOD_CMD` exits with N (its own `module` function then returns 0, which roost does not copy).  A command that
crashes or is killed is a failure too, and its output (possibly cut) is never evaluated.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest

from roost.shell.change import EnvChange
from roost.shell.render import eval_function_body, render

from .shells import SHELLS, init_code, need_shell, run_in_shell, shell_argv, site_environ, snapshots_equal, status_of

MODULEFILES = {
    "exits/1.0.lua": 'LmodMessage("leaving now")\nsetenv("HALF", "1")\nos.exit(3)\n',
    "exitszero/1.0.lua": 'setenv("HALF", "1")\nos.exit(0)\n',
    "bytes/1.0.lua": 'setenv("B", "a\\255b")\nset_alias("sayb", "echo \\254")\n',
    "good/1.0.lua": 'setenv("GOOD", "1")\n',
    "spin/1.0.lua": 'setenv("HALF", "1")\nwhile true do end\n',
}


@pytest.fixture
def site(tmp_path: Path) -> Dict[str, str]:
    for relative, text in MODULEFILES.items():
        path = tmp_path / "mf" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return site_environ(tmp_path, tmp_path / "mf")


def _statuses(stdout: str) -> Dict[str, str]:
    return {line.split()[1]: line.split()[2] for line in stdout.splitlines() if line.startswith("status ")}


@pytest.mark.parametrize("shell", SHELLS)
def test_module_returns_the_engines_status_in_every_shell(shell: str, site: Dict[str, str], tmp_path: Path) -> None:
    body = "module load good\nsnap before\n"
    for name in ("exits", "exitszero", "nosuch"):
        body += status_of(shell, f"module load {name}", name)
        body += status_of(shell, f"ml {name}", "ml-" + name)
    body += "snap after\n"
    body += status_of(shell, "module load bytes", "bytes")
    body += "printf '%s' \"$B\" > b.value\n"
    result = run_in_shell(shell, body, site, tmp_path)
    statuses = _statuses(result.stdout)
    assert statuses == {"exits": "3", "ml-exits": "3", "exitszero": "0", "ml-exitszero": "0", "nosuch": "1",
                        "ml-nosuch": "1", "bytes": "0"}, result.stdout + result.stderr
    assert snapshots_equal(tmp_path / "before", tmp_path / "after")  # os.exit changes nothing, as in Lmod
    assert result.stderr.count("leaving now") == 2  # what the modulefile said before os.exit is shown
    assert "Traceback" not in result.stderr
    assert (tmp_path / "b.value").read_bytes() == b"a\xffb"  # Lua's \255 is one byte, passed on as Lmod does


@pytest.mark.parametrize("shell", SHELLS)
def test_module_load_or_exit_stops_a_script(shell: str, site: Dict[str, str], tmp_path: Path) -> None:
    stop = "or exit 1" if shell == "fish" else "|| exit 1"
    separator = "; " if shell == "fish" else " "
    body = f"module load exits{separator}{stop}\necho still running\n"
    result = run_in_shell(shell, body, site, tmp_path)
    assert result.returncode == 1 and "still running" not in result.stdout


@pytest.mark.parametrize("backend", ["local", pytest.param("slurm", marks=pytest.mark.service("slurm"))])
def test_module_load_or_exit_fails_a_job(backend: str, site: Dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "job.sh"  # a cluster's usual script: `module` is defined for it, as Lmod's is
    script.write_text("#!/bin/bash\nmodule load good || exit 1\necho \"GOOD=$GOOD\"\n"
                      "module load exits || exit 1\necho should-not-run\n")
    script.chmod(0o755)
    result = subprocess.run([sys.executable, "-m", "roost", "submit", "--backend", backend, "--wait", "-o",
                             str(tmp_path / "job.out"), str(script)],
                            capture_output=True, text=True, env=site, cwd=tmp_path, timeout=180)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED" in result.stderr
    output = (tmp_path / "job.out").read_text()
    assert "GOOD=1" in output and "leaving now" in output
    assert "should-not-run" not in output


def _descendants(pid: int) -> List[int]:
    parents: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


@pytest.mark.parametrize("shell", SHELLS)
def test_a_killed_module_command_is_a_failure_and_changes_nothing(shell: str, site: Dict[str, str],
                                                                  tmp_path: Path) -> None:
    need_shell(shell)
    (tmp_path / f"init.{shell}").write_text(init_code(shell, site))
    source = "source" if shell == "fish" else "."
    status = "$status" if shell == "fish" else "$?"
    script = (f"{source} {tmp_path}/init.{shell}\nmodule load spin\necho \"status {status}\"\n"
              "echo \"HALF=[$HALF]\"\n")
    process = subprocess.Popen([*shell_argv(shell), "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=site, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        engine: List[int] = []
        while not engine and time.monotonic() < deadline:  # the engine is spinning in the modulefile
            time.sleep(0.2)
            engine = [p for p in _descendants(process.pid) if "roost.modules.command" in _cmdline(p)]
        assert engine, "the module command never started"
        os.kill(engine[0], signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert "status 137" in stdout, stdout + stderr
    assert "HALF=[]" in stdout


def _fake_module(shell: str, python_code: str) -> str:
    """The real `module` function body around a stand-in engine (a Python one-liner)."""
    return render(EnvChange().function("module", eval_function_body([sys.executable, "-c", python_code, shell],
                                                                    shell)), shell)


CUT_OUTPUT = "import os,sys; sys.stdout.write('export HALF=1;\\nset -gx HALF 1;\\n'); sys.stdout.flush(); " \
             "os.kill(os.getpid(), 9)"
CRASH = "import sys; sys.stdout.write(''); raise RuntimeError('engine bug')"


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("engine,expected", [(CUT_OUTPUT, "137"), (CRASH, "1")], ids=["killed", "crashed"])
def test_output_of_a_killed_or_crashed_engine_is_never_evaluated(shell: str, engine: str, expected: str,
                                                                 tmp_path: Path) -> None:
    need_shell(shell)
    status = "$status" if shell == "fish" else "$?"
    script = _fake_module(shell, engine) + f"module load x\necho \"status {status}\"\necho \"HALF=[$HALF]\"\n"
    result = subprocess.run([*shell_argv(shell), "-c", script], capture_output=True, text=True, timeout=60,
                            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)})
    assert f"status {expected}" in result.stdout, result.stdout + result.stderr
    assert "HALF=[]" in result.stdout
