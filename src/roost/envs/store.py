"""Where environments live, and atomic creation.

An env is a directory ``<envs dir>/<name>`` holding ``.roost/manifest.json`` (or a symlink to an adopted
prefix).  New envs are built in ``<envs dir>/.staging/<name>@<host>@<pid>@<random>`` and renamed into place
at the end: rename is atomic on one filesystem, so an interrupted create (error, Ctrl-C, kill -9) never
leaves a listed env.  Staging directories whose process is gone are swept by the next command.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import Iterator, List

from roost.envs import layout
from roost.envs.layout import NAME_RE, check_name
from roost.errors import EnvError
from roost.pids import pid_alive

__all__ = ["NAME_RE", "STAGING", "EnvStore", "check_name", "exists_error"]

STAGING = ".staging"
STALE_FOREIGN_SECONDS = 24 * 3600  # another host's staging dir: we cannot see its pid, so wait a day


class EnvStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / check_name(name)

    def exists(self, name: str) -> bool:
        path = self.path(name)
        return path.is_symlink() or path.exists()

    def names(self) -> List[str]:
        """Finished envs: visible entries holding a manifest (staging and caches start with a dot)."""
        try:
            entries = sorted(os.listdir(self.root))
        except FileNotFoundError:
            return []
        return [e for e in entries if not e.startswith(".") and layout.manifest_path(self.root / e).is_file()]

    @contextlib.contextmanager
    def staging(self, name: str) -> Iterator[Path]:
        """A fresh build directory beside the target; removed unless :meth:`commit` moved it into place.
        The caller holds the name's change lock (roost.envs.api.changing), so no other create races it."""
        import secrets
        import shutil
        import socket

        staging_root = self.root / STAGING
        staging_root.mkdir(parents=True, exist_ok=True)
        self.sweep()
        build = staging_root / f"{name}@{socket.gethostname()}@{os.getpid()}@{secrets.token_hex(4)}"
        if self.exists(name):  # checked again here: the caller holds the name's change lock
            raise exists_error(name)
        build.mkdir()
        try:
            yield build
        finally:
            if build.exists():
                shutil.rmtree(build, ignore_errors=True)

    def commit(self, build: Path, name: str) -> Path:
        target = self.path(name)
        if self.exists(name):
            raise exists_error(name)
        try:
            os.rename(build, target)
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                raise exists_error(name) from None
            raise
        return target

    def sweep(self) -> List[Path]:
        """Remove staging directories left by killed creates."""
        import shutil

        removed: List[Path] = []
        staging_root = self.root / STAGING
        try:
            entries = os.listdir(staging_root)
        except FileNotFoundError:
            return removed
        for entry in entries:
            path = staging_root / entry
            if path.is_dir() and _is_stale(entry, path):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        return removed

    def staging_dirs(self) -> List[Path]:
        staging_root = self.root / STAGING
        try:
            return [staging_root / e for e in os.listdir(staging_root) if (staging_root / e).is_dir()]
        except FileNotFoundError:
            return []


def exists_error(name: str) -> EnvError:
    return EnvError(
        f"an environment named {name!r} already exists",
        f"choose another name, or remove it first with `roost env remove {name}`",
    )


def _is_stale(entry: str, path: Path) -> bool:
    import socket

    parts = entry.split("@")  # '@' is in neither env names nor host names
    if len(parts) != 4:
        return True
    _, host, pid_text, _ = parts
    if host != socket.gethostname():
        return _age(path) > STALE_FOREIGN_SECONDS
    return not pid_text.isdigit() or not pid_alive(int(pid_text))


def _age(path: Path) -> float:
    import time

    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


