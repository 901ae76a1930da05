"""The module engine through its library API and command entry point, on small trees built per test."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Dict, Tuple

import pytest
from oracle import write_tree

from roost.errors import MissingPrereq, ModuleConflict, ModulefileError, ModuleNotFound
from roost.modules import api
from roost.modules.command import run
from roost.modules.versions import version_key


def module(environ: Dict[str, str], *argv: str, ml: bool = False) -> Tuple[Dict[str, str], str, bool]:
    """Run a module (or, with ``ml``, an ml) command like the shell function does; apply its code to a copy."""
    code, messages, ok = run("python", list(argv), ml=ml, environ=environ)
    env = dict(environ)

    class FakeOs:
        environ = env

    namespace = {"os": FakeOs}
    exec(code, namespace)  # the python renderer's output: os.environ assignments and _mlstatus
    assert namespace["_mlstatus"] == ok
    return env, messages, ok


@pytest.fixture
def tree(tmp_path: Path, clean_environ: Dict[str, str]) -> Tuple[Path, Dict[str, str]]:
    root = write_tree(tmp_path / "mf", {
        "python/3.10.4.lua": 'whatis("Description: Python 3.10")\nprepend_path("PATH", "/opt/py310/bin")\n'
                             'extensions("numpy/1.26.4, scipy/1.11.4")\nhelp([[Python, with numpy]])\n',
        "python/3.12.1.lua": 'prepend_path("PATH", "/opt/py312/bin")\nsetenv("PYVER", myModuleVersion())\n',
        "python/.modulerc.lua": 'module_version("python/3.10.4", "default")\nmodule_alias("py", "python/3.12.1")\n',
        "tool/1.0.lua": 'depends_on("python")\nsetenv("TOOL", "1")\n',
        "gcc/12.2.0.lua": 'family("compiler")\nprepend_path("MODULEPATH", "' + str(tmp_path) + '/mf-gcc12")\n',
        "gcc/13.1.0.lua": 'family("compiler")\nprepend_path("MODULEPATH", "' + str(tmp_path) + '/mf-gcc13")\n',
        "clang/17.lua": 'family("compiler")\n',
        "broken/1.0.lua": 'setenv("A", "1")\nthis is not lua\n',
        "fails/1.0.lua": 'setenv("HALF", "done")\nLmodError("the site has retired this module")\n',
        "needs/1.0.lua": 'prereq("gcc")\n',
        "hates/1.0.lua": 'conflict("python")\n',
        "pusher/1.0.lua": 'pushenv("CC", "icc")\n',
        "sticky/1.0.lua": 'add_property("lmod", "sticky")\nsetenv("STICKY", "yes")\n',
        "weird/1.0.lua": 'setenv("WEIRD", "it\'s $HOME `x`; \\n ü")\nset_alias("ll", "ls -l")\n',
        "ranges/1.0.lua": 'load(atleast("python", "3.11"))\n',
        "api/1.0.lua": 'setenv("NAME", myModuleName())\nsetenv("FULL", myModuleFullName())\n'
                       'setenv("MODE", mode())\nsetenv("J", pathJoin("/a", "b", "c"))\n'
                       'setenv("HOMECOPY", os.getenv("HOME"))\nif isloaded("python") then setenv("PY", "yes") end\n'
                       'if isAvail("gcc") then setenv("AV", "yes") end\nLmodMessage("hello from api")\n',
    })
    write_tree(tmp_path / "mf-gcc12", {"openmpi/4.1.5.lua": 'family("mpi")\nsetenv("MPI_BUILT_WITH", "gcc12")\n'})
    write_tree(tmp_path / "mf-gcc13", {"openmpi/4.1.5.lua": 'family("mpi")\nsetenv("MPI_BUILT_WITH", "gcc13")\n'})
    environ = {"PATH": "/usr/bin:/bin", "HOME": clean_environ["HOME"], "MODULEPATH": str(root),
               "ROOST_CACHE_DIR": str(tmp_path / "cache")}
    return root, environ


def test_versions_order_like_lmod() -> None:
    ordered = ["1.0rc1", "1.0", "1.0.1", "1.9", "1.10-rc1", "1.10", "2.0-dev", "2.0"]
    keys = [version_key(v) for v in ordered]
    assert keys == sorted(keys)
    assert version_key("1.0") == version_key("1.0.0")


def test_marked_default_alias_and_partial_versions(tree) -> None:  # type: ignore[no-untyped-def]
    _, environ = tree
    assert api.resolve("python", environ).fullname == "python/3.10.4"
    assert api.resolve("py", environ).fullname == "python/3.12.1"
    assert api.resolve("python/3.12", environ).fullname == "python/3.12.1"
    with pytest.raises(ModuleNotFound, match="module spider pythn"):
        api.resolve("pythn", environ)


def test_load_then_unload_restores_the_environment_exactly(tree) -> None:  # type: ignore[no-untyped-def]
    _, environ = tree
    loaded, _, ok = module(environ, "load", "tool")
    assert ok and loaded["LOADEDMODULES"] == "python/3.10.4:tool/1.0"
    assert loaded["PATH"] == "/opt/py310/bin:/usr/bin:/bin"
    unloaded, _, ok = module(loaded, "unload", "tool")
    assert ok
    assert unloaded == environ  # depends_on released python too, and all bookkeeping is gone


def test_one_name_rule_replaces_the_loaded_version(tree) -> None:  # type: ignore[no-untyped-def]
    _, environ = tree
    env, _, _ = module(environ, "load", "python")
    env, messages, ok = module(env, "load", "python/3.12.1")
    assert ok and env["LOADEDMODULES"] == "python/3.12.1"
    assert env["PATH"] == "/opt/py312/bin:/usr/bin:/bin" and env["PYVER"] == "3.12.1"
    assert "reloaded with a version change" in messages


def test_compiler_swap_reloads_the_mpi_built_with_it(tree) -> None:  # type: ignore[no-untyped-def]
    _, environ = tree
    env, _, _ = module(environ, "load", "gcc/12.2.0", "openmpi")
    assert env["MPI_BUILT_WITH"] == "gcc12" and env["LMOD_FAMILY_COMPILER"] == "gcc"
    env, messages, ok = module(env, "swap", "gcc", "gcc/13.1.0")
    assert ok and env["MPI_BUILT_WITH"] == "gcc13"
    assert env["LOADEDMODULES"].split(":") == ["gcc/13.1.0", "openmpi/4.1.5"]
    assert "reloaded" in messages
    env, messages, ok = module(env, "load", "clang")  # family: clang replaces gcc, openmpi goes inactive
    assert ok and env["LOADEDMODULES"] == "clang/17" and "MPI_BUILT_WITH" not in env
    _, text, _ = module(env, "list")
    assert "Inactive Modules" in text and "openmpi" in text


def test_failed_load_of_several_changes_nothing(tree) -> None:  # type: ignore[no-untyped-def]
    _, environ = tree
    env, messages, ok = module(environ, "load", "python", "fails")
    assert not ok and env == environ
    assert "the site has retired this module" in messages and "fails/1.0" in messages


def test_lua_syntax_error_names_the_file_and_line(tree) -> None:  # type: ignore[no-untyped-def]
    root, environ = tree
    with pytest.raises(ModulefileError) as error:
        api.load(["broken"], environ)
    assert str(root / "broken" / "1.0.lua") in error.value.message and "line 2" in error.value.message


def test_prereq_and_conflict_errors_say_what_to_do(tree) -> None:  # type: ignore[no-untyped-def]
    _, environ = tree
    with pytest.raises(MissingPrereq) as missing:
        api.load(["needs"], environ)
    assert "module load gcc" in (missing.value.hint or "")
    with_python = api.environ_with(["python"], environ)
    with pytest.raises(ModuleConflict) as conflict:
        api.load(["hates"], with_python)
    assert "python/3.10.4" in conflict.value.message


def test_pushenv_is_restored_on_unload(tree) -> None:  # type: ignore[no-untyped-def]
    _, environ = tree
    env, _, _ = module({**environ, "CC": "gcc"}, "load", "pusher")
    assert env["CC"] == "icc"
    env, _, _ = module(env, "unload", "pusher")
    assert env["CC"] == "gcc"


def test_sticky_survives_purge_unless_forced(tree) -> None:  # type: ignore[no-untyped-def]
    _, environ = tree
    env, _, _ = module(environ, "load", "sticky", "python")
    env, _, _ = module(env, "purge")
    assert env["LOADEDMODULES"] == "sticky/1.0"
    env, _, _ = module(env, "--force", "purge")
    assert "LOADEDMODULES" not in env and "STICKY" not in env


def test_modulefile_api_functions(tree) -> None:  # type: ignore[no-untyped-def]
    _, environ = tree
    env, messages, ok = module(environ, "load", "python", "api")
    assert ok
    assert (env["NAME"], env["FULL"], env["MODE"], env["J"]) == ("api", "api/1.0", "load", "/a/b/c")
    assert env["HOMECOPY"] == environ["HOME"] and env["PY"] == "yes" and env["AV"] == "yes"
    assert "hello from api" in messages


def test_atleast_picks_a_version_in_range(tree) -> None:  # type: ignore[no-untyped-def]
    _, environ = tree
    result = api.load(["ranges"], environ)
    assert [m.fullname for m in result.modules] == ["python/3.12.1", "ranges/1.0"]


def test_spider_finds_extensions_and_the_hierarchy(tree) -> None:  # type: ignore[no-untyped-def]
    _, environ = tree
    _, text, ok = module(environ, "spider", "numpy")
    assert ok and "python/3.10.4" in text
    _, text, ok = module(environ, "spider", "openmpi/4.1.5")
    assert ok and "gcc/12.2.0" in text and "gcc/13.1.0" in text
    _, text, ok = module(environ, "--json", "spider", "python")
    assert ok


def test_json_outputs_are_machine_readable(tree) -> None:  # type: ignore[no-untyped-def]
    _, environ = tree
    avail = json.loads(run("none", ["--json", "avail"], environ=environ)[0])
    spider = json.loads(run("none", ["--json", "spider", "python"], environ=environ)[0])
    python = {m["fullName"]: m for group in avail for m in group["modules"]}
    assert python["python/3.10.4"]["default"] and not python["python/3.12.1"]["default"]
    assert {s["fullName"] for s in spider} == {"python/3.10.4", "python/3.12.1"}
    assert any("numpy/1.26.4" in s["extensions"] for s in spider)


def test_avail_cache_is_never_stale(tree) -> None:  # type: ignore[no-untyped-def]
    root, environ = tree
    _, text, _ = module(environ, "-t", "avail")
    assert "newtool/1.0" not in text
    write_tree(root, {"newtool/1.0.lua": 'whatis("Description: brand new")\n'})
    _, text, _ = module(environ, "-t", "avail")
    assert "newtool/1.0" in text
    time.sleep(0.01)
    (root / "newtool" / "1.0.lua").write_text('whatis("Description: edited in place")\n')
    _, text, _ = module(environ, "spider", "newtool/1.0")
    assert "edited in place" in text


def test_values_with_shell_metacharacters_arrive_unchanged(tree) -> None:  # type: ignore[no-untyped-def]
    _, environ = tree
    env, _, ok = module(environ, "load", "weird")
    assert ok and env["WEIRD"] == "it's $HOME `x`; \n ü"


def test_collections_save_restore_and_modulepath_check(tree, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, environ = tree
    env, _, _ = module(environ, "load", "gcc/12.2.0", "openmpi")
    _, _, ok = module(env, "save", "mpi")
    assert ok
    fresh, _, ok = module(environ, "restore", "mpi")
    assert ok and fresh["LOADEDMODULES"] == "gcc/12.2.0:openmpi/4.1.5"
    moved = {**environ, "MODULEPATH": environ["MODULEPATH"] + ":" + str(tmp_path)}
    after, messages, ok = module(moved, "restore", "mpi")
    assert not ok and after == moved and "MODULEPATH has changed" in messages
    _, listing, _ = module(environ, "savelist")
    assert "mpi" in listing


def test_ml_shorthand(tree) -> None:  # type: ignore[no-untyped-def]
    _, environ = tree

    def ml(env: Dict[str, str], *argv: str) -> Tuple[Dict[str, str], str, bool]:
        return module(env, *argv, ml=True)

    env, _, _ = ml(environ, "python", "gcc")
    assert env["LOADEDMODULES"] == "python/3.10.4:gcc/13.1.0"
    env, _, _ = ml(env, "clang", "-python")
    assert env["LOADEDMODULES"] == "clang/17"
    _, text, _ = ml(env)
    assert "clang/17" in text
    _, text, _ = ml(env, "avail")
    assert "python/3.12.1" in text


def test_a_shell_loaded_by_lmod_is_listed(tree) -> None:  # type: ignore[no-untyped-def]
    _, environ = tree
    lmod_env = {**environ, "LOADEDMODULES": "gcc/12.2.0:openmpi/4.1.5",
                "_LMFILES_": "/apps/gcc/12.2.0.lua:/apps/openmpi/4.1.5.lua", "_ModuleTable001_": "e30=",
                "_ModuleTable_Sz_": "1"}
    _, text, _ = module(lmod_env, "-t", "list")
    assert text.split() == ["gcc/12.2.0", "openmpi/4.1.5"]


def test_loadedmodules_without_any_table_is_forgotten(tree) -> None:  # type: ignore[no-untyped-def]
    """As Lmod: LOADEDMODULES that no tool's table backs (a script copied only it) is stale, and cleared."""
    _, environ = tree
    stale = {**environ, "LOADEDMODULES": "gcc/12.2.0", "_LMFILES_": "/apps/gcc/12.2.0.lua"}
    env, text, ok = module(stale, "-t", "list")
    assert ok and "gcc/12.2.0" not in text
    assert "LOADEDMODULES" not in env and "_LMFILES_" not in env


def test_show_whatis_help_and_keyword(tree) -> None:  # type: ignore[no-untyped-def]
    root, environ = tree
    _, text, ok = module(environ, "show", "python")
    assert ok and str(root / "python" / "3.10.4.lua") in text and 'prepend_path("PATH","/opt/py310/bin")' in text
    _, text, ok = module(environ, "whatis", "python")
    assert ok and "Description: Python 3.10" in text
    _, text, ok = module(environ, "help", "python")
    assert ok and "Python, with numpy" in text
    _, text, ok = module(environ, "keyword", "numpy")
    assert ok and "python/3.10.4" in text
    env, text, ok = module(environ, "show", "nosuch")
    assert not ok and "module spider nosuch" in text and env == environ
