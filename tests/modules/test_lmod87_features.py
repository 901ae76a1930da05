"""What sites now use from Lmod 8.7 and 9.x: depends_on_any(), purge() in a modulefile, hide{}/forbid{} and
their Regex forms in modulerc files (with the terse <H>/<s>/<F>/<NF> marks behind LMOD_TERSE_DECORATIONS),
`module category` and `module last-error`.

Lmod 8.6, the oracle of the differential suites, has none of these, so these tests state the behaviour Lmod's
own documentation gives them and check roost against that, through the real engine and command.
"""

from __future__ import annotations

import getpass
import re
import time
from pathlib import Path
from typing import Dict, List, Mapping

import pytest
from oracle import load, unload, write_tree

from roost.errors import ModuleError, ModuleNotFound
from roost.modules.command import run


def environ_for(root: Path, **extra: str) -> Dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(root / "home"), "LANG": "C.UTF-8", "USER": getpass.getuser(),
            "MODULEPATH": str(root / "mf"), "ROOST_MODULE_CACHE": "no", **extra}




def loaded(environ: Mapping[str, str]) -> List[str]:
    return [n for n in environ.get("LOADEDMODULES", "").split(":") if n]


def terse_avail(environ: Mapping[str, str], *flags: str) -> List[str]:
    _, text, ok = run("bash", ["-t", *flags, "avail"], environ=environ)
    assert ok, text
    return [line for line in text.splitlines() if not line.endswith(":")]


# ---- depends_on_any and purge() ------------------------------------------------------------------

DEPENDS_TREE = {
    "mf/solver/1.0.lua": 'depends_on_any("mpich", "openmpi")\nsetenv("SOLVER", "1.0")\n',
    "mf/openmpi/4.1.lua": 'setenv("MPI", "openmpi")\n',
    "mf/mpich/4.2.lua": 'setenv("MPI", "mpich")\n',
    "mf/fresh/1.0.lua": 'purge()\nsetenv("FRESH", "1")\n',
    "mf/pinned/1.0.lua": 'add_property("lmod", "sticky")\nsetenv("PINNED", "1")\n',
}


def test_depends_on_any_loads_the_first_that_exists_and_releases_it(tmp_path: Path) -> None:
    without_mpich = {path: text for path, text in DEPENDS_TREE.items() if "mpich" not in path}
    environ = environ_for(write_tree(tmp_path, without_mpich))
    after, _ = load(environ, "solver")
    assert loaded(after) == ["openmpi/4.1", "solver/1.0"] and after["MPI"] == "openmpi"
    assert loaded(unload(after, "solver")) == []  # nothing else needs it and the user did not ask for it


def test_depends_on_any_is_satisfied_by_one_already_loaded(tmp_path: Path) -> None:
    environ = environ_for(write_tree(tmp_path, DEPENDS_TREE))
    with_mpi, _ = load(environ, "openmpi")
    after, _ = load(with_mpi, "solver")
    assert loaded(after) == ["openmpi/4.1", "solver/1.0"]  # not mpich, although it comes first
    assert loaded(unload(after, "solver")) == ["openmpi/4.1"]  # the user's own load stays


def test_depends_on_any_with_none_available_fails_whole(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"mf/solver/1.0.lua": 'depends_on_any("mpich", "openmpi")\n'})
    with pytest.raises(ModuleNotFound, match="mpich or openmpi"):
        load(environ_for(root), "solver")


def test_purge_in_a_modulefile_unloads_the_others_but_sticky_ones(tmp_path: Path) -> None:
    environ = environ_for(write_tree(tmp_path, DEPENDS_TREE))
    before, _ = load(environ, "pinned", "openmpi", "mpich")
    after, _ = load(before, "fresh")
    assert loaded(after) == ["pinned/1.0", "fresh/1.0"]
    assert "MPI" not in after and after["PINNED"] == "1"
    assert loaded(unload(after, "fresh")) == ["pinned/1.0"]  # unloading it purges nothing


# ---- hide{} / forbid{} -----------------------------------------------------------------------------

def _rc_tree(tmp_path: Path, rc: str) -> Path:
    files = {f"mf/tool/{v}.lua": f'setenv("TOOL", "{v}")\n' for v in ("1.0", "2.0", "3.0", "4.0")}
    files["mf/.modulerc.lua"] = rc
    return write_tree(tmp_path, files)


def _date(days_from_now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M", time.localtime(time.time() + days_from_now * 86400))


def test_hide_kinds(tmp_path: Path) -> None:
    root = _rc_tree(tmp_path, 'hide{name="tool/4.0", kind="soft"}\nhide{name="tool/3.0"}\n'
                              'hide{name="tool/1.0", kind="hard"}\n')
    environ = environ_for(root)
    assert terse_avail(environ) == ["tool/", "tool/2.0"]
    # --show-hidden lists hidden and soft ones, never a hard one
    assert terse_avail(environ, "--show-hidden") == ["tool/", "tool/2.0", "tool/3.0", "tool/4.0"]
    assert load(environ, "tool")[0]["TOOL"] == "4.0"  # soft: still the highest, so the default
    assert load(environ, "tool/3.0")[0]["TOOL"] == "3.0"  # hidden: loadable by its full name
    with pytest.raises(ModuleNotFound):
        load(environ, "tool/1.0")  # hard: as if it did not exist


def test_hide_names_a_short_name_a_list_and_a_file(tmp_path: Path) -> None:
    root = _rc_tree(tmp_path, "")
    (root / "mf/.modulerc.lua").write_text(
        f'hide{{name={{"tool/2.0", "{root}/mf/tool/3.0.lua"}}}}\n')
    assert terse_avail(environ_for(root)) == ["tool/", "tool/1.0", "tool/4.0"]
    (root / "mf/.modulerc.lua").write_text('hide{name="tool"}\n')
    assert terse_avail(environ_for(root)) == []


def test_hide_before_and_after_dates(tmp_path: Path) -> None:
    root = _rc_tree(tmp_path, f'hide{{name="tool/4.0", before="{_date(3)}"}}\n'   # not released yet
                              f'hide{{name="tool/1.0", after="{_date(-1)}"}}\n'   # retired yesterday
                              f'hide{{name="tool/2.0", after="{_date(5)}"}}\n')   # retires later
    assert terse_avail(environ_for(root)) == ["tool/", "tool/2.0", "tool/3.0"]


def test_hide_for_listed_users_only_and_not_for_others(tmp_path: Path) -> None:
    me = getpass.getuser()
    root = _rc_tree(tmp_path, f'hide{{name="tool/1.0", userA={{"{me}"}}}}\n'
                              'hide{name="tool/2.0", userA={"surely-someone-else"}}\n'
                              f'hide{{name="tool/3.0", notUserA={{"{me}"}}}}\n')
    assert terse_avail(environ_for(root)) == ["tool/", "tool/2.0", "tool/3.0", "tool/4.0"]


def test_forbid_lists_the_module_and_refuses_it_with_the_message(tmp_path: Path) -> None:
    root = _rc_tree(tmp_path, 'forbid{name="tool/1.0", message="tool 1.0 corrupts output; use tool/4.0"}\n'
                              f'forbid{{name="tool/2.0", after="{_date(3)}", nearly_message="tool/2.0 goes soon"}}\n')
    environ = environ_for(root)
    assert "tool/1.0" in terse_avail(environ)
    with pytest.raises(ModuleError, match=re.escape("forbidden here: tool 1.0 corrupts output; use tool/4.0")):
        load(environ, "tool/1.0")
    after, engine = load(environ, "tool/2.0")  # nearly forbidden: loads, with the site's warning
    assert after["TOOL"] == "2.0" and "tool/2.0 goes soon" in engine.messages


def test_forbid_in_a_modulefile_load_changes_nothing(tmp_path: Path) -> None:
    root = _rc_tree(tmp_path, 'forbid{name="tool"}\n')
    write_tree(root, {"mf/app/1.0.lua": 'load("tool/2.0")\nsetenv("APP", "1")\n'})
    with pytest.raises(ModuleError, match=re.escape('"tool/2.0" is forbidden')):
        load(environ_for(root), "app")


def test_regex_forms_take_lua_patterns(tmp_path: Path) -> None:
    root = _rc_tree(tmp_path, 'hideRegex{name="^tool/[12]%.0$"}\nforbidRegex{name="tool/4%."}\n')
    environ = environ_for(root)
    assert terse_avail(environ) == ["tool/", "tool/3.0", "tool/4.0"]
    with pytest.raises(ModuleError, match="forbidden"):
        load(environ, "tool/4.0")


def test_terse_decorations_only_when_the_setting_asks(tmp_path: Path) -> None:
    root = _rc_tree(tmp_path, 'hide{name="tool/1.0"}\nhide{name="tool/2.0", kind="soft"}\n'
                              f'forbid{{name="tool/3.0"}}\nforbid{{name="tool/4.0", after="{_date(2)}"}}\n')
    plain = terse_avail(environ_for(root), "--show-hidden")
    assert plain == ["tool/", "tool/1.0", "tool/2.0", "tool/3.0", "tool/4.0"]  # Lmod 8.6: no marks
    marked = terse_avail(environ_for(root, LMOD_TERSE_DECORATIONS="yes"), "--show-hidden")
    assert marked == ["tool/", "tool/1.0 <H>", "tool/2.0 <s>", "tool/3.0 <F>", "tool/4.0 <NF>"]


def test_an_rc_file_with_a_nameless_hide_rule_is_skipped_like_any_broken_rc_file(tmp_path: Path) -> None:
    root = _rc_tree(tmp_path, 'hide{kind="soft"}\n')
    # a broken rc file must not break every command: its directory's modules still load, unhidden
    assert terse_avail(environ_for(root)) == ["tool/", "tool/1.0", "tool/2.0", "tool/3.0", "tool/4.0"]


# ---- module category, module last-error ------------------------------------------------------------

def test_category_lists_categories_and_their_modules(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "mf/fftw/3.3.lua": 'whatis("Category: library, numerics")\n',
        "mf/fftw/3.4.lua": 'whatis("Category: library")\n',
        "mf/gcc/13.lua": 'whatis("Category: Compiler")\n',
        "mf/misc/1.lua": 'whatis("Description: no category")\n',
    })
    environ = environ_for(root)
    _, text, ok = run("bash", ["category"], environ=environ)
    assert ok and "List of Categories" in text
    assert text.split("\n")[2].split() == ["Compiler", "library", "numerics"]
    _, text, ok = run("bash", ["category", "LIBR"], environ=environ)  # part of a name, any case
    assert ok and " library " in text and "fftw (2)" in text and "gcc" not in text
    _, text, ok = run("bash", ["category", "nosuch"], environ=environ)
    assert not ok and "No category matches: nosuch" in text


def test_last_error_repeats_the_last_error(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"mf/gcc/13.lua": 'setenv("CC", "gcc")\n'})
    environ = {**environ_for(root), "ROOST_CACHE_DIR": str(tmp_path / "cache")}
    _, text, ok = run("bash", ["last-error"], environ=environ)
    assert ok and "No module command has reported an error yet" in text
    _, failed, ok = run("bash", ["load", "gcc/99"], environ=environ)
    assert not ok
    run("bash", ["load", "gcc"], environ=environ)  # a success does not replace it
    _, text, ok = run("bash", ["last-error"], environ=environ)
    assert ok and text == failed and 'module "gcc/99"' in text


# ---- export_shell_function (8.7.57) --------------------------------------------------------------

def test_export_shell_function_reaches_child_bash_and_unload_removes_it(tmp_path: Path) -> None:
    """What bash users expect from it: a job script or `bash -c` started after the load can call the function."""
    import shutil
    import subprocess
    import sys

    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not on PATH")
    write_tree(tmp_path, {"mf/greeter/1.0.lua": 'set_shell_function("greet", \'echo "hello $1"\', "")\n'
                                                'export_shell_function("greet")\n'})
    module = f"{sys.executable} -m roost.modules.command bash"
    script = (f'eval "$({module} load greeter)"; bash -c "greet child"; '
              f'eval "$({module} unload greeter)"; type greet >/dev/null 2>&1 && echo still-defined; '
              f'bash -c "greet again" 2>/dev/null || echo gone-in-children')
    done = subprocess.run([bash, "-c", script], env=environ_for(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.split("\n")[:2] == ["hello child", "gone-in-children"], done.stderr
    _, text, ok = run("bash", ["show", "greeter"], environ=environ_for(tmp_path))
    assert ok and 'export_shell_function("greet")' in text


def test_lmod_926_name_for_disabling_the_same_name_autoswap(tmp_path: Path) -> None:
    write_tree(tmp_path, {"mf/tool/1.0.lua": 'setenv("TOOL", "1.0")\n', "mf/tool/2.0.lua": 'setenv("TOOL", "2.0")\n'})
    environ, _ = load(environ_for(tmp_path, LMOD_DISABLE_NAME_AUTOSWAP="yes"), "tool/1.0")
    _, text, ok = run("bash", ["load", "tool/2.0"], environ=environ)
    assert not ok and "module swap tool/1.0 tool/2.0" in text


# ---- module_virtual (9.2.7) ----------------------------------------------------------------------

VIRTUAL_TREE = {
    "mf/stack/.base.lua": 'setenv("STACK_FILE", "base")\n',
    "mf/stack/.modulerc.lua": 'module_virtual("stack/2024", "stack/.base")\nmodule_virtual("stack/2025", "/.base")\n',
    "mf/kit/.impl": "#%Module\nsetenv KIT impl\n",
    "mf/kit/.modulerc": "#%Module\nmodule-virtual kit/1.0 kit/.impl\n",
}


def test_module_virtual_names_list_like_modules_and_load_their_implementation(tmp_path: Path) -> None:
    """Lmod 9.2.7's documentation: module_virtual(NAME, IMPL) is module_alias plus hide_version of IMPL, and
    avail lists NAME under its directory (not as an alias line); Tcl's module-virtual is the same."""
    environ = environ_for(write_tree(tmp_path, VIRTUAL_TREE))
    assert terse_avail(environ) == ["kit/", "kit/1.0", "stack/", "stack/2024", "stack/2025"]
    for name, variable, value in (("stack/2025", "STACK_FILE", "base"), ("kit/1.0", "KIT", "impl")):
        after, _ = load(environ, name)
        assert after[variable] == value
    _, text, ok = run("bash", ["avail"], environ=environ)
    assert ok and "stack/2024" in text and ".base" not in text
