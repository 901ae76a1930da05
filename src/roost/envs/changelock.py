"""One change at a time per environment, with a lock that works where ``flock`` does not.

Every command that changes an env (create, import, install, sync, remove, adopt, pack) holds
``<envs dir>/.locks/<name>.lock`` while it runs.  The file is created with ``O_CREAT | O_EXCL``, which is
atomic on local disks and on the shared file systems of clusters (NFSv3 and later, Lustre, GPFS, BeeGFS).
``flock`` is not something to rely on there: Lustre mounted without it answers ENOSYS (uv users meet this as
"Could not acquire lock ... Function not implemented", astral-sh/uv#9050, #13626), and NFS turns it into a
POSIX lock that processes on the server itself do not see.

The file says who holds it (host, pid, the process's start time, what it does, since when, a random token),
so a second command can say what it waits for.  It waits up to ``envs.lock_timeout`` seconds, then fails
naming the holder.  A lock whose holder is gone is taken over:

* on this host, when its pid runs no longer, or runs another process (the start time differs);
* from another host, whose pids we cannot see, when the file's mtime stops moving: the holder touches it
  every HEARTBEAT seconds, and a waiter that sees the same mtime for STALE_SILENCE seconds of its *own*
  clock considers it abandoned (so clock skew between hosts does not matter).

Two waiters must not both remove a dead holder's lock (the second would remove the first one's new lock),
so a takeover is itself guarded by an ``O_EXCL`` file and removes the lock only if it still holds the dead
holder's token.  The holder that took over learns whose change was cut short (:attr:`Held.interrupted`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional, Tuple

from roost.errors import EnvError
from roost.pids import is_zombie, pid_alive

LOCKS = ".locks"
HEARTBEAT = 10.0
STALE_SILENCE = 60.0  # a lock from another host unchanged this long (by our clock) is abandoned
HALF_WRITTEN_SILENCE = 5.0  # a lock file without a readable owner: its creator died between open and write
TAKEOVER_STALE = 30.0  # a takeover guard older than this was left by a killed waiter


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    started: str  # /proc/PID/stat start time: tells a pid reused by another process apart
    what: str
    since: float
    token: str

    def describe(self) -> str:
        when = time.strftime("%H:%M:%S", time.localtime(self.since))
        return f"`{self.what}` (pid {self.pid} on {self.host}, since {when})"


@dataclass(frozen=True)
class Held:
    path: Path
    owner: Owner
    interrupted: Optional[Owner] = None  # the dead holder whose lock was taken over: its change may be partial


Progress = Callable[[str], None]
_HELD: Dict[Path, Held] = {}


def lock_path(envs_dir: Path, name: str) -> Path:
    return envs_dir / LOCKS / f"{name}.lock"


@contextlib.contextmanager
def hold(envs_dir: Path, name: str, what: str, *, timeout: float, progress: Progress) -> Iterator[Held]:
    """Hold env ``name``'s change lock for the ``with`` block (waiting up to ``timeout`` seconds for it)."""
    path = lock_path(envs_dir, name)
    if path in _HELD:  # this process already holds it (a change calling another): no waiting for ourselves
        yield _HELD[path]
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EnvError(
            f"cannot change environment {name!r}: cannot create {path.parent}: {exc.strerror}",
            "environments here are read-only for you; set envs.dir (or ROOST_ENVS_DIR) to a directory you can "
            "write",
        ) from None
    me = Owner(host=socket.gethostname(), pid=os.getpid(), started=process_start(os.getpid()) or "",
               what=what, since=time.time(), token=secrets.token_hex(8))
    held = _acquire(path, name, me, timeout, progress)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(path, me.token, stop), daemon=True)
    beat.start()
    _HELD[path] = held
    try:
        yield held
    finally:
        del _HELD[path]
        stop.set()
        beat.join()
        _release(path, me.token)


def process_start(pid: int) -> Optional[str]:
    """The start time of ``pid`` in clock ticks since boot (field 22 of /proc/PID/stat), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def _acquire(path: Path, name: str, me: Owner, timeout: float, progress: Progress) -> Held:
    deadline = time.monotonic() + timeout
    silence: Dict[Tuple[str, int], float] = {}  # (content, mtime) -> when we first saw it
    announced, delay = "", 0.05
    interrupted: Optional[Owner] = None
    while True:
        if _create(path, me):
            return Held(path, me, interrupted)
        seen = _peek(path)
        if seen is None:
            continue  # released between our attempt and our look: try again at once
        raw, mtime = seen
        first = silence.setdefault((raw, mtime), time.monotonic())
        owner = _parse(raw)
        if _abandoned(owner, time.monotonic() - first) and _take_over(path, raw):
            interrupted = owner or interrupted
            continue
        holder = owner.describe() if owner else "a command that is starting"
        if announced != raw:
            progress(f"environment {name!r} is being changed by {holder}: waiting up to {timeout:.0f} s")
            announced = raw
        if time.monotonic() >= deadline:
            raise EnvError(
                f"environment {name!r} is being changed by {holder}",
                f"run this again when it has finished (envs.lock_timeout, now {timeout:.0f} s, sets how long to "
                f"wait); if that process is gone, remove {path}",
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)


def _create(path: Path, me: Owner) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    except OSError as exc:
        raise EnvError(
            f"cannot create the change lock {path}: {exc.strerror}",
            "environments here are read-only for you; set envs.dir (or ROOST_ENVS_DIR) to a directory you can "
            "write",
        ) from None
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(me), handle)
        handle.flush()
        os.fsync(handle.fileno())
    return True


def _peek(path: Path) -> Optional[Tuple[str, int]]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(), os.fstat(handle.fileno()).st_mtime_ns
    except FileNotFoundError:
        return None


def _parse(raw: str) -> Optional[Owner]:
    try:
        data = json.loads(raw)
        return Owner(**{k: data[k] for k in Owner.__dataclass_fields__})
    except (ValueError, KeyError, TypeError):
        return None


def _abandoned(owner: Optional[Owner], unchanged_for: float) -> bool:
    if owner is None:
        return unchanged_for >= HALF_WRITTEN_SILENCE
    if owner.host != socket.gethostname():
        return unchanged_for >= STALE_SILENCE
    if not os.path.isdir("/proc/self"):  # no procfs: the pid is all we can check
        return not pid_alive(owner.pid)
    started = process_start(owner.pid)
    return started is None or (bool(owner.started) and started != owner.started) or is_zombie(owner.pid)


def _take_over(path: Path, raw: str) -> bool:
    """Remove the lock if it still is ``raw`` (the abandoned one); one waiter at a time."""
    guard = path.with_name(path.name + ".takeover")
    try:
        fd = os.open(guard, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        with contextlib.suppress(OSError):
            if time.time() - guard.stat().st_mtime > TAKEOVER_STALE:
                guard.unlink()
        return False
    try:
        seen = _peek(path)
        if seen is None or seen[0] != raw:
            return False
        path.unlink()
        return True
    finally:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            guard.unlink()


def _heartbeat(path: Path, token: str, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT):
        seen = _peek(path)
        if seen is None or token not in seen[0]:
            return  # taken over (we were silent too long): nothing of ours to refresh
        with contextlib.suppress(OSError):
            os.utime(path)


def _release(path: Path, token: str) -> None:
    seen = _peek(path)
    owner = _parse(seen[0]) if seen else None
    if owner is not None and owner.token == token:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
