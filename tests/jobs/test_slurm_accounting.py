"""Slurm accounting (sacct through slurmdbd) and cgroup memory limits, against the real single-node Slurm.

scripts/services/slurm.sh runs slurmdbd + mariadb and enforces --mem with cgroups.  slurmctld keeps
finished jobs for MinJobAge (an hour), and Slurm has no way to make it forget one job sooner, so the tests
of the accounting path ask a backend whose controller "has forgotten every job": its squeue answers
nothing, and everything it reports comes from the real sacct.  What it reports must match what slurmctld
itself said about the same jobs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import pytest
from jobs_helpers import roost, submitted_id

from roost.jobs import api
from roost.jobs.backend import JobState, JobStatus
from roost.jobs.slurm import SlurmBackend
from roost.jobs.store import Store

pytestmark = pytest.mark.service("slurm")

GRAB_A_GIGABYTE = "x = bytearray(1024 ** 3); print('survived')"


class ForgottenBySlurmctld(SlurmBackend):
    """The Slurm backend as it is once slurmctld has purged the jobs (after MinJobAge): squeue lists none."""

    def _squeue(self, job_ids: Sequence[str]) -> Dict[str, JobStatus]:
        return {}


@pytest.fixture
def slurm(work: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ROOST_JOBS_BACKEND", "slurm")
    return work


def _view(status: JobStatus) -> List[Tuple[Optional[int], JobState, Optional[int]]]:
    return [(t.task, t.state, t.exit_code) for t in status.tasks]


def _from_accounting(
    job_ids: Sequence[str], store: Store, like: Optional[Dict[str, JobStatus]] = None, timeout: float = 30
) -> Dict[str, JobStatus]:
    """What sacct says about finished jobs, once it says it all: slurmctld sends the records to slurmdbd a
    moment after the events, array tasks one by one (so wait for ``like``, slurmctld's view, when given)."""
    backend = ForgottenBySlurmctld(store)
    deadline = time.monotonic() + timeout
    while True:
        found = backend.status(job_ids)
        if like is not None:
            complete = {j: _view(s) for j, s in found.items()} == {j: _view(s) for j, s in like.items()}
        else:
            complete = all(j in found and found[j].finished for j in job_ids)
        if complete or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_accounting_is_on(slurm: Path) -> None:
    assert SlurmBackend(Store())._has_accounting()


def test_forgotten_jobs_are_answered_by_sacct_as_slurmctld_answered(slurm: Path) -> None:
    store = Store()
    sleeper = api.submit("sleep 120", time="5", store=store)  # first, so it gets a core soonest
    ran = api.submit("echo fine", time="1", store=store)
    failed = api.submit("echo to-err >&2; exit 3", time="1", store=store)
    killed = api.submit("kill -9 $$", time="1", store=store)
    array = api.submit("exit $SLURM_ARRAY_TASK_ID", array="0-2%2", time="1", store=store)
    ids = [sleeper.id, ran.id, failed.id, killed.id, array.id]
    deadline = time.monotonic() + 90
    while sleeper.state is not JobState.RUNNING and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sleeper.state is JobState.RUNNING
    sleeper.cancel()
    api.wait(store, ids, timeout=120)
    from_slurmctld = SlurmBackend(store).status(ids)

    _from_accounting(ids, store, like=from_slurmctld)  # until slurmdbd has every end
    backend = ForgottenBySlurmctld(store)
    from_sacct = backend.status(ids)

    expected = {
        sleeper.id: [(None, JobState.CANCELLED, 128 + 15)],  # SIGTERM, as squeue says
        ran.id: [(None, JobState.COMPLETED, 0)],
        failed.id: [(None, JobState.FAILED, 3)],
        killed.id: [(None, JobState.FAILED, 128 + 9)],
        array.id: [(0, JobState.COMPLETED, 0), (1, JobState.FAILED, 1), (2, JobState.FAILED, 2)],
    }
    assert {j: _view(s) for j, s in from_slurmctld.items()} == expected
    assert {j: _view(s) for j, s in from_sacct.items()} == expected
    assert all(not t.reason for s in from_sacct.values() for t in s.tasks)  # no stale pending reasons
    assert backend.queries == 2  # the accounting probe, then one sacct for every job


def test_unknown_job_ids_are_simply_absent_from_sacct(slurm: Path) -> None:
    backend = ForgottenBySlurmctld(Store())
    assert backend.status(["999999"]) == {}


def test_without_accounting_forgotten_jobs_are_absent_not_an_error(slurm: Path, tmp_path: Path) -> None:
    """A cluster without slurmdbd: the same sacct, pointed at a slurm.conf with accounting_storage/none."""
    conf = Path("/etc/slurm/slurm.conf").read_text()
    lines = [
        "AccountingStorageType=accounting_storage/none" if line.startswith("AccountingStorageType=") else line
        for line in conf.splitlines()
    ]
    (tmp_path / "slurm.conf").write_text("\n".join(lines) + "\n")
    environ = dict(os.environ, SLURM_CONF=str(tmp_path / "slurm.conf"))
    backend = ForgottenBySlurmctld(Store(), environ)
    assert not backend._has_accounting()
    assert backend.status(["1"]) == {}


def test_job_over_its_memory_limit_ends_out_of_memory(slurm: Path) -> None:
    done = roost("submit", "--mem", "100M", "-t", "1", "--", sys.executable, "-c", GRAB_A_GIGABYTE, check=True)
    job_id = submitted_id(done)
    waited = roost("wait", job_id, timeout=120)
    assert waited.returncode != 0
    shown = roost("status", job_id)
    assert "OUT_OF_MEMORY" in shown.stdout, shown.stdout + shown.stderr
    data = json.loads(roost("status", job_id, "--json").stdout)
    assert data["state"] == "OUT_OF_MEMORY"
    assert data["exit_code"] == 137  # SIGKILL, as the local backend reports it (Slurm's own mark is 253)
    assert "survived" not in Path(data["stdout"]).read_text()
    # and accounting agrees
    from_accounting = _from_accounting([job_id], Store())[job_id]
    assert from_accounting.state is JobState.OUT_OF_MEMORY and from_accounting.exit_code == 137


def test_job_within_its_memory_limit_completes(slurm: Path) -> None:
    done = roost(
        "submit", "--wait", "--mem", "200M", "-t", "1", "--",
        sys.executable, "-c", "x = bytearray(50 * 1024 ** 2); print('fits')",
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fits" in done.stdout


def test_zz_time_limit_reads_timeout_from_sacct(slurm_timeout_job: Optional[Tuple[Path, str]]) -> None:
    """The job the jobs conftest submitted at the start, with a one-minute limit (TIMEOUT ~90 s later)."""
    assert slurm_timeout_job is not None
    store_path, job_id = slurm_timeout_job
    store = Store(store_path)
    record = api.wait(store, [job_id], timeout=180)[0]
    assert record.state is JobState.TIMEOUT
    from_sacct = _from_accounting([job_id], store)[job_id]
    assert from_sacct.state is JobState.TIMEOUT
