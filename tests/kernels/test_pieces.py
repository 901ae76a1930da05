"""The small pure pieces of kernels and roost jupyter, on their own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from roost.errors import KernelError, RoostError
from roost.kernels.launch import with_recorded_modulepath
from roost.kernels.prepare import parse_assignments
from roost.kernels.recipe import Recipe
from roost.kernels.server import Session
from roost.kernels.spec import check_kernel_name


def test_recorded_modulepath_is_appended_not_imposed() -> None:
    environ = {"MODULEPATH": "/site/a:/site/b"}
    assert with_recorded_modulepath(environ, "/site/b:/old/c")["MODULEPATH"] == "/site/a:/site/b:/old/c"
    assert with_recorded_modulepath({}, "/old/c")["MODULEPATH"] == "/old/c"
    assert with_recorded_modulepath(environ, None) is environ


def test_assignments_keep_order_and_literal_values() -> None:
    parsed = parse_assignments(["B=2", "A=x=y", "C=", "B=3"])
    assert list(parsed.items()) == [("B", "3"), ("A", "x=y"), ("C", "")]
    with pytest.raises(KernelError, match="has no '='"):
        parse_assignments(["NOPE"])
    with pytest.raises(RoostError, match="not a valid environment variable name"):
        parse_assignments(["A-B=1"])


def test_kernel_names_follow_jupyter() -> None:
    assert check_kernel_name("Torch-2.3_cpu") == "torch-2.3_cpu"
    for bad in ("", "a b", "a/b", "ü"):
        with pytest.raises(KernelError):
            check_kernel_name(bad)


def test_recipe_round_trip() -> None:
    recipe = Recipe("k", "/p/bin/python", ["gcc/12"], "/mods", "env", "/envs/env", {"A": "1"})
    assert Recipe.from_json(recipe.to_json()) == recipe
    assert Recipe.from_json({"name": "k", "python": "/p"}).modules == []


def test_session_urls_and_tunnel(tmp_path: Path) -> None:
    session = Session(id="s", directory=tmp_path, token="T", mode="notebook", root_dir="/", recipe=Recipe("j", "/p"),
                      server_python="/p", kernel_display_name="Python", user="me", login_host="login1")
    assert session.url is None and session.ssh_command is None
    session.node, session.port = "node7", 40000
    assert session.url == "http://node7:40000/tree?token=T"
    assert session.local_url == "http://localhost:40000/tree?token=T"
    assert session.ssh_command == "ssh -N -L 40000:node7:40000 me@login1"


def test_launcher_usage_and_unreadable_spec(tmp_path: Path) -> None:
    launcher = [sys.executable, "-m", "roost.kernels.launch"]
    usage = subprocess.run([*launcher, "only-one-arg"], capture_output=True, text=True)
    assert usage.returncode == 2 and "usage:" in usage.stderr
    missing = tmp_path / "gone" / "kernel.json"
    done = subprocess.run([*launcher, str(missing), "-f", "conn.json"], capture_output=True, text=True)
    assert done.returncode == 1
    assert "roost kernel 'gone' cannot start: cannot read" in done.stderr and "hint:" in done.stderr
