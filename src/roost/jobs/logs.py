"""Where a job's output goes: Slurm's filename patterns (%j %A %a %x %u %N %%), resolved for both backends."""

from __future__ import annotations

import getpass
import socket
from pathlib import Path
from typing import List, Optional

from roost.jobs.store import JobRecord

# What Slurm writes for %a in a job that is not an array (its NO_VAL).
NO_ARRAY_TASK = "4294967294"


def expand_pattern(pattern: str, *, job_id: str, task: Optional[int], name: str) -> str:
    """Slurm's filename patterns: %j %J %A %a %x %u %N %%, with an optional zero-padding width (%5j).  A
    pattern holding a backslash is taken as it is, without its backslashes and without replacements (as sbatch
    does)."""
    if "\\" in pattern:
        return pattern.replace("\\", "")
    own_id = job_id if task is None else f"{job_id}_{task}"
    values = {
        "j": own_id,
        "J": own_id,  # jobid.stepid; a batch script's output has no step, so Slurm writes the job id
        "A": job_id,
        "a": NO_ARRAY_TASK if task is None else str(task),
        "x": name,
        "u": getpass.getuser(),
        "N": socket.gethostname().split(".")[0],
    }
    out: List[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        width = index + 1
        while width < len(pattern) and pattern[width].isdigit() and width - index <= 1:
            width += 1
        letter = pattern[width] if width < len(pattern) else ""
        if char == "%" and letter == "%" and width == index + 1:
            out.append("%")
            index += 2
        elif char == "%" and letter in values:
            value = values[letter]
            padding = int(pattern[index + 1 : width] or 0)
            out.append(value.rjust(padding, "0") if value.isdigit() and letter in "jJAa" else value)
            index = width + 1
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
