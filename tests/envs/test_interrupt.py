"""Interrupted creates (kill -9 at several points, Ctrl-C) leave nothing listed and can simply be rerun.

A local package whose build backend sleeps (tests/envs/data/slowpkg) holds the install open long enough
to kill the process at a known point.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, List

import pytest

from roost.envs import api

from .conftest import PYTHON
from .helpers import roost_command, run_roost

SLOWPKG = Path(__file__).parent / "data" / "slowpkg"


def _staging(tmp_path: Path) -> List[Path]:
    root = tmp_path / "envs" / ".staging"
    return [p for p in root.iterdir() if p.is_dir()] if root.exists() else []


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"create ended (rc {process.returncode}) before the kill point")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("kill point never reached")
        time.sleep(0.005)


def _start_create(tmp_path: Path, name: str, markers: Path) -> subprocess.Popen:
    env = dict(os.environ, SLOWPKG_MARKER_DIR=str(markers), SLOWPKG_SLEEP="3")
    return subprocess.Popen(
        roost_command("env", "create", name, "--python", str(PYTHON), "six", str(_fresh_slowpkg(tmp_path))),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _fresh_slowpkg(tmp_path: Path) -> Path:
    # A new source tree each time, so uv cannot reuse a wheel it built before the previous kill.
    target = tmp_path / f"slowpkg-{time.monotonic_ns()}"
    target.mkdir()
    for item in SLOWPKG.iterdir():
        if item.is_file():
            (target / item.name).write_bytes(item.read_bytes())
    return target


def _assert_nothing_listed(tmp_path: Path) -> None:
    assert json.loads(run_roost("env", "list", "--json").stdout) == []
    visible = [p.name for p in (tmp_path / "envs").iterdir() if not p.name.startswith(".")]
    assert visible == []
    assert _staging(tmp_path) == []  # the listing swept what the killed process left


def _points(tmp_path: Path, markers: Path) -> Dict[str, Callable[[], bool]]:
    return {
        "staging-created": lambda: bool(_staging(tmp_path)),
        "venv-made": lambda: any((p / "pyvenv.cfg").exists() for p in _staging(tmp_path)),
        "resolved": lambda: any((p / ".roost" / "lock.txt").exists() for p in _staging(tmp_path)),
        "installing": lambda: (markers / "wheel").exists(),
    }


@pytest.mark.parametrize("point", ["staging-created", "venv-made", "resolved", "installing"])
def test_kill_9_leaves_nothing_and_create_can_be_rerun(roost_env: Dict[str, str], tmp_path: Path, point: str) -> None:
    markers = tmp_path / f"markers-{point}"
    markers.mkdir()
    process = _start_create(tmp_path, "killed", markers)
    _wait_for(_points(tmp_path, markers)[point], process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    process.stderr.close()
    _assert_nothing_listed(tmp_path)
    if point == "installing":  # rerun once, the slow way: the same command succeeds
        rerun = dict(os.environ, SLOWPKG_SLEEP="0")
        run_roost(
            "env",
            "create",
            "killed",
            "--python",
            str(PYTHON),
            "six",
            str(_fresh_slowpkg(tmp_path)),
            "-q",
            env=rerun,
        )
        assert api.get("killed").python.exists()
        assert _staging(tmp_path) == []


def test_ctrl_c_cleans_up_at_once(roost_env: Dict[str, str], tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    process = _start_create(tmp_path, "interrupted", markers)
    _wait_for(lambda: (markers / "wheel").exists(), process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert _staging(tmp_path) == []  # removed by the process itself, not by a later sweep
    assert json.loads(run_roost("env", "list", "--json").stdout) == []


def test_two_creates_of_one_name_at_once_give_one_env_and_one_clear_error(roost_env: Dict[str, str]) -> None:
    command = roost_command("env", "create", "race", "--python", str(PYTHON), "six", "-q")
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = [first.communicate(timeout=300), second.communicate(timeout=300)]
    codes = sorted([first.returncode, second.returncode])
    assert codes == [0, 1], results
    assert any("already exists" in err for _, err in results)
    assert [e["name"] for e in json.loads(run_roost("env", "list", "--json").stdout)] == ["race"]
