"""Renderers of an :class:`~roost.shell.change.EnvChange` into modulefiles other module systems load.

``render_lua`` writes a Lua modulefile for Lmod (and roost's own engine, which reads the same language);
``render_tcl`` writes a Tcl modulefile for Environment Modules (4.x/5.x).  A :class:`ModuleInfo` adds the
help text and ``whatis`` lines.  Every value is quoted so that any byte of it arrives unchanged:

* Lua strings are emitted in double quotes with every byte outside printable ASCII (and ``"``/``\\``)
  written as a three-digit decimal escape ``\\ddd``, so the file is pure ASCII whatever the value holds.
* Tcl strings are emitted in double quotes with ``\\ [ ] $ "`` escaped (no substitution can happen) and
  characters outside printable ASCII as ``\\uXXXX`` (a surrogate pair beyond the BMP), read the same
  whatever encoding Tcl assumes.  Bytes that are not UTF-8 cannot be held by Tcl and raise an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from roost.shell.change import BASH_ONLY_ACTIONS, Action, EnvChange, Op

FORMATS = ("lua", "tcl")


@dataclass(frozen=True)
class ModuleInfo:
    """What ``module help`` and ``module whatis`` show for a generated modulefile."""

    help: str = ""
    whatis: List[str] = field(default_factory=list)
    extensions: List[str] = field(default_factory=list)  # "numpy/1.26.4": found by `module spider numpy`
    depends_on: List[str] = field(default_factory=list)  # modules loaded first (and released on unload)


# ---------------------------------------------------------------------------------------------------- Lua


def quote_lua(value: str) -> str:
    """A Lua string literal whose bytes are exactly ``value`` encoded as UTF-8 (surrogate escapes kept)."""
    out: List[str] = ['"']
    for byte in value.encode("utf-8", "surrogateescape"):
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    out.append('"')
    return "".join(out)


def _lua_path_op(function: str, op: Op) -> str:
    name, value, sep = quote_lua(op.name), quote_lua(op.value), quote_lua(op.sep)
    if op.priority:
        return f"{function}{{{name}, {value}, delim = {sep}, priority = {op.priority}}}"
    if op.sep == ":":
        return f"{function}({name}, {value})"
    return f"{function}({name}, {value}, {sep})"


def _lua_op(op: Op) -> str:
    action, name = op.action, quote_lua(op.name)
    if action is Action.SET:
        return f"setenv({name}, {quote_lua(op.value)})"
    if action is Action.UNSET:
        return f"unsetenv({name})"
    if action is Action.PREPEND:
        return _lua_path_op("prepend_path", op)
    if action is Action.APPEND:
        return _lua_path_op("append_path", op)
    if action is Action.REMOVE:
        return _lua_path_op("remove_path", op)
    if action is Action.ALIAS:
        return f"set_alias({name}, {quote_lua(op.value)})"
    if action is Action.UNALIAS:
        return f"unset_alias({name})"
    if action is Action.FUNCTION:
        # Lmod takes a bash body and a csh body; roost's functions are POSIX shell, csh gets none.
        return f"set_shell_function({name}, {quote_lua(op.value)}, \"\")"
    if action is Action.COMPLETE:
        return f"complete(\"bash\", {name}, {quote_lua(op.value)})"
    if action is Action.UNCOMPLETE:
        return f"uncomplete(\"bash\", {name})"
    return f"unset_shell_function({name})"


def _lua_header(info: ModuleInfo) -> List[str]:
    lines: List[str] = []
    if info.help:
        lines.append(f"help({quote_lua(info.help)})")
    lines.extend(f"whatis({quote_lua(line)})" for line in info.whatis)
    if info.extensions:
        lines.append(f"extensions({quote_lua(', '.join(info.extensions))})")
    lines.extend(f"depends_on({quote_lua(name)})" for name in info.depends_on)
    return lines


def render_lua(change: EnvChange, info: Optional[ModuleInfo] = None) -> str:
    lines = ["-- -*- lua -*-"]
    lines += _lua_header(info or ModuleInfo())
    lines += [_lua_op(op) for op in change.ops if op.action is not Action.EXPORT_FUNCTION]  # not in Lmod 8.6
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------- Tcl

_TCL_ESCAPES = {"\\": "\\\\", '"': '\\"', "$": "\\$", "[": "\\[", "]": "\\]", "\n": "\\n", "\t": "\\t"}


def quote_tcl(value: str) -> str:
    """A Tcl word (double-quoted, nothing substituted) that evaluates to exactly ``value``.

    Undecodable bytes (surrogate escapes from ``os.environ``) cannot be represented in a Tcl string; they
    raise an error instead of silently becoming other bytes.
    """
    out: List[str] = ['"']
    for char in value:
        code = ord(char)
        if char in _TCL_ESCAPES:
            out.append(_TCL_ESCAPES[char])
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif 0xD800 <= code <= 0xDFFF:
            from roost.errors import RoostError

            raise RoostError(
                f"the value {value!r} holds bytes that are not UTF-8, which a Tcl modulefile cannot hold",
                "use the Lua format (Lmod), which keeps any byte",
            )
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")  # whatever encoding Tcl reads the file with
        else:
            # Beyond the BMP Tcl 8.6 has no working \U escape; a UTF-16 surrogate pair is what it stores
            # internally and exports to the environment as the right 4-byte UTF-8.
            high, low = divmod(code - 0x10000, 0x400)
            out.append(f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}")
    out.append('"')
    return "".join(out)


def _tcl_path_op(command: str, op: Op) -> str:
    # Environment Modules has no path priorities: order is what the ops say.
    delim = "" if op.sep == ":" else f"-d {quote_tcl(op.sep)} "
    return f"{command} {delim}{op.name} {quote_tcl(op.value)}"


def _tcl_op(op: Op) -> str:
    action, name = op.action, op.name  # names are validated identifiers: safe as bare Tcl words
    if action is Action.SET:
        return f"setenv {name} {quote_tcl(op.value)}"
    if action is Action.UNSET:
        return f"unsetenv {name}"
    if action is Action.PREPEND:
        return _tcl_path_op("prepend-path", op)
    if action is Action.APPEND:
        return _tcl_path_op("append-path", op)
    if action is Action.REMOVE:
        return _tcl_path_op("remove-path", op)
    if action is Action.ALIAS:
        return f"set-alias {name} {quote_tcl(op.value)}"
    if action is Action.UNALIAS:
        return f"unset-alias {name}"
    if action is Action.FUNCTION:
        return f"set-function {name} {quote_tcl(op.value)}"
    return f"unset-function {name}"


def _tcl_header(info: ModuleInfo) -> List[str]:
    lines: List[str] = []
    if info.help:
        lines += ["proc ModulesHelp { } {", f"    puts stderr {quote_tcl(info.help)}", "}"]
    lines.extend(f"module-whatis {quote_tcl(line)}" for line in info.whatis)
    if info.extensions:
        lines.append(f"extensions {' '.join(quote_tcl(e) for e in info.extensions)}")
    lines.extend(f"module load {quote_tcl(name)}" for name in info.depends_on)
    return lines


def render_tcl(change: EnvChange, info: Optional[ModuleInfo] = None) -> str:
    lines = ["#%Module1.0"]
    lines += _tcl_header(info or ModuleInfo())
    lines += [_tcl_op(op) for op in change.ops if op.action not in BASH_ONLY_ACTIONS]  # no Tcl form in Lmod 8.6
    return "\n".join(lines) + "\n"


_RENDERERS: Dict[str, Callable[[EnvChange, Optional[ModuleInfo]], str]] = {
    "lua": render_lua,
    "tcl": render_tcl,
}


def render_modulefile(change: EnvChange, format: str, info: Optional[ModuleInfo] = None) -> str:
    try:
        renderer = _RENDERERS[format]
    except KeyError:
        from roost.errors import RoostError

        raise RoostError(f"unknown modulefile format {format!r}",
                         f"choose one of: {', '.join(FORMATS)}") from None
    return renderer(change, info)
