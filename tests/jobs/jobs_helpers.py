"""Helpers for the job tests, in a module of their own.

Not in conftest.py: test modules import these, and callables pickled by those test modules are unpickled in
job processes that import the test module again; several test folders have a `conftest`, so that name would
resolve to whichever folder came first (the kernels' one, in a full run).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import List


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
