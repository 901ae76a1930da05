"""Envs bound to modules of the site's own Lmod (envs.module_system = "lmod"), with a real Lmod."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from roost.envs import api
from roost.envs.lmod import parse_python

from .conftest import PYTHON
from .helpers import run_roost

LMOD_INIT = "/usr/share/lmod/lmod/init/bash"


def test_parse_lmod_python_output() -> None:
    output = (
        'import os\nos.environ["A"] = "x \\"y\\" $z";\nos.environ["B"] = \'\'\ndel os.environ["B"]\n_mlstatus = True\n'
    )
    assert parse_python(output) == {"A": 'x "y" $z', "B": None}


@pytest.fixture
def lmod_env(roost_env: Dict[str, str], tmp_path: Path) -> Dict[str, str]:
    (tmp_path / "site.toml").write_text('[envs]\nmodule_system = "lmod"\n')
    return roost_env


@pytest.mark.service("lmod")
def test_create_activate_deactivate_with_lmod(lmod_env: Dict[str, str], tmp_path: Path, module_tree: Path) -> None:
    run_roost("env", "create", "site", "-m", "gcc/12", "-m", "python/3.12", "six", "-q")
    env = api.get("site")
    assert env.manifest.module_system == "lmod"
    assert env.modules == ["gcc/12", "python/3.12"]
    assert env.manifest.python is not None and Path(env.manifest.python.path).parent == PYTHON.parent
    dump = f"{sys.executable} -c 'import json, os; print(json.dumps(dict(os.environ)))'"
    script = f"""
        source {LMOD_INIT}
        {dump}
        eval "$({sys.executable} -m roost activate --shell bash site)"
        {dump}
        module -t list 2>&1
        eval "$({sys.executable} -m roost deactivate --shell bash)"
        {dump}
    """
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    dumps = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    before, active, after = dumps
    listed = [line for line in result.stdout.splitlines() if not line.startswith("{")]
    assert listed == ["gcc/12", "python/3.12"]  # Lmod itself sees the modules the env loaded
    assert active["PATH"].split(":")[:2] == [str(env.path / "bin"), str(PYTHON.parent)]
    assert active["GCC_ROOT"] == "/opt/gcc/12"
    before.pop("_", None)
    after.pop("_", None)
    assert after == before

    (module_tree / "gcc" / "12.lua").write_text('setenv("GCC_ROOT", "/opt/gcc/12.1")\n')
    check = run_roost("env", "check", "site", "--json", check=False)
    assert check.returncode == 1
    assert [d["code"] for d in json.loads(check.stdout)["drift"]] == ["module-changed"]


@pytest.mark.service("lmod")
def test_unknown_module_under_lmod_is_a_clear_error(lmod_env: Dict[str, str], tmp_path: Path) -> None:
    result = run_roost("env", "create", "nope", "-m", "nosuch/1.0", check=False)
    assert result.returncode == 1
    assert "nosuch/1.0" in result.stderr and "hint:" in result.stderr
    assert json.loads(run_roost("env", "list", "--json").stdout) == []
