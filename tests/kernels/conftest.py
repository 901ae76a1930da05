"""Fixtures for kernel tests: a private Jupyter directory tree, and running code in a kernel by name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Iterator

import pytest
from kernel_helpers import write_module


@pytest.fixture
def jupyter_home(
    clean_environ: Dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Path]:
    """Jupyter's user data dir inside tmp_path; no JUPYTER_PATH, so only the user/env/system dirs count."""
    for name in ("JUPYTER_PATH", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_PREFER_ENV_PATH",
                 "JUPYTER_RUNTIME_DIR"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "home" / ".local" / "share" / "jupyter"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(data))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "home" / ".jupyter"))
    yield data


SCRUBBED_PREFIXES = ("_ModuleTable", "__LMOD", "LMOD", "_ROOST", "__ROOST", "ROOST_", "JUPYTER")
SCRUBBED = ("LOADEDMODULES", "_LMFILES_", "MODULEPATH", "MODULESHOME", "VIRTUAL_ENV", "CONDA_PREFIX",
            "PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")


@pytest.fixture(scope="session")
def kernel_uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uv cache for the kernel tests: ipykernel is downloaded once, then hardlinked."""
    return tmp_path_factory.mktemp("kernels-uv-cache")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, kernel_uv_cache: Path) -> Iterator[Dict[str, Path]]:
    """A private home, Jupyter dir, env store and module tree (gcc/12, tools/1.0) shared by a test module.

    Module-scoped (creating envs and installing ipykernel is the slow part), so tests use distinct names.
    """
    root = tmp_path_factory.mktemp("site")
    tree = root / "modules"
    write_module(tree, "gcc/12", 'setenv("GCC_ROOT", "/opt/gcc/12")\nprepend_path("CPATH", "/g/include")')
    write_module(tree, "tools/1.0", 'setenv("TOOLS_HOME", "/opt/tools/1.0")\nprepend_path("PATH", "/t/bin")')
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(SCRUBBED_PREFIXES) or name in SCRUBBED:
                patch.delenv(name)
        home = root / "home"
        home.mkdir()
        values = {
            "HOME": home, "XDG_CONFIG_HOME": home / ".config", "XDG_DATA_HOME": home / ".local" / "share",
            "XDG_CACHE_HOME": home / ".cache", "JUPYTER_DATA_DIR": home / ".local" / "share" / "jupyter",
            "JUPYTER_CONFIG_DIR": home / ".jupyter", "JUPYTER_RUNTIME_DIR": root / "runtime",
            "ROOST_ENVS_DIR": root / "envs", "ROOST_UV_CACHE": kernel_uv_cache,
            "ROOST_SITE_CONFIG": root / "site.toml", "MODULEPATH": tree,
        }
        for name, value in values.items():
            patch.setenv(name, str(value))
        yield {"root": root, "home": home, "modules": tree, "kernels": values["JUPYTER_DATA_DIR"] / "kernels"}
