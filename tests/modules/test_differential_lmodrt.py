"""roost versus Lmod on what the rest of Lmod's regression suite (rt/, beyond its core tests) exercises:
arguments after the sub-command, version ranges in prereq() and load(), and the other corners listed in
trees/README.md under ``lmodrt/``.

Each case is a command sequence on ``trees/lmodrt``; oracle.py runs it through both.
"""

from __future__ import annotations

import pytest
from oracle import case, differential_tests

pytestmark = pytest.mark.service("lmod")

CASES = [
    # Arguments after the sub-command are never options: `load -NAME` unloads NAME first, `+NAME` loads.
    case("load-dash-name-unloads-first", "lmodrt",
         "load tool/1.4", "!load -tool needs-recent", "?-t list", "load -tool +other", "?-t list"),
    # prereq() of a range: the loaded version must be inside it.
    case("prereq-range-checks-the-loaded-version", "lmodrt",
         "load tool/1.0", "!load needs-recent", "!load needs-span", "!load needs-newest",
         "load tool/1.4 needs-recent", "!load needs-span", "load needs-newest", "load tool/1.2 needs-span",
         "?-t list"),
    # load(atleast("tool")) swapping the version a load(atleast("tool","1.3")) chose: the module is then
    # remembered by the new request, so a later reload of the hierarchy keeps the new version.
    case("load-range-swap-remembers-the-new-request", "lmodrt",
         "load wants-recent", "load wants-any", "?-t list", "load other", "load other", "?-t list"),
    # LMOD_DUPLICATE_PATHS=yes: an entry added again is there again; an unload takes away the occurrence its
    # module added (the first for a prepend, the last for an append), also across commands.
    case("duplicate-paths-kept", "lmodrt",
         "load repeat-one repeat-two repeat-tail", "unload repeat-one", "load repeat-one", "unload repeat-two",
         "unload repeat-tail", "unload repeat-one", env={"LMOD_DUPLICATE_PATHS": "yes"}),
    case("duplicate-paths-kept-from-the-user", "lmodrt",
         "load repeat-tail", "load repeat-two", "unload repeat-tail", "unload repeat-two",
         env={"LMOD_DUPLICATE_PATHS": "yes", "REPEAT_LIST": "/opt/user:/opt/one:/opt/user"}),
    # mgrload(): the modules come back as they were, without running their own load()s (piece-b, which the
    # user unloaded, stays out); their reference counts come back too (unload suite takes piece-a and -c along).
    case("mgrload-reloads-without-dependencies", "lmodrt",
         "load suite", "unload piece-b", "load rearch", "?-t list", "unload suite", "?-t list"),
    # Partial versions (Lmod's extended default): after a digit a separator must follow, after a letter or a
    # separator anything may.
    case("partial-version-ending-in-a-word", "lmodrt",
         "load kit/2.1-a", "?-t list", "load kit/2.1", "?-t list", "load kit/2.1-", "?-t list", "load kit/3.0_",
         "?-t list", "!load kit/2.1-x", "!load kit/3.0r"),
    # LMOD_TMOD_FIND_FIRST=yes: the first MODULEPATH directory holding a name decides its default (a full name
    # still loads from any directory); by default the highest version across all directories wins.
    case("find-first-setting", "lmodrt", "load gadget", "?-t list", "load gadget/3.0", "load gadget/1.0",
         "?-t list", modulepath=("Core", "Second"), env={"LMOD_TMOD_FIND_FIRST": "yes"}),
    case("find-best-by-default", "lmodrt", "load gadget", "?-t list", modulepath=("Core", "Second")),
    # inherit(): unloading runs the file found on load, even when MODULEPATH no longer leads to it.
    case("inherit-unload-runs-the-file-found-on-load", "lmodrt",
         "load layer", "unuse @ROOT@/Shared", "unload layer", "?-t list", modulepath=("Mine", "Shared")),
    # help()/whatis() with a table or a number: the load fails; show and whatis warn (and fail).
    case("help-and-whatis-take-text-only", "lmodrt", "!load badhelp", "!load badwhatis", "?-t list",
         "!show badhelp", "!whatis badwhatis", "!help badhelp"),
    # os.exit() (Lua) and exit (Tcl) while showing: listed as os.exit("N"), and the listing goes on;
    # --location show prints only the file, without running it.
    case("show-lists-exit-and-goes-on", "lmodrt", "?show quitter", "?show tquitter", "?--location show quitter",
         "?--location whatis tquitter", "!load quitter", "?-t list"),
    # $LMOD_CONFIG_DIR/lmod_config.lua runs first: its sandbox_registration{} helpers reach modulefiles, and the
    # LMOD_PACKAGE_PATH it assigns is where SitePackage.lua is found.
    case("config-dir-lmod-config-lua", "lmodrt", "load configured", "unload configured",
         env={"LMOD_CONFIG_DIR": "@ROOT@/Config", "LMODRT_ROOT": "@ROOT@"}),
    # Tcl `complete SHELL NAME ARGS` (tcl2lua's complete()): the modulefile loads; show lists the call.
    case("tcl-complete", "lmodrt", "load tcompleted", "unload tcompleted", "?show tcompleted"),
    # Tcl `puts prestdout TEXT` (Lmod's channel for output before everything else): the modulefile loads.
    case("tcl-puts-prestdout", "lmodrt", "load tearly", "?-t list", "unload tearly", shell="bash"),
    # A name later on the command line that only the hierarchy's reload makes reachable (Lmod's moduleQ):
    # beta replaces alpha (family), mpilib comes back from beta's branch, and that branch has solver.
    case("later-name-found-after-the-hierarchy-reload", "lmodrt", "load alpha mpilib", "load beta solver",
         "?-t list", "!load alpha nosuch", "?-t list", env={"LMODRT_ROOT": "@ROOT@"}),
    # Which files are modulefiles (Lmod's DirTree): `.orig` and `.bak` are; `~` backups and `#...#` locks are not.
    case("backup-suffixes-are-modulefiles", "lmodrt", "load oldcopy.orig", "load kept/1.0.bak", "?-t list",
         "!load kept/2.0~", "?-t avail kept"),
    # mname:defaultKind() in a site's load hook: "marked" (the tree's own mark), "system" (a system modulerc
    # file), "none" (not the default, or no mark at all).
    case("site-hook-default-kind", "lmodrt", "load era", "load gadget", "load era/2016",
         env={"LMOD_PACKAGE_PATH": "@ROOT@/SiteKind"}),
    case("site-hook-default-kind-system-modulerc", "lmodrt", "load era", "load era/2020",
         env={"LMOD_PACKAGE_PATH": "@ROOT@/SiteKind", "LMOD_MODULERCFILE": "@ROOT@/SiteKind/system.modulerc.lua"}),
    # A path function given nil (an unset variable): loading fails; spider skips the call, goes on (and finds
    # what the rest of the file makes reachable), lists everything and exits 1.
    case("path-function-given-nil", "lmodrt", "!load nilpath", "?!spider", "?!spider beyond",
         modulepath=("Spidered",), env={"LMODRT_ROOT": "@ROOT@"}),
    case("setenv-given-nil", "lmodrt", "!load nilenv", "?-t list", "!show nilenv"),
    # A collection remembers what its modulefiles load and how they change MODULEPATH (Lmod's computeHashSum):
    # another setenv value restores; a new load() does not (the default collection warns and leaves nothing
    # loaded, a named one fails).
    case("restore-refuses-a-changed-modulefile", "lmodrt",
         "load recipe", "save", "purge", "@write Core/recipe/1.0.lua 'setenv(\"RECIPE\", \"b\")'", "restore",
         "?-t list", "purge", "@write Core/recipe/1.0.lua 'load(\"other\")\nsetenv(\"RECIPE\", \"c\")'",
         "!restore", "?-t list", "load recipe", "save mine", "purge",
         "@write Core/recipe/1.0.lua 'setenv(\"RECIPE\", \"d\")'", "!restore mine", "?-t list"),
    # source_sh() while showing: the script runs (a missing one fails the show), as when loading.
    case("show-runs-source-sh", "lmodrt", "show sourcer", "!show badsourcer", "load sourcer", "unload sourcer",
         "!load badsourcer", env={"LMODRT_ROOT": "@ROOT@"}),
    # A module that rewrites MODULEPATH to another architecture's tree: the old compiler's unload removes an
    # entry that is no longer there, which still starts a nested reload (lib comes back before cc).
    case("modulepath-edit-that-changes-nothing-still-reloads", "lmodrt", "load cc lib", "load archswitch",
         "?-t list", modulepath=("ArchA/Core", "Common"), env={"LMODRT_ROOT": "@ROOT@"}),
]


test_roost_matches_lmod, test_lmod_meets_case_expectations = differential_tests(CASES)
