"""Kernel and Jupyter commands given contradictory options or a full disk: a clear error, nothing written,
nothing left running."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator

import pytest

from .env_helpers import clear_error


def run(environ: Dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "roost", *args], capture_output=True, text=True, env=environ,
                          timeout=300)


@pytest.fixture
def user_environ(tmp_path: Path) -> Dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ROOST_", "JUPYTER", "XDG_"))}
    environ.update(HOME=str(tmp_path / "home"), JUPYTER_DATA_DIR=str(tmp_path / "home" / "jupyter"),
                   ROOST_SITE_CONFIG=str(tmp_path / "none"), ROOST_CONFIG=str(tmp_path / "none"))
    (tmp_path / "home").mkdir()
    return environ


@pytest.mark.parametrize("flags", [["--user", "--sys-prefix"], ["--sys-prefix", "--user"],
                                   ["--user", "--prefix", "P"], ["--sys-prefix", "--prefix", "P"]])
def test_kernel_install_into_two_places_is_refused(user_environ: Dict[str, str], tmp_path: Path, flags: list) -> None:
    flags = [str(tmp_path / "prefix") if flag == "P" else flag for flag in flags]
    done = run(user_environ, "kernel", "install", "k", "--python", sys.executable, *flags)
    clear_error(done, "name different kernel directories")
    assert not (tmp_path / "home" / "jupyter" / "kernels" / "k").exists()
    assert not (Path(sys.prefix) / "share" / "jupyter" / "kernels" / "k").exists()
    assert not (tmp_path / "prefix").exists()
    removed = run(user_environ, "kernel", "remove", "k", *flags)
    clear_error(removed, "name different kernel directories")


@contextlib.contextmanager
def full_file_system(directory: Path) -> Iterator[None]:
    """A 256 KiB tmpfs on ``directory``, filled up."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(directory)], check=True)
    try:
        with open(directory / "filler", "wb") as handle, contextlib.suppress(OSError):
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        yield
    finally:
        subprocess.run(["umount", str(directory)], check=True)


def test_jupyter_on_a_full_disk_fails_clearly_and_leaves_nothing(user_environ: Dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    user_environ["ROOST_DATA_DIR"] = str(data)
    with full_file_system(data):
        done = run(user_environ, "jupyter", "--backend", "local", "--timeout", "60")
        clear_error(done, "No space left on device", str(data))
        assert sorted(p.name for p in data.iterdir()) in (["filler"], ["filler", "jupyter"])
        assert not list((data / "jupyter").iterdir()) if (data / "jupyter").exists() else True
