"""roost versus Lmod on behaviours Lmod's core regression tests (rt/ load, swap, modulerc, sticky, hierarchy,
family, depends_on, saverestore, spider) exercise: site settings read at load time, names that must be given in
full, recursive search-path entries, and the order and versions of what a load brings back.

Each case is a command sequence on ``trees/rtcore`` (see trees/README.md); oracle.py runs it through both.
"""

from __future__ import annotations

import pytest
from oracle import (
    STATUS,
    LmodBug,
    case,
    differential_tests,
)

pytestmark = pytest.mark.service("lmod")

# The lmod process exits 1 here, but it prints no shell code, so the `module` function users run (Lmod's
# `eval "$(lmod bash ...)"`) reports success, as Lmod's rt suite sees it; roost's module command does the same.
RC_EXIT_STATUS = "Lmod's module function reports 0 when a modulerc calls exit"

CASES = [
    # A module that must be named with its version (requireFullName / require-fullname).
    case("require-full-name-refuses-a-bare-name", "rtcore", "!load exact", "?-t list", "load exact/1.0",
         "!load exacttcl", "load exacttcl/2.0", "?-t list"),
    # A trailing // (search below this directory, as TeX reads it) survives; a single trailing / does not.
    case("path-entry-ending-in-double-slash-is-kept", "rtcore", "load recursive", "unload recursive",
         env={"SEARCHPATH": "/usr/share/x//"}),
    # LMOD_QUARANTINE_VARS: a module command never sets these variables.
    case("quarantined-variables-keep-the-users-values", "rtcore", "load quiet", "unload quiet",
         env={"LMOD_QUARANTINE_VARS": "KEEP_A:KEEP_B", "KEEP_A": "mine"}),
    # LMOD_DISABLE_SAME_NAME_AUTOSWAP=yes: no silent version change, by the user or by a modulefile; swap works.
    case("same-name-autoswap-disabled", "rtcore", "load ver/1.0", "!load ver/2.0", "!load puller", "?-t list",
         "swap ver ver/2.0", "?-t list", "load puller", "?-t list",
         env={"LMOD_DISABLE_SAME_NAME_AUTOSWAP": "yes"}),
    case("same-name-autoswap-by-default", "rtcore", "load ver/1.0", "load puller", "?-t list"),
    # family() at the end of a modulefile: the old member goes once the new one has run, so what the new one
    # set (TOOL_HOME) stays.
    case("family-swap-keeps-what-the-new-member-set", "rtcore", "load fama", "load famb", "?-t list",
         "unload famb", "?-t list"),
    # A compiler swap reloads the modules of its branch: the active ones in load order, then the inactive ones;
    # a module found elsewhere now (tool: CompA, then Core) is settled before the ones its unload affects.
    case("hierarchy-swap-reloads-in-lmods-order", "rtcore", "load tool", "load compA mpi lib", "?-t list",
         "load compB", "?-t list", "load compA", "?-t list"),
    case("hierarchy-swap-with-a-loaded-module-named-again", "rtcore", "load tool compA mpi lib", "load compB lib",
         "?-t list"),
    # An inactive module comes back by the name it was loaded with: blas/1.31 waits for compA, bare blas
    # follows the compiler to Core's version.
    case("inactive-module-returns-by-the-name-given", "rtcore", "load compA blas/1.31", "load compB", "?-t list",
         "load compA", "?-t list", "purge", "load compA blas", "load compB", "?-t list"),
    # depends_on(between(...)): a loaded version inside the range satisfies it (not only the default).
    case("depends-on-range-satisfied-by-the-loaded-version", "rtcore", "load py/3.9.6", "load kern", "?-t list",
         "unload kern", "?-t list", "load py/3.11.1", "load kern", "?-t list", "purge", "load kern", "?-t list"),
    # A name not reachable yet on a user's command line: fine if a later module loads it, or if it comes after
    # the module that makes it reachable; otherwise the load fails (Lmod retries it only when the command
    # line's MODULEPATH changes reloaded modules).
    case("user-load-of-a-name-a-later-module-provides", "rtcore", "load inner opener", "?-t list", "purge",
         "!load other opener", "!load inner other opener", "load inner opener other", "?-t list"),
    # `module swap` unloads first: the old compiler's branch goes inactive in load order and comes back in it.
    case("swap-compiler-brings-the-branch-back-in-order", "rtcore", "load compA mpi lib tool", "swap compA compB",
         "?-t list", "swap compB compA", "?-t list"),
    # A system modulerc guarded by LMOD_VERSION_MAJOR (set while Lmod reads rc files) hides a version from
    # load and spider.
    case("rc-guard-on-lmod-version-hides-from-load-and-spider", "rtcore", "load guarded", "?-t list",
         "?-t spider guarded", "?-t spider py", "?-t spider py/3.9.6",
         env={"LMOD_MODULERCFILE": "@ROOT@/rc/system.modulerc"}),
    # A modulerc that calls exit stops the command: nothing changes, its message is shown, and the status is
    # what Lmod's module function reports (success).
    case("rc-file-exit-stops-the-command", "rtcore", "!load cluster", "?-t list", modulepath=("Stopper",),
         lmod_bugs=[LmodBug((1,), STATUS, "ok", RC_EXIT_STATUS)]),
    case("rc-file-exit-not-reached", "rtcore", "load cluster", "?-t list", modulepath=("Stopper",),
         env={"MY_CLUSTER": "1.0"}),
    # LOADEDMODULES that no module table backs (the table was dropped) is stale: any command clears it.
    case("loadedmodules-without-a-table-is-cleared", "rtcore", "avail", "load ver/1.0", "?-t list",
         env={"LOADEDMODULES": "gone/1.0", "_LMFILES_": "/nowhere/gone/1.0.lua"}),
    # A collection restores names as typed (today's default), or the saved versions with LMOD_PIN_VERSIONS=yes.
    case("restore-follows-the-default", "rtcore", "load pin", "save",
         "@write Core/pin/.modulerc.lua 'module_version(\"pin/2.0\", \"default\")'", "purge", "restore",
         "?-t list"),
    case("restore-pinned-versions", "rtcore", "load pin", "save",
         "@write Core/pin/.modulerc.lua 'module_version(\"pin/2.0\", \"default\")'", "purge", "restore",
         "?-t list", env={"LMOD_PIN_VERSIONS": "yes"}),
]


test_roost_matches_lmod, test_lmod_meets_case_expectations = differential_tests(CASES)
