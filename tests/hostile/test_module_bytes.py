"""Bytes that are not UTF-8 in modulefiles: values arrive byte for byte (Lmod's behaviour for Lua modulefiles,
where strings are bytes and `"a\\255b"` is three of them), and one such modulefile anywhere in a tree never breaks
`module avail`, `spider` or `keyword` for the other modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import LMOD_CMD

from .shells import site_environ

LATIN1_LUA = b'whatis("Description: caf\xe9 au lait")\nsetenv("CAFE", "caf\xe9")\n'
LATIN1_TCL = b'#%Module\nmodule-whatis "Tcl caf\xe9"\nsetenv TCAFE caf\xe9\n'
BROKEN = b'whatis("Description: \xff\xfe")\nthis is not lua \xff\n'


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "mf"
    for relative, data in {"good/1.0.lua": b'whatis("Description: good coffee")\nsetenv("GOOD", "1")\n',
                           "latin/1.0.lua": LATIN1_LUA, "latin/2.0": LATIN1_TCL, "latin/3.0.lua": BROKEN,
                           "escaped/1.0.lua": b'setenv("B", "a\\255b")\n',
                           "latin/.modulerc.lua": b'module_version("latin/1.0", "default")\n-- \xff\n'}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    return root


def _module(environ: Dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "roost.modules.command", "bash", *argv], capture_output=True,
                          env=environ, timeout=60)


def _bash_value(code: bytes, variable: str) -> bytes:
    """What ``variable`` holds after bash evaluates ``code`` (as the module function does)."""
    script = b'eval "$(cat)"; printf "%s" "$' + variable.encode() + b'"'
    return subprocess.run(["bash", "--norc", "-c", script], input=code, capture_output=True, timeout=60).stdout


@pytest.mark.parametrize("argv,shown", [
    (["avail"], [b"good/1.0", b"latin/1.0", b"latin/2.0", b"latin/3.0"]),
    (["spider"], [b"good: good/1.0", b"good coffee", b"latin: latin/1.0, latin/2.0, latin/3.0"]),
    (["-t", "spider"], [b"good/1.0", b"latin/1.0", b"latin/2.0", b"latin/3.0"]),
    (["keyword", "coffee"], [b"good: good/1.0"]),
    (["keyword", "caf"], [b"latin: latin/1.0"]),
    (["spider", "latin"], [b"latin/1.0", b"latin/2.0", b"latin/3.0"]),
], ids=lambda value: " ".join(value) if isinstance(value[0], str) else "")
def test_a_modulefile_with_bytes_that_are_not_utf8_never_breaks_listing_or_searching(
        tree: Path, tmp_path: Path, argv: List[str], shown: List[bytes]) -> None:
    result = _module(site_environ(tmp_path, tree), *argv)
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    assert all(text in result.stderr for text in shown), result.stderr


@pytest.mark.parametrize("name,variable,value", [("latin/1.0", "CAFE", b"caf\xe9"), ("latin/2.0", "TCAFE", b"caf\xe9"),
                                                 ("escaped", "B", b"a\xffb")])
def test_bytes_in_a_value_arrive_as_written(tree: Path, tmp_path: Path, name: str, variable: str,
                                            value: bytes) -> None:
    result = _module(site_environ(tmp_path, tree), "load", name)
    assert result.returncode == 0, result.stderr
    assert _bash_value(result.stdout, variable) == value


@pytest.mark.service("lmod")
@pytest.mark.parametrize("name,variable", [("latin/1.0", "CAFE"), ("escaped", "B")])
def test_bytes_in_a_lua_value_are_what_lmod_gives(tree: Path, tmp_path: Path, name: str, variable: str) -> None:
    environ = site_environ(tmp_path, tree)
    lmod = subprocess.run([LMOD_CMD, "bash", "load", name], capture_output=True, env=environ, timeout=60)
    assert _bash_value(_module(environ, "load", name).stdout, variable) == _bash_value(lmod.stdout, variable)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.binary(min_size=1, max_size=12).filter(lambda b: b"\0" not in b), min_size=1,
                       max_size=4))
def test_any_bytes_in_lua_values_reach_bash_byte_for_byte(values: List[bytes],
                                                           tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("bytes")
    lines = [b'setenv("V%d", "%s")' % (i, b"".join(b"\\%03d" % byte for byte in value))
             for i, value in enumerate(values)]
    (root / "mf" / "raw").mkdir(parents=True)
    (root / "mf" / "raw" / "1.0.lua").write_bytes(b"\n".join(lines) + b"\n")
    result = _module(site_environ(root, root / "mf"), "load", "raw")
    assert result.returncode == 0, result.stderr
    script = b'eval "$(cat)"; ' + b"; ".join(b'printf "%%s\\0" "$V%d"' % i for i in range(len(values)))
    out = subprocess.run(["bash", "--norc", "-c", script], input=result.stdout, capture_output=True, timeout=60)
    assert out.stdout.split(b"\0")[:-1] == values
