"""Text from users, as roost checks and shows it.

Arguments, names and paths reach Python as ``str`` even when they are not UTF-8: os.fsdecode keeps each
undecodable byte as a lone surrogate (``b"\\xff"`` becomes ``"\\udcff"``).  Such a string cannot be written
to a UTF-8 file or passed to most tools, and ``repr`` shows it as ``'\\udcff'``, which is not what the user
typed.  :func:`unsafe_character` says what is wrong with a one-line value; :func:`shown` renders any text
the way the user would recognise it (``'\\xff'``, ``'a\\nb'``).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: jobs' submit path uses this module
if TYPE_CHECKING:
    from typing import Optional

_CONTROL_NAMES = {"\n": "a newline", "\r": "a carriage return", "\x00": "a NUL byte", "\t": "a tab"}


def unsafe_character(text: str) -> Optional[str]:
    """What makes ``text`` unfit as one line of text (a control character, bytes that are not UTF-8),
    described in words; None when it is fit."""
    for char in text:
        code = ord(char)
        if code < 0x20 or code == 0x7F:
            return _CONTROL_NAMES.get(char, f"the control character U+{code:04X}")
        if 0xD800 <= code <= 0xDFFF:  # os.fsdecode keeps undecodable bytes as lone surrogates
            return "bytes that are not UTF-8"
    return None


def shown(text: str) -> str:
    """``text`` quoted for a message, on one line: undecodable bytes as ``\\xNN``, control characters
    (newlines too) and quotes escaped."""
    return "'" + "".join("\\" + char if char in "\\'" else _escaped(char, "") for char in text) + "'"


def printable(text: str) -> str:
    """``text`` with undecodable bytes as ``\\xNN`` and control characters other than newlines escaped
    (for paths and whole messages, which a terminal would otherwise garble)."""
    if text.isascii() and text.replace("\n", "").isprintable():
        return text
    return "".join(_escaped(char, "\n") for char in text)


def _escaped(char: str, keep: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if char not in keep and (code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF):
        return repr(char)[1:-1]
    return char
