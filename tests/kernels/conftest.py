"""Fixtures for kernel tests: a private Jupyter directory tree, and running code in a kernel by name."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator

import pytest


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
