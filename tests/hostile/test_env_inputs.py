"""Unlucky input to the environment commands: bytes that are not UTF-8 in names, arguments, paths and files;
empty and binary spec files; export targets that cannot be written; ``$VAR`` in ROOST_ENVS_DIR.

Each is a clear ``error:``/``hint:`` with nothing created or half-written, never a traceback — or, for a
path, simply works.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roost import config as config_mod
from roost.errors import EnvError

from .env_helpers import Arg, Home, clear_error, home, roost, shared_uv_cache  # noqa: F401

# What os.fsdecode makes of bytes that are not UTF-8 (a lone surrogate per byte), and control characters
BAD_TEXT = st.one_of(
    st.binary(min_size=1, max_size=8).filter(lambda b: not _is_utf8(b)).map(os.fsdecode),
    st.sampled_from(["\n", "\r", "\x00", "\x1b", "\x7f"]),
)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.fixture
def ci(home: Home) -> Home:  # noqa: F811 - the fixture imported above
    roost(home, "env", "create", "ci", "-q")
    return home


def env_names(at: Home) -> list:
    return sorted(p.name for p in at.envs.iterdir() if not p.name.startswith(".")) if at.envs.exists() else []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from(["", "numpy", "a=="]), bad=BAD_TEXT)
def test_package_argument_that_is_not_one_line_of_text_is_refused_before_anything_is_made(
    tmp_path: Path, prefix: str, bad: str
) -> None:
    from roost.envs import api

    config = config_mod.load({"HOME": str(tmp_path), "ROOST_ENVS_DIR": str(tmp_path / "envs"),
                              "ROOST_SITE_CONFIG": str(tmp_path / "none"), "ROOST_CONFIG": str(tmp_path / "none")})
    with pytest.raises(EnvError, match="package argument") as raised:
        api.create("x", packages=[prefix + bad], config=config)
    assert raised.value.hint
    assert not (tmp_path / "envs" / "x").exists()


def test_cli_package_argument_with_non_utf8_bytes_is_refused_as_typed(ci: Home) -> None:
    created = roost(ci, "env", "create", "x", b"\xff", check=False)
    clear_error(created, "package argument '\\xff'", "not UTF-8")
    installed = roost(ci, "env", "install", "ci", b"tomli\xfe", check=False)
    clear_error(installed, "package argument 'tomli\\xfe'")
    assert env_names(ci) == ["ci"]


@pytest.mark.parametrize("name", [b"\xff", b"ci\xfe", b"a\nb"])
def test_env_name_that_is_not_text_is_refused_as_typed(home: Home, name: bytes) -> None:  # noqa: F811
    commands: List[List[Arg]] = [["env", "create", name], ["env", "show", name], ["env", "remove", name],
                                 ["run", "-e", name, "true"]]
    for command in commands:
        done = roost(home, *command, check=False)
        shown = name.decode("utf-8", "backslashreplace").replace("\n", "\\n")
        clear_error(done, f"'{shown}' is not a valid environment name")


def test_requirements_file_that_is_not_utf8_is_refused_naming_file_and_line(home: Home) -> None:  # noqa: F811
    requirements = home.root / "req.txt"
    requirements.write_bytes(b"tomli\n# caf\xe9\npackaging\n")
    done = roost(home, "env", "create", "x", "-r", requirements, check=False)
    clear_error(done, f"{requirements} is not UTF-8 text (line 2)")
    assert env_names(home) == []


def test_requirements_file_whose_path_is_not_utf8_works(home: Home) -> None:  # noqa: F811
    requirements = Path(os.fsdecode(bytes(home.root) + b"/r\xff.txt"))
    requirements.write_text("iniconfig\n")
    roost(home, "env", "create", "x", "-r", os.fsencode(requirements), "-q")
    assert env_names(home) == ["x"]
    missing = roost(home, "env", "create", "y", "-r", bytes(home.root) + b"/gone\xfe.txt", check=False)
    clear_error(missing, "gone\\xfe.txt")


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", bytes(range(256))])
def test_import_of_a_binary_file_is_refused_and_creates_nothing(home: Home, content: bytes) -> None:  # noqa: F811
    spec = home.root / "spec.bin"
    spec.write_bytes(content)
    done = roost(home, "env", "import", spec, "x", check=False)
    clear_error(done, f"{spec} is not UTF-8 text")
    assert env_names(home) == []


@pytest.mark.parametrize("content", ["", "\n\n", "# just a comment\n"])
def test_import_of_an_empty_file_creates_nothing(home: Home, content: str) -> None:  # noqa: F811
    spec = home.root / "empty.txt"
    spec.write_text(content)
    done = roost(home, "env", "import", spec, "x", check=False)
    clear_error(done, f"{spec} holds nothing to import")
    assert env_names(home) == []


def test_export_where_no_file_can_be_written_is_refused(ci: Home, tmp_path: Path) -> None:
    missing = roost(ci, "env", "export", "ci", "-o", "/nonexistent/dir/f", check=False)
    clear_error(missing, "cannot write /nonexistent/dir/f", "/nonexistent/dir does not exist")
    directory = roost(ci, "env", "export", "ci", "-o", tmp_path, check=False)
    clear_error(directory, f"cannot write {tmp_path}: it is a directory")
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no half-written temp file
    written = roost(ci, "env", "export", "ci", "-o", tmp_path / "ci.txt")
    assert "wrote" in written.stderr and (tmp_path / "ci.txt").read_text().startswith("# roost environment export")


def test_envs_dir_variable_is_resolved_the_same_by_every_command(home: Home, tmp_path: Path) -> None:  # noqa: F811
    """`$VAR` in ROOST_ENVS_DIR: create, list, show, run, activate (both ways) and submit -e find one env."""
    scratch = tmp_path / "scratch"
    extra = {"ROOST_ENVS_DIR": "$MY_SCRATCH/envs", "MY_SCRATCH": str(scratch)}
    roost(home, "env", "create", "v", "-q", extra=extra)
    assert (scratch / "envs" / "v" / ".roost" / "manifest.json").is_file()
    assert "v " in roost(home, "env", "list", extra=extra).stdout
    assert str(scratch / "envs" / "v") in roost(home, "env", "show", "v", extra=extra).stdout
    ran = roost(home, "run", "-e", "v", "python", "-c", "import sys; print(sys.prefix)", extra=extra)
    assert ran.stdout.strip() == str(scratch / "envs" / "v")
    assert str(scratch / "envs" / "v") in roost(home, "activate", "v", "--shell", "bash", extra=extra).stdout
    hot = subprocess.run([sys.executable, "-c", "import sys; from roost.envs.command import main; sys.exit(main())",
                          "bash", "activate", "v"], capture_output=True, text=True, env={**home.environ, **extra})
    assert hot.returncode == 0 and str(scratch / "envs" / "v") in hot.stdout, hot.stderr
    job = roost(home, "submit", "--backend", "local", "--wait", "-e", "v", "--", "python", "-c",
                "import sys; print(sys.prefix)", extra=extra)
    assert job.returncode == 0
    assert not list(home.root.glob("$MY_SCRATCH*"))  # nothing took the variable's name literally
