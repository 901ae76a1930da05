"""The small interface every backend honours, and the one state vocabulary.

A backend submits a rendered script, reports the states of many jobs in one call, cancels, and says where
a job's logs are.  Records (what roost remembers about a job) live in :mod:`roost.jobs.store`; backends
return data and never print.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Dict, List, Optional, Protocol, Sequence

if TYPE_CHECKING:
    from roost.jobs.spec import JobSpec


class JobState(str, Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMEOUT = "TIMEOUT"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    NODE_FAIL = "NODE_FAIL"

    @property
    def finished(self) -> bool:
        return self not in (JobState.PENDING, JobState.RUNNING)

    def __str__(self) -> str:
        return self.value


# A job (or array) state is the "worst" of its tasks', in this order of precedence.
_PRECEDENCE = [
    JobState.RUNNING,
    JobState.PENDING,
    JobState.NODE_FAIL,
    JobState.OUT_OF_MEMORY,
    JobState.TIMEOUT,
    JobState.FAILED,
    JobState.CANCELLED,
    JobState.COMPLETED,
]


@dataclass
class TaskStatus:
    """One job, or one task of an array (``task`` is None for a plain job)."""

    task: Optional[int]
    state: JobState
    exit_code: Optional[int] = None
    reason: str = ""


@dataclass
class JobStatus:
    job_id: str
    tasks: List[TaskStatus] = field(default_factory=list)

    @property
    def state(self) -> JobState:
        states = {t.state for t in self.tasks}
        for state in _PRECEDENCE:
            if state in states:
                return state
        return JobState.PENDING

    @property
    def finished(self) -> bool:
        return bool(self.tasks) and all(t.state.finished for t in self.tasks)

    @property
    def exit_code(self) -> Optional[int]:
        """0 when every task exited 0; else the first non-zero exit code; None while unknown."""
        codes = [t.exit_code for t in self.tasks]
        if not codes or any(c is None for c in codes):
            return None
        return next((c for c in codes if c), 0)

    def counts(self) -> Dict[str, int]:
        summary: Dict[str, int] = {}
        for task in self.tasks:
            summary[task.state.value] = summary.get(task.state.value, 0) + 1
        return summary


def exit_code_from_wait_status(status: int) -> int:
    """A wait status (exit << 8 | signal) as one number: the exit code, or 128 + signal as shells do."""
    signal_number = status & 0x7F
    return 128 + signal_number if signal_number else (status >> 8) & 0xFF


class Backend(Protocol):
    name: str
    # True when the backend itself writes task states into the job store (local); callers then must not
    # write a status snapshot back, or they would undo a state recorded meanwhile.
    records_states: bool

    def available(self) -> bool:
        """Whether this backend can run jobs here."""
        ...

    def submit(self, spec: JobSpec, script: str, job_id: Optional[str] = None) -> str:
        """Queue and record a job, returning its roost id; on refusal raise JobError and record nothing."""
        ...

    def status(self, job_ids: Sequence[str]) -> Dict[str, JobStatus]:
        """States of many jobs in one query; jobs the backend no longer knows are left out."""
        ...

    def cancel(self, job_ids: Sequence[str]) -> None: ...

    def launcher(self) -> str:
        """How --mpi launches under this backend: 'slurm' (srun) or 'local' (mpiexec)."""
        ...
