"""`module save` on a read-only HOME or a full disk: a clear error and a non-zero status in every shell, no empty
`.tmp` file left behind, and the collection saved before is kept.  The file systems are small tmpfs mounts
(read-only, or filled up), so these tests need root, as CI has."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from roost.modules.command import run

from .shells import SHELLS, run_in_shell, site_environ, status_of


def _mount_tmpfs(where: Path, options: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], check=True)


def _unmount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def site(tmp_path: Path) -> Dict[str, str]:
    (tmp_path / "mf" / "good").mkdir(parents=True)
    (tmp_path / "mf" / "good" / "1.0.lua").write_text('setenv("GOOD", "1")\n')
    return site_environ(tmp_path, tmp_path / "mf")


@pytest.fixture
def full_config(tmp_path: Path, site: Dict[str, str]) -> Iterator[Path]:
    """XDG_CONFIG_HOME on a 256 KiB tmpfs that holds a saved collection and is then filled to the last byte."""
    config = tmp_path / "config"
    _mount_tmpfs(config, "size=256k")
    try:
        site["XDG_CONFIG_HOME"] = str(config)
        saved = _module(["save", "work"], _loaded(site))
        assert saved.returncode == 0, saved.stderr
        with open(config / "filler", "wb", buffering=0) as handle:
            try:
                while True:
                    handle.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        yield config
    finally:
        _unmount(config)


@pytest.fixture
def read_only_home(tmp_path: Path, site: Dict[str, str]) -> Iterator[Path]:
    home = tmp_path / "rohome"
    _mount_tmpfs(home, "size=64k,ro")
    try:
        for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
            site.pop(name, None)
        site["HOME"] = str(home)
        yield home
    finally:
        _unmount(home)


def _module(argv: List[str], environ: Dict[str, str]) -> subprocess.CompletedProcess:
    """The module command in its own process (collections live where the process's environment says)."""
    return subprocess.run([sys.executable, "-m", "roost.modules.command", "bash", *argv], capture_output=True,
                          text=True, env=environ, timeout=60)


def _loaded(environ: Dict[str, str]) -> Dict[str, str]:
    """The environment after `module load good` (applied the way the python renderer's output is)."""
    code, messages, ok = run("python", ["load", "good"], environ=environ)
    assert ok, messages
    after = dict(environ)

    class FakeOs:
        environ = after

    exec(code, {"os": FakeOs})
    return after


def test_save_on_a_full_disk_is_an_error_that_keeps_the_saved_collection(full_config: Path,
                                                                          site: Dict[str, str]) -> None:
    before = (full_config / "roost" / "collections" / "work.json").read_bytes()
    result = _module(["--force", "save", "work"], dict(site, XDG_CONFIG_HOME=str(full_config)))  # now empty
    assert result.returncode == 1 and result.stdout == "false;\n"
    assert "cannot save the collection \"work\"" in result.stderr and "full" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(os.listdir(full_config / "roost" / "collections")) == ["work.json"]  # no .tmp left
    assert (full_config / "roost" / "collections" / "work.json").read_bytes() == before


@pytest.mark.parametrize("shell", SHELLS)
def test_save_on_a_read_only_home_fails_clearly_in_every_shell(shell: str, read_only_home: Path,
                                                              site: Dict[str, str], tmp_path: Path) -> None:
    body = "module load good\n" + status_of(shell, "module save", "save") + status_of(shell, "module save x", "x")
    result = run_in_shell(shell, body, site, tmp_path)
    assert "status save 1" in result.stdout and "status x 1" in result.stdout, result.stdout + result.stderr
    assert "error: cannot save the collection \"default\"" in result.stderr
    assert "Read-only file system" in result.stderr and "XDG_CONFIG_HOME" in result.stderr
    assert "Traceback" not in result.stderr
    assert os.listdir(read_only_home) == []
