"""roost versus Lmod on a realistic site: Python modules, a Core -> Compiler -> MPI hierarchy, Tcl beside Lua,
defaults from .modulerc/.version/symlinks, hidden and sticky modules, collections and reset.

Each case is a command sequence on ``trees/site``; see oracle.py for the step syntax and trees/README.md for
what Lmod does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from oracle import Case, assert_lmod_meets_expectations, assert_roost_matches_lmod, case

pytestmark = pytest.mark.service("lmod")

DEFAULTS = "sitepolicy:python"

CASES = [
    # Defaults and name resolution.
    case("default-from-modulerc-lua", "site", "load python", "?-t list"),
    case("default-from-dot-version-tcl", "site", "load cuda", "?-t list"),
    case("default-from-symlink", "site", "load cmake"),
    case("default-from-tcl-modulerc", "site", "load hdf5"),
    case("alias-from-modulerc-lua", "site", "load py3", "?-t list"),
    case("alias-from-tcl-modulerc", "site", "load h5"),
    case("default-highest-version", "site", "load gcc", "?-t list"),
    case("default-skips-hidden-versions", "site", "load tools"),
    case("hidden-version-loads-by-full-name", "site", "load tools/3.0-beta", "load tools/.1.0", "?-t list"),
    case("partial-version-gcc-12", "site", "load gcc/12"),
    case("partial-version-cuda-12", "site", "load cuda/12"),
    case("partial-version-python-3.10", "site", "load python/3.10"),
    case("unknown-name-and-version", "site", "load cuda", "!load pyhton", "!load python/2.7", "?-t list"),
    # Python modules.
    case("python-bare-then-full-one-name", "site",
         "load python/3.10.4-bare", "load python/3.10.4", "?-t list", "unload python"),
    case("python-scientific-pulls-python", "site",
         "load python-scientific", "?-t list", "unload python-scientific", "?-t list"),
    case("python-scientific-keeps-user-python", "site",
         "load python", "load python-scientific", "unload python-scientific", "?-t list"),
    case("python-scientific-over-bare-python", "site",
         "load python/3.10.4-bare", "load python-scientific", "?-t list", "purge"),
    # The hierarchy.
    case("hierarchy-three-levels", "site",
         "load gcc/12.2.0", "load openmpi", "load fftw", "?-t list",
         "unload fftw", "unload openmpi", "unload gcc"),
    case("hierarchy-one-command", "site", "load gcc/12.2.0 openmpi fftw boost", "?-t list", "purge"),
    case("hierarchy-mpi-needs-compiler", "site", "!load openmpi", "!load fftw", "load gcc", "load openmpi"),
    case("hierarchy-swap-compiler-reloads-mpi", "site",
         "load gcc/12.2.0 openmpi fftw", "swap gcc gcc/13.1.0", "?-t list", "unload openmpi", "?-t list"),
    case("hierarchy-load-other-compiler-autoswaps", "site",
         "load gcc/12.2.0 openmpi boost", "load gcc/13.1.0", "?-t list"),
    case("hierarchy-unload-compiler-makes-mpi-inactive", "site",
         "load gcc/12.2.0 openmpi", "unload gcc", "?-t list", "load gcc/13.1.0", "?-t list"),
    case("hierarchy-swap-mpi-dependent-back", "site",
         "load gcc/12.2.0 openmpi fftw", "swap gcc/13.1.0", "swap gcc gcc/12.2.0", "?-t list"),
    # Tcl modulefiles beside Lua ones.
    case("tcl-cuda-swap-versions", "site",
         "load cuda/12.2", "swap cuda cuda/11.8", "?-t list", "unload cuda"),
    case("tcl-git-is-loaded", "site", "load git", "purge", "load python git", "unload git"),
    # Sticky, purge, reset.
    case("sticky-survives-purge", "site",
         "load sitepolicy gcc openmpi", "purge", "?-t list", "--force purge", "?-t list"),
    case("reset-to-system-defaults", "site",
         "load gcc openmpi cuda", "reset", "?-t list", env={"LMOD_SYSTEM_DEFAULT_MODULES": DEFAULTS}),
    case("reset-restores-modulepath", "site",
         "use @ROOT@/Compiler/gcc/12.2.0", "load openmpi", "reset", "?-t list",
         env={"LMOD_SYSTEM_DEFAULT_MODULES": DEFAULTS}),
    # MODULEPATH edits by the user.
    case("use-and-unuse", "site",
         "use @ROOT@/Compiler/gcc/12.2.0", "load openmpi boost", "unuse @ROOT@/Compiler/gcc/12.2.0",
         "?-t list"),
    case("use-append", "site", "use -a @ROOT@/Compiler/gcc/13.1.0", "load openmpi", "?-t list"),
    # Collections (each tool has its own HOME).
    case("save-and-restore-named", "site",
         "load gcc/12.2.0 openmpi python-scientific", "save work", "?-t savelist", "purge", "load cuda",
         "restore work", "?-t list"),
    case("save-and-restore-default-in-new-shell", "site",
         "load cmake hdf5 gcc openmpi", "save", "@new-shell", "restore", "?-t list"),
    case("restore-refuses-changed-modulepath", "site",
         "load gcc openmpi", "save", "@new-shell MODULEPATH=@ROOT@/Core:@ROOT@/Compiler/gcc/12.2.0",
         "!restore", "?-t list"),
    case("restore-unknown-collection", "site", "load cuda", "!restore nosuch", "?-t list"),
    # Terse listings.
    case("terse-avail-core", "site", "?-t avail"),
    case("terse-avail-filtered", "site", "?-t avail py", "?-t avail cuda", "?-t avail nothing-matches"),
    case("terse-avail-in-hierarchy", "site", "load gcc/12.2.0 openmpi", "?-t avail"),
    case("terse-list-empty", "site", "?-t list"),
]


@pytest.mark.parametrize("the_case", CASES, ids=lambda c: c.id)
def test_roost_matches_lmod(the_case: Case, tmp_path: Path) -> None:
    assert_roost_matches_lmod(the_case, tmp_path)


@pytest.mark.parametrize("the_case", CASES, ids=lambda c: c.id)
def test_lmod_meets_case_expectations(the_case: Case, tmp_path: Path) -> None:
    assert_lmod_meets_expectations(the_case, tmp_path)
