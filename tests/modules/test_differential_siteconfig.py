"""roost versus Lmod 8.6 on a site's own configuration: SitePackage.lua on LMOD_PACKAGE_PATH (helpers handed to
modulefiles with sandbox_registration, site Lua modules found with require, hooks), and admin.list messages
(LMOD_ADMIN_FILE).

The site here is made up for these tests: a centre whose SitePackage.lua computes install prefixes, tags what
users load, and relabels avail's sections.  Each case runs the same steps through Lmod and roost (oracle.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest
from oracle import LMOD, ROOST, Case, case, differences, expectation_mismatches, run_case, write_tree

pytestmark = pytest.mark.service("lmod")

SITE_PACKAGE = r"""
require("strict")
local hook = require("Hook")
local dbg = require("Dbg"):dbg()
local layout = require("centre.layout")   -- site/centre/layout.lua

-- not registered: modulefiles must not see it (Lmod's sandbox rule)
function privateHelper() return "private" end

local function installPrefix(kind)
   dbg.start{"installPrefix(", kind, ")"}
   local prefix = pathJoin(layout.root, kind, myModuleName(), myModuleVersion())
   dbg.fini("installPrefix")
   return prefix
end

local function standardPaths(prefix)
   prepend_path("PATH", pathJoin(prefix, "bin"))
   prepend_path("MANPATH", pathJoin(prefix, "share/man"))
end

local function tagLoad(t)
   setenv("CENTRE_LAST_LOAD", t.modFullName)
   setenv("CENTRE_LAST_SN", t.mname:sn())
   if t.modFullName:find("^legacy") then
      LmodMessage("centre: " .. t.modFullName .. " is kept for old jobs only")
   end
end

local function noteUnload(t)
   LmodMessage("centre: unloaded " .. t.modFullName)
end

local function footer(kind, a)
   a[#a + 1] = "Centre help desk: see the user guide (" .. kind .. ")\n"
   return a
end

local function labels(t)
   if masterTbl().availStyle ~= "grouped" then return end
   for dir in pairs(t) do
      if dir:find("/apps$") then t[dir] = "Applications" else t[dir] = "Compilers and libraries" end
   end
end

hook.register("load", tagLoad)
hook.register("unload", noteUnload)
hook.register("msgHook", footer)
hook.register("avail", labels)

sandbox_registration{ installPrefix = installPrefix, standardPaths = standardPaths }
"""

TREE: Dict[str, str] = {
    "site/SitePackage.lua": SITE_PACKAGE,
    "site/centre/layout.lua": 'return { root = "/centre/sw" }\n',
    "core/gcc/13.2.lua": 'local prefix = installPrefix("compilers")\nstandardPaths(prefix)\n'
                         'setenv("GCC_PREFIX", prefix)\nfamily("compiler")\n',
    "core/zlib/1.3.lua": 'setenv("ZLIB_PREFIX", installPrefix("libs"))\n',
    "core/legacy/0.9": "#%Module\nsetenv LEGACY 1\n",
    "core/hdf5/1.14.lua": 'setenv("HDF5_VERSION", "1.14")\n',
    "apps/viewer/2.0.lua": 'whatis("an image viewer")\nstandardPaths(installPrefix("apps"))\n',
    "apps/peeker/1.0.lua": 'setenv("PEEK", tostring(privateHelper ~= nil))\n',
    "apps/nosy/1.0.lua": 'setenv("NOSY", privateHelper())\n',
    "etc/admin.list": "# messages for users of these modules\n"
                      "legacy/0.9: legacy is unsupported since 2024\n"
                      "  and will be removed.\n\n"
                      "zlib/1%.3 | viewer/2.0 | hdf5/1.14:\n"
                      "   Rebuilt last week: report problems to the help desk.\n\n"
                      "@ROOT@/apps/viewer/2.0.lua: never shown: the name matched first\n",
}

SITE_ENV = {"LMOD_PACKAGE_PATH": "@ROOT@/site"}
ADMIN_ENV = {"LMOD_ADMIN_FILE": "@ROOT@/etc/admin.list"}
TWO_DIRS = ("core", "apps")

CASES = [
    case("sitepackage-helpers-in-modulefiles", "site-config", "load gcc zlib viewer", "?-t list", "unload gcc",
         "unload zlib viewer", modulepath=TWO_DIRS, env=SITE_ENV),
    case("sitepackage-private-functions-stay-private", "site-config", "load peeker", "!load nosy", "?-t list",
         modulepath=TWO_DIRS, env=SITE_ENV),
    case("hook-load-and-unload-messages", "site-config", "?load legacy", "?load zlib", "?unload legacy",
         modulepath=TWO_DIRS, env=SITE_ENV),
    case("hook-msghook-on-avail-and-list", "site-config", "load zlib", "?avail", "?list",
         modulepath=TWO_DIRS, env=SITE_ENV),
    case("hook-avail-labels-with-a-grouped-style", "site-config", "?avail",
         modulepath=TWO_DIRS, env={**SITE_ENV, "LMOD_AVAIL_STYLE": "grouped:system"}),
    case("hook-avail-labels-not-with-the-system-style", "site-config", "?avail",
         modulepath=TWO_DIRS, env={**SITE_ENV, "LMOD_AVAIL_STYLE": "system:grouped"}),
    case("admin-list-messages-on-load", "site-config", "?load legacy", "?load zlib viewer", "?load gcc",
         modulepath=TWO_DIRS, env={**SITE_ENV, **ADMIN_ENV}),
    case("admin-list-without-a-site-package", "site-config", "?load legacy hdf5", "unload legacy", "?load legacy",
         modulepath=("core",), env=ADMIN_ENV),
]


# The system modulerc files and the user's ~/.modulerc.lua override the tree's own defaults, aliases and hiding.
RC_TREE: Dict[str, str] = {
    "rc/core/mpi/4.1.lua": 'setenv("MPI_VERSION", "4.1")\n',
    "rc/core/mpi/5.0.lua": 'setenv("MPI_VERSION", "5.0")\n',
    "rc/core/mpi/5.1.lua": 'setenv("MPI_VERSION", "5.1")\n',
    "rc/core/mpi/.modulerc.lua": 'module_version("mpi/5.0", "default")\n',
    "rc/core/fft/3.3.lua": 'setenv("FFT", "3.3")\n',
    "rc/etc/site.lua": 'module_version("mpi/4.1", "default")\nmodule_alias("oldfft", "fft/3.3")\n'
                       'hide_version("mpi/5.1")\n',
    "rc/etc/more.modulerc": "#%Module\nmodule-alias stablempi mpi/5.0\n",
    "rc/user.modulerc.lua": 'module_version("mpi/5.1", "default")\n',
    # a site hook that hides what the names would show
    "rc/visible/SitePackage.lua": 'local hook = require("Hook")\n'
                                  'hook.register("isVisibleHook", function(t)\n'
                                  '  if t.fullName == "mpi/4.1" then t.isVisible = false end\nend)\n',
}
# Lmod's Pkg class (TACC-style trees), at the top level of the hierarchy
RC_TREE.update({
    "rc/pkgcore/gcc/13.2.1.lua": 'local pkg = Pkg:new{Category="Compiler", URL="https://gcc.gnu.org",\n'
                                 '  Description="GNU compilers", display_name="GCC", help="The GNU compilers."}\n'
                                 'pkg:setStandardPaths("BIN", "LIB", "MAN")\n'
                                 'setenv("GCC_BASE", pkg:pkgBase())\nprepend_path("MODULEPATH", pkg:moduleDir())\n'
                                 'family("compiler")\n',
    "rc/pkgcore/cmake/3.27.lua": 'local pkg = Pkg:new{Description="CMake", pkgRoot="/site/tools", digit_rule=1}\n'
                                 'setenv("CMAKE_BASE", pkg:pkgBase())\nsetenv("CMAKE_MDIR", pkg:moduleDir())\n',
})
PKG_ENV = {"MODULEPATH_ROOT": "@ROOT@/rc/pkgtree", "SITE_PACKAGE_ROOT": "/centre/apps"}

SYSTEM_RC = {"LMOD_MODULERCFILE": "@ROOT@/rc/etc/site.lua:@ROOT@/rc/etc/more.modulerc"}
RC_DIRS = ("rc/core",)

RC_CASES = [
    case("modulerc-tree-only", "rc", "?-t avail", "load mpi", "!load oldfft", modulepath=RC_DIRS),
    case("modulerc-system-files-override-the-tree", "rc", "?-t avail", "load mpi", "load oldfft",
         "load stablempi", "?-t list", modulepath=RC_DIRS, env=SYSTEM_RC),
    case("modulerc-user-file-overrides-the-system", "rc", "?-t avail", "load mpi", modulepath=RC_DIRS,
         env={**SYSTEM_RC, "ROOST_TEST_USER_RC": "1"}),
    case("pkg-class-at-the-top-level", "rc", "load gcc", "?show gcc", "?whatis gcc", "?help gcc", "load cmake",
         "unload gcc", modulepath=("rc/pkgcore",), env=PKG_ENV),
    case("hook-is-visible", "rc", "?-t avail", "?-t -d avail", "load mpi/4.1", modulepath=RC_DIRS,
         env={"LMOD_PACKAGE_PATH": "@ROOT@/rc/visible"}),
]


def _run_both(the_case: Case, root: Path, tmp_path: Path) -> None:
    homes = {tool.name: tmp_path / f"home-{tool.name}" for tool in (LMOD, ROOST)}
    if dict(the_case.env).get("ROOST_TEST_USER_RC"):
        for home in homes.values():
            home.mkdir(parents=True, exist_ok=True)
            (home / ".modulerc.lua").write_text((root / "rc/user.modulerc.lua").read_text())
    runs = {tool.name: run_case(the_case, tool, root, homes[tool.name]) for tool in (LMOD, ROOST)}
    problems = expectation_mismatches(the_case, runs["lmod"])
    assert not problems, "\n".join(problems)
    report = differences(the_case, runs["lmod"], runs["roost"])
    assert not report, report


@pytest.mark.parametrize("the_case", RC_CASES, ids=lambda c: c.id)
def test_roost_matches_lmod_on_modulerc_files_and_visibility(the_case: Case, tmp_path: Path) -> None:
    _run_both(the_case, write_tree(tmp_path / "rc-tree", RC_TREE), tmp_path)


@pytest.mark.parametrize("the_case", CASES, ids=lambda c: c.id)
def test_roost_matches_lmod(the_case: Case, tmp_path: Path) -> None:
    root = write_tree(tmp_path / "site-config", TREE)
    admin = root / "etc/admin.list"
    admin.write_text(admin.read_text().replace("@ROOT@", str(root)))
    _run_both(the_case, root, tmp_path)


def _roost(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(root), "LANG": "C.UTF-8", "MODULEPATH": str(root / "core"),
               **env}
    return subprocess.run([sys.executable, "-m", "roost.modules.command", "bash", *args], env=environ,
                          capture_output=True, text=True, timeout=60)


def test_a_broken_site_package_is_named_with_the_way_out(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "broken", {"site/SitePackage.lua": "local x = \nnot lua at all\n",
                                            "core/zlib/1.3.lua": 'setenv("Z", "1")\n'})
    done = _roost(root, "load", "zlib", LMOD_PACKAGE_PATH=str(root / "site"))
    assert done.returncode == 1
    assert "error in the site's SitePackage.lua" in done.stderr and str(root / "site") in done.stderr
    assert "unset LMOD_PACKAGE_PATH" in done.stderr
    assert "export" not in done.stdout  # nothing half-done


def test_an_unknown_hook_name_is_reported_and_the_command_fails(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "typo", {
        "site/SitePackage.lua": 'local hook = require("Hook")\nhook.register("laod", function(t) end)\n',
        "core/zlib/1.3.lua": 'setenv("Z", "1")\n'})
    done = _roost(root, "load", "zlib", LMOD_PACKAGE_PATH=str(root / "site"))
    assert 'unknown hook "laod"' in done.stderr
    assert done.returncode == 1  # a warning, as Lmod's: the load applies, the status says something is wrong
    assert "export Z='1'" in done.stdout


def test_without_a_site_package_nothing_of_it_is_imported(tmp_path: Path) -> None:
    """A site with no SitePackage.lua pays nothing: for a Tcl load neither lupa nor roost's Lua side is imported,
    and without LMOD_PACKAGE_PATH not even roost.modules.site."""
    root = write_tree(tmp_path / "plain", {"core/legacy/0.9": "#%Module\nsetenv LEGACY 1\n"})
    code = ("import sys; from roost.modules.command import run; run('bash', ['load', 'legacy']); "
            "print(sorted(m for m in sys.modules if m.startswith(('lupa', 'roost.modules.lua', 'roost.modules.si'))))")
    base = {"PATH": "/usr/bin:/bin", "HOME": str(root), "MODULEPATH": str(root / "core")}
    for extra, expected in (({}, "[]"), ({"LMOD_PACKAGE_PATH": str(root / "no-such-dir")}, "['roost.modules.site']")):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                              env={**base, **extra})
        assert done.stdout.strip() == expected, done.stderr
