"""Quoting for shells, and the two statements a module command may emit besides an environment change.

Kept apart from :mod:`roost.shell.render` so that ``module list`` (which changes nothing) imports nothing else.
"""

from __future__ import annotations


def quote_posix(value: str) -> str:
    """Single-quote for sh/bash/zsh: nothing inside single quotes is special except the quote itself."""
    return "'" + value.replace("'", "'\\''") + "'"


_BARE_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-")


def quote_word(value: str) -> str:
    """shlex.quote without importing shlex and re: words of safe characters stay bare (a readable command
    line in job scripts); others are single-quoted, a quote inside written as '"'"'.  A word holding bytes
    that are not UTF-8 (lone surrogates, as os.fsdecode leaves them) is written in bash's $'...' form with
    those bytes as \\xHH, so that the script stays text and the word arrives byte for byte (bash and zsh)."""
    if value and all(char in _BARE_SAFE for char in value):
        return value
    if any(0xDC80 <= ord(char) <= 0xDCFF for char in value):
        return _quote_ansi_c(value)
    return "'" + value.replace("'", "'\"'\"'") + "'"


def _quote_ansi_c(value: str) -> str:
    out = []
    for char in value:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif char in "\\'":
            out.append("\\" + char)
        else:
            out.append(char)
    return "$'" + "".join(out) + "'"


def _double_quoted(value: str) -> str:
    """Escape for use inside double quotes (where only \\ " $ and ` are special)."""
    for char in ("\\", '"', "$", "`"):
        value = value.replace(char, "\\" + char)
    return value


def quote_fish(value: str) -> str:
    """fish single quotes: only backslash and the quote itself need escaping."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"



def render_print(text: str, shell: str) -> str:
    """Code that makes the evaluating shell print ``text`` on its stdout (``module --redirect``, ``--json``)."""
    if not text:
        return ""
    if shell == "fish":
        return f"printf '%s' {quote_fish(text)};\n"
    if shell in ("bash", "zsh", "sh"):
        return f"printf '%s' {quote_posix(text)};\n"
    if shell == "python":
        return f"import sys; sys.stdout.write({text!r})\n"
    return ""


def render_status(ok: bool, shell: str) -> str:
    """The last statement of a module command: its exit status in the evaluating shell."""
    if shell == "python":
        return f"_mlstatus = {ok}\n"
    if shell in ("bash", "zsh", "sh", "fish"):
        return "" if ok else "false;\n"
    return ""


def write_code(code: str, *, to_stderr: bool = False) -> None:
    """Write shell code for the evaluating shell (or, ``to_stderr``, messages) in one piece.  Bytes a value
    carried from a modulefile or the environment (held as surrogates, as os.environ holds them) go out as they
    came in, as Lmod writes them."""
    import sys

    stream = sys.stderr if to_stderr else sys.stdout
    data = code.encode("utf-8", "surrogateescape")
    binary = getattr(stream, "buffer", None)
    if binary is None:  # a replaced stream (tests): text only
        stream.write(data.decode("utf-8", "replace"))
    else:
        stream.flush()
        binary.write(data)
    stream.flush()
