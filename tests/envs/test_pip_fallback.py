"""The venv kind's pip fallback (envs.installer = "pip"), for machines where uv cannot run."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict

import pytest

from roost.envs import api

from .conftest import PYTHON
from .helpers import pip_freeze, run_roost


@pytest.fixture(scope="session")
def pip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pip-cache")


@pytest.fixture
def pip_env(
    roost_env: Dict[str, str], tmp_path: Path, pip_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> Dict[str, str]:
    (tmp_path / "site.toml").write_text('[envs]\ninstaller = "pip"\n')
    monkeypatch.setenv("PIP_CACHE_DIR", str(pip_cache))
    return dict(os.environ)


def test_pip_built_env_works_after_the_rename_and_round_trips(pip_env: Dict[str, str], tmp_path: Path) -> None:
    run_roost("env", "create", "viapip", "-m", "python/3.12", "six==1.16.0", "-q")
    env = api.get("viapip")
    assert env.manifest.kind_data == {"installer": "pip"}
    assert {p.name: p.version for p in env.manifest.lock}["six"] == "1.16.0"
    # pip's own script was written in the staging directory: its shebang must name the final prefix
    out = run_roost("run", "-e", "viapip", "--", "pip", "--version").stdout
    assert str(env.path) in out
    assert ".staging" not in (env.path / "bin" / "pip").read_text()
    assert json.loads(run_roost("env", "check", "viapip", "--json").stdout)["ok"]

    run_roost("env", "install", "viapip", "tomli==2.0.1", "-q")
    assert "tomli" in {p.name for p in api.get("viapip").manifest.lock}

    spec = tmp_path / "viapip.txt"
    run_roost("env", "export", "viapip", "-o", str(spec))
    elsewhere = dict(os.environ, ROOST_ENVS_DIR=str(tmp_path / "elsewhere"))
    run_roost("env", "import", str(spec), "copy", "-q", env=elsewhere)
    copy = json.loads(run_roost("env", "show", "copy", "--json", env=elsewhere).stdout)
    assert pip_freeze(Path(copy["python"])) == pip_freeze(env.python)


def test_pip_fallback_bad_package_leaves_nothing(pip_env: Dict[str, str], tmp_path: Path) -> None:
    result = run_roost("env", "create", "bad", "--python", str(PYTHON), "roost-no-such-package-xyz", check=False)
    assert result.returncode == 1 and "roost-no-such-package-xyz" in result.stderr and "hint:" in result.stderr
    assert json.loads(run_roost("env", "list", "--json").stdout) == []
