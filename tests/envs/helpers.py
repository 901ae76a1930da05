"""Helpers for environment tests: the real CLI in a subprocess, pip freeze of an env."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional


def roost_command(*args: str) -> List[str]:
    return [sys.executable, "-m", "roost", *args]


def run_roost(
    *args: str, env: Optional[Dict[str, str]] = None, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess, as a user would."""
    result = subprocess.run(
        roost_command(*args),
        capture_output=True,
        text=True,
        env=dict(os.environ) if env is None else env,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"roost {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def pip_freeze(python: Path) -> List[str]:
    out = subprocess.run(
        [str(python), "-m", "pip", "freeze", "--all"],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "PIP_REQUIRE_VIRTUALENV"},
    )
    return sorted(out.stdout.split())
