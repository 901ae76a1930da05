"""A typed description of a wrapper script: a command line assembled when the script runs, then ``exec``'d.

:func:`roost.shell.render.render_wrapper_script` turns a :class:`WrapperScript` into POSIX sh; nothing else
writes the script's code.  The arguments are built back to front in ``"$@"`` (POSIX sh has no arrays), so a
script is a list of :class:`Prepend` steps, each putting its words in front of the caller's arguments and of
the words earlier steps put there, optionally only when a condition holds when the script runs:

* :class:`DirectoryExists` -- a directory (a bind source such as ``$SCRATCH``) exists;
* :class:`Terminal` -- stdin and stdout are a terminal;
* :class:`Below` -- a directory (``$PWD``) is one of some directories or below one (else ``otherwise``).

Words (:class:`Arg`) are literal text and references to environment variables, concatenated; the renderer
quotes literals and double-quotes references, so no value is ever split, globbed or run as code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Mapping, Optional, Tuple, Union

from roost.shell.change import EnvChange


@dataclass(frozen=True)
class Ref:
    """A reference to an environment variable, expanded where the command runs."""

    name: str


Part = Union[str, Ref]


@dataclass(frozen=True)
class Arg:
    """One word of a command line: literal text and variable references, concatenated."""

    parts: Tuple[Part, ...]

    @classmethod
    def of(cls, *parts: Part) -> Arg:
        merged: List[Part] = []
        for part in parts:  # adjacent literals become one, so the shell word reads naturally
            if isinstance(part, str) and merged and isinstance(merged[-1], str):
                merged[-1] += part
            elif part != "":
                merged.append(part)
        return cls(tuple(merged))

    def expand(self, environ: Mapping[str, str]) -> str:
        return "".join(part if isinstance(part, str) else environ.get(part.name, "") for part in self.parts)

    @property
    def refs(self) -> List[str]:
        return [part.name for part in self.parts if isinstance(part, Ref)]


def lit(text: str) -> Arg:
    return Arg((text,))


@dataclass(frozen=True)
class DirectoryExists:
    """``path`` names an existing directory when the script runs (an empty or unset reference: it does not)."""

    path: Arg


@dataclass(frozen=True)
class Terminal:
    """The script's stdin and stdout are both a terminal (an interactive caller, not a pipe or a batch job)."""


@dataclass(frozen=True)
class Below:
    """The directory in ``variable`` is one of ``directories`` or below one; a directory that expands to the
    empty string (an unset variable) matches nothing."""

    variable: str
    directories: Tuple[Arg, ...]


Condition = Union[DirectoryExists, Terminal, Below]


@dataclass(frozen=True)
class Prepend:
    """Put ``words`` in front of the arguments -- always, or when ``when`` holds; when it does not, put
    ``otherwise`` there instead (None: nothing)."""

    words: Tuple[Arg, ...]
    when: Optional[Condition] = None
    otherwise: Optional[Tuple[Arg, ...]] = None


@dataclass(frozen=True)
class WrapperScript:
    """``#!/bin/sh`` with ``comment`` (each line a comment), then: $USER from ``id -un`` when it is empty or
    unset and ``set_user`` asks for it (a runtime that refuses to start without it); ``environment``'s
    changes; the ``steps`` in order; finally ``exec`` of ``program`` followed by the assembled arguments."""

    comment: str
    program: Tuple[Arg, ...]
    steps: Tuple[Prepend, ...] = ()
    environment: Optional[EnvChange] = None
    set_user: bool = False

