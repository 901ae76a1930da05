"""Fixtures for job tests: a private data dir and working dir, and a way to run the real CLI."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

import pytest
from jobs_helpers import roost, submitted_id  # noqa: F401  (the session fixture below uses them)


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


def _slurm_answers() -> bool:
    if not shutil.which("sinfo"):
        return False
    try:
        done = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


@pytest.fixture(scope="session", autouse=True)
def slurm_timeout_job(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Optional[Tuple[Path, str]]:
    """A Slurm job that will hit its 1-minute limit, submitted when the job tests start.

    Slurm counts time limits in minutes and checks them every ~30 s (87 s here from submit to TIMEOUT), so
    the test that checks it runs last and waits only for what is left, instead of a minute and a half.
    """
    wanted = any(item.name.startswith("test_zz_time_limit") for item in request.session.items)
    if not wanted or not _slurm_answers():
        return None
    from roost.jobs import api
    from roost.jobs.spec import JobSpec
    from roost.jobs.store import Store

    directory = tmp_path_factory.mktemp("slurm-timeout")
    store = Store(directory / "jobs.sqlite")
    spec = JobSpec.create([], wrap="echo started; sleep 600", time="1", workdir=str(directory))
    job = api.submit_spec(spec, backend="slurm", store=store)
    return directory / "jobs.sqlite", job.id
