"""Run a short command with input and capture its output, without importing subprocess.

The Slurm backend calls sbatch, squeue, sacct and scancel this way: ``subprocess`` (with signal, threading,
selectors and locale behind it) costs a few milliseconds at every `roost submit`, as much as sbatch itself
on a quiet controller.  stdin, stdout and stderr are served together with poll(), so a chatty command can
never deadlock against a large script.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False  # typing is not imported at run time: `roost submit` is on a hot path
if TYPE_CHECKING:
    from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence
else:
    from roost._records import NamedTuple

_CHUNK = 65536


class Completed(NamedTuple):
    """What a finished command left: its exit code (negative: killed by that signal) and its output."""

    returncode: int
    stdout: str
    stderr: str


def run_captured(
    argv: Sequence[str], *, stdin: str = "", env: Optional[Mapping[str, str]] = None, timeout: float
) -> Completed:
    """Run ``argv`` (found on PATH) feeding it ``stdin``; FileNotFoundError when the program is missing,
    TimeoutError (after killing it) when it outlives ``timeout`` seconds."""
    stdin_read, stdin_write = os.pipe()
    stdout_read, stdout_write = os.pipe()
    stderr_read, stderr_write = os.pipe()
    actions = [
        (os.POSIX_SPAWN_DUP2, stdin_read, 0),
        (os.POSIX_SPAWN_DUP2, stdout_write, 1),
        (os.POSIX_SPAWN_DUP2, stderr_write, 2),
    ]
    try:
        pid = os.posix_spawnp(argv[0], list(argv), dict(os.environ if env is None else env), file_actions=actions)
    except BaseException:
        for fd in (stdin_write, stdout_read, stderr_read):
            os.close(fd)
        raise
    finally:  # the child has its copies (pipes are close-on-exec; dup2 onto 0-2 keeps those)
        for fd in (stdin_read, stdout_write, stderr_write):
            os.close(fd)
    try:
        outputs = _exchange(pid, stdin.encode(), stdin_write, stdout_read, stderr_read, time.monotonic() + timeout)
    except TimeoutError:
        _kill_and_reap(pid)
        raise
    _, status = os.waitpid(pid, 0)
    return Completed(
        os.waitstatus_to_exitcode(status),
        b"".join(outputs[stdout_read]).decode(errors="replace"),
        b"".join(outputs[stderr_read]).decode(errors="replace"),
    )


def _exchange(
    pid: int, data: bytes, stdin_fd: int, stdout_fd: int, stderr_fd: int, deadline: float
) -> Dict[int, List[bytes]]:
    """Write ``data`` to the child's stdin while reading its stdout and stderr until both close."""
    import select

    outputs: Dict[int, List[bytes]] = {stdout_fd: [], stderr_fd: []}
    poller = select.poll()
    open_fds = {stdout_fd, stderr_fd}
    for fd in open_fds:
        poller.register(fd, select.POLLIN)
    if data:
        os.set_blocking(stdin_fd, False)
        poller.register(stdin_fd, select.POLLOUT)
        open_fds.add(stdin_fd)
    else:
        os.close(stdin_fd)
    try:
        while open_fds:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"pid {pid} still running")
            for fd, _ in poller.poll(remaining * 1000):
                if fd == stdin_fd:
                    data = _feed(stdin_fd, data)
                    done = not data
                else:
                    chunk = os.read(fd, _CHUNK)
                    outputs[fd].append(chunk)
                    done = not chunk
                if done:
                    poller.unregister(fd)
                    open_fds.discard(fd)
                    os.close(fd)
    finally:
        for fd in open_fds:
            os.close(fd)
    return outputs


def _feed(fd: int, data: bytes) -> bytes:
    """Write what the pipe takes now; what is left (empty when done, or when the child stopped reading)."""
    try:
        return data[os.write(fd, data[:_CHUNK]) :]
    except BlockingIOError:
        return data
    except BrokenPipeError:
        return b""


def _kill_and_reap(pid: int) -> None:
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:  # already reaped: nothing to wait for
        return
    os.waitpid(pid, 0)
