"""Export -> import gives the same packages elsewhere; `env check` reports each kind of drift with its fix."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict

import pytest

from roost.envs import api

from .conftest import PYTHON
from .helpers import pip_freeze, run_roost


def test_export_import_on_a_fresh_data_dir_gives_identical_pip_freeze(
    roost_env: Dict[str, str], tmp_path: Path
) -> None:
    run_roost("env", "create", "orig", "-m", "gcc/12", "-m", "python/3.12", "six", "tomli<2.1", "-q")
    spec = tmp_path / "orig.txt"
    run_roost("env", "export", "orig", "-o", str(spec))
    text = spec.read_text()
    assert "# roost-module: gcc/12" in text and "# roost-module: python/3.12" in text
    assert "--hash=sha256:" in text

    elsewhere = dict(os.environ, ROOST_ENVS_DIR=str(tmp_path / "elsewhere"))
    run_roost("env", "import", str(spec), "copy", "-q", env=elsewhere)
    copy = json.loads(run_roost("env", "show", "copy", "--json", env=elsewhere).stdout)
    assert copy["modules"] == ["gcc/12", "python/3.12"]
    assert pip_freeze(Path(copy["python"])) == pip_freeze(api.get("orig").python)
    assert copy["requested"] == api.get("orig").manifest.requested


def test_import_of_a_plain_requirements_file_resolves_it(roost_env: Dict[str, str], tmp_path: Path) -> None:
    spec = tmp_path / "plain.txt"
    spec.write_text("six\n")
    run_roost("env", "import", str(spec), "fromplain", "--python", str(PYTHON), "-q")
    assert "six" in {p.name for p in api.get("fromplain").manifest.lock}


def test_import_without_a_name_is_refused(roost_env: Dict[str, str], tmp_path: Path) -> None:
    spec = tmp_path / "anon.txt"
    spec.write_text("six==1.16.0\n")
    result = run_roost("env", "import", str(spec), check=False)
    assert result.returncode == 1 and "does not name the environment" in result.stderr


def _check(name: str) -> dict:
    result = run_roost("env", "check", name, "--json", check=False)
    data = json.loads(result.stdout)
    assert result.returncode == (1 if data["drift"] else 0)
    return data


def test_module_drift_changed_then_accepted_then_missing(roost_env: Dict[str, str], module_tree: Path) -> None:
    run_roost("env", "create", "mods", "-m", "gcc/12", "-m", "python/3.12", "-q")
    assert _check("mods") == {"name": "mods", "ok": True, "drift": []}

    with (module_tree / "gcc" / "12.lua").open("a") as handle:
        handle.write('setenv("GCC_PATCHED", "1")\n')
    drift = _check("mods")["drift"]
    assert [d["code"] for d in drift] == ["module-changed"]
    assert "gcc/12" in drift[0]["message"] and "--accept" in drift[0]["fix"]

    run_roost("env", "check", "mods", "--accept")
    assert _check("mods")["ok"]

    (module_tree / "gcc" / "12.lua").unlink()
    drift = _check("mods")["drift"]
    assert [d["code"] for d in drift] == ["module-missing"]
    assert "module spider gcc" in drift[0]["fix"]
    human = run_roost("env", "check", "mods", check=False)
    assert human.returncode == 1 and "drift: module gcc/12 no longer loads" in human.stdout
    activation = run_roost("activate", "--shell", "bash", "mods", check=False)
    assert activation.returncode == 1 and activation.stdout == ""
    assert "cannot activate mods" in activation.stderr and "roost env check mods" in activation.stderr


def test_python_drift_changed_and_gone(roost_env: Dict[str, str], tmp_path: Path) -> None:
    # A private copy of the interpreter binary (stdlib through a symlinked lib/), to change and delete.
    prefix = tmp_path / "py"
    (prefix / "bin").mkdir(parents=True)
    real = Path(os.path.realpath(PYTHON))
    shutil.copy2(real, prefix / "bin" / "python3")
    (prefix / "lib").symlink_to(real.parent.parent / "lib")
    if subprocess.run([str(prefix / "bin" / "python3"), "-c", "import os"], capture_output=True).returncode != 0:
        pytest.skip("this interpreter cannot run from a copied binary")
    run_roost("env", "create", "pydrift", "--python", str(prefix / "bin" / "python3"), "-q")
    assert _check("pydrift")["ok"]

    with (prefix / "bin" / "python3").open("ab") as handle:
        handle.write(b"\0site rebuilt it")
    assert [d["code"] for d in _check("pydrift")["drift"]] == ["python-changed"]

    (prefix / "bin" / "python3").unlink()
    drift = _check("pydrift")["drift"]
    assert [d["code"] for d in drift] == ["python-missing"]
    assert "roost env export pydrift" in drift[0]["fix"]


def test_package_drift_and_sync(roost_env: Dict[str, str]) -> None:
    run_roost("env", "create", "pkgs", "--python", str(PYTHON), "six==1.16.0", "tomli==2.0.1", "-q")
    python = str(api.get("pkgs").python)
    env = api.run_environ("pkgs", os.environ)
    subprocess.run([python, "-m", "pip", "install", "-q", "six==1.15.0", "packaging"], env=env, check=True)
    subprocess.run([python, "-m", "pip", "uninstall", "-q", "-y", "tomli"], env=env, check=True)
    drift = _check("pkgs")["drift"]
    codes = sorted(d["code"] for d in drift)
    assert codes == ["package-changed", "package-extra", "package-missing"]
    assert all("roost env sync pkgs" in d["fix"] for d in drift)

    run_roost("env", "sync", "pkgs", "-q")
    assert _check("pkgs")["ok"]
