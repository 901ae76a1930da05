"""`eval "$(roost shell-init SHELL)"` in real shells: module and ml behave, failures change nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest
from tests.conftest import require_service


@pytest.fixture
def site(tmp_path: Path, clean_environ: Dict[str, str]) -> Dict[str, str]:
    (tmp_path / "mf" / "python").mkdir(parents=True)
    (tmp_path / "mf" / "python" / "3.12.lua").write_text('prepend_path("PATH", "/opt/py/bin")\nsetenv("PYV", "3.12")\n')
    (tmp_path / "mf" / "bad").mkdir()
    (tmp_path / "mf" / "bad" / "1.lua").write_text('setenv("HALF", "x")\nLmodError("no")\n')
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": clean_environ["HOME"], "MODULEPATH": str(tmp_path / "mf"),
            "ROOST_CACHE_DIR": str(tmp_path / "cache"), "LC_ALL": "C.UTF-8"}


def init_code(shell: str) -> str:
    return subprocess.run([sys.executable, "-m", "roost", "shell-init", shell], capture_output=True, text=True,
                          check=True).stdout


def bash(script: str, env: Dict[str, str], shell: str = "bash") -> subprocess.CompletedProcess:
    argv = [shell, "-f", "-c", script] if shell == "zsh" else [shell, "-c", script]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_module_and_ml_in_posix_shells(shell: str, site: Dict[str, str], tmp_path: Path) -> None:
    if shutil.which(shell) is None:
        require_service(shell)
    (tmp_path / "init.sh").write_text(init_code(shell))
    out = bash(f". {tmp_path}/init.sh; module load python; echo \"$PYV|$PATH\"; ml -python; "
               f"echo \"${{PYV-unset}}|$LOADEDMODULES\"; ml python; ml", site, shell)
    lines = out.stdout.splitlines()
    assert lines[0] == f"3.12|/opt/py/bin:{site['PATH']}"
    assert lines[1] == "unset|"
    assert "python/3.12" in out.stderr


def test_failed_load_leaves_the_shell_exactly_as_it_was(site: Dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "init.sh").write_text(init_code("bash"))
    script = (f". {tmp_path}/init.sh; module load python; env -0 | sort -z > {tmp_path}/before; "
              f"alias > {tmp_path}/aliases-before; module load python bad; echo \"status=$?\"; "
              f"env -0 | sort -z > {tmp_path}/after; alias > {tmp_path}/aliases-after")
    out = bash(script, site)
    assert "status=1" in out.stdout
    assert "bad/1" in out.stderr and "no" in out.stderr
    assert (tmp_path / "before").read_bytes() == (tmp_path / "after").read_bytes()


def test_fish(site: Dict[str, str], tmp_path: Path) -> None:
    if shutil.which("fish") is None:
        require_service("fish")
    (tmp_path / "init.fish").write_text(init_code("fish"))
    out = subprocess.run(["fish", "--no-config", "-c", f"source {tmp_path}/init.fish; module load python; "
                          "echo $PYV; ml; module load nosuch; echo status=$status"],
                         capture_output=True, text=True, env=site, timeout=60)
    assert out.stdout.splitlines()[0] == "3.12"
    assert "status=1" in out.stdout and "python/3.12" in out.stderr


def test_module_load_stays_import_light(site: Dict[str, str], tmp_path: Path) -> None:
    """`module` runs at every prompt for some users: with warm caches, loading a Lua module through the shell
    function's own command line imports none of these (each costs milliseconds on a login node)."""
    from roost.cli.shell_init import fast_command

    probe = "import atexit, sys; atexit.register(lambda: sys.stderr.write('LOADED ' + ' '.join(sys.modules)))"
    command = fast_command(sys.executable, "roost.modules.command")
    command[-1] = probe + ";" + command[-1]
    for _ in range(2):  # the first run writes the caches
        done = subprocess.run([*command, "bash", "load", "python"], capture_output=True, text=True, env=site)
        assert "PYV" in done.stdout, done.stderr
    loaded = set(done.stderr.rpartition("LOADED ")[2].split())
    assert "roost.modules.lua" in loaded  # the probe saw the load
    heavy = {"click", "rich", "typing", "dataclasses", "inspect", "subprocess", "pathlib", "re", "enum", "json"}
    assert not heavy & loaded


def test_a_modules_bash_completion_is_set_on_load_and_removed_on_unload(site: Dict[str, str], tmp_path: Path) -> None:
    """complete("bash", CMD, OPTIONS): what `complete -p` then shows; nothing in the options runs at load time
    (Lmod pastes them into the shell unquoted, so a $(...) there would); zsh gets nothing."""
    canary = tmp_path / "ran"
    (tmp_path / "mf" / "svc").mkdir()
    (tmp_path / "mf" / "svc" / "1.0.lua").write_text(
        f'complete("bash", "svc", \'-o default -W "start stop $(touch {canary})"\')\n')
    (tmp_path / "init.sh").write_text(init_code("bash"))
    out = bash(f". {tmp_path}/init.sh; module load svc; complete -p svc; module unload svc; "
               "complete -p svc 2>/dev/null || echo removed", site)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("complete -o default -W ") and lines[0].endswith(" svc") and "start stop" in lines[0]
    assert lines[1] == "removed"
    assert not canary.exists()
    zsh_code = subprocess.run([sys.executable, "-m", "roost.modules.command", "zsh", "load", "svc"],
                              capture_output=True, text=True, env=site, timeout=60).stdout
    assert "complete" not in zsh_code
