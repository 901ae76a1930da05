"""Fixtures for environment tests: an isolated roost home, a warm shared uv cache, a module tree whose
`python/3.12` module puts a real interpreter on PATH, and a helper running the real CLI."""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path
from typing import Dict, Iterator

import pytest


def _interpreter() -> Path:
    """A real CPython that is not the one running the tests (pyenv's 3.12 here), else this one's base."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    for candidate in sorted(glob.glob(os.path.join(root, "versions", "3.12.*", "bin", "python3"))):
        return Path(candidate)
    return Path(getattr(sys, "_base_executable", sys.executable))


PYTHON = _interpreter()


@pytest.fixture(scope="session")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One cache for the whole session: the first install downloads, the rest hardlink from it.
    return tmp_path_factory.mktemp("uv-cache")


@pytest.fixture
def module_tree(tmp_path: Path) -> Path:
    """python/3.12 (the interpreter above, as a site would provide it) and gcc/12 (sets variables)."""
    tree = tmp_path / "modules"
    (tree / "python").mkdir(parents=True)
    (tree / "gcc").mkdir()
    (tree / "python" / "3.12.lua").write_text(
        f'prepend_path("PATH", "{PYTHON.parent}")\nsetenv("SITE_PYTHON_VERSION", "3.12")\n'
    )
    (tree / "gcc" / "12.lua").write_text(
        'setenv("GCC_ROOT", "/opt/gcc/12")\nprepend_path("LD_LIBRARY_PATH", "/opt/gcc/12/lib")\n'
    )
    return tree


@pytest.fixture
def roost_env(
    clean_environ: Dict[str, str],
    tmp_path: Path,
    uv_cache: Path,
    module_tree: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Dict[str, str]]:
    """The process environment for roost: envs under tmp_path, the shared uv cache, the test module tree."""
    monkeypatch.setenv("ROOST_ENVS_DIR", str(tmp_path / "envs"))
    monkeypatch.setenv("ROOST_UV_CACHE", str(uv_cache))
    monkeypatch.setenv("ROOST_SITE_CONFIG", str(tmp_path / "site.toml"))
    monkeypatch.setenv("MODULEPATH", str(module_tree))
    for name in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "PYTHONPATH", "PIP_REQUIRE_VIRTUALENV"):
        monkeypatch.delenv(name, raising=False)
    yield dict(os.environ)
