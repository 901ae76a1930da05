"""EnvChange -> Lua (Lmod) and Tcl (Environment Modules) modulefiles: values survive byte for byte.

Quoting is checked by evaluating the emitted literals with a real Lua (lupa) and a real Tcl (tkinter), and
whole modulefiles by loading them with Lmod 8.6 (which reads Tcl modulefiles too, through tcl2lua).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tkinter
from pathlib import Path

import lupa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roost.errors import RoostError
from roost.shell.change import EnvChange
from roost.shell.modulefile import ModuleInfo, quote_lua, quote_tcl, render_modulefile

from .helpers import LMOD_INIT

NASTY = [
    "", "plain", "a b", 'dq"sq\'', "$HOME ${X} $(id) `id`", "back\\slash\\", "[list 1 2]", "{brace}",
    "semi;colon&amp|pipe", "new\nline\ttab\rcr", "ünïcödé ✓ 😀", "%s %d", "-- not a comment", "]]",
    "\x01\x7f",
]
# Bytes that are not UTF-8 reach Python as surrogate escapes (os.environ does this).
UNDECODABLE = os.fsdecode(b"caf\xe9 \xff\xfe")

TEXT = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")  # what a str in os.environ holds
_lua = lupa.LuaRuntime(encoding=None)
_tcl = tkinter.Tcl()


def lua_value(literal: str) -> bytes:
    value = _lua.eval(literal)
    assert isinstance(value, bytes)
    return value


@pytest.mark.parametrize("value", [*NASTY, UNDECODABLE])
def test_lua_literals_evaluate_to_the_same_bytes(value: str) -> None:
    literal = quote_lua(value)
    assert literal.isascii()
    assert lua_value(literal) == value.encode("utf-8", "surrogateescape")


@settings(max_examples=300, deadline=None)
@given(st.text(TEXT))
def test_lua_quoting_round_trips_any_text(value: str) -> None:
    assert lua_value(quote_lua(value)) == value.encode("utf-8")


@pytest.mark.parametrize("value", NASTY)
def test_tcl_words_evaluate_to_the_same_text(value: str) -> None:
    assert _tcl.eval(f"set v {quote_tcl(value)}") == value


@settings(max_examples=300, deadline=None)
@given(st.text(TEXT))
def test_tcl_quoting_round_trips_any_text(value: str) -> None:
    assert _tcl.eval(f"set v {quote_tcl(value)}") == value


def test_tcl_refuses_bytes_it_cannot_hold() -> None:
    with pytest.raises(RoostError, match="Lua format"):
        quote_tcl(UNDECODABLE)


def test_every_operation_has_a_lua_and_a_tcl_form() -> None:
    change = (EnvChange().set("A", "1").unset("B").prepend_path("PATH", "/p").append_path("L", "/l", ";")
              .remove_path("PATH", "/old").prepend_path("P", "/hi", priority=100).alias("ll", "ls -l")
              .unalias("la").function("hello", 'echo "hi $1"').unfunction("bye"))
    lua = render_modulefile(change, "lua", ModuleInfo(help="Help\ntext", whatis=["Name: x"])).splitlines()
    assert lua == [
        "-- -*- lua -*-", 'help("Help\\ntext")', 'whatis("Name: x")', 'setenv("A", "1")', 'unsetenv("B")',
        'prepend_path("PATH", "/p")', 'append_path("L", "/l", ";")', 'remove_path("PATH", "/old")',
        'prepend_path{"P", "/hi", delim = ":", priority = 100}', 'set_alias("ll", "ls -l")',
        'unset_alias("la")', 'set_shell_function("hello", "echo \\"hi $1\\"", "")',
        'unset_shell_function("bye")',
    ]
    tcl = render_modulefile(change, "tcl", ModuleInfo(help="Help", whatis=["Name: x"])).splitlines()
    assert tcl == [
        "#%Module1.0", "proc ModulesHelp { } {", '    puts stderr "Help"', "}", 'module-whatis "Name: x"',
        'setenv A "1"', "unsetenv B", 'prepend-path PATH "/p"', 'append-path -d ";" L "/l"',
        'remove-path PATH "/old"', 'prepend-path P "/hi"', 'set-alias ll "ls -l"', "unset-alias la",
        'set-function hello "echo \\"hi \\$1\\""', "unset-function bye",
    ]
    with pytest.raises(RoostError, match="lua, tcl"):
        render_modulefile(change, "yaml")


def _lmod_env_after_load(modulepath: Path, module: str, names: list) -> dict:
    script = (f"source {LMOD_INIT} >/dev/null 2>&1; export MODULEPATH={modulepath}; "
              f"module load {module} || exit 3; "
              + "; ".join(f"printf '%s\\0' \"${{{n}-UNSET}}\"" for n in names))
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                          env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
                               "LC_ALL": "C.UTF-8"})
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return dict(zip(names, [v.decode("utf-8", "surrogateescape") for v in done.stdout.split(b"\0")[:-1]]))


# Lmod reads Tcl modulefiles through tcl2lua, which re-encodes characters beyond the BMP as CESU-8: with
# Lmod, use the Lua modulefile (Environment Modules sets variables from Tcl directly, tested below).
LMOD_TCL_SAFE = [v for v in NASTY if v and "\r" not in v and "\x01" not in v and max(v) <= "\uffff"]


@pytest.mark.service("lmod")
@pytest.mark.parametrize("format", ["lua", "tcl"])
def test_lmod_loads_rendered_modulefiles_with_exact_values(tmp_path: Path, format: str) -> None:
    printable = [v for v in NASTY if v and "\r" not in v and "\x01" not in v]
    chosen = printable if format == "lua" else LMOD_TCL_SAFE
    values = {f"V{i}": v for i, v in enumerate(chosen)}
    change = EnvChange()
    for name, value in values.items():
        change.set(name, value)
    change.prepend_path("MYPATH", "/a b/bin").prepend_path("MYPATH", "/c")
    (tmp_path / "nasty").mkdir()
    filename = "1.0.lua" if format == "lua" else "1.0"
    (tmp_path / "nasty" / filename).write_text(render_modulefile(change, format, ModuleInfo(help="h")))
    loaded = _lmod_env_after_load(tmp_path, "nasty/1.0", [*values, "MYPATH"])
    assert loaded == {**values, "MYPATH": "/c:/a b/bin"}


def test_tcl_modulefile_sets_the_environment_exactly(tmp_path: Path) -> None:
    """Environment Modules' semantics, with tclsh: setenv writes ::env, which child processes inherit."""
    values = {f"V{i}": v for i, v in enumerate(NASTY) if v and "\x01" not in v}
    change = EnvChange()
    for name, value in values.items():
        change.set(name, value)
    modulefile = tmp_path / "1.0"
    modulefile.write_text(render_modulefile(change, "tcl", ModuleInfo(help="h", whatis=["w"])))
    driver = tmp_path / "driver.tcl"
    code = ("import os, sys; "
            "sys.stdout.buffer.write(b'\\0'.join(os.environb[n.encode()] for n in sys.argv[1:]))")
    driver.write_text(
        "proc setenv {name value} { set ::env($name) $value }\n"
        "proc module-whatis {args} {}\n"
        f"source -encoding utf-8 {{{modulefile}}}\n"
        f"exec {{{sys.executable}}} -c {{{code}}} {' '.join(values)} >@ stdout\n"
    )
    done = subprocess.run(["tclsh", str(driver)], capture_output=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(b"\0") == [v.encode() for v in values.values()]
