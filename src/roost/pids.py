"""Whether a process on this host still runs (imports only os: job tasks and lock holders check it)."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs on this host (a zombie does not count: it holds nothing any more)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not is_zombie(pid)


def is_zombie(pid: int) -> bool:
    # A killed process whose parent has not reaped it yet is a zombie: what it held is abandoned.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read()
    except OSError:
        return False
    return ")" in stat and stat.rpartition(")")[2].split()[:1] == ["Z"]
