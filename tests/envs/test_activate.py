"""Activation in a real bash through shell-init: modules first, then the env; deactivate restores exactly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from roost.envs import api

from .conftest import PYTHON
from .helpers import run_roost

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")

DUMP = f"{sys.executable} -c 'import json, os; print(json.dumps(dict(os.environ)))'"


def _bash(script: str) -> subprocess.CompletedProcess:
    init = f'eval "$({sys.executable} -m roost shell-init bash)"\n'
    return subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", init + script], capture_output=True, text=True, timeout=120
    )


def _dumps(stdout: str) -> list:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_activate_loads_modules_first_and_deactivate_restores_byte_for_byte(
    roost_env: Dict[str, str], tmp_path: Path
) -> None:
    run_roost("env", "create", "work", "-m", "gcc/12", "-m", "python/3.12", "-q")
    env = api.get("work")
    result = _bash(f"""
        export TRICKY='a b'"'"'c $HOME `x` ; é'
        {DUMP}
        roost activate work || exit 3
        {DUMP}
        command -v python
        python -c 'import sys; print(sys.prefix)'
        roost deactivate || exit 4
        {DUMP}
    """)
    assert result.returncode == 0, result.stderr
    before, active, after = _dumps(result.stdout)
    lines = [line for line in result.stdout.splitlines() if not line.startswith("{")]
    assert lines == [str(env.path / "bin" / "python"), str(env.path)]

    path = active["PATH"].split(":")
    assert path[0] == str(env.path / "bin")
    assert path[1] == str(PYTHON.parent)  # the module's python comes right after the env
    assert active["GCC_ROOT"] == "/opt/gcc/12"
    assert active["LOADEDMODULES"].split(":") == ["gcc/12", "python/3.12"]
    assert active["VIRTUAL_ENV"] == str(env.path) and active["ROOST_ENV"] == "work"
    before.pop("_", None)
    after.pop("_", None)
    assert after == before
    assert after["TRICKY"] == "a b'c $HOME `x` ; é"


def test_activating_another_env_replaces_the_first_and_deactivate_restores_the_original(
    roost_env: Dict[str, str],
) -> None:
    run_roost("env", "create", "one", "-m", "gcc/12", "-m", "python/3.12", "-q")
    run_roost("env", "create", "two", "--python", str(PYTHON), "-q")
    result = _bash(f"""
        {DUMP}
        roost activate one && roost activate two || exit 3
        {DUMP}
        roost deactivate || exit 4
        {DUMP}
        roost deactivate && exit 5
        exit 0
    """)
    assert result.returncode == 0, result.stderr  # a deactivate with nothing active fails (status 1)
    before, active, after = _dumps(result.stdout)
    assert active["ROOST_ENV"] == "two"
    assert "GCC_ROOT" not in active and not active.get("LOADEDMODULES")  # one's modules went with it
    assert not any("/envs/one/" in p for p in active["PATH"].split(":"))
    before.pop("_", None)
    after.pop("_", None)
    assert after == before
    assert "no roost environment is active" in result.stderr


def test_activation_change_api_for_jobs_and_kernels(roost_env: Dict[str, str]) -> None:
    run_roost("env", "create", "apienv", "-m", "python/3.12", "-q")
    environ = dict(os.environ)
    change = api.activation_change("apienv", environ, restorable=False)
    applied = change.applied_to(environ)
    env = api.get("apienv")
    assert applied["VIRTUAL_ENV"] == str(env.path)
    assert applied["PATH"].startswith(f"{env.path}/bin:{PYTHON.parent}:")
    assert "PYTHONHOME" not in applied
    assert "_ROOST_ENV_RESTORE" not in applied
    assert env.python == env.path / "bin" / "python" and env.python.exists()
    out = subprocess.run(
        [str(env.python), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        env=applied,
        check=True,
    ).stdout
    assert out.strip() == "(3, 12)" or PYTHON.name != "python3"


def test_unknown_env_activation_is_an_error_with_no_code(roost_env: Dict[str, str]) -> None:
    result = run_roost("activate", "--shell", "bash", "nope", check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert "no environment named 'nope'" in result.stderr


@pytest.mark.parametrize(
    "shell",
    [pytest.param("zsh", marks=pytest.mark.service("zsh")), pytest.param("fish", marks=pytest.mark.service("fish"))],
)
def test_round_trip_in_zsh_and_fish(roost_env: Dict[str, str], shell: str) -> None:
    run_roost("env", "create", "other", "-m", "gcc/12", "-m", "python/3.12", "-q")
    roost = f"{sys.executable} -m roost"
    if shell == "fish":
        script = (
            f"{DUMP}; eval ({roost} activate --shell fish other | string collect); {DUMP}; "
            f"eval ({roost} deactivate --shell fish | string collect); {DUMP}"
        )
        argv = ["fish", "--no-config", "-c", script]
    else:
        script = (
            f'{DUMP}; eval "$({roost} activate --shell zsh other)"; {DUMP}; '
            f'eval "$({roost} deactivate --shell zsh)"; {DUMP}; true'  # zsh would exec a last command, lowering SHLVL
        )
        argv = ["zsh", "-f", "-c", script]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    before, active, after = _dumps(result.stdout)
    assert active["VIRTUAL_ENV"] == str(api.get("other").path) and active["GCC_ROOT"] == "/opt/gcc/12"
    before.pop("_", None)
    after.pop("_", None)
    assert after == before
