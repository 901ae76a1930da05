"""The environment-change type: reference counts, priorities, JSON, application to an environment."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis.strategies import text

from roost.errors import RoostError
from roost.shell.change import EnvChange, ShellState, diff


def apply(environ: dict, change: EnvChange) -> dict:
    return change.applied_to(environ)


def test_a_directory_added_twice_stays_until_removed_twice() -> None:
    env = apply({"PATH": "/usr/bin"}, EnvChange().prepend_path("PATH", "/opt/a").prepend_path("PATH", "/opt/a"))
    assert env["PATH"] == "/opt/a:/usr/bin"
    once = apply(env, EnvChange().remove_path("PATH", "/opt/a"))
    assert once["PATH"] == "/opt/a:/usr/bin"
    twice = apply(once, EnvChange().remove_path("PATH", "/opt/a"))
    assert twice["PATH"] == "/usr/bin"
    assert not any(name.startswith("__ROOST_REF_COUNT_") for name in twice)


def test_prepending_several_entries_keeps_their_order() -> None:
    env = apply({"PATH": "/bin"}, EnvChange().prepend_path("PATH", "/a:/b").append_path("PATH", "/c:/d"))
    assert env["PATH"] == "/a:/b:/bin:/c:/d"


def test_custom_separator_and_normalised_entries() -> None:
    env = apply({}, EnvChange().prepend_path("LUA_PATH", "/x//?.lua", ";").append_path("LUA_PATH", "/y/", ";"))
    assert env["LUA_PATH"] == "/x/?.lua;/y"


def test_priority_entries_stay_outermost_across_processes() -> None:
    first = apply({"PATH": "/bin"}, EnvChange().prepend_path("PATH", "/front", priority=100)
                  .append_path("PATH", "/back", priority=100))
    later = apply(first, EnvChange().prepend_path("PATH", "/new").append_path("PATH", "/newtail"))
    assert later["PATH"] == "/front:/new:/bin:/newtail:/back"


def test_removing_the_last_entry_unsets_the_variable() -> None:
    env = apply({}, EnvChange().prepend_path("X", "/a"))
    assert "X" not in apply(env, EnvChange().remove_path("X", "/a"))


def test_json_round_trip_keeps_every_operation() -> None:
    change = (EnvChange().set("A", "1").unset("B").prepend_path("P", "/x", ";", 5).append_path("P", "/y")
              .remove_path("P", "/z").alias("ll", "ls -l").unalias("la").function("f", "echo hi").unfunction("g"))
    assert EnvChange.from_json(change.to_json()) == change


def test_diff_gives_the_absolute_change_between_two_states() -> None:
    before = {"A": "1", "B": "2", "PATH": "/bin"}
    state = ShellState(dict(before))
    state.apply(EnvChange().set("A", "changed").unset("B").prepend_path("PATH", "/x"))
    change = diff(before, state)
    assert apply(before, change) == {"A": "changed", "PATH": "/x:/bin"}


@pytest.mark.parametrize("name", ["1X", "A-B", "A B", "", "A;rm"])
def test_invalid_variable_names_are_refused(name: str) -> None:
    with pytest.raises(RoostError, match="not a valid environment variable name"):
        EnvChange().set(name, "x")


@pytest.mark.parametrize("name", ["a;b", "$(x)", "a b", "`x`", ""])
def test_alias_names_that_a_shell_would_interpret_are_refused(name: str) -> None:
    with pytest.raises(RoostError, match="not a valid alias name"):
        EnvChange().alias(name, "x")


# Names are checked with str methods (re is not imported on the hot paths); they must accept exactly what these
# patterns describe, and nothing with a newline (which a regex `$` would have let through).
_VAR_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_COMMAND_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.+:@%-]*"
_NAME_ALPHABET = "aZ_09.+:@%-$ \n/'é١"


@given(text(alphabet=_NAME_ALPHABET, max_size=6))
@settings(max_examples=400)
def test_name_checks_accept_exactly_their_patterns(name: str) -> None:
    from roost.shell.change import is_command_name, is_var_name

    assert is_var_name(name) == bool(re.fullmatch(_VAR_NAME, name))
    assert is_command_name(name) == bool(re.fullmatch(_COMMAND_NAME, name))


def test_names_with_a_trailing_newline_are_refused() -> None:
    with pytest.raises(RoostError):
        EnvChange().set("FOO\n", "x")
    with pytest.raises(RoostError):
        EnvChange().alias("ll\n", "ls -l")


def test_repeated_slashes_are_squeezed() -> None:
    from roost.shell.change import normalize_entry

    assert normalize_entry("/a///b//c/") == "/a/b/c" and normalize_entry("/") == "/"
