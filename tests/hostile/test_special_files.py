"""FIFOs, devices and huge files in MODULEPATH: nothing hangs, nothing is read without bound, and the other
modules of the tree stay listed, searchable and loadable.  Only directories and regular files are walked; a
modulefile is read up to a cap (4 MiB)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from .shells import site_environ

TIMEOUT = 30  # a hang shows as a timeout; each command takes well under a second


def _special_tree(root: Path) -> Path:
    tree = root / "mf"
    for name in ("good", "fifo", "fifotcl", "zero", "ziprc", "big", "rcfifo"):
        (tree / name).mkdir(parents=True)
    (tree / "good" / "1.0.lua").write_text('whatis("Description: the good one")\nsetenv("GOOD", "1")\n')
    os.mkfifo(tree / "fifo" / "1.0.lua")
    os.mkfifo(tree / "fifotcl" / "1.0")  # no .lua: the walk would open it to look for #%Module
    (tree / "zero" / "1.0.lua").symlink_to("/dev/zero")
    (tree / "ziprc" / "1.0.lua").write_text('setenv("ZIPRC", "1")\n')
    (tree / "ziprc" / ".modulerc.lua").symlink_to("/dev/zero")
    (tree / "rcfifo" / "1.0.lua").write_text('setenv("RCFIFO", "1")\n')
    os.mkfifo(tree / "rcfifo" / ".version")
    with open(tree / "big" / "1.0.lua", "wb") as handle:  # sparse: 64 MiB of nothing, instantly
        handle.truncate(64 << 20)
    os.mkfifo(tree / ".modulerc")
    return tree


@pytest.fixture
def environ(tmp_path: Path) -> Dict[str, str]:
    return site_environ(tmp_path, _special_tree(tmp_path))


def _module(environ: Dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "roost.modules.command", "bash", *argv], capture_output=True,
                          text=True, env=environ, timeout=TIMEOUT, errors="surrogateescape")


@pytest.mark.parametrize("argv", [["avail"], ["-t", "avail"], ["spider"], ["spider", "good"], ["keyword", "good"],
                                  ["-t", "spider"]], ids=" ".join)
def test_listing_and_searching_a_tree_with_fifos_and_devices_finishes_and_shows_the_rest(
        environ: Dict[str, str], argv: List[str]) -> None:
    for _ in range(2):  # cold, then with warm caches
        result = _module(environ, *argv)
        assert result.returncode == 0, result.stderr
        assert "good" in result.stderr
        assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr


def test_loading_beside_fifos_and_devices_works(environ: Dict[str, str]) -> None:
    result = _module(environ, "load", "good", "ziprc", "rcfifo")
    assert result.returncode == 0, result.stderr
    assert "export GOOD='1'" in result.stdout and "export RCFIFO='1'" in result.stdout


@pytest.mark.parametrize("name", ["fifo", "fifotcl", "zero"])
def test_a_fifo_or_device_is_not_a_module(environ: Dict[str, str], name: str) -> None:
    result = _module(environ, "load", name)
    assert result.returncode == 1 and result.stdout == "false;\n"
    assert f'the module "{name}" is unknown' in result.stderr


def test_a_huge_modulefile_is_refused_without_reading_it_all(environ: Dict[str, str]) -> None:
    result = _module(environ, "load", "good", "big")
    assert result.returncode == 1 and result.stdout == "false;\n"  # all or nothing: good is not loaded either
    assert "big/1.0" in result.stderr and "larger than 4 MiB" in result.stderr, result.stderr
    assert "MemoryError" not in result.stderr


def test_a_modulefile_behind_a_link_to_a_device_is_refused_when_named_directly(environ: Dict[str, str]) -> None:
    from roost.errors import ModulefileError
    from roost.modules.spider import describe

    device = str(Path(environ["MODULEPATH"]) / "zero" / "1.0.lua")  # `module show` of a loaded module reads so
    with pytest.raises(ModulefileError, match="not a regular file"):
        describe(device, "lua", "zero/1.0", "show", environ)
