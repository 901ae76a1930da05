"""Jobs run inside roost environments and module sets: the batch script loads them before the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jobs_helpers import roost

MODULEFILES = {
    "roosttest/1.0.lua": 'setenv("ROOSTTEST_LOADED", "env-module")\n',
    "extra/2.0.lua": 'setenv("EXTRA_LOADED", "extra-module")\n',
}


@pytest.fixture
def env_with_module(work: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    envs_api = pytest.importorskip("roost.envs.api", reason="needs envs")
    tree = work.parent / "modulefiles"
    for name, text in MODULEFILES.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    monkeypatch.setenv("MODULEPATH", str(tree))
    envs_api.create("demo", modules=["roosttest/1.0"], system_site_packages=True)
    return "demo"


SHOW = 'echo "$ROOSTTEST_LOADED $EXTRA_LOADED $ROOST_ENV"; python -c "import sys; print(sys.prefix)"'


@pytest.mark.parametrize("backend", ["local", pytest.param("slurm", marks=pytest.mark.service("slurm"))])
def test_env_and_modules_are_active_inside_the_job(env_with_module: str, backend: str, work: Path) -> None:
    done = roost(
        "submit",
        "--backend",
        backend,
        "--wait",
        "-t",
        "1",
        "-e",
        env_with_module,
        "--module",
        "extra/2.0",
        "--wrap",
        SHOW,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "env-module extra-module demo" in lines
    assert any(line.endswith("/envs/demo") for line in lines)


def test_dry_run_shows_the_setup_rendered_in_the_script(env_with_module: str) -> None:
    done = roost("submit", "--backend", "local", "--dry-run", "-e", env_with_module, "--", "python", "x.py")
    assert "# roost: environment demo" in done.stdout
    assert "export ROOSTTEST_LOADED='env-module';" in done.stdout
    assert "export VIRTUAL_ENV=" in done.stdout


def test_unknown_env_is_an_error_without_a_record(work: Path) -> None:
    pytest.importorskip("roost.envs.api", reason="needs envs")
    done = roost("submit", "--backend", "local", "-e", "no-such-env", "--", "true")
    assert done.returncode != 0 and "error:" in done.stderr and "no-such-env" in done.stderr
    assert json.loads(roost("jobs", "--all", "--json").stdout) == []
