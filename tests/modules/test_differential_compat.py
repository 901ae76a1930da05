"""roost versus Lmod on what Lmod's own regression suite (rt/) exercises and roost's corpus did not: the rest of
the modulefile sandbox (file helpers, capture, execute{}, inherit, hierarchyA, LmodBreak), command-line options
(--ignore_cache, -T, --mt, --config, --checkSyntax, --latest, --priority, -r, sub-command prefixes), sticky
modules on purge, chains of symbolic versions, and MODULEPATH as Lmod writes it back.

Each case is a command sequence on ``trees/compat`` (see trees/README.md); oracle.py runs it through both.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from oracle import (
    LMOD,
    ROOST,
    case,
    differential_tests,
    install_tree,
)

pytestmark = pytest.mark.service("lmod")

ROOT = {"COMPAT_ROOT": "@ROOT@"}

CASES = [
    # The sandbox.
    case("sandbox-file-and-path-helpers", "compat", "load helpers", "unload helpers"),
    case("sandbox-string-methods", "compat", "load splitter", "unload splitter"),
    case("sandbox-variable-names-are-trimmed", "compat", "load spaced", "unload spaced"),
    case("sandbox-execute-runs-and-loads", "compat", "load runner", "unload runner"),
    case("sandbox-lmodbreak-drops-the-module", "compat", "load halts", "?-t list", "load halter", "?-t list"),
    case("sandbox-inherit-runs-the-next-same-name", "compat", "load layered", "unload layered",
         modulepath=("Personal", "Site")),
    case("sandbox-hierarchya-names-the-compiler", "compat", "load proj", modulepath=("Deep/Compiler/gnu/8",)),
    # Command-line options and sub-command names.
    case("option-ignore-cache-and-trace", "compat", "--ignore_cache load plain", "-T unload plain",
         "--ignore_cache avail"),
    case("option-mt-and-config-change-nothing", "compat", "load plain", "--mt", "--config"),
    case("option-check-syntax-loads-nothing", "compat", "--checkSyntax load halter", "?-t list"),
    case("option-latest-ignores-the-marked-default", "compat", "load pinned", "?-t list", "--latest load pinned",
         "?-t list", "use @ROOT@/B", "?-t list"),
    case("subcommand-prefixes", "compat", "lo plain", "?-t li", "del plain", "lo plain", "era plain", "?-t li"),
    case("spider-regexp", "compat", "-r spider ^pl", "!-r spider ^nothing-matches"),
    # MODULEPATH.
    case("use-puts-each-directory-in-front-in-turn", "compat", "use @ROOT@/A @ROOT@/B", "load plain",
         "unuse @ROOT@/A @ROOT@/B", "use -a @ROOT@/A @ROOT@/B", "load plain"),
    case("use-priority-keeps-a-directory-in-front", "compat", "use --priority 50 @ROOT@/A", "use @ROOT@/B",
         "load plain"),
    case("avail-without-modulepath-fails", "compat", "!avail", "-t avail", "use @ROOT@/Core", "avail plain",
         env={"MODULEPATH": "@ROOT@/Nowhere"}),
    case("use-of-missing-directory-still-adds-it", "compat", "use @ROOT@/Nowhere", "load plain"),
    # (Lmod's first avail lists a directory given twice twice; only what it writes back is compared)
    case("modulepath-written-back-clean", "compat", "-t avail plain", "list", "load plain",
         env={"MODULEPATH": "@ROOT@//Core/:@ROOT@/./Core:@ROOT@/A/"}),
    # Sticky modules on purge.
    case("purge-reloads-sticky-drops-unreachable", "compat", "load anchor toolchain solver", "purge", "?-t list",
         "--force purge", "?-t list", env=ROOT),
    # Loads from modulefiles.
    case("load-of-own-name-replaces-the-loader", "compat", "load pair/outer", "?-t list", "unload pair"),
    case("missing-version-satisfied-by-a-later-load", "compat", "load app", "?-t list", "unload app"),
    case("load-of-empty-name", "compat", "?show loadsnothing", "!load loadsnothing", modulepath=("Legacy",)),
    case("two-underscores-are-reserved", "compat", "!load __reserved/1.0", "load plain"),
    case("pushenv-false-unsets-for-a-while", "compat", "load pushoff", "unload pushoff", env={"PUSHED": "mine"}),
    case("empty-path-entry", "compat", "load emptyentry", "unload emptyentry", env={"MANPATH": "/usr/man"}),
    case("spider-name-that-begins-longer-names", "compat", "spider kits", "spider kits/vendor",
         modulepath=("Nvv",)),
    # Names with several levels: categories, N/V/V, modules without a version above the names.
    case("nvv-name-and-version-split-at-the-marked-directory", "compat", "load suite/.beta/7.1", "?-t list",
         modulepath=("Nvv",)),
    case("nvv-category-directories", "compat", "!load kits/vendor", "load kits/vendor/2019/u4",
         "load kits/vendor/2021.2", "load kits/gnu", "?-t list", "?-t avail", modulepath=("Nvv",)),
    case("nvv-file-beside-directory-is-its-own-name", "compat", "load clang/10", "!load wants", "?-t list",
         modulepath=("Nvv",)),
    case("nvv-first-directory-wins", "compat", "load pkg", "?-t list", "purge", "load pkg/1.0", "?-t list",
         modulepath=("First", "Other")),
    case("nvv-first-directory-wins-reversed", "compat", "load pkg", "?-t list", modulepath=("Other", "First")),
    case("file-named-default-is-a-version", "compat", "load dflt/default", "?-t list", "?-t avail dflt",
         modulepath=("Legacy",)),
    case("family-of-a-module-without-version", "compat", "load famless", "unload famless", modulepath=("Legacy",)),
    case("tcl-path-commands-as-lmod-reads-them", "compat", "load tclpath", "?show tclpath", "unload tclpath",
         modulepath=("Legacy",), env={"TP_GONE": "here"}),
    case("restore-brings-sticky-hierarchy-back", "compat", "load toolchain solver anchor", "save", "restore",
         "?-t list", env=ROOT),
    case("restore-loads-what-a-later-module-makes-reachable", "compat", "load bundle", "save", "purge", "restore",
         "?-t list", env=ROOT),
    # Symbolic versions that name symbolic versions.
    case("symbolic-version-chain-marks-default", "compat", "load ladder", "?-t list", "load ladder/5",
         "?-t list", "load ladder/4.1", "?-t list"),
]


test_roost_matches_lmod, test_lmod_meets_case_expectations = differential_tests(CASES)


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_tilde_in_path_functions_is_the_home_directory(version: str, tmp_path: Path) -> None:
    """`~/lib` in prepend-path / prepend_path is $HOME/lib in Lmod (setenv keeps it); both tools share a HOME
    here, which the oracle's cases cannot do."""
    root = install_tree("compat", tmp_path)
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "LANG": "C.UTF-8",
               "MODULEPATH": str(root / "Legacy")}
    results = [tool.run(["load", f"tilde/{version}"], dict(environ)) for tool in (LMOD, ROOST)]
    lmod, roost = ({k: v for k, v in r.environ.items() if k.startswith("TILDE")} for r in results)
    assert results[0].ok and results[1].ok
    assert roost == lmod
    assert any(value.startswith(str(tmp_path / "home")) for value in roost.values())
