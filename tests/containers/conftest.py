"""Fixtures for container tests: a private roost data dir and a working directory under /tmp (which ch-run
binds into every container)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator

import pytest


@pytest.fixture
def work(clean_environ: Dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The current directory for a test; roost's data dir is under tmp_path's fake home."""
    directory = tmp_path / "work"
    directory.mkdir()
    monkeypatch.chdir(directory)
    monkeypatch.setenv("PWD", str(directory))
    # Binds the defaults would add are the machine's own; tests start from none unless they ask.
    monkeypatch.delenv("PROJECT", raising=False)
    monkeypatch.delenv("SCRATCH", raising=False)
    yield directory
