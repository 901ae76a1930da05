"""Tcl modulefiles, .modulerc and .version files: run in a real Tcl interpreter through the real engine.

Trees are written into tmp_path; modules are loaded and unloaded with :class:`roost.modules.engine.Engine`
(and through ``python -m roost.modules.command`` where the shell round trip matters).  The ``lmod`` tests run
the same command sequences through Lmod (which translates Tcl to Lua with tcl2lua.tcl) and compare the
environments.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

import pytest
from oracle import LMOD, ROOST, case, differences, load, run_case, unload, write_tree

from roost.errors import MissingPrereq, ModuleConflict, ModulefileError, ModulefileExit, ModuleNotFound
from roost.modules import tcl
from roost.modules.engine import Engine, evaluate
from roost.modules.frame import Frame

HEADER = "#%Module1.0\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return tmp_path / "tree"


def base_environ(clean_environ: Dict[str, str], root: Path, **extra: str) -> Dict[str, str]:
    environ = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": clean_environ["HOME"], "LANG": "C.UTF-8",
               "MODULEPATH": str(root / "Core")}
    environ.update(extra)
    return environ




def visible(environ: Mapping[str, str]) -> Dict[str, str]:
    """What a user compares before and after: everything but roost's private bookkeeping."""
    return {k: v for k, v in environ.items() if not k.startswith(("_ROOST", "__ROOST"))}


def run_in_mode(environ: Mapping[str, str], fullname: str, file: Path, mode: str) -> Frame:
    frame = Frame(Engine(environ), fullname, str(file), mode)
    evaluate(frame, "tcl")
    return frame


# ------------------------------------------------------------------------------------------ the commands


COMMON = HEADER + r"""
## the commands every site uses
set version 2.1
set root /opt/app/$version
setenv APP_ROOT $root
setenv APP_HOME $env(HOME)
if { [info exists env(APP_MISSING)] } { setenv APP_SAW_MISSING yes } else { setenv APP_SAW_MISSING no }
if { [expr {2 * 3}] == 6 } { setenv APP_MATH six }
foreach sub {lib lib64} { append-path LD_LIBRARY_PATH $root/$sub }
prepend-path PATH $root/bin
append-path -d ";" APP_SEMI $root/a
append-path "--delim=;" APP_SEMI $root/b
prepend-path --delim , APP_COMMA x y z
remove-path --delim , APP_COMMA y
prepend-path APP_LIST $root/one $root/two
setenv APP_NAME [module-info name]
setenv APP_MODE [module-info mode]
setenv APP_SPECIFIED [module-info specified]
setenv APP_IS_LOAD [module-info mode load]
setenv APP_VERSIONCMP [versioncmp 1.10 1.9]
setenv APP_SYSNAME [uname sysname]
setenv APP_TOOL $ModuleTool
set-alias app "app --verbose"
set-function app_fn "echo app"
module-whatis "app: an application"
"""


def test_load_runs_the_common_commands_and_unload_reverses_them(
    clean_environ: Dict[str, str], tree: Path
) -> None:
    write_tree(tree, {"Core/app/2.1": COMMON})
    before = base_environ(clean_environ, tree, APP_COMMA="w")
    after, engine = load(before, "app")
    assert after["APP_ROOT"] == "/opt/app/2.1"
    assert after["APP_HOME"] == before["HOME"]
    assert after["APP_SAW_MISSING"] == "no"
    assert after["APP_MATH"] == "six"
    assert after["LD_LIBRARY_PATH"] == "/opt/app/2.1/lib:/opt/app/2.1/lib64"
    assert after["PATH"] == "/opt/app/2.1/bin:/usr/local/bin:/usr/bin:/bin"
    assert after["APP_SEMI"] == "/opt/app/2.1/a;/opt/app/2.1/b"
    # Lmod 8.6 (tcl2lua) passes only the first of several values on: x, and y is not there to remove
    assert after["APP_COMMA"] == "x,w"
    assert after["APP_LIST"].split(":") == ["/opt/app/2.1/one"]
    assert (after["APP_NAME"], after["APP_MODE"], after["APP_SPECIFIED"]) == ("app/2.1", "load", "app")
    assert after["APP_IS_LOAD"] == "1"
    assert after["APP_VERSIONCMP"] == "1"
    assert after["APP_SYSNAME"] == os.uname().sysname
    assert after["APP_TOOL"] == "Lmod"
    assert engine.state.aliases["app"] == "app --verbose"
    assert engine.state.functions["app_fn"] == "echo app"
    assert after["LOADEDMODULES"] == "app/2.1"

    assert visible(unload(after, "app")) == visible(before)


def test_module_info_mode_is_remove_while_unloading(clean_environ: Dict[str, str], tree: Path) -> None:
    write_tree(tree, {"Core/m/1": HEADER + "setenv M_LOADED 1\n"
                      "if { [module-info mode remove] } { setenv M_SEEN_REMOVE [module-info mode] }\n"})
    after, _ = load(base_environ(clean_environ, tree), "m")
    assert "M_SEEN_REMOVE" not in after
    # the setenv of the unload pass unsets; the mode check proves the file saw "remove"
    frame = run_in_mode(after, "m/1", tree / "Core/m/1", "unload")
    assert frame.engine.state.get("M_SEEN_REMOVE") is None
    assert frame.engine.state.get("M_LOADED") is None


def test_pushenv_is_undone_on_unload(clean_environ: Dict[str, str], tree: Path) -> None:
    write_tree(tree, {"Core/p/1": HEADER + "pushenv CC p-cc\nunsetenv DROPPED restored-value\n"})
    before = base_environ(clean_environ, tree, CC="gcc", DROPPED="x")
    after, _ = load(before, "p")
    assert after["CC"] == "p-cc" and "DROPPED" not in after
    again = unload(after, "p")
    assert again["CC"] == "gcc"
    assert "DROPPED" not in again  # as in Lmod: the value for unloading is ignored


# ------------------------------------------------------------------------------------------ values


AWKWARD = {
    "V_SPACE": "two words  and  more",
    "V_SQUOTE": "it's",
    "V_DQUOTE": 'say "hi"',
    "V_DOLLAR": "$HOME and ${USER} and $(id)",
    "V_BACKTICK": "`touch /tmp/roost-tcl-pwned`",
    "V_NEWLINE": "line one\nline two",
    "V_SEMI": "a; echo pwned; b",
    "V_BRACKETS": "[not a command]",
    "V_BACKSLASH": "C:\\temp\\new",
    "V_UNICODE": "Grüße — 日本語 🐍",
    "V_BRACES": "{unbalanced",
}


def _tcl_word(value: str) -> str:
    """Quote a value as a Tcl word with backslash escapes only (works for unbalanced braces too)."""
    escaped = "".join("\\" + ch if ch in '\\"$[]{};' else ch for ch in value)
    return '"' + escaped.replace("\n", "\\n") + '"'


def awkward_modulefile() -> str:
    lines = [HEADER]
    lines += [f"setenv {name} {_tcl_word(value)}\n" for name, value in AWKWARD.items()]
    lines.append('setenv V_BRACED {$literal [and] "quotes"}\n')
    lines.append('prepend-path V_PATHLIKE "/opt/with space/bin"\n')
    return "".join(lines)


def test_awkward_values_survive_unchanged(clean_environ: Dict[str, str], tree: Path) -> None:
    write_tree(tree, {"Core/q/1": awkward_modulefile()})
    after, _ = load(base_environ(clean_environ, tree), "q")
    for name, value in AWKWARD.items():
        assert after[name] == value, name
    assert after["V_BRACED"] == '$literal [and] "quotes"'
    assert after["V_PATHLIKE"] == "/opt/with space/bin"
    assert not Path("/tmp/roost-tcl-pwned").exists()


def test_awkward_values_survive_the_bash_round_trip(clean_environ: Dict[str, str], tree: Path) -> None:
    write_tree(tree, {"Core/q/1": awkward_modulefile()})
    environ = {**clean_environ, "MODULEPATH": str(tree / "Core")}
    names = " ".join(f'"${name}"' for name in AWKWARD)
    script = (f'eval "$("{sys.executable}" -m roost.modules.command bash load q)" || exit 9\n'
              f"printf '%s\\0' {names}")
    done = subprocess.run(["bash", "-c", script], env=environ, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode("utf-8").split("\0")[:-1] == list(AWKWARD.values())
    assert not Path("/tmp/roost-tcl-pwned").exists()


# ------------------------------------------------------------------------------------------ env(...)


def test_env_reads_see_the_environment_as_the_file_starts(clean_environ: Dict[str, str], tree: Path) -> None:
    """As in Lmod: earlier modules' changes are visible, the file's own setenv too, its path edits are not."""
    write_tree(tree, {
        "Core/first/1.lua": 'setenv("FROM_FIRST", "first-value")\n',
        "Core/reader/1": HEADER + "\n".join([
            "setenv SAW_FIRST $env(FROM_FIRST)",
            "prepend-path PATH /reader/bin",
            "setenv SAW_PATH $env(PATH)",
            "setenv OWN hello",
            'setenv SAW_OWN "$env(OWN) world"',
            "module load dep",
            "setenv SAW_DEP [info exists env(FROM_DEP)]",
            "setenv SAW_DEP_LOADED [is-loaded dep]",
            "setenv SAW_FIRST_LOADED [is-loaded first]",
        ]) + "\n",
        "Core/dep/1": HEADER + "setenv FROM_DEP 1\n",
    })
    before = base_environ(clean_environ, tree)
    after, _ = load(before, "first", "reader")
    assert after["SAW_FIRST"] == "first-value"
    assert after["SAW_PATH"] == before["PATH"]
    assert after["PATH"] == "/reader/bin:" + before["PATH"]
    assert after["SAW_OWN"] == "hello world"
    assert after["FROM_DEP"] == "1"
    assert (after["SAW_DEP"], after["SAW_DEP_LOADED"], after["SAW_FIRST_LOADED"]) == ("0", "0", "1")


def test_modulefile_writes_to_env_never_reach_the_process(clean_environ: Dict[str, str], tree: Path) -> None:
    write_tree(tree, {"Core/leaky/1": HEADER + "\n".join([
        "set env(ROOST_TCL_LEAK) yes",
        "unset env(HOME)",
        "setenv ROOST_TCL_SETENV yes",
        "array unset env PATH",
        "setenv LEAKY_DONE 1",
    ]) + "\n"})
    home = os.environ["HOME"]
    after, _ = load(base_environ(clean_environ, tree), "leaky")
    libc = ctypes.CDLL(None)
    libc.getenv.restype = ctypes.c_char_p
    assert after["LEAKY_DONE"] == "1" and after["ROOST_TCL_SETENV"] == "yes"
    assert "ROOST_TCL_LEAK" not in after
    for name in ("ROOST_TCL_LEAK", "ROOST_TCL_SETENV"):
        assert name not in os.environ and libc.getenv(name.encode()) is None
    assert os.environ["HOME"] == home and libc.getenv(b"HOME") == home.encode()
    assert libc.getenv(b"PATH") is not None


def test_variables_and_procs_do_not_leak_between_files(clean_environ: Dict[str, str], tree: Path) -> None:
    write_tree(tree, {
        "Core/a/1": HEADER + "set secret 42\nproc helper {} { return 1 }\n"
                             "namespace eval ::mine { variable x 1 }\narray set table {k v}\nsetenv A_DONE 1\n",
        "Core/b/1": HEADER + "setenv B_SECRET [info exists secret]\n"
                             "setenv B_HELPER [llength [info commands helper]]\n"
                             "setenv B_NS [namespace exists ::mine]\nsetenv B_TABLE [info exists table]\n",
    })
    after, _ = load(base_environ(clean_environ, tree), "a", "b")
    assert (after["B_SECRET"], after["B_HELPER"], after["B_NS"], after["B_TABLE"]) == ("0", "0", "0", "0")


@pytest.mark.parametrize("damage", [
    "rename setenv {}",
    "proc setenv {args} { }",
    "rename puts real_puts",
    "proc unknown {args} { return 1 }",
    "interp alias {} prepend-path {} list",
])
def test_a_damaged_interpreter_is_replaced(clean_environ: Dict[str, str], tree: Path, damage: str) -> None:
    write_tree(tree, {
        "Core/vandal/1": HEADER + damage + "\n",
        "Core/after/1": HEADER + "setenv AFTER_OK 1\nprepend-path AFTER_PATH /x\nputs stderr hello\n",
    })
    environ = base_environ(clean_environ, tree)
    load(environ, "vandal")
    after, engine = load(environ, "after")
    assert after["AFTER_OK"] == "1" and after["AFTER_PATH"] == "/x"
    assert "hello\n" in engine.messages


# ------------------------------------------------------------------------------------------ dependencies


def test_module_commands_inside_a_modulefile(clean_environ: Dict[str, str], tree: Path) -> None:
    write_tree(tree, {
        "Core/lib/1.0": HEADER + "setenv LIB 1.0\n",
        "Core/lib/2.0": HEADER + "setenv LIB 2.0\n",
        "Core/old/1": HEADER + "setenv OLD 1\n",
        "Core/top/1": HEADER + "module load lib/1.0\nmodule try-load missing\nmodule unload old\n"
                               "module swap lib/1.0 lib/2.0\nsetenv TOP 1\n",
    })
    environ = base_environ(clean_environ, tree)
    with_old, _ = load(environ, "old")
    after, _ = load(with_old, "top")
    assert after["LIB"] == "2.0" and "OLD" not in after
    assert after["LOADEDMODULES"].split(":") == ["lib/2.0", "top/1"]
    # unloading top unloads what it loaded (tcl2lua turns its load and swap into unloads)
    emptied = unload(after, "top")
    assert "LIB" not in emptied and "LOADEDMODULES" not in emptied


def test_prereq_is_satisfied_by_any_name_and_conflict_refuses(
    clean_environ: Dict[str, str], tree: Path
) -> None:
    write_tree(tree, {
        "Core/gcc/12": HEADER + "setenv GCC 12\n",
        "Core/needs/1": HEADER + "prereq intel gcc\nsetenv NEEDS 1\n",
        "Core/clash/1": HEADER + "conflict gcc\nsetenv CLASH 1\n",
    })
    environ = base_environ(clean_environ, tree)
    with pytest.raises(MissingPrereq, match="needs/1"):
        load(environ, "needs")
    with_gcc, _ = load(environ, "gcc")
    after, _ = load(with_gcc, "needs")
    assert after["NEEDS"] == "1"
    with pytest.raises(ModuleConflict, match="gcc/12"):
        load(with_gcc, "clash")


def test_family_replaces_the_other_member(clean_environ: Dict[str, str], tree: Path) -> None:
    write_tree(tree, {
        "Core/gcc/12": HEADER + "family compiler\nsetenv CC gcc\n",
        "Core/intel/2023": HEADER + "family compiler\nsetenv CC icc\n",
    })
    with_gcc, _ = load(base_environ(clean_environ, tree), "gcc")
    assert with_gcc["LMOD_FAMILY_COMPILER"] == "gcc"
    after, _ = load(with_gcc, "intel")
    assert after["CC"] == "icc" and after["LOADEDMODULES"] == "intel/2023"
    assert after["LMOD_FAMILY_COMPILER"] == "intel"


# ------------------------------------------------------------------------------------------ errors


ERRORS = [
    ("explicit", "setenv X 1\nerror \"this cluster is not supported\"\n", 3, "this cluster is not supported"),
    ("in-if", "set a 1\nif { $a } {\n    error \"inside if\"\n}\n", 4, "inside if"),
    ("in-loop", "foreach x {1 2} {\n    if {$x == 2} {\n        error \"x is $x\"\n    }\n}\n", 4, "x is 2"),
    ("in-proc", "proc check {} {\n  set y 1\n  error \"from proc\"\n}\nsetenv Z 1\ncheck\n", 4, "from proc"),
    ("return-code", "setenv X 1\nreturn -code error \"returned error\"\n", 0, "returned error"),
    ("syntax", "setenv X 1\nif { 1 {\n", 3, "missing close-brace"),
    ("unknown-command", "setenv X 1\nfrobnicate now\n", 3, 'unknown command "frobnicate"'),
    ("unknown-variable", "set a 1\nsetenv X $nosuch\n", 3, "no such variable"),
    ("not-in-lmod", "setenv X 1\nsetenv H [getenv HOME]\n", 3, "getenv is an Environment Modules command"),
    ("tab-in-value", "setenv X 1\nsetenv T \"a\tb\"\n", 3, "tab character"),
    ("bad-arguments", "setenv ONLY_NAME\n", 2, "setenv VARIABLE VALUE"),
    ("rc-command", "module-version /1 default\n", 2, "modulerc"),
]


@pytest.mark.parametrize("body,line,text", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_name_the_module_the_file_and_the_line(
    clean_environ: Dict[str, str], tree: Path, body: str, line: int, text: str
) -> None:
    write_tree(tree, {"Core/ok/1": HEADER + "setenv OK 1\n", "Core/bad/1.0": HEADER + body})
    environ = base_environ(clean_environ, tree)
    engine = Engine(environ)
    with pytest.raises(ModulefileError) as raised:
        engine.load(["ok", "bad"])
    message = raised.value.message
    assert '"bad/1.0"' in message and str(tree / "Core/bad/1.0") in message and text in message
    if line:
        assert f"line {line})" in message


def test_a_failing_load_on_the_command_line_changes_nothing(
    clean_environ: Dict[str, str], tree: Path
) -> None:
    write_tree(tree, {"Core/ok/1": HEADER + "setenv OK 1\n",
                      "Core/bad/1": HEADER + "setenv BAD 1\nerror oops\n"})
    environ = {**clean_environ, "MODULEPATH": str(tree / "Core")}
    done = subprocess.run([sys.executable, "-m", "roost.modules.command", "bash", "load", "ok", "bad"],
                          env=environ, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "bad/1" in done.stderr and "line 3" in done.stderr and "oops" in done.stderr
    assert "OK" not in done.stdout and "BAD" not in done.stdout


UNLOAD_ERROR = HEADER + "setenv U 1\nif { [module-info mode remove] } { error \"no unload\" }\n"


def test_an_error_while_unloading_warns_and_unloads(clean_environ: Dict[str, str], tree: Path) -> None:
    write_tree(tree, {"Core/u/1": UNLOAD_ERROR})
    after, _ = load(base_environ(clean_environ, tree), "u")
    engine = Engine(after)
    engine.unload(["u"])
    emptied = engine.finish().applied_to(after)
    assert "U" not in emptied and "LOADEDMODULES" not in emptied
    assert any("no unload" in m for m in engine.messages)


def test_a_missing_module_named_in_a_modulefile(clean_environ: Dict[str, str], tree: Path) -> None:
    write_tree(tree, {"Core/top/1": HEADER + "module load nowhere\n"})
    with pytest.raises(ModuleNotFound, match="nowhere"):
        load(base_environ(clean_environ, tree), "top")


# ------------------------------------------------------------------------------------------ control flow


def test_exit_ends_the_whole_command_and_changes_nothing(clean_environ: Dict[str, str], tree: Path) -> None:
    # even caught, and after another module of the same command loaded: Lmod's os.exit ends everything
    write_tree(tree, {"Core/ex/1": HEADER + "setenv BEFORE 1\nproc stop {} { exit 3 }\n"
                                            "if { 1 } { catch { stop } }\nsetenv AFTER 1\n",
                      "Core/fine/1": HEADER + "setenv FINE 1\n"})
    environ = base_environ(clean_environ, tree)
    with pytest.raises(ModulefileExit) as raised:
        load(environ, "fine", "ex")
    assert raised.value.status == 3
    done = subprocess.run([sys.executable, "-m", "roost.modules.command", "bash", "load", "fine", "ex"],
                          env=environ, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (3, "", "")  # the shell gets nothing to evaluate


def test_break_abandons_the_modulefile_without_error(clean_environ: Dict[str, str], tree: Path) -> None:
    write_tree(tree, {
        "Core/br/1": HEADER + "setenv BR_BEFORE 1\nputs stderr \"not for this host\"\nbreak\n"
                              "setenv BR_AFTER 1\n",
        "Core/fine/1": HEADER + "setenv FINE 1\n",
    })
    after, engine = load(base_environ(clean_environ, tree), "fine", "br")
    assert after["FINE"] == "1"
    assert "BR_BEFORE" not in after and "BR_AFTER" not in after
    assert "not for this host\n" in engine.messages


def test_puts_stderr_is_a_message_and_stdout_is_never_executed(
    clean_environ: Dict[str, str], tree: Path
) -> None:
    write_tree(tree, {"Core/talk/1": HEADER + "puts stderr \"loading talk\"\n"
                                              "puts stdout \"touch /tmp/roost-tcl-pwned\"\nsetenv TALK 1\n"})
    environ = {**clean_environ, "MODULEPATH": str(tree / "Core")}
    done = subprocess.run([sys.executable, "-m", "roost.modules.command", "bash", "load", "talk"],
                          env=environ, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "loading talk" in done.stderr
    # Lmod would run it; roost has the shell print it: the user sees the line, and nothing is touched
    shell = subprocess.run(["bash", "--norc", "-c", done.stdout + '\necho "TALK=$TALK"'], cwd=tree,
                           env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert shell.stdout == "touch /tmp/roost-tcl-pwned\nTALK=1\n"
    assert not Path("/tmp/roost-tcl-pwned").exists()


HELP = HEADER + r"""
proc ModulesHelp { } {
    puts stderr "Help line one"
    puts stderr "  with \$dollar and [string toupper tcl]"
    puts -nonewline stderr "no newline"
}
module-whatis "hl: a module with help"
setenv HL 1
"""


def test_modules_help_is_captured_as_the_help_text(clean_environ: Dict[str, str], tree: Path) -> None:
    write_tree(tree, {"Core/hl/1": HELP})
    environ = base_environ(clean_environ, tree)
    frame = run_in_mode(environ, "hl/1", tree / "Core/hl/1", "help")
    assert frame.help == ["Help line one\n  with $dollar and TCL\nno newline"]
    assert frame.whatis == ["hl: a module with help"]
    assert frame.engine.state.get("HL") is None  # describing a module changes nothing
    shown = run_in_mode(environ, "hl/1", tree / "Core/hl/1", "show").shown
    assert shown[0] == 'whatis("hl: a module with help")' and shown[-1].startswith("help([[Help line one")
    assert any(s == 'setenv("HL","1")' for s in shown)
    loaded = run_in_mode(environ, "hl/1", tree / "Core/hl/1", "load")
    assert loaded.help == [] and loaded.engine.state.get("HL") == "1"


# ------------------------------------------------------------------------------------------ rc files


def test_read_rc_module_version_alias_and_hide(tmp_path: Path) -> None:
    rc = tmp_path / ".modulerc"
    rc.write_text(HEADER + "module-version /1.2 default stable\nmodule-version 1.3 testing\n"
                  "module-version other/4 o4\nmodule-alias py python/3.12\nhide-version /0.9\n"
                  "module-hide --soft /0.8\n"
                  "if { [uname sysname] eq \"Linux\" } { module-alias linux /1.2 }\n",
                  encoding="utf-8")
    info = tcl.read_rc(str(rc), "hdf5", version_file=False)
    assert info.versions == {"hdf5/default": "hdf5/1.2", "hdf5/stable": "hdf5/1.2",
                             "hdf5/testing": "hdf5/1.3", "other/o4": "other/4"}
    assert info.aliases == {"py": "python/3.12", "linux": "hdf5/1.2"}
    assert info.hidden == ["hdf5/0.9", "hdf5/0.8"]


def test_read_rc_version_file(tmp_path: Path) -> None:
    version = tmp_path / ".version"
    version.write_text('#%Module1.0\nset ModulesVersion "11.8"\n', encoding="utf-8")
    info = tcl.read_rc(str(version), "cuda", version_file=True)
    assert info.versions == {"cuda/default": "cuda/11.8"}


def test_read_rc_rejects_modulefile_commands(tmp_path: Path) -> None:
    rc = tmp_path / ".modulerc"
    rc.write_text(HEADER + "\nsetenv X 1\n", encoding="utf-8")
    with pytest.raises(ModulefileError, match=r"line 3.*not allowed in a modulerc"):
        tcl.read_rc(str(rc), "x", version_file=False)


def test_rc_files_choose_defaults_and_aliases(clean_environ: Dict[str, str], tree: Path) -> None:
    write_tree(tree, {
        "Core/cuda/11.8": HEADER + "setenv CUDA 11.8\n",
        "Core/cuda/12.2": HEADER + "setenv CUDA 12.2\n",
        "Core/cuda/.version": '#%Module\nset ModulesVersion "11.8"\n',
        "Core/hdf5/1.12": HEADER + "setenv HDF5 1.12\n",
        "Core/hdf5/1.14": HEADER + "setenv HDF5 1.14\n",
        "Core/hdf5/.modulerc": HEADER + "module-version /1.12 default\nmodule-version hdf5/1.14 newest\n",
        "Core/.modulerc": HEADER + "module-alias h5 hdf5/1.14\n",
    })
    environ = base_environ(clean_environ, tree)
    assert load(environ, "cuda")[0]["CUDA"] == "11.8"
    assert load(environ, "hdf5")[0]["HDF5"] == "1.12"
    assert load(environ, "hdf5/newest")[0]["HDF5"] == "1.14"
    assert load(environ, "h5")[0]["HDF5"] == "1.14"


# ------------------------------------------------------------------------------------------ versus Lmod

LMOD_TREE = {
    "Core/first/1.lua": 'setenv("FROM_FIRST", "first-value")\n',
    "Core/snap/1": HEADER + "\n".join([
        "setenv SAW_FIRST [expr {[info exists env(FROM_FIRST)] ? $env(FROM_FIRST) : {none}}]",
        "prepend-path PATH /snap/bin",
        "setenv SAW_PATH $env(PATH)",
        "setenv OWN hello",
        'setenv SAW_OWN "$env(OWN) world"',
        "module load dep",
        "setenv SAW_DEP [info exists env(FROM_DEP)]",
        "setenv SAW_DEP_LOADED [is-loaded dep]",
        "setenv SAW_FIRST_LOADED [is-loaded first]",
        "setenv MI [module-info name]|[module-info specified]|[module-info mode]|[module-info version snap]",
        "setenv VCMP [versioncmp 1.10 1.9][versioncmp 2.0 2.0][versioncmp 1.2a 1.2b]",
        "setenv SYS [uname sysname]",
    ]) + "\n",
    "Core/dep/1": HEADER + "setenv FROM_DEP 1\nprepend-path PATH /dep/bin\n",
    "Core/paths/1": HEADER + "\n".join([
        "append-path -d {;} SEMI /a",
        "append-path {--delim=;} SEMI /b",
        "prepend-path --delim , COMMA x",
        "append-path MANPATH /paths/man",
        "remove-path PATH /usr/bin",
        "unsetenv DROPME restored",
    ]) + "\n",
    "Core/lib/1.0": HEADER + "setenv LIB 1.0\nprepend-path PATH /lib/1.0/bin\n",
    "Core/lib/2.0": HEADER + "setenv LIB 2.0\nprepend-path PATH /lib/2.0/bin\n",
    "Core/top/1": HEADER + "module load lib/1.0\nmodule swap lib/1.0 lib/2.0\nmodule try-load missing\n"
                           "setenv TOP 1\n",
    "Core/gcc/12": HEADER + "family compiler\nsetenv CC gcc\n",
    "Core/intel/2023": HEADER + "family compiler\nsetenv CC icc\n",
    # Lmod 8.6 reads Tcl modulefiles as Latin-1 (UTF-8 text comes out double-encoded): ASCII only here
    "Core/quote/1": HEADER + "".join(f"setenv {name} {_tcl_word(value)}\n" for name, value in AWKWARD.items()
                                     if value.isascii()),
    "Core/cuda/11.8": HEADER + "setenv CUDA 11.8\n",
    "Core/cuda/12.2": HEADER + "setenv CUDA 12.2\n",
    "Core/cuda/.version": '#%Module\nset ModulesVersion "11.8"\n',
    "Core/hdf5/1.12": HEADER + "setenv HDF5 1.12\n",
    "Core/hdf5/1.14": HEADER + "setenv HDF5 1.14\n",
    "Core/hdf5/1.15": HEADER + "setenv HDF5 1.15\n",
    "Core/hdf5/.modulerc": HEADER + "module-version /1.12 default\nmodule-version hdf5/1.14 newest\n"
                                    "hide-version hdf5/1.15\n",
    "Core/.modulerc": HEADER + "module-alias h5 hdf5/1.14\n",
    "Core/br/1": HEADER + "setenv BR_BEFORE 1\nbreak\nsetenv BR_AFTER 1\n",
    "Core/u/1": UNLOAD_ERROR,
    "Core/trim/1": HEADER + 'setenv TRIM_SP "a b  "\nsetenv TRIM_NL "x\\n"\nsetenv TRIM_LEAD "  lead"\n'
                            "setenv ISL [is-loaded lib/1.0][is-loaded lib][is-loaded lib/2.0]\n"
                            "module swap lib/2.0\n",
}

def _case_id(item: object) -> str:
    return str(getattr(item, "id", "") or item.values[0].id)  # type: ignore[attr-defined]


LMOD_CASES = [
    case("env-snapshot", "tcl", "load first snap", "unload snap", "load snap"),
    case("paths-pushenv-unsetenv", "tcl", "load paths", "unload paths"),
    case("module-commands-inside", "tcl", "load top", "unload top"),
    case("family", "tcl", "load gcc", "load intel", "unload intel"),
    case("quoting", "tcl", "load quote", "unload quote"),
    case("rc-defaults-aliases-hidden", "tcl", "load cuda", "load hdf5", "unload hdf5", "load h5",
         "load hdf5/newest", "load hdf5/1.15"),
    case("break", "tcl", "load first br", "?-t list"),
    case("error-while-unloading", "tcl", "load u", "~unload u"),
    case("trailing-space-is-loaded-swap", "tcl", "load lib/1.0", "load trim", "unload trim"),
]


@pytest.mark.service("lmod")
@pytest.mark.parametrize("the_case", LMOD_CASES, ids=[_case_id(c) for c in LMOD_CASES])
def test_roost_matches_lmod_on_tcl_modulefiles(tmp_path: Path, the_case: object) -> None:
    root = write_tree(tmp_path / "tcl", LMOD_TREE)
    extra = {"CC": "cc", "DROPME": "x"}
    runs = {}
    for tool in (LMOD, ROOST):
        runs[tool.name] = run_case(_with_env(the_case, extra), tool, root, tmp_path / f"home-{tool.name}")
    report = differences(the_case, runs["lmod"], runs["roost"])  # type: ignore[arg-type]
    assert not report, report


def _with_env(the_case: object, extra: Dict[str, str]) -> object:
    import dataclasses

    return dataclasses.replace(the_case, env=tuple(sorted(extra.items())))  # type: ignore[type-var]


# ------------------------------------------------------------------------------------------ helpers


def test_versioncmp_orders_like_tcl_dictionary_sort() -> None:
    pairs: List[Tuple[str, str, str]] = [("1.10", "1.9", "1"), ("1.9", "1.10", "-1"), ("2.0", "2.0", "0"),
                                         ("1.2a", "1.2b", "-1"), ("10", "9", "1")]
    for first, second, expected in pairs:
        assert tcl._versioncmp([first, second]) == expected


def test_interpreter_is_created_once(clean_environ: Dict[str, str], tree: Path) -> None:
    write_tree(tree, {"Core/a/1": HEADER + "setenv A 1\n"})
    load(base_environ(clean_environ, tree), "a")
    first: Optional[object] = tcl.interpreter()
    load(base_environ(clean_environ, tree), "a")
    assert tcl.interpreter() is first


@pytest.mark.parametrize("damage", ["rename catch {}", "rename interp {}; rename info {}", "rename rename {}"])
def test_a_modulefile_that_breaks_the_interpreter_fails_alone(
    clean_environ: Dict[str, str], tree: Path, damage: str
) -> None:
    write_tree(tree, {"Core/vandal/1": HEADER + damage + "\nsetenv X 1\n", "Core/after/1": HEADER + "setenv OK 1\n"})
    environ = base_environ(clean_environ, tree)
    try:
        load(environ, "vandal")
    except ModulefileError as error:
        assert "vandal/1" in error.message
    assert load(environ, "after")[0]["OK"] == "1"


@pytest.mark.parametrize("stop", ["return", "continue"])
def test_return_and_continue_stop_the_file_cleanly(clean_environ: Dict[str, str], tree: Path, stop: str) -> None:
    write_tree(tree, {"Core/st/1": HEADER + f"setenv BEFORE 1\nif {{ 1 }} {{ {stop} }}\nsetenv AFTER 1\n"})
    after, _ = load(base_environ(clean_environ, tree), "st")
    assert after["BEFORE"] == "1" and "AFTER" not in after and after["LOADEDMODULES"] == "st/1"


def test_module_use_in_a_modulefile_reaches_the_next_level(clean_environ: Dict[str, str], tree: Path) -> None:
    write_tree(tree, {
        "Core/gcc/12": HEADER + "module use [file dirname [file dirname $ModulesCurrentModulefile]]/../Compiler\n"
                                "setenv CC gcc\n",
        "Compiler/zlib/1.3": HEADER + "setenv ZLIB 1.3\n",
    })
    environ = base_environ(clean_environ, tree)
    after, _ = load(environ, "gcc", "zlib")
    assert after["ZLIB"] == "1.3"
    assert after["MODULEPATH"].split(":")[0].endswith("Compiler")
    assert unload(after, "gcc")["MODULEPATH"] == environ["MODULEPATH"]


def test_modulefiles_run_in_any_thread(clean_environ: Dict[str, str], tree: Path) -> None:
    """A library user may load modules from a worker thread after the main thread did (a Tcl interpreter only
    serves the thread that created it)."""
    import threading

    write_tree(tree, {"Core/a/1": HEADER + "setenv A 1\n"})
    environ = base_environ(clean_environ, tree)
    load(environ, "a")
    results: List[object] = []

    def work() -> None:
        try:
            results.append(load(environ, "a")[0]["A"])
        except Exception as error:  # reported by the assertion below
            results.append(error)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)
    assert results == ["1"]
