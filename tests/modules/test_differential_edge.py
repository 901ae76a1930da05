"""roost versus Lmod on the semantics corner cases: reference counts, pushenv, priorities, delimiters,
quoting, name functions, version helpers, families, dependencies, Tcl commands, several
MODULEPATH directories.

Each case is a command sequence on ``trees/edge``; see oracle.py for the step syntax and trees/README.md for
what Lmod does.
"""

from __future__ import annotations

import pytest
from oracle import LmodBug, case, differential_tests

pytestmark = pytest.mark.service("lmod")

FAMILY_NAME_BUG = ("Lmod 8.6 sets LMOD_FAMILY_<NAME> even when a dash in the family name makes it no shell name "
                   "(bash then runs it as a command); roost leaves those variables out and keeps the family")
RESTORE_BUG = "Lmod < 8.7.48 leaves the purged modules' environment behind on restore (TACC/Lmod#717)"

CASES = [
    # Path-like variables.
    case("refcount-shared-path-entry", "edge", "load refa", "load refb", "unload refa", "unload refb"),
    case("refcount-unload-in-load-order", "edge", "load refa refb", "unload refb", "unload refa"),
    case("same-entry-prepended-twice", "edge", "load twice", "unload twice"),
    case("prepend-entry-user-already-has", "edge", "load sysbin", "unload sysbin"),
    case("remove-path-not-undone-on-unload", "edge", "load remover", "unload remover",
         env={"REMOVE_LIST": "a:b:c"}),
    case("priority-entries-stay-outermost", "edge", "load prio", "load later", "unload prio", "unload later"),
    case("custom-delimiters", "edge", "load delim", "unload delim", env={"LUA_PATH": ";;"}),
    case("custom-delimiters-unset-start", "edge", "load delim", "unload delim"),
    case("value-with-several-entries", "edge", "load multi-entry", "load refa", "unload multi-entry"),
    # setenv / pushenv / unsetenv.
    case("pushenv-restores-on-unload", "edge",
         "load pusher/1.0", "load pushother", "unload pushother", "unload pusher", env={"EDITOR_X": "vi"}),
    case("pushenv-unload-out-of-order", "edge",
         "load pusher/1.0", "load pushother", "unload pusher", "unload pushother", env={"EDITOR_X": "vi"}),
    case("pushenv-from-unset", "edge", "load pusher", "unload pusher"),
    # Each order in its own case: after the first sequence Lmod keeps a stale pushenv stack (__LMOD_STACK_*) and
    # the second would then restore "vi" instead of the setenv value.
    case("pushenv-then-setenv", "edge",
         "load pusher/1.0", "load setseditor", "unload setseditor", "unload pusher", env={"EDITOR_X": "vi"}),
    case("setenv-then-pushenv", "edge",
         "load setseditor", "load pusher/1.0", "unload pusher", "unload setseditor", env={"EDITOR_X": "vi"}),
    case("pushenv-version-swap", "edge", "load pusher/1.0", "load pusher/2.0", "unload pusher",
         env={"EDITOR_X": "vi"}),
    case("setenv-unload-unsets-user-value", "edge", "load setter", "unload setter",
         env={"SETTER_VAR": "user"}),
    case("unsetenv-not-restored", "edge", "load unsetter", "unload unsetter", env={"UNSET_ME": "here"}),
    # Values that must survive the trip through shell code.
    case("quoting-lua-values", "edge", "load quoting", "unload quoting"),
    case("quoting-tcl-values", "edge", "load quotetcl", "unload quotetcl",
         lmod_bugs=[LmodBug((1,), "TQ_UNICODE", "Zürich — 東京 — ñ",
                            "Lmod 8.6 double-encodes non-ASCII text from Tcl modulefiles")]),
    case("quoting-user-value-kept", "edge", "load refa", "unload refa",
         env={"PATH": "/usr/bin:/opt/it's here/bin:/bin", "USER_ODD": "a'b\"c$d`e`;f\ng ü"}),
    # Modulefile functions.
    case("name-functions-and-getenv", "edge", "load names", "unload names", env={"SITE_NAME": "testsite"}),
    case("lua-file-helpers-and-stdlib", "edge", "load luaextras", "unload luaextras"),
    case("isloaded-and-isavail", "edge", "load probe", "unload probe", "load refa", "load probe"),
    case("atleast", "edge", "load wantsnew", "?-t list", "unload wantsnew"),
    case("between", "edge", "load wantsrange", "?-t list"),
    case("latest", "edge", "load wantslatest", "?-t list"),
    case("atleast-unsatisfiable", "edge", "load refa", "!load wantsold", "?-t list"),
    case("version-ordering", "edge", "load ord", "?-t avail ord"),
    case("version-ordering-mixed", "edge", "load vord", "?-t avail vord"),
    case("easybuild-style-versions", "edge", "load Python", "?-t avail Python"),
    case("terse-avail-several-filters", "edge", "?-t avail lib ref"),
    case("terse-list-filtered", "edge", "load lib refa", "?-t list lib", "?-t list nothing"),
    # Loading and unloading other modules.
    case("one-name-rule-on-one-command", "edge", "load lib/1.0 lib/2.0", "?-t list"),
    case("one-name-rule-replaces", "edge",
         "load lib/1.0", "load lib/3.0", "load lib", "?-t list", "unload lib"),
    case("load-already-loaded-last-changes-nothing", "edge", "load refa", "load refa", "?-t list"),
    case("modulefile-load-of-a-loaded-module-reloads-it", "edge",
         "load refa refb", "load always", "load loader", "?-t list", "load refa user1", "load shared", "?-t list"),
    case("load-already-loaded-moves-it-to-the-end", "edge",
         "load refa refb", "load refa", "?-t list", "load refb", "load lib/1.0 seta", "load lib/1.0", "?-t list"),
    case("unload-not-loaded", "edge", "load refa", "unload refb", "?-t list"),
    case("unload-several-some-not-loaded", "edge", "load lib/1.0 refa", "unload refb lib refa", "?-t list"),
    case("swap-to-unknown-keeps-old", "edge", "load lib/1.0 refa", "!swap lib lib/9.9", "?-t list"),
    case("avail-lists-broken-modulefiles", "edge", "?-t avail broken"),
    case("family-autoswap", "edge", "load fama", "load famb", "?-t list", "unload famb"),
    case("family-twice-on-one-command", "edge", "load fama famb", "?-t list"),
    case("depends-on-shared", "edge",
         "load user1 user2", "unload user1", "?-t list", "unload user2", "?-t list"),
    case("depends-on-user-loaded-stays", "edge", "load shared", "load user1", "unload user1", "?-t list"),
    case("load-unloads-its-load", "edge", "load refa loader", "unload loader", "?-t list"),
    case("always-load-stays", "edge", "load always", "unload always", "?-t list"),
    case("try-load-missing", "edge", "load trymiss", "?-t list", "unload trymiss"),
    case("sticky-unload-and-force", "edge",
         "load sticky refa", "unload sticky", "?-t list", "--force unload sticky", "?-t list"),
    # Tcl.
    case("tcl-commands", "edge", "load tclbasic", "unload tclbasic", "load refa tclbasic", "?-t list",
         env={"SITE_NAME": "testsite"}),
    case("show-tcl-and-lua-functions", "edge", "?show tclbasic", "?show names", "?show prio", "?show delim",
         env={"SITE_NAME": "testsite"}),
    case("tcl-prereq-and-conflict", "edge",
         "!load tclprereq", "load refa", "load tclprereq", "!load tclconflict", "?-t list"),
    # Features interleaved: pushenv stacks, shared path entries, families, dependencies, swaps.
    case("interleaved-state", "edge",
         "load pusher/1.0 refa user1", "load pushother refb user2", "swap pusher/2.0", "unload user1",
         "load fama", "load famb", "unload refa", "?-t list", "unload pushother", "purge", "?-t list",
         env={"EDITOR_X": "vi"}),
    # Names and versions.
    case("nested-category-name", "edge",
         "load bio/samtools", "?-t list", "unload bio/samtools", "!load bio", "load bio/samtools/1.9",
         "?-t avail bio"),
    case("module-without-version", "edge", "load standalone", "?-t list", "?-t avail stand", "unload standalone"),
    case("symbolic-versions", "edge",
         "load symver", "load symver/stable", "load sv", "load symver/testing", "?-t avail symver"),
    case("dot-version-names-missing-version", "edge", "load badversion"),
    case("names-are-case-sensitive", "edge", "!load LIB", "!load Lib/1.0", "?-t list"),
    case("unload-other-version-is-noop", "edge", "load lib/3.0", "unload lib/1.0", "?-t list"),
    case("swap-with-one-argument", "edge", "load lib/1.0", "swap lib/3.0", "?-t list"),
    case("swap-of-unloaded-module", "edge", "load lib/3.0", "!swap refa refb", "!swap lib/2.0 refa", "?-t list"),
    case("purge-with-nothing-loaded", "edge", "purge", "purge", "?-t list"),
    # More setenv/paths.
    case("setenv-by-two-modules", "edge", "load seta", "load setb", "unload setb", "?-t list"),
    case("empty-values", "edge", "load empty", "unload empty"),
    case("modulefile-appends-modulepath", "edge",
         "load modpath", "load onlyother", "unload modpath", "?-t list", "load modpath", "?-t list"),
    # More prerequisites and dependencies.
    case("prereq-needs-all-lua", "edge", "!load needsboth", "load refa", "!load needsboth", "load refb needsboth"),
    case("prereq-any", "edge", "!load needsany", "!load tclneedsany", "load refb", "load needsany tclneedsany"),
    case("prereq-and-conflict-with-versions", "edge",
         "load lib/3.0", "!load needsver", "load confver", "load lib/2.0 needsver", "load lib/1.0", "?-t list"),
    case("depends-on-chain", "edge", "load chaina", "unload chaina", "load chaina", "unload chainb", "?-t list"),
    case("depends-on-older-version-swaps", "edge",
         "load lib/3.0", "load pinsold", "?-t list", "unload pinsold", "?-t list"),
    case("unload-dependency-leaves-dependent", "edge", "load user1", "unload shared", "?-t list"),
    case("lmoderror-on-unload-is-a-warning", "edge", "load noUnload refa", "~unload noUnload", "purge",
         "?-t list"),
    case("family-name-with-dash", "edge", "load famdash", "unload famdash",
         lmod_bugs=[LmodBug((1,), name, None, FAMILY_NAME_BUG)
                    for name in ("LMOD_FAMILY_MY-TOOLCHAIN", "LMOD_FAMILY_MY-TOOLCHAIN_VERSION")]),
    case("unload-in-modulefile", "edge", "load refa", "load unloader", "unload unloader", "?-t list"),
    # Collections.
    case("collections-list-describe-disable", "edge",
         "!save empty", "?-t savelist", "load refa lib/2.0", "save zeta", "save alpha", "?-t savelist",
         "?describe alpha", "disable zeta", "?-t savelist", "purge", "--force save nothing", "load refa",
         "~restore nothing", "?-t list",
         lmod_bugs=[LmodBug((13, 14), name, value, RESTORE_BUG)
                    for name, value in (("REFA", None), ("MANPATH", None), ("PATH", "/usr/local/bin:/usr/bin:/bin"))]),
    case("restore-is-not-pinned", "edge",
         "load lib", "save", "@write Core/lib/4.0.lua 'setenv(\"LIB_VERSION\", \"4.0\")'", "purge", "restore",
         "?-t list"),
    # More Tcl.
    case("tcl-module-info-and-delimiters", "edge", "load setter", "load tclinfo", "unload tclinfo",
         env={"TCLINFO_GONE": "x"}),
    case("tcl-more-commands", "edge", "load tclmore", "unload tclmore", env={"SITE_NAME": "testsite"}),
    case("lua-shell-name-and-type", "edge", "load shellname", "unload shellname"),
    case("tcl-break-skips-the-module", "edge", "load tclbreak", "?-t list", "load refa tclbreak", "?-t list"),
    case("tcl-break-not-taken", "edge", "load tclbreak", "?-t list", env={"TCLBREAK_ALLOW": "1"}),
    case("tcl-pushenv", "edge", "load tclpush", "unload tclpush", env={"EDITOR_X": "vi"},
         lmod_bugs=[LmodBug((2,), "EDITOR_X", "vi", "Lmod 8.6 does not restore a Tcl pushenv (TACC/Lmod#584)")]),
    # Several MODULEPATH directories.
    case("modulepath-highest-across-dirs", "edge", "load multi", modulepath=("Core", "Other")),
    case("modulepath-same-version-first-dir", "edge", "load dup", modulepath=("Core", "Other")),
    case("modulepath-same-version-first-dir-reversed", "edge", "load dup", modulepath=("Other", "Core")),
    case("modulepath-marked-default-wins", "edge", "load marked", modulepath=("Other", "Core")),
    case("modulepath-highest-marked-default-wins", "edge", "load twomarks", "?-t -d avail twomarks",
         modulepath=("Core", "Other")),
    case("modulepath-highest-marked-default-wins-reversed", "edge", "load twomarks", modulepath=("Other", "Core")),
    case("modulepath-marked-letter-version-beats-numbers", "edge", "load rmark", "?-t avail rmark",
         modulepath=("Other", "Core")),
    case("modulepath-same-version-marked-in-second-dir", "edge",
         "load dupmark/1.0", "purge", "load dupmark", "purge", "load dupmark/1", modulepath=("Core", "Other")),
    case("modulepath-only-in-second-dir", "edge", "load onlyother", modulepath=("Core", "Other")),
    case("modulepath-terse-avail", "edge", "?-t avail multi", "?-t avail dup", "?-t avail marked",
         modulepath=("Other", "Core")),
    case("modulepath-normalised", "edge",
         "load refa", "?-t avail refa", "use @ROOT@/Other/", "unuse @ROOT@/Other",
         env={"MODULEPATH": "@ROOT@/Missing:@ROOT@/Core/:@ROOT@/Core"}),
    case("modulepath-emptied", "edge", "unuse @ROOT@/Core", "!load refa", "use @ROOT@/Core", "load refa"),
    case("modulepath-unuse-makes-inactive", "edge",
         "use @ROOT@/Other", "load onlyother", "unuse @ROOT@/Other", "?-t list", "use @ROOT@/Other", "?-t list"),
    case("modulepath-use-same-version-other-dir", "edge", "load dup", "use @ROOT@/Other", "?-t list",
         lmod_bugs=[LmodBug((2, 3), "_LMFILES_", "@ROOT@/Other/dup/1.0.lua",
                            "Lmod 8.6 reloads dup/1.0 from the new directory but leaves _LMFILES_ at the old file")]),
    case("modulepath-use-changes-default", "edge",
         "load multi", "use @ROOT@/Other", "?-t list", "load multi", "?-t list"),
]


test_roost_matches_lmod, test_lmod_meets_case_expectations = differential_tests(CASES)
