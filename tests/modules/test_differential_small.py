"""roost versus Lmod on small cases first seen when real sites' modulefiles went through both engines: a symbolic
version given to an alias, a swap that takes dependencies out of the hierarchy and back, a file in one MODULEPATH
directory against a directory of the same name in the next, Lua's subprocess(), Tcl's `puts stdout`, and the
order avail lists versions in that Lmod holds equal.

Each case is a command sequence on ``trees/small`` (see trees/README.md); oracle.py runs it through both.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest
from oracle import (
    LMOD,
    ROOST,
    Case,
    LmodBug,
    assert_lmod_meets_expectations,
    assert_roost_matches_lmod,
    case,
    install_tree,
)

pytestmark = pytest.mark.service("lmod")

PUTS_STDOUT_IS_TEXT = ("Lmod hands `puts stdout` text to the shell as code; roost never runs a modulefile's text "
                       "in the user's shell and prints it instead (docs/modules-compat.md)")

CASES = [
    # module-version on an alias names a version of the alias's target: lts/current -> toolkit/3.1 makes
    # toolkit/longterm, and lts/longterm is unknown
    case("symbolic-version-of-an-alias-belongs-to-its-target", "small", "?-t avail", "load toolkit/longterm",
         "?-t list", "purge", "!load lts/longterm"),
    # the dependencies an unreachable module takes with it go inactive with it and come back before it
    case("swap-brings-back-what-the-hierarchy-took", "small", "load lang/2 stack", "swap lang lang/3", "?-t list",
         "swap lang lang/2", "?-t list"),
    case("version-change-by-load-brings-back-what-the-hierarchy-took", "small", "load lang/2 stack",
         "?load lang/3", "?-t list"),
    case("unload-leaves-dependencies-inactive-until-reachable", "small", "load lang/2 stack", "?unload lang",
         "?-t list", "?load lang/2", "?-t list"),
    # namd/2.14/colvars is a file in A and a directory in B: the name with versions below it wins
    case("directory-in-a-later-directory-beats-a-file", "small", "load namd/2.14/colvars", "?-t list",
         modulepath=("A", "B")),
    case("subprocess-returns-the-command-output", "small", "load hostarch", "unload hostarch"),
]

SHELL_CASES = [
    case("puts-stdout-is-printed-not-run", "small", "load talker", "unload talker", shell="bash",
         lmod_bugs=[LmodBug((1, 2), "TALKER_RAN", None, PUTS_STDOUT_IS_TEXT)]),
]


@pytest.mark.parametrize("the_case", CASES + SHELL_CASES, ids=lambda c: c.id)
def test_roost_matches_lmod(the_case: Case, tmp_path: Path) -> None:
    assert_roost_matches_lmod(the_case, tmp_path)


@pytest.mark.parametrize("the_case", CASES + SHELL_CASES, ids=lambda c: c.id)
def test_lmod_meets_case_expectations(the_case: Case, tmp_path: Path) -> None:
    assert_lmod_meets_expectations(the_case, tmp_path)


def _terse_avail(tool_name: str, root: Path, tmp_path: Path) -> List[str]:
    tool = LMOD if tool_name == "lmod" else ROOST
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / f"home-{tool_name}"), "LANG": "C.UTF-8",
               "MODULEPATH": f"{root / 'First'}:{root / 'Second'}"}
    result = tool.run(["-t", "avail", "hdf"], environ)
    assert result.ok, result.stderr
    return [line for line in result.stderr.splitlines() if line and not line.endswith(":")]


def test_versions_lmod_holds_equal_are_listed_in_one_fixed_order(tmp_path: Path) -> None:
    """`1.14` and `1.14.0` compare equal in Lmod's ordering, and Lmod lists them in either order from one run to
    the next (Lua's hash seed).  roost lists the same lines, in one order, the same in every directory."""
    root = install_tree("small", tmp_path)
    by_lmod = _terse_avail("lmod", root, tmp_path)
    by_roost = [_terse_avail("roost", root, tmp_path) for _ in range(3)]
    assert sorted(by_roost[0]) == sorted(by_lmod)
    assert by_roost[0] == by_roost[1] == by_roost[2]
    assert by_roost[0] == ["hdf/1.14.0", "hdf/1.14"] * 2
