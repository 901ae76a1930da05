"""The startup line from the README/docs in real bash, zsh and fish: `module`, `ml` and `roost` work in a new
shell, the cached init file serves later shells without starting roost, and it follows roost when the venv
is moved, upgraded or re-created; with the interpreter gone a shell gets one warning and keeps working."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from tests.conftest import require_service

REPO = Path(__file__).resolve().parents[2]
SHELLS = ["bash", "zsh", "fish"]
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def startup_line(shell: str) -> str:
    """The line docs/modules.md tells users to put in their shell's startup file (the README's for bash)."""
    source = REPO / ("README.md" if shell == "bash" else "docs/modules.md")
    lines = [line.strip() for line in source.read_text().splitlines() if f"~/.cache/roost/init.{shell}" in line]
    assert lines, f"no startup line for {shell} in {source}"
    return lines[0].split("  #")[0].strip()


def run_shell(shell: str, body: str, env: Dict[str, str]) -> subprocess.CompletedProcess:
    if shutil.which(shell) is None:
        require_service(shell)
    script = f"{startup_line(shell)}\n{body}"
    argv = {"bash": ["bash", "--norc", "-c"], "zsh": ["zsh", "-f", "-c"], "fish": ["fish", "--no-config", "-c"]}
    return subprocess.run([*argv[shell], script], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def site(tmp_path: Path) -> Dict[str, str]:
    """A user with a modulefile tree and nothing of roost's yet (no cache, no container modules)."""
    (tmp_path / "mf" / "python").mkdir(parents=True)
    (tmp_path / "mf" / "python" / "3.12.lua").write_text('setenv("PYV", "3.12")\n')
    (tmp_path / "home").mkdir()
    return {"HOME": str(tmp_path / "home"), "MODULEPATH": str(tmp_path / "mf"), "LC_ALL": "C.UTF-8",
            "USER": "tester"}


def cache_file(env: Dict[str, str], shell: str) -> Path:
    return Path(env["HOME"], ".cache", "roost", f"init.{shell}")


USE_ALL = "module load python; echo \"PYV=$PYV\"; ml; roost --version; echo \"MODULEPATH=$MODULEPATH\""


def assert_all_work(done: subprocess.CompletedProcess, version: str = "0.1.0") -> None:
    assert "PYV=3.12" in done.stdout, done.stderr
    assert "python/3.12" in done.stderr  # ml lists it
    assert f"roost, version {version}" in done.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_startup_line_defines_module_ml_and_roost(shell: str, site: Dict[str, str]) -> None:
    roost_bin = Path(sys.executable).parent
    assert (roost_bin / "roost").exists(), "the test needs roost's console script beside sys.executable"
    first = run_shell(shell, USE_ALL, dict(site, PATH=f"{roost_bin}:{SYSTEM_PATH}"))
    assert_all_work(first)
    written = cache_file(site, shell)
    assert written.is_file()
    stamp = written.stat().st_mtime_ns
    # The next shell has no roost on PATH: only the cached file can have defined the functions.
    second = run_shell(shell, USE_ALL, dict(site, PATH=SYSTEM_PATH))
    assert_all_work(second)
    assert second.stderr.count("roost:") == 0
    assert written.stat().st_mtime_ns == stamp  # sourced, not rewritten
    # No container modules yet: MODULEPATH is exactly the site's, as under Lmod.
    assert f"MODULEPATH={site['MODULEPATH']}\n" in second.stdout


def test_container_module_directory_joins_when_it_appears(site: Dict[str, str]) -> None:
    roost_bin = Path(sys.executable).parent
    run_shell("bash", "true", dict(site, PATH=f"{roost_bin}:{SYSTEM_PATH}"))
    containers = Path(site["HOME"], ".local", "share", "roost", "modulefiles")
    containers.mkdir(parents=True)
    done = run_shell("bash", 'echo "MODULEPATH=$MODULEPATH"', dict(site, PATH=SYSTEM_PATH))
    assert f"MODULEPATH={site['MODULEPATH']}:{containers}\n" in done.stdout
    again = run_shell("bash", 'echo "MODULEPATH=$MODULEPATH"',
                      dict(site, PATH=SYSTEM_PATH, MODULEPATH=f"{containers}:{site['MODULEPATH']}"))
    assert f"MODULEPATH={containers}:{site['MODULEPATH']}\n" in again.stdout  # not added twice


# --- real installs: a venv with roost's wheel, moved, upgraded, removed ------------------------------------


def _uv() -> str:
    import uv

    return str(uv.find_uv_bin())


def _build_wheel(tree: Path, version: str, out: Path) -> Path:
    shutil.copytree(REPO / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        text = (REPO / name).read_text()
        (tree / name).write_text(text.replace('version = "0.1.0"', f'version = "{version}"', 1))
    init = tree / "src" / "roost" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "0.1.0"', f'__version__ = "{version}"'))
    subprocess.run([_uv(), "build", "--wheel", "-q", "-o", str(out), str(tree)], check=True, timeout=300,
                   capture_output=True)
    return next(out.glob(f"roost-{version}-*.whl"))


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """roost as released (0.1.0) and as a later release (0.2.0), built from this tree."""
    base = tmp_path_factory.mktemp("wheels")
    return {version: _build_wheel(base / version, version, base / "dist") for version in ("0.1.0", "0.2.0")}


def make_venv(prefix: Path, wheel: Path) -> Path:
    """A venv over the base interpreter's site-packages (roost's dependencies) with roost's wheel."""
    base_python = os.path.join(sys.base_prefix, "bin", "python3")
    subprocess.run([_uv(), "venv", "-q", "--system-site-packages", "-p", base_python, str(prefix)], check=True)
    install(prefix, wheel)
    return prefix / "bin"


def install(prefix: Path, wheel: Path) -> None:
    subprocess.run([_uv(), "pip", "install", "-q", "--no-deps", "--python", str(prefix / "bin" / "python"),
                    str(wheel)], check=True, capture_output=True)


@pytest.mark.parametrize("shell", ["bash", "fish"])  # zsh runs the same (POSIX) code as bash
def test_the_init_follows_a_moved_venv(shell: str, site: Dict[str, str], tmp_path: Path,
                                       wheels: Dict[str, Path]) -> None:
    old_bin = make_venv(tmp_path / "venv", wheels["0.1.0"])
    assert_all_work(run_shell(shell, USE_ALL, dict(site, PATH=f"{old_bin}:{SYSTEM_PATH}")))
    (tmp_path / "venv").rename(tmp_path / "moved")  # its roost script's #! line now names a missing python
    new_bin = tmp_path / "moved" / "bin"
    moved = run_shell(shell, USE_ALL, dict(site, PATH=f"{new_bin}:{SYSTEM_PATH}"))
    assert_all_work(moved)
    assert "roost:" not in moved.stderr
    assert str(new_bin / "python") in cache_file(site, shell).read_text()
    later = run_shell(shell, USE_ALL, dict(site, PATH=SYSTEM_PATH))  # served by the rewritten file
    assert_all_work(later)


def test_the_init_follows_an_upgrade_and_a_re_created_venv(site: Dict[str, str], tmp_path: Path,
                                                           wheels: Dict[str, Path]) -> None:
    bin_dir = make_venv(tmp_path / "venv", wheels["0.1.0"])
    env = dict(site, PATH=f"{bin_dir}:{SYSTEM_PATH}")
    assert_all_work(run_shell("bash", USE_ALL, env))
    install(tmp_path / "venv", wheels["0.2.0"])  # pip install -U roost
    assert_all_work(run_shell("bash", USE_ALL, env), version="0.2.0")
    assert "roost-0.2.0.dist-info" in cache_file(site, "bash").read_text()
    assert_all_work(run_shell("bash", USE_ALL, dict(site, PATH=SYSTEM_PATH)), version="0.2.0")
    shutil.rmtree(tmp_path / "venv")  # rm -rf venv; uv venv venv; pip install roost==0.1.0
    make_venv(tmp_path / "venv", wheels["0.1.0"])
    assert_all_work(run_shell("bash", USE_ALL, env))
    assert_all_work(run_shell("bash", USE_ALL, dict(site, PATH=SYSTEM_PATH)))


@pytest.mark.parametrize("shell", SHELLS)
def test_a_vanished_interpreter_gives_one_warning_and_a_working_shell(
        shell: str, site: Dict[str, str], tmp_path: Path, wheels: Dict[str, Path]) -> None:
    bin_dir = make_venv(tmp_path / "venv", wheels["0.1.0"])
    run_shell(shell, "true", dict(site, PATH=f"{bin_dir}:{SYSTEM_PATH}"))
    shutil.rmtree(tmp_path / "venv")
    status = "$status" if shell == "fish" else "$?"
    done = run_shell(shell, f"echo still-here; module load python; echo status={status}", dict(site, PATH=SYSTEM_PATH))
    lines: List[str] = done.stderr.splitlines()
    warnings = [line for line in lines if line.startswith("roost:")]
    assert len(warnings) == 1 and "reinstall roost" in warnings[0], done.stderr
    assert "still-here" in done.stdout
    assert "status=1" in done.stdout
    said = [line for line in lines if line.startswith("module:")]
    assert said and "roost shell-init" in said[0]
    assert done.returncode == 0


def test_a_config_change_reaches_the_next_shell(site: Dict[str, str]) -> None:
    env = dict(site, PATH=f"{Path(sys.executable).parent}:{SYSTEM_PATH}")
    first = run_shell("bash", 'echo "guard=${PIP_REQUIRE_VIRTUALENV-}"', env)
    assert "guard=true" in first.stdout, first.stderr
    config = Path(site["HOME"], ".config", "roost", "config.toml")
    config.parent.mkdir(parents=True)
    config.write_text("[envs]\npip_require_virtualenv = false\n")
    later = run_shell("bash", 'echo "guard=${PIP_REQUIRE_VIRTUALENV-}"', env)
    assert "guard=\n" in later.stdout, later.stderr


def test_plain_sh_sources_its_cached_file(site: Dict[str, str]) -> None:
    env = dict(site, PATH=f"{Path(sys.executable).parent}:{SYSTEM_PATH}")
    subprocess.run([sys.executable, "-m", "roost", "shell-init", "sh"], env=env, check=True, capture_output=True)
    where = subprocess.run([sys.executable, "-m", "roost", "shell-init", "sh", "--path"], env=env, check=True,
                           capture_output=True, text=True)
    assert where.stdout.strip() == str(cache_file(site, "sh"))
    done = subprocess.run(["sh", "-c", f'. "{cache_file(site, "sh")}"; module load python; echo "PYV=$PYV"'],
                          env=dict(site, PATH=SYSTEM_PATH), capture_output=True, text=True, timeout=60)
    assert "PYV=3.12" in done.stdout, done.stderr
