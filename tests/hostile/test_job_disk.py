"""A read-only HOME and a full disk: `roost submit` says so and records (and submits) nothing; `roost jobs`
and `roost status` still answer.

Real file systems, not mocks: a small tmpfs that is filled up, and a read-only bind mount (mounting needs
root, as CI runs; elsewhere these tests skip).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs or a read-only bind needs root")


def run(argv: List[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture
def home(clean_environ: Dict[str, str], tmp_path: Path) -> Iterator[Path]:
    """HOME on its own 2 MB tmpfs, with one finished local job recorded in it."""
    home = Path(clean_environ["HOME"])
    run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(home)])
    try:
        (home / "work").mkdir()
        done = roost("submit", "--backend", "local", "--wait", "--parsable", "--", "echo", "first", cwd=home / "work")
        assert done.returncode == 0, done.stderr
        yield home
    finally:
        subprocess.run(["umount", "-l", str(home)], capture_output=True)


def roost(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "roost", *args], capture_output=True, text=True, timeout=120, cwd=str(cwd)
    )


def recorded(home: Path) -> List[str]:
    done = roost("jobs", "--all", "--json", cwd=home)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return [job["id"] for job in json.loads(done.stdout)]


def assert_refused(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 1 and done.stdout == "", done.stderr
    assert done.stderr.startswith("error: ") and "\nhint: " in done.stderr and "Traceback" not in done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


def slurm_jobs_alive(name: str) -> List[str]:
    """Pending or running Slurm jobs of that name."""
    done = subprocess.run(["squeue", "--json"], capture_output=True, check=True)
    jobs = json.loads(done.stdout.decode("utf-8", "surrogateescape"))["jobs"]
    finished = ("CANCELLED", "COMPLETED", "FAILED")
    return [str(job["job_id"]) for job in jobs if job["name"] == name and job["job_state"] not in finished]


def fill(directory: Path) -> None:
    """Fill the file system holding ``directory`` to its last byte (dd stops at ENOSPC)."""
    subprocess.run(["dd", "if=/dev/zero", f"of={directory / 'filler'}", "bs=4k"], capture_output=True)
    assert os.statvfs(directory).f_bavail == 0


@pytest.mark.parametrize("backend", ["local", "slurm"])
def test_submit_on_a_full_disk_says_so_and_records_nothing(backend: str, home: Path) -> None:
    if backend == "slurm":
        from tests.conftest import require_service

        require_service("slurm")
    before = recorded(home)
    fill(home)
    name = f"full-{uuid.uuid4().hex[:8]}"
    done = roost("submit", "--backend", backend, "-J", name, "-o", "/tmp/%j.out", "--", "true", cwd=Path("/tmp"))
    assert_refused(done, "the job database", "space")
    assert recorded(home) == before
    if backend == "slurm":
        assert slurm_jobs_alive(name) == []  # nothing left running that roost does not know about
    status = roost("status", before[0], cwd=home)
    assert status.returncode == 0 and "COMPLETED" in status.stdout, status.stderr


@pytest.mark.parametrize("backend", ["local", "slurm"])
def test_submit_with_a_read_only_home_says_so_and_records_nothing(backend: str, home: Path) -> None:
    if backend == "slurm":
        from tests.conftest import require_service

        require_service("slurm")
    before = recorded(home)
    run(["mount", "--bind", str(home), str(home)])
    try:
        run(["mount", "-o", "remount,ro,bind", str(home)])
        name = f"ro-{uuid.uuid4().hex[:8]}"
        done = roost("submit", "--backend", backend, "-J", name, "-o", "/tmp/%j.out", "--", "true", cwd=Path("/tmp"))
        assert_refused(done, "the job database", "is read-only: set ROOST_DATA_DIR")
        if backend == "slurm":
            assert slurm_jobs_alive(name) == []
        assert recorded(home) == before  # roost jobs --all still reads the records
        status = roost("status", before[0], cwd=home)
        assert status.returncode == 0 and "COMPLETED" in status.stdout, status.stderr
    finally:
        subprocess.run(["umount", "-l", str(home)], capture_output=True)


def test_a_read_only_home_without_records_gives_a_clear_error(clean_environ: Dict[str, str]) -> None:
    home = Path(clean_environ["HOME"])
    run(["mount", "--bind", str(home), str(home)])
    try:
        run(["mount", "-o", "remount,ro,bind", str(home)])
        for args in (["submit", "--backend", "local", "-o", "/tmp/%j.out", "--", "true"], ["jobs", "--all"],
                     ["status", "L1"]):
            assert_refused(roost(*args, cwd=Path("/tmp")), "job database", "ROOST_DATA_DIR")
    finally:
        subprocess.run(["umount", "-l", str(home)], capture_output=True)
