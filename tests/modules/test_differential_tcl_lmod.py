"""roost versus Lmod 8.6 where Tcl modulefiles do what Lmod's tcl2lua translation makes of them: control flow
(`exit`, `break`, `continue` inside procedures), `puts` on any channel, `package require`, redefined Tcl
built-ins, Environment Modules commands Lmod lacks, values Lmod cannot read, `uname domain`, shell functions,
and how `module show` prints what it finds.

Each case writes its own small tree and runs the same steps through Lmod and roost (see oracle.py for the step
syntax: ``!`` Lmod fails the step and changes nothing, ``?`` the output is compared too).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest
from oracle import LMOD, ROOST, Case, case, differences, expectation_mismatches, run_case, write_tree

pytestmark = pytest.mark.service("lmod")

HEADER = "#%Module\n"

TREE: Dict[str, str] = {
    "Core/base/2.1": HEADER + "setenv BASE_HOME /opt/base/2.1\n",
    # control flow
    "Core/quits/1.0": HEADER + "setenv QUITS_BEFORE yes\nexit 2\nsetenv QUITS_AFTER yes\n",
    "Core/quits/caught": HEADER + "setenv QUITS_BEFORE yes\nproc bail {} { exit }\ncatch { bail }\n"
                                  "setenv QUITS_AFTER yes\n",
    "Core/gives-up/3.0": HEADER + "setenv GIVES_UP yes\nif { 1 } { break }\n",
    "Core/skips/0.9": HEADER + "proc done_here {} { continue }\nsetenv SKIPS_FIRST yes\ndone_here\n"
                               "setenv SKIPS_SECOND yes\n",
    # Environment Modules commands that Lmod's Tcl does not know, and a value Lua cannot hold
    "Core/emod/getenv": HEADER + "setenv EMOD_USER [getenv USER nobody]\n",
    "Core/emod/user": HEADER + "module-user expert\nsetenv EMOD_USER set\n",
    "Core/emod/verbosity": HEADER + "module-verbosity verbose\nsetenv EMOD_USER set\n",
    "Core/tabbed/1": HEADER + 'setenv TABBED "left\tright"\n',
    # a sub-command Lmod's Tcl module ignores inside a modulefile
    "Core/clears/1": HEADER + "module clear\nmodule list\nsetenv CLEARS done\n",
    # Tcl as a language: packages from auto_path, built-ins redefined at the end of a file
    "lib/pkgIndex.tcl": "package ifneeded hpcsite 2.0 [list source [file join $dir hpcsite.tcl]]\n",
    "lib/hpcsite.tcl": "package provide hpcsite 2.0\nnamespace eval ::hpcsite {}\n"
                       "proc ::hpcsite::prefix {name} { return /site/apps/$name }\n",
    "Core/pkguser/a": HEADER + "lappend auto_path $env(SITE_TCL_LIB)\npackage require hpcsite 2.0\n"
                               "setenv PKG_A [hpcsite::prefix a]\n",
    "Core/pkguser2/b": HEADER + "lappend auto_path $env(SITE_TCL_LIB)\npackage require hpcsite\n"
                                "setenv PKG_B [hpcsite::prefix b]\n",
    "Core/vandal/1": HEADER + "setenv VANDAL_RAN 1\nproc set {args} { return }\nproc foreach {args} { }\n",
    "Core/next/1": HEADER + "set v 7\nforeach x {a b} { append-path NEXT_LIST $x }\nsetenv NEXT_V $v\n",
    # uname
    "Core/where/1": HEADER + "setenv WHERE_DOMAIN [uname domain]\nsetenv WHERE_OS [uname sysname]\n",
    # a shell function whose braces end with a separator
    "Core/fn/1": HEADER + "set-function greet {\n    echo hi\n    echo there\n; }\n",
    # what show prints
    "Core/showme/1": HEADER + "prereq base\nconflict mpich openmpi intel-mpi\n"
                              "puts stderr \"deprecated: use showme/2\"\n"
                              "if { ![is-loaded base] } { module load base }\nsetenv SHOWME 1\n",
    "Core/showlua/1.lua": 'if not isloaded("base") then load("base") end\nconflict("a", "b")\nprereq_any("x", "base")\n'
                          'setenv("SHOWLUA", "1")\n',
    "Core/broken/1": HEADER + "setenv BROKEN_A 1\nsetenv BROKEN_B $env(ROOST_SURELY_UNSET_VARIABLE)\n",
    # help text printed on a mistyped channel
    "Core/helpful/1": HEADER + "proc ModulesHelp { } {\n    puts stderr \"Usage notes\"\n"
                               "    puts strerr \"second line, channel misspelt\"\n    puts stdout \"third\"\n}\n"
                               "setenv HELPFUL 1\n",
}

CASES = [
    # exit in a modulefile ends the whole command: nothing is loaded, not even the module before it
    case("tcl-exit-ends-the-command", "tcl-lmod", "!load base quits/1.0", "?-t list", "!load quits/caught",
         "load base", "!load quits"),
    # break gives up the file: a request naming the version fails, a bare name is skipped quietly
    case("tcl-break-in-if", "tcl-lmod", "!load base gives-up/3.0", "load gives-up", "?-t list"),
    # continue inside a procedure stops the file where it is and keeps what it did
    case("tcl-continue-in-proc", "tcl-lmod", "load skips", "?-t list", "unload skips"),
    case("tcl-environment-modules-only", "tcl-lmod",
         "!load emod/getenv", "!load emod/user", "!load emod/verbosity", "?-t list"),
    case("tcl-tab-in-value", "tcl-lmod", "load base", "!load tabbed", "?-t list"),
    case("tcl-module-subcommands-ignored", "tcl-lmod", "load clears", "?-t list"),
    case("tcl-package-require-in-two-files", "tcl-lmod", "load pkguser/a pkguser2/b", "unload pkguser",
         "load pkguser"),
    case("tcl-redefined-builtins", "tcl-lmod", "load vandal", "load next", "?-t list"),
    case("tcl-uname-domain", "tcl-lmod", "load where"),
    case("show-quoting-prereq-isloaded-puts", "tcl-lmod", "?show showme", "load base", "?show showme",
         "?show showlua"),
    case("show-of-a-broken-modulefile-fails", "tcl-lmod", "!show broken", "!load broken"),
    case("help-on-any-channel", "tcl-lmod", "?help helpful", "?show helpful"),
]

SHELL_CASES = [
    case("tcl-function-body-ends-with-separator", "tcl-lmod", "load fn", "unload fn", shell="bash"),
]


def _run(the_case: Case, tmp_path: Path) -> str:
    root = write_tree(tmp_path / "tcl-lmod", TREE)
    with_lib = Case(the_case.id, the_case.tree, the_case.steps, the_case.modulepath,
                    (("SITE_TCL_LIB", str(root / "lib")),), the_case.lmod_bugs, the_case.shell)
    runs = {tool.name: run_case(with_lib, tool, root, tmp_path / f"home-{tool.name}") for tool in (LMOD, ROOST)}
    problems = expectation_mismatches(with_lib, runs["lmod"])
    assert not problems, "\n".join(problems)  # the case states what Lmod does
    return differences(with_lib, runs["lmod"], runs["roost"])


@pytest.mark.parametrize("the_case", CASES + SHELL_CASES, ids=lambda c: c.id)
def test_roost_matches_lmod(the_case: Case, tmp_path: Path) -> None:
    report = _run(the_case, tmp_path)
    assert not report, report


def _roost(root: Path, shell: str, *args: str) -> subprocess.CompletedProcess:
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(root), "LANG": "C.UTF-8", "MODULEPATH": str(root / "Core")}
    return subprocess.run([sys.executable, "-m", "roost.modules.command", shell, *args], env=environ,
                          capture_output=True, text=True, timeout=60)


def test_roost_says_what_to_write_instead_of_an_environment_modules_command(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "t", TREE)
    done = _roost(root, "bash", "load", "emod/getenv")
    assert done.returncode == 1
    assert "getenv is an Environment Modules command that Lmod does not provide" in done.stderr
    assert "$env(NAME)" in done.stderr and "emod/getenv" in done.stderr


def test_utf8_text_stays_utf8_where_lmod_double_encodes(tmp_path: Path) -> None:
    """Lmod 8.6 reads Tcl modulefiles as Latin-1 and prints non-ASCII text encoded twice: roost keeps the
    author's text.  The two outputs differ by exactly that double encoding."""
    root = write_tree(tmp_path / "t", {"Core/intl/1": HEADER + 'module-whatis "Café™ — 東京"\n'})
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8", "MODULEPATH": str(root / "Core")}
    by_roost = subprocess.run([*ROOST.command, "bash", "show", "intl/1"], env=environ, capture_output=True,
                              timeout=60).stderr
    by_lmod = subprocess.run([*LMOD.command, "bash", "show", "intl/1"], env=environ, capture_output=True,
                             timeout=60).stderr
    roost_line = next(line for line in by_roost.splitlines() if line.startswith(b"whatis"))
    lmod_line = next(line for line in by_lmod.splitlines() if line.startswith(b"whatis"))
    assert roost_line.decode("utf-8") == 'whatis("Café™ — 東京")'
    assert lmod_line == roost_line.decode("latin-1").encode("utf-8")
