"""Start-up images: what relocation rewrites, and that a packed env runs from a copy somewhere else."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.envs import relocate
from roost.envs.nodeimage import lock_digest
from roost.shell.render import relocatable_script_header

from .conftest import PYTHON
from .packed import isolated_environ, roost

pytestmark = pytest.mark.service("squashfs")


# ------------------------------------------------------------------------------------------ units


def _runnable_copy(tmp_path: Path, script: bytes) -> Path:
    """A bin/ with a python beside the script, in a directory that has nothing to do with where it was made."""
    bin_dir = tmp_path / "moved here" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python3.12").symlink_to(sys.executable)
    path = bin_dir / "tool"
    path.write_bytes(script)
    path.chmod(0o755)
    return path


ENTRY_POINT_BODY = b"# -*- coding: utf-8 -*-\nimport sys\nprint('ran', sys.executable, sys.argv[1:])\n"


@pytest.mark.parametrize(
    "header",
    [
        b"#!/old/env/bin/python3.12\n",  # what pip and conda write
        b"#!/bin/sh\n'''exec' /old/env/bin/python3.12 \"$0\" \"$@\"\n' '''\n",  # pip's form for long paths
    ],
    ids=["shebang", "pip-long-path"],
)
def test_scripts_naming_the_old_prefix_run_the_python_beside_them(tmp_path: Path, header: bytes) -> None:
    rewritten = relocate.relocated_script(header + ENTRY_POINT_BODY, "/old/env")
    assert rewritten is not None and b"/old/env" not in rewritten
    tool = _runnable_copy(tmp_path, rewritten)
    done = subprocess.run([str(tool), "a b", "$HOME"], capture_output=True, text=True, check=True)
    assert done.stdout == f"ran {tool.parent / 'python3.12'} ['a b', '$HOME']\n"


@pytest.mark.parametrize(
    "script",
    [
        b"#!/bin/bash\necho /old/env/bin/x\n",  # another interpreter
        b"#!/usr/bin/python3\nprint(1)\n",  # a python outside the env
        b"#!/old/env/bin/perl\nprint 1\n",  # not python
        b"\x7fELF\x02\x01\x01\x00/old/env/bin/python",  # a binary
        relocatable_script_header("python").encode() + b"print(1)\n",  # already relocatable (uv)
    ],
)
def test_other_files_in_bin_are_left_alone(script: bytes) -> None:
    assert relocate.relocated_script(script, "/old/env") is None


_SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._- ", min_size=1, max_size=12).filter(
    lambda s: s not in (".", "..")
)


@given(inside=st.lists(_SEGMENT, min_size=1, max_size=4), outside=st.lists(_SEGMENT, min_size=1, max_size=3))
def test_pth_paths_inside_the_prefix_become_relative_and_point_at_the_same_place(inside: list, outside: list) -> None:
    prefix, site = "/old/env", "/old/env/lib/python3.12/site-packages"
    lines = [os.path.join(prefix, *inside), "/elsewhere/" + "/".join(outside), "import sys; sys.flags"]
    rewritten = relocate.relocated_pth("\n".join(lines).encode(), prefix, site)
    assert rewritten is not None
    new_lines = rewritten.decode().split("\n")
    assert new_lines[1:] == lines[1:]  # other directories, and code, are copied as they were
    assert not os.path.isabs(new_lines[0])
    # site.py joins a relative line to the .pth file's directory: from a copy at /new/place, same file
    moved_site = site.replace(prefix, "/new/place")
    assert os.path.normpath(os.path.join(moved_site, new_lines[0])) == os.path.join("/new/place", *inside)


def test_digest_follows_the_lock_only() -> None:
    manifest = {"kind": "venv", "python": {"path": "/p"}, "lock": [{"name": "six", "version": "1.17.0"}]}
    touched = dict(manifest, updated="today", requested=["six"])
    assert lock_digest(manifest) == lock_digest(touched)
    assert lock_digest(manifest) != lock_digest(dict(manifest, lock=[{"name": "six", "version": "1.16.0"}]))


# ------------------------------------------------------------------------------ real envs, moved


@pytest.fixture
def hidden(tmp_path: Path) -> Iterator[list]:
    """Prefixes renamed away while a copy runs (proof that the copy never reaches back); restored after."""
    moved: list = []
    yield moved
    for original, away in moved:
        os.rename(away, original)


def _extract(image: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["unsquashfs", "-no-progress", "-quiet", "-d", str(destination), str(image)], check=True)


def _hide(prefix: Path, hidden: list) -> None:
    away = prefix.with_name(prefix.name + ".away")
    os.rename(prefix, away)
    hidden.append((prefix, away))


def _site_packages(prefix: Path) -> Path:
    return next((prefix / "lib").glob("python3.*/site-packages"))


def test_uv_venv_runs_from_its_image_elsewhere(tmp_path: Path, uv_cache: Path, hidden: list) -> None:
    environ = isolated_environ(tmp_path, uv_cache)
    (tmp_path / "site.toml").write_text("[envs]\nseed_pip = true\n")  # pip: `python -m pip list` must work
    roost(environ, "env", "create", "moved", "--python", str(PYTHON), "six", "-q")
    prefix = tmp_path / "envs" / "moved"
    site = _site_packages(prefix)
    (prefix / "extra").mkdir()
    (prefix / "extra" / "inside_mod.py").write_text("WHERE = __file__\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "outside_mod.py").write_text("WHERE = __file__\n")
    (site / "extra.pth").write_text(f"{prefix}/extra\n{tmp_path}/src\n")  # as editable installs write them
    packed = json.loads(roost(environ, "env", "pack", "moved", "--json").stdout)
    assert packed["format"] == "squashfs" and packed["rewritten"] == ["lib/python3.12/site-packages/extra.pth"]
    copy = tmp_path / "node" / "copy"
    _extract(Path(packed["image"]), copy)
    _hide(prefix, hidden)
    code = "import sys, six, inside_mod as i, outside_mod as o; print(sys.prefix, six.__file__, i.WHERE, o.WHERE)"
    out = subprocess.run(
        [str(copy / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True, env=environ
    ).stdout.split()
    site_copy = _site_packages(copy)
    assert out == [str(copy), str(site_copy / "six.py"), str(copy / "extra" / "inside_mod.py"),
                   str(tmp_path / "src" / "outside_mod.py")]  # fmt: skip
    pip_list = subprocess.run(
        [str(copy / "bin" / "python"), "-m", "pip", "list"], capture_output=True, text=True, env=environ
    )
    assert pip_list.returncode == 0 and "six" in pip_list.stdout
    entry_point = subprocess.run([str(copy / "bin" / "pip"), "--version"], capture_output=True, text=True, env=environ)
    assert entry_point.returncode == 0 and str(site_copy) in entry_point.stdout
    # imports find their bytecode in the image (a read-only mount could not take new __pycache__ files)
    assert list((site_copy / "__pycache__").glob("six.cpython-312.pyc"))


@pytest.mark.skipif(shutil.which("squashfuse") is None, reason="squashfuse is installed by the services")
def test_pip_venv_scripts_are_rewritten_for_the_image(tmp_path: Path, uv_cache: Path, hidden: list) -> None:
    environ = isolated_environ(tmp_path, uv_cache)
    (tmp_path / "site.toml").write_text('[envs]\ninstaller = "pip"\n')  # python -m venv + pip: absolute shebangs
    roost(environ, "env", "create", "pipenv", "--python", str(PYTHON), "six", "-q")
    prefix = tmp_path / "envs" / "pipenv"
    assert (prefix / "bin" / "pip").read_text().startswith(f"#!{prefix}/bin/python")
    packed = json.loads(roost(environ, "env", "pack", "pipenv", "--json").stdout)
    assert {"bin/pip", "bin/pip3"} <= set(packed["rewritten"])
    copy = tmp_path / "node" / "copy"
    _extract(Path(packed["image"]), copy)
    _hide(prefix, hidden)
    version = subprocess.run([str(copy / "bin" / "pip"), "--version"], capture_output=True, text=True, env=environ)
    assert version.returncode == 0, version.stderr
    assert str(_site_packages(copy)) in version.stdout
    listed = subprocess.run([str(copy / "bin" / "python"), "-m", "pip", "list"], capture_output=True, text=True)
    assert "six" in listed.stdout


def test_show_reports_the_image_and_the_files_it_replaces(tmp_path: Path, uv_cache: Path) -> None:
    environ = isolated_environ(tmp_path, uv_cache)
    roost(environ, "env", "create", "shown", "--python", str(PYTHON), "six", "-q")
    before = json.loads(roost(environ, "env", "show", "shown", "--json").stdout)
    assert before["image"] == {"packed": False, "opted_out": False}
    roost(environ, "env", "pack", "shown", "-q")
    shown = json.loads(roost(environ, "env", "show", "shown", "--json").stdout)["image"]
    assert shown["packed"] and shown["current"] and shown["size_bytes"] == Path(shown["image"]).stat().st_size
    prefix = tmp_path / "envs" / "shown"
    own = sum(len(d) + len(f) for root, d, f in os.walk(prefix) if ".roost" not in Path(root).relative_to(prefix).parts)
    assert shown["files"] == own - 1  # the env's own files (.roost aside), each an inode on the shared file system
    text = roost(environ, "env", "show", "shown").stdout
    assert f"one file for jobs instead of {shown['files']}" in text
    roost(environ, "env", "pack", "shown", "--off", "-q")
    assert not Path(shown["image"]).exists()
    assert json.loads(roost(environ, "env", "show", "shown", "--json").stdout)["image"]["opted_out"]


def test_install_rebuilds_the_image_and_auto_files_packs_big_envs(tmp_path: Path, uv_cache: Path) -> None:
    environ = isolated_environ(tmp_path, uv_cache)
    environ["ROOST_PACK_AUTO_FILES"] = "20"  # any env is "big" here
    roost(environ, "env", "create", "auto", "--python", str(PYTHON), "six", "-q")
    first = json.loads(roost(environ, "env", "show", "auto", "--json").stdout)["image"]
    assert first["packed"] and first["current"]
    roost(environ, "env", "install", "auto", "tomli", "-q")
    second = json.loads(roost(environ, "env", "show", "auto", "--json").stdout)["image"]
    assert second["current"] and second["digest"] != first["digest"]
    assert not Path(first["image"]).exists()  # one image per env: the old one is gone
    environ["ROOST_PACK_AUTO_FILES"] = "0"
    roost(environ, "env", "pack", "auto", "--off", "-q")
    roost(environ, "env", "install", "auto", "packaging", "-q")
    assert not json.loads(roost(environ, "env", "show", "auto", "--json").stdout)["image"]["packed"]


def test_symlinks_into_the_prefix_become_relative(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "lib").mkdir()
    (prefix / "lib" / "real.so").write_text("x")
    (prefix / "bin" / "python3.12").symlink_to(sys.executable)  # the base interpreter, outside: kept
    (prefix / "bin" / "python").symlink_to(prefix / "bin" / "python3.12")  # absolute, inside: made relative
    (prefix / "lib" / "alias.so").symlink_to(prefix / "lib" / "real.so")
    (prefix / "bin" / "python3").symlink_to("python")  # relative already
    copy = tmp_path / "elsewhere" / "copy"
    rewritten = relocate.copy_relocatable(prefix, copy)
    assert rewritten == ["bin/python", "lib/alias.so"]
    assert os.readlink(copy / "bin" / "python") == "python3.12"
    assert os.readlink(copy / "lib" / "alias.so") == "real.so"
    assert os.readlink(copy / "bin" / "python3.12") == sys.executable
    assert os.readlink(copy / "bin" / "python3") == "python"
    assert (copy / "lib" / "real.so").stat().st_ino == (prefix / "lib" / "real.so").stat().st_ino  # a hard link


def test_conda_prefix_scripts_run_from_the_image_elsewhere(tmp_path: Path, uv_cache: Path, hidden: list) -> None:
    """A conda env whose entry point names the prefix's python (as conda writes them): rewritten; a data file
    conda wrote the prefix into keeps naming the shared copy (documented)."""
    pytest.importorskip("rattler")
    from .conda_channel import PLACEHOLDER, index, make_package

    channel = tmp_path / "channel"
    shim = f"#!/bin/sh\nexec {sys.executable} \"$@\"\n"  # stands in for conda's python: runs the script given
    make_package(channel, "python", "3.12", files={"bin/python3": shim})
    greet = f"#!{PLACEHOLDER}/bin/python3\nimport sys\nprint('greet from', sys.argv[0])\n"
    make_package(channel, "greet", "1.0", depends=["python"], files={"bin/greet": greet}, prefix_files=["bin/greet"])
    make_package(channel, "data", "1.0", files={"etc/where": f"{PLACEHOLDER}\n"}, prefix_files=["etc/where"])
    index(channel)
    environ = isolated_environ(tmp_path, uv_cache)
    environ["ROOST_CONDA_CHANNELS"] = str(channel)
    roost(environ, "env", "create", "c", "--kind", "conda", "greet", "data", "-q")
    prefix = tmp_path / "envs" / "c"
    assert (prefix / "bin" / "greet").read_text().startswith(f"#!{prefix}/bin/python3")
    packed = json.loads(roost(environ, "env", "pack", "c", "--json").stdout)
    assert packed["rewritten"] == ["bin/greet"]
    copy = tmp_path / "node" / "copy"
    _extract(Path(packed["image"]), copy)
    assert (copy / "etc" / "where").read_text() == f"{prefix}\n"
    _hide(prefix, hidden)
    done = subprocess.run([str(copy / "bin" / "greet")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"greet from {copy / 'bin' / 'greet'}\n"


def test_tar_images_are_staged_where_there_is_no_mksquashfs(tmp_path: Path, uv_cache: Path) -> None:
    from roost.config import PackConfig
    from roost.envs import nodeimage

    environ = isolated_environ(tmp_path, uv_cache)
    roost(environ, "env", "create", "tarred", "--python", str(PYTHON), "six", "-q")
    packed = json.loads(roost(environ, "env", "pack", "tarred", "--format", "tar", "--json").stdout)
    assert packed["format"] == "tar" and packed["image"].endswith(".tar.gz")
    prefix = tmp_path / "envs" / "tarred"
    plan = nodeimage.job_plan("tarred", str(prefix), PackConfig(), {})
    assert plan is not None
    task_environ = dict(environ, VIRTUAL_ENV=str(prefix), PATH=f"{prefix}/bin:{environ['PATH']}")
    argv = [*nodeimage.wrapper_argv(plan), "python", "-c", "import sys, six; print(sys.prefix)"]
    done = subprocess.run(argv, capture_output=True, text=True, env=task_environ)
    assert done.returncode == 0, done.stderr
    assert "start-up image staged" in done.stderr
    assert Path(done.stdout.strip()).is_relative_to(tmp_path / "node-local")


def test_archive_members_that_would_leave_the_copy_are_refused() -> None:
    import tarfile

    from roost.envs import nodeimage

    def member(name: str, link: Optional[str] = None) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        if link is not None:
            info.type, info.linkname = tarfile.SYMTYPE, link
        return info

    members = [
        member("bin/python", "/usr/bin/python3.12"),  # a venv's interpreter: kept
        member("bin/python3", "python"),
        member("lib/a.so"),
        member("escape", "../../etc"),  # a link may point anywhere, but nothing is written through it
        member("escape/passwd"),
        member("../evil"),
        member("/abs"),
        member("bin/python/x"),
    ]
    kept = [m.name for m in nodeimage.safe_members(members)]
    assert kept == ["bin/python", "bin/python3", "lib/a.so", "escape"]
