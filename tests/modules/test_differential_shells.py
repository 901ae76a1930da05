"""roost versus Lmod through real shells: each step's output is evaluated by bash, zsh, sh (dash) or fish the way the
``module`` function does (``eval "$(TOOL bash ...)"``), and the resulting environment, aliases and shell functions
are compared.  This covers what the python-shell cases cannot: the shell quoting of hostile values, set_alias and
set_shell_function.

Lmod 8.6 breaks values containing a newline in bash, zsh, sh and fish output (the rest of the value runs as a
command) and fish aliases containing a quote; those cases declare the bug so roost is held to the correct value.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from oracle import STATUS, Case, LmodBug, assert_lmod_meets_expectations, assert_roost_matches_lmod, case
from tests.conftest import require_service

pytestmark = pytest.mark.service("lmod")

NEWLINE_BUG = "Lmod 8.6 writes a newline in a value unquoted: the value is cut and the rest runs as a command"
FISH_QUOTE_BUG = "Lmod 8.6 writes fish aliases in single quotes without escaping a quote inside"


def newline_bugs(step: int, *variables: str) -> list:
    return [LmodBug((step,), name, "line one\nline two", NEWLINE_BUG) for name in variables]


# A module name full of shell syntax: it reaches LOADEDMODULES and the shell, and must never run.
ODD_NAME = "odd'n`echo X`$(echo Y);z"
ODD_MODULE_STEPS = (
    f"@write {shlex.quote(f'Core/{ODD_NAME}/1.0.lua')} 'setenv(\"ODD_NAME\", myModuleName())'",
    f"load {shlex.quote(ODD_NAME)}",
    "?-t list",
    f"unload {shlex.quote(ODD_NAME)}",
)

CASES = [
    case("bash-quoting-lua", "edge", "load quoting", "unload quoting", shell="bash",
         lmod_bugs=newline_bugs(1, "Q_NEWLINE")),
    case("bash-quoting-tcl", "edge", "load quotetcl", "unload quotetcl", shell="bash",
         lmod_bugs=[*newline_bugs(1, "TQ_NEWLINE"),
                    LmodBug((1,), "TQ_UNICODE", "Zürich — 東京 — ñ",
                            "Lmod 8.6 double-encodes non-ASCII text from Tcl modulefiles")]),
    case("bash-user-values-kept", "edge", "load refa", "unload refa", shell="bash",
         env={"PATH": "/usr/bin:/opt/it's here/bin:/bin", "USER_ODD": "a'b\"c$d`e`;f\ng ü"}),
    case("bash-aliases-and-functions", "edge",
         "load aliases tclalias", "unload aliases", "unload tclalias", shell="bash"),
    case("bash-shell-name-seen-by-modulefiles", "edge", "load tclmore shellname", "unload shellname", shell="bash"),
    case("bash-module-name-never-executed", "edge", *ODD_MODULE_STEPS, shell="bash"),
    case("zsh-module-name-never-executed", "edge", *ODD_MODULE_STEPS, shell="zsh"),
    case("python-module-name-with-shell-syntax", "edge", *ODD_MODULE_STEPS),
    case("bash-refresh-restores-aliases-in-a-subshell", "edge",
         "load aliases", "@subshell", "refresh", "unload aliases", shell="bash"),
    case("bash-hierarchy-swap", "site",
         "load gcc/12.2.0 openmpi fftw", "swap gcc gcc/13.1.0", "?-t list", "!load nosuch", "purge", shell="bash"),
    case("zsh-quoting-lua", "edge", "load quoting", "unload quoting", shell="zsh",
         lmod_bugs=newline_bugs(1, "Q_NEWLINE")),
    case("zsh-aliases-and-functions", "edge", "load aliases tclalias", "unload aliases", shell="zsh"),
    case("zsh-shell-name-seen-by-modulefiles", "edge", "load tclmore shellname", shell="zsh"),
    case("zsh-hierarchy-swap", "site", "load gcc/12.2.0 openmpi", "swap gcc gcc/13.1.0", "purge", shell="zsh"),
    case("sh-quoting-lua", "edge", "load quoting", "unload quoting", shell="sh",
         lmod_bugs=newline_bugs(1, "Q_NEWLINE")),
    case("sh-hierarchy-swap", "site", "load gcc/12.2.0 openmpi", "swap gcc gcc/13.1.0", "!load nosuch", "purge",
         shell="sh"),
    case("fish-quoting-lua", "edge", "~load quoting", "unload quoting", shell="fish",
         lmod_bugs=[*newline_bugs(1, "Q_NEWLINE"), LmodBug((1,), STATUS, "ok", NEWLINE_BUG)]),
    case("fish-hierarchy-swap", "site",
         "load gcc/12.2.0 openmpi fftw", "swap gcc gcc/13.1.0", "!load nosuch", "purge", shell="fish"),
    case("fish-shell-name-seen-by-modulefiles", "edge", "load tclmore shellname", shell="fish"),
    case("sh-shell-name-seen-by-modulefiles", "edge", "load tclmore shellname", shell="sh"),
    case("fish-simple-alias", "edge", "load tclalias", "unload tclalias", shell="fish"),
]


def _needs_shell(the_case: Case) -> None:
    """zsh and fish are services (scripts/services/shells.sh): skipped locally, required in CI."""
    if the_case.shell in ("zsh", "fish"):
        require_service(the_case.shell)


@pytest.mark.parametrize("the_case", CASES, ids=lambda c: c.id)
def test_roost_matches_lmod(the_case: Case, tmp_path: Path) -> None:
    _needs_shell(the_case)
    assert_roost_matches_lmod(the_case, tmp_path)


@pytest.mark.parametrize("the_case", CASES, ids=lambda c: c.id)
def test_lmod_meets_case_expectations(the_case: Case, tmp_path: Path) -> None:
    _needs_shell(the_case)
    assert_lmod_meets_expectations(the_case, tmp_path)
