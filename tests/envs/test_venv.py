"""Creating venvs with real uv installs, bound to modules from a test tree; bad input leaves nothing."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Dict

import pytest

from roost.envs import api, manifest

from .conftest import PYTHON
from .helpers import run_roost


def _nothing_left(tmp_path: Path) -> None:
    envs = tmp_path / "envs"
    visible = [p.name for p in envs.iterdir() if not p.name.startswith(".")] if envs.exists() else []
    assert visible == []
    staging = envs / ".staging"
    leftovers = [p.name for p in staging.iterdir() if p.is_dir()] if staging.exists() else []
    assert leftovers == []
    assert json.loads(run_roost("env", "list", "--json").stdout) == []


def test_create_with_modules_records_them_and_runs_their_python(roost_env: Dict[str, str], tmp_path: Path) -> None:
    run_roost("env", "create", "analysis", "-m", "gcc/12", "-m", "python/3.12", "six==1.16.0")
    env = api.get("analysis")
    assert env.modules == ["gcc/12", "python/3.12"]
    assert env.kind == "venv"
    assert env.path == tmp_path / "envs" / "analysis"
    record = env.manifest.python
    assert record is not None and Path(record.path).parent == PYTHON.parent
    assert [m.checksum for m in env.manifest.modules] == [
        __import__("hashlib").sha256((tmp_path / "modules" / f).read_bytes()).hexdigest()
        for f in ("gcc/12.lua", "python/3.12.lua")
    ]
    locked = {p.name: p for p in env.manifest.lock}
    assert locked["six"].version == "1.16.0"
    assert all(h.startswith("sha256:") for h in locked["six"].hashes) and locked["six"].hashes
    assert "six==1.16.0" in env.manifest.requested

    out = run_roost(
        "run",
        "-e",
        "analysis",
        "--",
        "python",
        "-c",
        "import os, sys, six; print(sys.prefix, six.__version__, os.environ['GCC_ROOT'])",
    ).stdout.split()
    assert out == [str(env.path), "1.16.0", "/opt/gcc/12"]

    listed = json.loads(run_roost("env", "list", "--json").stdout)
    assert [e["name"] for e in listed] == ["analysis"]
    shown = json.loads(run_roost("env", "show", "analysis", "--json").stdout)
    assert shown["modules"] == ["gcc/12", "python/3.12"] and shown["files"] > 100 and shown["size_bytes"] > 0
    assert shown["unshared_bytes"] < shown["size_bytes"]  # uv hardlinked the packages from its cache


def test_create_with_python_path_and_requirements_then_install_updates_lock(
    roost_env: Dict[str, str], tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\nsix==1.16.0\n")
    run_roost("env", "create", "plain", "--python", str(PYTHON), "-r", str(requirements), "--quiet")
    run_roost("env", "install", "plain", "tomli==2.0.1", "--quiet")
    env = api.get("plain")
    assert env.modules == []
    assert {p.name: p.version for p in env.manifest.lock}.items() >= {
        "six": "1.16.0",
        "tomli": "2.0.1",
    }.items()
    lock_text = (manifest.roost_dir(env.path) / manifest.LOCK_FILE).read_text()
    assert "tomli==2.0.1" in lock_text and "six==1.16.0" in lock_text  # six kept its pin
    check = run_roost("env", "check", "plain")
    assert "no drift" in check.stdout


def test_failed_install_leaves_env_and_lock_unchanged(roost_env: Dict[str, str]) -> None:
    run_roost("env", "create", "keep", "--python", str(PYTHON), "six==1.16.0", "-q")
    before = api.get("keep").manifest.lock
    result = run_roost("env", "install", "keep", "roost-no-such-package-xyz", check=False)
    assert result.returncode == 1 and "error:" in result.stderr
    assert api.get("keep").manifest.lock == before


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["bad-pkg", "--python", str(PYTHON), "roost-no-such-package-xyz"], "roost-no-such-package-xyz"),
        (["bad-module", "-m", "nosuchmodule/1.0", "six"], "nosuchmodule"),
        (["bad-python", "--python", "2.1"], "Python 2.1"),
        (["bad-python-path", "--python", "/nonexistent/python3"], "/nonexistent/python3"),
        (["../x", "--python", str(PYTHON)], "not a valid environment name"),
        (["a/b", "--python", str(PYTHON)], "not a valid environment name"),
        (["", "--python", str(PYTHON)], "cannot be empty"),
        (["bad-req", "-r", "/nonexistent/req.txt"], "/nonexistent/req.txt"),
    ],
)
def test_bad_input_is_a_clear_error_and_leaves_nothing(
    roost_env: Dict[str, str], tmp_path: Path, args: list, fragment: str
) -> None:
    result = run_roost("env", "create", *args, check=False)
    assert result.returncode != 0
    assert fragment in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.stderr
    _nothing_left(tmp_path)


def test_existing_name_is_refused_and_the_env_survives(roost_env: Dict[str, str]) -> None:
    run_roost("env", "create", "twice", "--python", str(PYTHON), "-q")
    result = run_roost("env", "create", "twice", "--python", str(PYTHON), check=False)
    assert result.returncode == 1
    assert "already exists" in result.stderr and "roost env remove twice" in result.stderr
    assert api.get("twice").python.exists()


def test_unwritable_envs_dir_is_a_clear_error(roost_env: Dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = dict(os.environ, ROOST_ENVS_DIR=str(blocker / "envs"))
    result = run_roost("env", "create", "x", "--python", str(PYTHON), env=env, check=False)
    assert result.returncode == 1 and "cannot create environments in" in result.stderr and "envs.dir" in result.stderr


def test_remove_deletes_the_env(roost_env: Dict[str, str], tmp_path: Path) -> None:
    run_roost("env", "create", "gone", "--python", str(PYTHON), "-q")
    run_roost("env", "remove", "gone")
    _nothing_left(tmp_path)
    result = run_roost("env", "remove", "gone", check=False)
    assert result.returncode == 1 and "no environment named 'gone'" in result.stderr


def test_run_reports_a_missing_command(roost_env: Dict[str, str]) -> None:
    run_roost("env", "create", "runner", "--python", str(PYTHON), "-q")
    result = run_roost("run", "-e", "runner", "--", "no-such-command-xyz", check=False)
    assert result.returncode == 1 and "no-such-command-xyz" in result.stderr
    passthrough = run_roost("run", "-e", "runner", "--", "python", "-c", "import sys; sys.exit(7)", check=False)
    assert passthrough.returncode == 7  # the command's own exit status comes back


def test_pip_guard_refuses_bare_installs_but_not_inside_an_env(roost_env: Dict[str, str]) -> None:
    change = api.shell_init_change()
    guarded = change.applied_to(os.environ)
    assert guarded["PIP_REQUIRE_VIRTUALENV"] == "true"
    bare = subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--user", "six"], capture_output=True, text=True, env=guarded
    )
    assert bare.returncode != 0 and "virtualenv" in bare.stderr.lower()

    run_roost("env", "create", "guarded", "--python", str(PYTHON), "-q")
    inside = subprocess.run(
        [str(api.get("guarded").python), "-m", "pip", "install", "--no-index", "--dry-run", "pip"],
        capture_output=True,
        text=True,
        env=api.run_environ("guarded", guarded),
    )
    assert "virtualenv" not in inside.stderr.lower(), inside.stderr


def test_pip_guard_can_be_switched_off(roost_env: Dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "site.toml").write_text("[envs]\npip_require_virtualenv = false\n")
    assert not api.shell_init_change()


def test_storage_warnings(roost_env: Dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from roost import config

    assert api.storage_warnings(config.load()) == []
    monkeypatch.delenv("ROOST_ENVS_DIR")
    monkeypatch.delenv("ROOST_UV_CACHE")
    (tmp_path / "site.toml").write_text(f'[envs]\ndir = "{tmp_path}/home/envs"\nhome_warn_gb = 1e9\n')
    warnings = api.storage_warnings(config.load())
    assert len(warnings) == 1 and "home" in warnings[0] and "envs.dir" in warnings[0]
    if Path("/dev/shm").is_dir() and os.stat("/dev/shm").st_dev != os.stat(tmp_path).st_dev:
        (tmp_path / "site.toml").write_text('[envs]\nuv_cache = "/dev/shm/roost-test-uv"\n')
        warnings = api.storage_warnings(config.load())
        assert any("different filesystem" in w for w in warnings)
        result = run_roost("env", "create", "warned", "--python", str(PYTHON), check=False)
        assert "warning: the uv cache" in result.stderr


def test_json_and_quiet_output_for_scripts(roost_env: Dict[str, str]) -> None:
    created = run_roost("env", "create", "scripted", "--python", str(PYTHON), "six", "--json")
    data = json.loads(created.stdout)
    assert data["name"] == "scripted" and "six" in [p["name"] for p in data["packages"]]
    assert created.stderr == ""  # no progress when the output is for a script
    quiet = run_roost("env", "install", "scripted", "tomli", "-q")
    assert quiet.stdout == "" and quiet.stderr == ""
    people = run_roost("env", "install", "scripted", "packaging")
    assert "resolving" in people.stderr and "updated scripted" in people.stderr
