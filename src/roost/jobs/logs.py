"""Where a job's output goes: Slurm's filename patterns (%j %A %a %x %u %N %%), resolved for both backends."""

from __future__ import annotations

import getpass
import socket
from pathlib import Path
from typing import List, Optional

from roost.jobs.store import JobRecord


def expand_pattern(pattern: str, *, job_id: str, task: Optional[int], name: str) -> str:
    """Slurm's filename patterns: %j %A %a %x %u %N %%.  A pattern holding a backslash is taken as it is,
    without its backslashes and without replacements (as sbatch does)."""
    if "\\" in pattern:
        return pattern.replace("\\", "")
    values = {
        "j": job_id if task is None else f"{job_id}_{task}",
        "A": job_id,
        "a": "" if task is None else str(task),
        "x": name,
        "u": getpass.getuser(),
        "N": socket.gethostname().split(".")[0],
        "%": "%",
    }
    out: List[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "%" and index + 1 < len(pattern) and pattern[index + 1] in values:
            out.append(values[pattern[index + 1]])
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def log_path(record: JobRecord, task: Optional[int], stream: str) -> Path:
    """Where a job (or array task) writes ``stdout`` or ``stderr``, following the job's patterns."""
    spec = record.spec
    if stream == "stderr":
        pattern = spec.error or (spec.output if spec.output else spec.default_error())
    else:
        pattern = spec.output or spec.default_output()
    path = Path(expand_pattern(pattern, job_id=record.native_id, task=task, name=record.name))
    return path if path.is_absolute() else Path(record.workdir) / path
