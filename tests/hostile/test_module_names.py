"""Names from modulefiles are checked like values are quoted: a variable, alias or function name that is not a
shell name is the modulefile's error, the load changes nothing at all, and nothing in the name ever runs.

Lmod 8.6 checks none of these names: `setenv("A;touch pwned;B", "x")` makes it print `export A;touch pwned;B`,
which the shell runs.  roost refuses them in the one data type every renderer consumes (EnvChange/ShellState),
so module loads, job scripts, `roost activate` and kernel launchers all refuse alike.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from roost.errors import InvalidName, RoostError
from roost.modules.command import run
from roost.shell.change import Action, EnvChange, Op
from roost.shell.render import SHELLS, render

from .shells import SHELLS as REAL_SHELLS
from .shells import lua_string, run_in_shell, site_environ, snapshots_equal, status_of, tcl_string

VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
COMMAND_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+:@%-]*")
CANARY = "pwned"
ACTIONS = [Action.SET, Action.UNSET, Action.PREPEND, Action.APPEND, Action.REMOVE, Action.ALIAS, Action.UNALIAS,
           Action.FUNCTION, Action.UNFUNCTION, Action.EXPORT_FUNCTION, Action.COMPLETE, Action.UNCOMPLETE]
COMMAND_ACTIONS = (Action.ALIAS, Action.UNALIAS, Action.FUNCTION, Action.UNFUNCTION, Action.EXPORT_FUNCTION,
                   Action.COMPLETE, Action.UNCOMPLETE)

# What a modulefile can call with a name, and which kind of name it is (Lua, then Tcl).
LUA_CALLS: Dict[str, Tuple[str, Callable[[str], str]]] = {
    "setenv": ("var", lambda n: f'setenv({n}, "x")'),
    "unsetenv": ("var", lambda n: f"unsetenv({n})"),
    "pushenv": ("var", lambda n: f'pushenv({n}, "x")'),
    "prepend_path": ("var", lambda n: f'prepend_path({n}, "/x")'),
    "append_path": ("var", lambda n: f'append_path({n}, "/x")'),
    "remove_path": ("var", lambda n: f'remove_path({n}, "/x")'),
    "prepend_path{}": ("var", lambda n: f'prepend_path{{{n}, "/x", delim=";", priority=5}}'),
    "set_alias": ("command", lambda n: f'set_alias({n}, "ls -l")'),
    "unset_alias": ("command", lambda n: f"unset_alias({n})"),
    "set_shell_function": ("command", lambda n: f'set_shell_function({n}, "echo hi", "echo hi")'),
    "unset_shell_function": ("command", lambda n: f"unset_shell_function({n})"),
    "export_shell_function": ("command", lambda n: f"export_shell_function({n})"),
    "complete": ("command", lambda n: f'complete("bash", {n}, "-o default")'),
}
TCL_CALLS: Dict[str, Tuple[str, Callable[[str], str]]] = {
    "setenv": ("var", lambda n: f"setenv {n} x"),
    "unsetenv": ("var", lambda n: f"unsetenv {n}"),
    "pushenv": ("var", lambda n: f"pushenv {n} x"),
    "prepend-path": ("var", lambda n: f"prepend-path -- {n} /x"),
    "append-path": ("var", lambda n: f"append-path -- {n} /x"),
    "set-alias": ("command", lambda n: f'set-alias {n} "ls -l"'),
    "set-function": ("command", lambda n: f'set-function {n} "echo hi"'),
}

# Names that run `touch pwned` if a shell ever sees them as code.
SEPARATORS = [";", "\n", "&", "|", "$(", "`", "&&", "||", " ", "'", '"', "(", "{", "\\\n", "\r\n", "#\n"]
hostile_names = st.builds(
    lambda head, sep, tail: f"{head}{sep}touch {CANARY}{sep if sep in ('`', chr(39), chr(34)) else ''}{tail}",
    st.text("ABCxyz_09", max_size=4), st.sampled_from(SEPARATORS),
    st.sampled_from(["", ";", ")", ";B", "}", "#", "\n"]),
)
# Any name at all (NUL cannot reach a modulefile's string as a variable name and is left out).
any_names = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), min_size=1,
                    max_size=12)


def _valid(kind: str, name: str) -> bool:
    return bool((VAR_NAME if kind == "var" else COMMAND_NAME).fullmatch(name))


def _load(files: Dict[str, str], names: List[str]) -> Tuple[str, str, bool]:
    """Write a tree in a fresh directory and run `module load NAMES` for bash in-process."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for relative, text in files.items():
            (root / "mf" / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / "mf" / relative).write_text(text, encoding="utf-8")
        environ = site_environ(root, root / "mf")
        return run("bash", ["load", *names], environ=environ)


def _assert_refused(code: str, messages: str, ok: bool, fullname: str, name: str) -> None:
    assert not ok
    assert code == "false;\n"  # nothing but the failed status reaches the shell
    assert f'"{fullname}"' in messages and repr(name) in messages, messages
    assert "nothing was changed" in messages


@settings(max_examples=150, deadline=None)
@given(name=any_names, action=st.sampled_from(ACTIONS), shell=st.sampled_from(SHELLS))
def test_no_renderer_ever_writes_a_name_that_is_not_a_shell_name(name: str, action: Action, shell: str) -> None:
    kind = "command" if action in COMMAND_ACTIONS else "var"
    change = EnvChange([Op(action, name, "x")])  # ops appended directly, as diff() and Lmod's output reader do
    if _valid(kind, name):
        assert render(change, shell) is not None
    else:
        with pytest.raises(InvalidName):
            render(change, shell)


@settings(max_examples=120, deadline=None)
@given(name=st.one_of(hostile_names, any_names), call=st.sampled_from(sorted(LUA_CALLS)))
def test_a_bad_name_in_any_lua_call_is_the_modulefiles_error_and_the_load_changes_nothing(name: str, call: str) -> None:
    kind, make = LUA_CALLS[call]
    code, messages, ok = _load({"evil/1.0.lua": f'setenv("BEFORE", "1")\n{make(lua_string(name))}\n'}, ["evil"])
    seen = name.strip(" \t") if kind == "var" else name  # Lmod trims the blanks around a variable's name
    if _valid(kind, seen):
        assert ok, messages
    else:
        _assert_refused(code, messages, ok, "evil/1.0", seen)
        assert "evil/1.0.lua" in messages


@settings(max_examples=60, deadline=None)
@given(name=st.one_of(hostile_names, any_names.filter(lambda n: n.isprintable() and max(map(ord, n)) <= 0xFFFF)),
       call=st.sampled_from(sorted(TCL_CALLS)))
def test_a_bad_name_in_any_tcl_command_is_the_modulefiles_error_and_the_load_changes_nothing(
        name: str, call: str) -> None:
    kind, make = TCL_CALLS[call]
    code, messages, ok = _load({"evil/1.0": f"#%Module\nsetenv BEFORE 1\n{make(tcl_string(name))}\n"}, ["evil"])
    if _valid(kind, name):
        assert ok, messages
    else:
        _assert_refused(code, messages, ok, "evil/1.0", name)


# Directory names a site (or a user with `module use`) may have; "/" and NUL cannot be in one.
directory_names = st.text(st.sampled_from("abcXYZ019_-.;&|$`'\" ()<>{}*?#!~="), min_size=1, max_size=10).filter(
    # a leading "-" reads as an option of load; a leading "__" is a name Lmod reserves (refused whatever follows)
    lambda n: not n.startswith((".", "-", "__")) and n.strip() == n)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(directory=directory_names)
def test_a_template_fed_a_hostile_directory_name_is_refused_like_a_literal_name(directory: str) -> None:
    template = 'setenv(myModuleName():gsub("-","_").."_ROOT", myFileName())\n'
    code, messages, ok = _load({f"{directory}/1.0.lua": template}, [directory])
    name = directory.replace("-", "_") + "_ROOT"
    if _valid("var", name):
        assert ok, messages
        assert f"export {name}=" in code
    else:
        _assert_refused(code, messages, ok, f"{directory}/1.0", name)


def test_the_issues_directory_is_refused_with_the_module_its_file_and_the_name(tmp_path: Path) -> None:
    directory = "t;touch pwned;u"
    code, messages, ok = _load({f"{directory}/1.0.lua": 'setenv(myModuleName():gsub("-","_").."_ROOT", "/x")\n'},
                               [directory])
    _assert_refused(code, messages, ok, "t;touch pwned;u/1.0", "t;touch pwned;u_ROOT")
    assert "t;touch pwned;u/1.0.lua" in messages


def test_a_family_name_that_makes_no_variable_name_keeps_the_family_without_its_variables() -> None:
    files = {"a/1.0.lua": 'family("my-toolchain")\n', "b/1.0.lua": 'family("my-toolchain")\n'}
    code, messages, ok = _load(files, ["a", "b"])
    assert ok, messages
    assert "LMOD_FAMILY" not in code
    assert 'replacing "a/1.0" with "b/1.0"' in messages


def _hostile_tree(root: Path, names: List[str]) -> List[str]:
    """One module per name, each using it in another kind of call; returns the module names."""
    calls = sorted(LUA_CALLS)
    modules = []
    for index, name in enumerate(names):
        call = calls[index % len(calls)]
        path = root / "mf" / f"evil{index}" / "1.0.lua"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'setenv("HALF_DONE", "yes")\n{LUA_CALLS[call][1](lua_string(name))}\n')
        modules.append(f"evil{index}")
    template = root / "mf" / "t;touch pwned;u" / "1.0.lua"
    template.parent.mkdir(parents=True)
    template.write_text('setenv(myModuleName():gsub("-","_").."_ROOT", "/x")\n')
    (root / "mf" / "good" / "1.0.lua").parent.mkdir(parents=True)
    (root / "mf" / "good" / "1.0.lua").write_text('setenv("GOOD", "1")\n')
    return [*modules, "'t;touch pwned;u'"]


@pytest.mark.parametrize("shell", REAL_SHELLS)
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(hostile_names, min_size=len(LUA_CALLS), max_size=len(LUA_CALLS)))
def test_hostile_names_never_run_and_leave_the_shell_byte_identical(shell: str, names: List[str],
                                                                   tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp(f"names-{shell}")
    modules = _hostile_tree(root, names)
    environ = site_environ(root, root / "mf")
    body = "module load good\nsnap before\n"
    for module in modules:
        body += status_of(shell, f"module load good {module}", module)  # good first: all-or-nothing
        body += status_of(shell, f"ml {module}", "ml " + module)
    body += "snap after\n"
    result = run_in_shell(shell, body, environ, root)
    statuses = [line for line in result.stdout.splitlines() if line.startswith("status ")]
    assert len(statuses) == 2 * len(modules), result.stdout + result.stderr
    assert all(line.endswith(" 1") for line in statuses), result.stdout
    assert not (root / CANARY).exists()
    assert snapshots_equal(root / "before", root / "after")
    assert "not a valid" not in result.stderr and "command not found" not in result.stderr, result.stderr


@pytest.fixture
def evil_site(tmp_path: Path) -> Dict[str, str]:
    (tmp_path / "mf" / "evil").mkdir(parents=True)
    (tmp_path / "mf" / "evil" / "1.0.lua").write_text(f'setenv("A;touch {tmp_path}/{CANARY};B", "x")\n')
    (tmp_path / "mf" / "good").mkdir()
    (tmp_path / "mf" / "good" / "1.0.lua").write_text('setenv("GOOD", "1")\n')
    environ = site_environ(tmp_path, tmp_path / "mf")
    environ["ROOST_ENVS_DIR"] = str(tmp_path / "envs")
    return environ


def _roost(*args: str, environ: Dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "roost", *args], capture_output=True, text=True, env=environ,
                          cwd=cwd, timeout=120)


@pytest.mark.parametrize("backend", ["local", "slurm"])
def test_a_job_script_never_carries_a_bad_name(backend: str, evil_site: Dict[str, str], tmp_path: Path) -> None:
    result = _roost("submit", "--backend", backend, "-m", "evil", "--dry-run", "--", "true",
                    environ=evil_site, cwd=tmp_path)
    assert result.returncode != 0
    assert "touch" not in result.stdout
    assert "evil/1.0" in result.stderr and "A;touch" in result.stderr, result.stderr
    assert not (tmp_path / CANARY).exists()


def test_activate_of_an_env_bound_to_a_module_that_turned_hostile_changes_nothing(
        evil_site: Dict[str, str], tmp_path: Path) -> None:
    from tests.envs.conftest import PYTHON

    created = _roost("env", "create", "work", "-m", "good", "--python", str(PYTHON), "-q",
                     environ=evil_site, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    # the site edits the module the env is bound to
    (tmp_path / "mf" / "good" / "1.0.lua").write_text(f'set_alias("x;touch {tmp_path}/{CANARY}", "ls")\n')
    body = "snap before\n" + status_of("bash", "roost activate work", "activate") + "snap after\n"
    result = run_in_shell("bash", body, evil_site, tmp_path)
    assert "status activate 1" in result.stdout, result.stdout + result.stderr
    assert "x;touch" in result.stderr and "good/1.0" in result.stderr
    assert snapshots_equal(tmp_path / "before", tmp_path / "after")
    assert not (tmp_path / CANARY).exists()


def test_a_kernel_launcher_refuses_a_module_with_a_bad_name(evil_site: Dict[str, str], tmp_path: Path) -> None:
    from roost.kernels.launch import LaunchError, load_modules
    from roost.kernels.recipe import Recipe

    recipe = Recipe.from_json({"name": "k", "python": sys.executable, "modules": ["evil/1.0"],
                               "modulepath": evil_site["MODULEPATH"]})
    with pytest.raises(LaunchError) as caught:
        load_modules(recipe, dict(evil_site))
    assert "A;touch" in caught.value.message and "evil/1.0" in caught.value.message
    assert json.dumps(caught.value.message)  # one printable message, no traceback


@pytest.mark.parametrize("shell", REAL_SHELLS)
def test_an_alias_text_that_looks_like_an_option_defines_the_alias_in_every_shell(shell: str, tmp_path: Path) -> None:
    (tmp_path / "mf" / "als").mkdir(parents=True)
    (tmp_path / "mf" / "als" / "1.0.lua").write_text('setenv("ALS", "1")\nset_alias("ll", "-la")\n'
                                                    'set_alias("q", "echo \\"it\'s\\" $(touch pwned)")\n')
    listing = "functions ll q" if shell == "fish" else "alias ll q"
    body = status_of(shell, "module load als", "load") + f"{listing}\necho \"ALS=$ALS\"\n"
    result = run_in_shell(shell, body, site_environ(tmp_path, tmp_path / "mf"), tmp_path)
    assert "status load 0" in result.stdout, result.stdout + result.stderr
    assert "-la" in result.stdout and "ALS=1" in result.stdout
    assert "unknown option" not in result.stderr
    assert not (tmp_path / CANARY).exists()  # an alias text is defined, not run


ALIAS_FRAGMENTS = ["end;", f"touch {CANARY}", "'", '"', "(", ")", "$(", "`", ";", "\n", "function x", "}", "{",
                   "#", "\\", " ", "ls"]
alias_texts = st.lists(st.sampled_from(ALIAS_FRAGMENTS), min_size=1, max_size=8).map("".join)


@pytest.mark.parametrize("shell", REAL_SHELLS)
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(alias_texts, min_size=4, max_size=4))
@example(texts=[f"end; touch {CANARY}; function x", 'echo "x', "", "-la"])  # what fish's own `alias` runs or fails
def test_an_alias_text_is_data_until_the_alias_is_used(shell: str, texts: List[str],
                                                       tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp(f"alias-{shell}")
    calls = "".join(f"set_alias(\"a{i}\", {lua_string(text)})\n" for i, text in enumerate(texts))
    (root / "mf" / "als").mkdir(parents=True)
    (root / "mf" / "als" / "1.0.lua").write_text(calls + 'setenv("AFTER", "1")\n')
    body = status_of(shell, "module load als", "load") + 'echo "AFTER=$AFTER"\n'
    result = run_in_shell(shell, body, site_environ(root, root / "mf"), root)
    assert "status load 0" in result.stdout and "AFTER=1" in result.stdout, result.stdout + result.stderr
    assert not (root / CANARY).exists()


@pytest.mark.service("lmod")
def test_a_bad_name_from_the_sites_lmod_is_refused_too(evil_site: Dict[str, str], tmp_path: Path) -> None:
    from roost.envs import lmod

    with pytest.raises(RoostError) as caught:  # envs.module_system = "lmod": Lmod writes the name; roost refuses
        lmod.load(["evil"], dict(evil_site))
    assert "A;touch" in caught.value.message and "evil" in caught.value.message
    assert not (tmp_path / CANARY).exists()
