"""Shared by the tests/hostile/test_env_*.py files: a private roost home and the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, NamedTuple, Optional, Sequence, Union

import pytest

Arg = Union[str, bytes, Path]


class Home(NamedTuple):
    root: Path
    envs: Path
    user_config: Path
    environ: Dict[str, str]


@pytest.fixture(scope="session")
def shared_uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uv cache for these tests: the first install downloads, the rest hardlink."""
    return tmp_path_factory.mktemp("hostile-uv-cache")


@pytest.fixture
def home(tmp_path: Path, shared_uv_cache: Path) -> Iterator[Home]:
    """A roost with everything of its own under tmp_path (HOME, envs, config); no module system state."""
    root = tmp_path / "home"
    root.mkdir()
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("ROOST_", "_ROOST", "__ROOST", "LMOD", "__LMOD", "_ModuleTable", "XDG_"))
               and k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "PYTHONPATH", "PIP_REQUIRE_VIRTUALENV",
                             "MODULEPATH", "LOADEDMODULES", "_LMFILES_")}
    environ.update(HOME=str(root), ROOST_ENVS_DIR=str(tmp_path / "envs"), ROOST_UV_CACHE=str(shared_uv_cache),
                   ROOST_SITE_CONFIG=str(tmp_path / "site.toml"), ROOST_CONFIG=str(tmp_path / "user.toml"))
    yield Home(root, tmp_path / "envs", tmp_path / "user.toml", environ)


def roost(home: Home, *args: Arg, check: bool = True, cwd: Optional[Path] = None,
          extra: Optional[Dict[str, str]] = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess; arguments may be bytes (non-UTF-8 names reach it as they are)."""
    environ = {**home.environ, **(extra or {})}
    done = subprocess.run([sys.executable, "-m", "roost", *args], capture_output=True, env=environ,
                          cwd=cwd or home.root, timeout=timeout)
    out = subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(errors="replace"),
                                      done.stderr.decode(errors="replace"))
    if check and done.returncode != 0:
        raise AssertionError(f"roost {args!r} failed ({done.returncode}):\n{out.stdout}\n{out.stderr}")
    return out


def clear_error(done: subprocess.CompletedProcess, *expected: str) -> None:
    """Failed the way a user can act on: exit 1, one `error:` naming the problem, a `hint:`, no traceback."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("error: ") == 1 and "hint: " in done.stderr, done.stderr
    for text in expected:
        assert text in done.stderr, done.stderr


def dot_entries(directory: Path) -> Sequence[str]:
    """Temporary files and directories (named with a leading dot) left in ``directory``."""
    if not directory.is_dir():
        return []
    return sorted(entry.name for entry in directory.iterdir() if entry.name.startswith("."))
