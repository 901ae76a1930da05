"""admin.list parsing and the Lua patterns its keys (and hideRegex/forbidRegex names) are matched with."""

from __future__ import annotations

from pathlib import Path

import lupa.lua54 as lupa_lua
from hypothesis import given, settings
from hypothesis import strategies as st

from roost.modules.site import admin_messages, lua_find, read_admin_file

LUA = lupa_lua.LuaRuntime()
LUA_FIND = LUA.eval("function(s, p) local ok, r = pcall(string.find, s, p); if not ok then return nil end; "
                    "return r ~= nil end")

TEXT = st.text(alphabet="ab.1/-_", max_size=8)
PIECES = ["a", "b", ".", "1", "/", "-", "%.", "%d", "%a", "^", "$", "[ab]", "[^a]", "*", "+", "?", "%-", "_"]
PATTERN = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=TEXT, pattern=PATTERN)
def test_lua_find_agrees_with_lua(text: str, pattern: str) -> None:
    expected = LUA_FIND(text, pattern)
    if expected is None:
        return  # a pattern Lua itself rejects
    assert lua_find(text, pattern) == expected, (text, pattern)


def test_blocks_keys_and_continuation_lines(tmp_path: Path) -> None:
    path = tmp_path / "admin.list"
    path.write_text("# comment\n"
                    "gcc/9%.3: gcc 9 is unsupported\n"
                    "   use gcc/13.\n"
                    "\n"
                    "py/2 | py/3%.6 :\n"
                    "  end of life\n"
                    "\n"
                    "/sw/mf/old.lua: by path\n")
    assert read_admin_file(str(path)) == [
        ("gcc/9%.3", " gcc 9 is unsupported   use gcc/13.\n"),
        ("py/2", "  end of life\n"), ("py/3%.6", "  end of life\n"),
        ("/sw/mf/old.lua", " by path"),
    ]
    text = admin_messages({"LMOD_ADMIN_FILE": str(path)},
                          [("gcc/9.3", "/x/gcc/9.3.lua"), ("zlib/1", "/sw/mf/old.lua"), ("gcc/13", "/y")])
    assert "gcc/9.3:\n gcc 9 is unsupported   use gcc/13.\n" in text
    assert "zlib/1:\n by path\n" in text and "gcc/13:" not in text
    assert admin_messages({"LMOD_ADMIN_FILE": str(tmp_path / "missing")}, [("gcc/9.3", "/x")]) == ""
