"""Process trees: signal a job's processes, and recognise the supervisors of the local backend."""

from __future__ import annotations

import errno
import os
from typing import Any, Dict, List


def kill_tree(root: int, signum: int) -> None:
    """Signal a process, its process group and every descendant found in /proc."""
    targets = [root, *_descendants(root)]
    with ignore_missing_process():
        os.killpg(root, signum)
    for pid in targets:
        with ignore_missing_process():
            os.kill(pid, signum)


def tree_rss(root: int) -> int:
    """Resident memory (bytes) of a process and its descendants, summed as Slurm's jobacct_gather/linux does
    (pages shared between them count more than once).  0 where there is no /proc."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in (root, *_descendants(root)):
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total


def _descendants(root: int) -> List[int]:
    children: Dict[int, List[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        parent = int(stat.rsplit(b")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found: List[int] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


class ignore_missing_process:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool:
        return isinstance(value, ProcessLookupError) or (
            isinstance(value, PermissionError) and value.errno == errno.EPERM
        )


def is_supervisor(pid: int) -> bool:
    """Guard against a recycled pid: only signal a process that is one of our supervisors."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"roost.jobs.runner" in handle.read()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc (macOS): trust the record
