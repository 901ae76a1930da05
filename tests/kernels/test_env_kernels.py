"""Kernels for roost environments and module sets, started by jupyter_client from the installed spec."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest
from kernel_helpers import roost, run_in_kernel, start_failure_log, write_module

PROBE = (
    "import os, sys, iniconfig\n"
    "print('GCC', os.environ.get('GCC_ROOT'))\n"
    "print('TOOLS', os.environ.get('TOOLS_HOME'))\n"
    "print('SET', os.environ.get('KERNEL_SETTING'))\n"
    "print('MODULES', os.environ.get('LOADEDMODULES'))\n"
    "print('PYTHON', sys.executable)\n"
    "print('PACKAGE', iniconfig.__file__)\n"
)


def probe(name: str, log: Path) -> Dict[str, str]:
    lines = run_in_kernel(name, PROBE, log).splitlines()
    return dict(line.split(" ", 1) for line in lines if " " in line)


@pytest.fixture(scope="module")
def analysis_env(site: Dict[str, Path]) -> Path:
    """A roost env with one package only it has (iniconfig), and no ipykernel yet."""
    roost("env", "create", "analysis", "iniconfig")
    return site["root"] / "envs" / "analysis"


def test_env_and_two_modules_kernel(site: Dict[str, Path], analysis_env: Path, tmp_path: Path) -> None:
    done = roost("kernel", "install", "ana", "--env", "analysis", "--module", "gcc", "--module", "tools",
                 "--set", "KERNEL_SETTING=on")
    assert "installed ipykernel into environment analysis" in done.stderr
    assert "modules: gcc/12 tools/1.0" in done.stdout  # recorded by full version
    env_show = json.loads(roost("env", "show", "analysis", "--json").stdout)
    assert "ipykernel" in {p["name"] for p in env_show["packages"]}  # through the env's lock: no drift

    seen = probe("ana", tmp_path / "log")
    assert seen["GCC"] == "/opt/gcc/12" and seen["TOOLS"] == "/opt/tools/1.0"
    assert seen["SET"] == "on"
    assert seen["MODULES"] == "gcc/12:tools/1.0"
    assert seen["PYTHON"].startswith(str(analysis_env))
    assert seen["PACKAGE"].startswith(str(analysis_env))
    assert "ana: ok" in roost("kernel", "check", "ana").stdout


def test_kernel_keeps_its_module_version_when_the_default_changes(
    site: Dict[str, Path], analysis_env: Path, tmp_path: Path
) -> None:
    tree = site["root"] / "pinned-tree"
    write_module(tree, "lib/1.0", 'setenv("LIB_VERSION", "1.0")')
    modulepath = f"{tree}:{site['modules']}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODULEPATH", modulepath)
        roost("kernel", "install", "pinned", "--env", "analysis", "--module", "lib")
        write_module(tree, "lib/2.0", 'setenv("LIB_VERSION", "2.0")')  # the site adds a newer default
        out = run_in_kernel("pinned", "import os; print(os.environ['LIB_VERSION'])", tmp_path / "log")
        assert out.strip() == "1.0"

        # The pinned version disappears: check says so and the kernel dies with a readable log.
        (tree / "lib" / "1.0.lua").unlink()
        check = roost("kernel", "check", "pinned", check=False)
        assert check.returncode != 0 and "lib/1.0" in check.stdout
        text = start_failure_log("pinned", tmp_path / "dead.log")
    assert "roost kernel 'pinned' cannot start" in text and "lib/1.0" in text and "hint:" in text


def test_kernel_of_a_removed_env(site: Dict[str, Path], analysis_env: Path, tmp_path: Path) -> None:
    roost("env", "create", "shortlived", "iniconfig")
    roost("kernel", "install", "brief", "--env", "shortlived")
    roost("env", "remove", "shortlived")
    listed = {k["name"]: k for k in json.loads(roost("kernel", "list", "--json").stdout)}
    assert any("shortlived" in p for p in listed["brief"]["problems"])
    assert roost("kernel", "check", "brief", check=False).returncode != 0
    text = start_failure_log("brief", tmp_path / "dead.log")
    assert "roost kernel 'brief' cannot start" in text and "'shortlived'" in text


def test_bad_input_leaves_nothing(site: Dict[str, Path], analysis_env: Path) -> None:
    before = sorted(p.name for p in site["kernels"].iterdir()) if site["kernels"].is_dir() else []
    unknown_env = roost("kernel", "install", "k-env", "--env", "nope", check=False)
    assert unknown_env.returncode != 0 and "no environment named 'nope'" in unknown_env.stderr
    unknown_module = roost("kernel", "install", "k-mod", "--module", "nosuchmodule", check=False)
    assert unknown_module.returncode != 0 and "nosuchmodule" in unknown_module.stderr

    roost("env", "create", "bare", "iniconfig")
    refused = roost("kernel", "install", "k-bare", "--env", "bare", "--no-install-ipykernel", check=False)
    assert refused.returncode != 0
    assert "ipykernel is not importable" in refused.stderr
    assert "roost env install bare ipykernel" in refused.stderr  # exactly what to run
    after = sorted(p.name for p in site["kernels"].iterdir()) if site["kernels"].is_dir() else []
    assert after == before


def test_module_python_without_ipykernel_is_explained(site: Dict[str, Path], tmp_path: Path) -> None:
    """A module that provides its own interpreter is used for the kernel; roost does not write into it."""
    venv = tmp_path / "sitepython"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    write_module(site["modules"], "python/3.x", f'prepend_path("PATH", "{venv / "bin"}")')
    done = roost("kernel", "install", "k-py", "--module", "python", check=False)
    assert done.returncode != 0
    assert f"ipykernel is not importable by {venv / 'bin' / 'python3'}" in done.stderr
    assert "hint: install it with:" in done.stderr and "install --python" in done.stderr
    assert not (site["kernels"] / "k-py").exists()
    shutil.rmtree(site["modules"] / "python")


def test_env_that_remembers_its_modules(site: Dict[str, Path], tmp_path: Path) -> None:
    """An env created with a module gets it back in the kernel without --module."""
    roost("env", "create", "withgcc", "--module", "gcc", "iniconfig")
    roost("kernel", "install", "withgcc", "--env", "withgcc")
    out = run_in_kernel("withgcc", "import os; print(os.environ.get('GCC_ROOT'))", tmp_path / "log")
    assert out.strip() == "/opt/gcc/12"


def test_launcher_finds_site_packages_when_its_recorded_path_is_stale(site: Dict[str, Path], tmp_path: Path) -> None:
    """roost reinstalled elsewhere after the kernel was made: the launcher adds site-packages and carries on."""
    roost("kernel", "install", "stale", "--module", "gcc")
    kernel_json = site["kernels"] / "stale" / "kernel.json"
    spec = json.loads(kernel_json.read_text())
    import roost as roost_package

    roost_src = str(Path(str(roost_package.__file__)).resolve().parent.parent)
    if roost_src.endswith("-packages"):
        pytest.skip("roost is installed into site-packages itself: there is no stale path to make")
    spec["argv"][4] = spec["argv"][4].split("sys.path[:0]=")[0] + f"sys.path[:0]=[{roost_src!r}];" + (
        spec["argv"][4].split("];", 1)[1])
    kernel_json.write_text(json.dumps(spec))
    assert "site-packages" not in spec["argv"][4]
    out = run_in_kernel("stale", "import os; print(os.environ['GCC_ROOT'])", tmp_path / "log")
    assert out.strip() == "/opt/gcc/12"
