"""Conda envs through py-rattler from a local channel the test builds (no conda, no network)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Dict

import pytest

from roost.envs import api

from .conftest import PYTHON
from .helpers import run_roost

pytest.importorskip("rattler")

from .conda_channel import build_test_channel


@pytest.fixture
def channel(tmp_path: Path) -> Path:
    return build_test_channel(tmp_path / "channel")


@pytest.fixture
def conda_env(roost_env: Dict[str, str], channel: Path, monkeypatch: pytest.MonkeyPatch) -> Dict[str, str]:
    monkeypatch.setenv("ROOST_CONDA_CHANNELS", str(channel))
    return dict(os.environ)


def test_conda_env_from_a_local_channel(conda_env: Dict[str, str], tmp_path: Path) -> None:
    run_roost("env", "create", "c1", "--kind", "conda", "tool", "-q")
    env = api.get("c1")
    assert env.kind == "conda"
    locked = {p.name: p for p in env.manifest.lock}
    assert sorted(locked) == ["hello", "tool"]
    assert locked["hello"].version == "2.0" and locked["hello"].hashes
    out = run_roost("run", "-e", "c1", "--", "hello").stdout
    assert out == "hello 2.0\n"
    # the prefix patched into files is the final one, not the staging directory it was built in
    assert run_roost("run", "-e", "c1", "--", "tool").stdout == f"tool in {env.path}\n"
    applied = api.run_environ("c1", dict(os.environ, PIP_REQUIRE_VIRTUALENV="true"))
    assert applied["CONDA_PREFIX"] == str(env.path) and "PIP_REQUIRE_VIRTUALENV" not in applied
    assert json.loads(run_roost("env", "check", "c1", "--json").stdout)["ok"]


def test_external_mpi_pins_the_external_build(conda_env: Dict[str, str]) -> None:
    run_roost("env", "create", "mpi", "--kind", "conda", "--external-mpi", "mpi4py", "-q")
    env = api.get("mpi")
    assert {p.name: p.build for p in env.manifest.lock}["mpich"] == "external_0"
    assert (env.path / "share" / "mpich" / "kind").read_text() == "external\n"


def test_install_keeps_pins_and_export_import_reproduces_the_lock(
    conda_env: Dict[str, str], tmp_path: Path, channel: Path
) -> None:
    run_roost("env", "create", "c2", "--kind", "conda", "hello=1.0", "-q")
    run_roost("env", "install", "c2", "tool", "-q")
    env = api.get("c2")
    assert {p.name: p.version for p in env.manifest.lock} == {"hello": "1.0", "tool": "0.1"}
    assert run_roost("run", "-e", "c2", "--", "hello").stdout == "hello 1.0\n"

    spec = tmp_path / "environment.yml"
    run_roost("env", "export", "c2", "-o", str(spec))
    text = spec.read_text()
    assert "dependencies:" in text and "  - hello=1.0=0" in text

    elsewhere = dict(os.environ, ROOST_ENVS_DIR=str(tmp_path / "elsewhere"))
    run_roost("env", "import", str(spec), "-q", env=elsewhere)
    copy = json.loads(run_roost("env", "show", "c2", "--json", env=elsewhere).stdout)
    assert copy["packages"] == api.describe(env)["packages"]


def test_unknown_conda_package_fails_cleanly(conda_env: Dict[str, str], tmp_path: Path) -> None:
    result = run_roost("env", "create", "bad", "--kind", "conda", "no-such-pkg", check=False)
    assert result.returncode == 1 and "no-such-pkg" in result.stderr and "hint:" in result.stderr
    assert json.loads(run_roost("env", "list", "--json").stdout) == []
    assert not (tmp_path / "envs" / "bad").exists()


def test_channel_options_need_kind_conda(conda_env: Dict[str, str]) -> None:
    result = run_roost("env", "create", "x", "--external-mpi", check=False)
    assert result.returncode == 1 and "--kind conda" in result.stderr


def test_adopt_a_venv_and_a_conda_prefix(conda_env: Dict[str, str], tmp_path: Path) -> None:
    from roost.envs.venv import uv_binary

    venv = tmp_path / "legacy-venv"
    subprocess.run([uv_binary(), "venv", "-q", "--python", str(PYTHON), str(venv)], check=True)
    run_roost("env", "adopt", str(venv), "--name", "legacy", "-m", "python/3.12", "-q")
    env = api.get("legacy")
    assert env.manifest.adopted and env.kind == "venv" and env.modules == ["python/3.12"]
    assert env.path == venv
    out = run_roost("run", "-e", "legacy", "--", "python", "-c", "import sys; print(sys.prefix)").stdout
    assert out.strip() == str(venv)

    run_roost("env", "create", "c3", "--kind", "conda", "hello", "-q")
    prefix = tmp_path / "conda-prefix"
    os.rename(api.get("c3").path, prefix)  # a prefix made elsewhere (the manifest goes with it: drop it)
    (prefix / ".roost" / "manifest.json").unlink()
    run_roost("env", "adopt", str(prefix), "-q")
    assert api.get("conda-prefix").kind == "conda"

    result = run_roost("env", "adopt", str(tmp_path), check=False)
    assert result.returncode == 1 and "neither a venv" in result.stderr

    run_roost("env", "remove", "legacy")
    assert (venv / "pyvenv.cfg").exists()  # forgotten, not deleted
    assert "legacy" not in [e["name"] for e in json.loads(run_roost("env", "list", "--json").stdout)]
