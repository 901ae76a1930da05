"""A read-only HOME for the environment commands and `roost tour`, and tour's --dir pointing at a file:
a clear error naming the place and what to do, nothing changed.

A read-only file system is a read-only bind mount (root ignores permission bits, so chmod would prove
nothing): these tests need root, as CI has.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from .env_helpers import Home, clear_error, home, roost, shared_uv_cache  # noqa: F401


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    if os.geteuid() != 0:
        pytest.skip("making a read-only mount needs root")
    subprocess.run(["mount", "--bind", str(directory), str(directory)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(directory)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(directory)], check=True)


@pytest.fixture
def read_only_home(home: Home) -> Iterator[Home]:  # noqa: F811 - the fixture imported above
    """HOME holding the envs (the default place) with one env `ci`, then made read-only."""
    environ = dict(home.environ)
    del environ["ROOST_ENVS_DIR"]  # the default: under HOME
    at = Home(home.root, home.root / ".local" / "share" / "roost" / "envs", home.user_config, environ)
    roost(at, "env", "create", "ci", "-q")
    with read_only(at.root):
        yield at


def manifest_of(at: Home) -> dict:
    return json.loads((at.envs / "ci" / ".roost" / "manifest.json").read_text())


def test_env_changes_on_a_read_only_home_fail_clearly_and_change_nothing(read_only_home: Home) -> None:
    before = manifest_of(read_only_home)
    clear_error(roost(read_only_home, "env", "create", "new", check=False), "Read-only file system",
                str(read_only_home.envs))
    clear_error(roost(read_only_home, "env", "install", "ci", "tomli", check=False), "Read-only file system")
    clear_error(roost(read_only_home, "env", "remove", "ci", check=False), "Read-only file system")
    assert manifest_of(read_only_home) == before
    assert "ci" in roost(read_only_home, "env", "list").stdout  # reading still works
    roost(read_only_home, "run", "-e", "ci", "python", "-c", "pass")


def test_tour_on_a_read_only_home_fails_clearly(read_only_home: Home) -> None:
    done = roost(read_only_home, "tour", "--no-mpi", check=False)
    clear_error(done, "cannot write the tour's module tree", "Read-only file system", "--dir")


def test_tour_dir_that_is_a_file_is_refused(home: Home) -> None:  # noqa: F811
    done = roost(home, "tour", "--no-mpi", "--dir", "/etc/passwd", check=False)
    clear_error(done, "cannot write the tour's module tree in /etc/passwd: it is a file, not a directory", "--dir")
