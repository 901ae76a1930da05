"""Fixtures for job tests: a private data dir and working dir, and a way to run the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List

import pytest


@pytest.fixture
def work(clean_environ: Dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory for job logs; job records live under tmp_path's fake home."""
    directory = tmp_path / "work"
    directory.mkdir()
    monkeypatch.chdir(directory)
    yield directory


@pytest.fixture
def local(work: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ROOST_JOBS_BACKEND", "local")
    return work


def roost(*args: str, timeout: float = 60, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the real ``roost`` CLI in a fresh process (as a user would)."""
    done = subprocess.run(
        [sys.executable, "-m", "roost", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
    )
    if check and done.returncode != 0:
        raise AssertionError(f"roost {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def submitted_id(done: subprocess.CompletedProcess[str]) -> str:
    lines: List[str] = [line for line in done.stdout.splitlines() if line.startswith("Submitted job ")]
    assert lines, done.stdout + done.stderr
    return lines[0].split()[2]
