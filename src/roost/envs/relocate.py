"""A copy of an env prefix that runs from any directory (what a start-up image holds).

What is rewritten in the copy (the env itself is never modified), and why each is enough:

* ``bin/`` scripts whose first line runs the prefix's own interpreter (``#!<prefix>/bin/python``, or pip's
  ``#!/bin/sh`` + ``'''exec' <prefix>/bin/python`` form for long paths): the header becomes
  :func:`roost.shell.render.relocatable_script_header`, which runs the interpreter beside the script.
  uv writes such headers itself (roost makes venvs with ``uv venv --relocatable``); pip and conda do not.
* ``.pth`` files: lines that are absolute paths inside the prefix become relative ones (site.py resolves
  those against the ``.pth`` file's directory).  Lines outside it (editable installs of a source tree)
  stay: they name the same directory from anywhere.  ``import`` lines are code and are copied untouched.
* Symbolic links to absolute paths inside the prefix become relative links.

What needs nothing: ``pyvenv.cfg`` (``home`` names the base interpreter, outside the env; Python finds
``pyvenv.cfg`` beside the ``bin/python`` it was started as, so ``sys.prefix`` becomes the new location) and
a conda prefix's Python (it finds its ``lib/`` from its own location).  Left as they are: other files where
conda or pip wrote the prefix (``bin/activate`` scripts, conda's ``etc/`` scripts, ``.pc`` files): they
keep naming the shared copy, which is still there.

Unchanged files are hard links to the env's own (no copy, no extra space until the image is written);
rewritten files are new files.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import List, Optional, Tuple

from roost.envs.layout import ROOST_DIR
from roost.shell.render import relocatable_script_header

SCRIPT_HEAD_BYTES = 4096


def copy_relocatable(prefix: Path, destination: Path, *, kind: str = "venv") -> List[str]:
    """Copy ``prefix`` into ``destination`` (which must not exist) so it runs from anywhere.

    Returns the paths (relative to the prefix) of the files rewritten.  roost's own ``.roost`` directory is
    not copied: jobs read the manifest from the shared copy.
    """
    source = os.path.realpath(prefix)
    names_of_prefix = tuple(dict.fromkeys((os.path.abspath(prefix), source)))  # as written, and resolved
    rewritten: List[str] = []
    destination.mkdir(parents=True)
    for directory, dirs, names in os.walk(source):
        relative = os.path.relpath(directory, source)
        if relative == ".":
            dirs[:] = [d for d in dirs if d != ROOST_DIR]
        target_dir = destination if relative == "." else destination / relative
        for name in list(dirs):
            path = os.path.join(directory, name)
            if os.path.islink(path):  # os.walk lists links to directories as directories
                dirs.remove(name)
                names.append(name)
            else:
                (target_dir / name).mkdir()
                shutil.copystat(path, target_dir / name)
        for name in names:
            path = os.path.join(directory, name)
            target = target_dir / name
            inside = os.path.normpath(os.path.join(relative, name))
            if _copy_entry(names_of_prefix, path, target, in_bin=relative == "bin"):
                rewritten.append(inside)
    return sorted(rewritten)


def _copy_entry(prefixes: Tuple[str, ...], path: str, target: Path, *, in_bin: bool) -> bool:
    """Copy one entry; True when its content had to be rewritten."""
    if os.path.islink(path):
        link = os.readlink(path)
        for prefix in prefixes:
            if os.path.isabs(link) and _is_within(link, prefix):
                # both ends relative to the prefix, so the link holds inside any copy of it
                pointed = os.path.relpath(link, prefix)
                here = os.path.relpath(os.path.dirname(path), prefixes[-1])
                os.symlink(os.path.relpath(pointed, here), target)
                return True
        os.symlink(link, target)
        return False
    if not os.path.isfile(path):
        return False  # sockets, fifos: nothing an env needs
    new_text: Optional[bytes] = None
    if in_bin or path.endswith(".pth"):
        data = _read(path)
        for prefix in prefixes:
            if in_bin:
                new_text = relocated_script(data, prefix)
            else:
                new_text = relocated_pth(data, prefix, _as_within(os.path.dirname(path), prefixes[-1], prefix))
            if new_text is not None:
                break
    if new_text is None:
        _link_or_copy(path, target)
        return False
    target.write_bytes(new_text)
    shutil.copystat(path, target)
    return True


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _link_or_copy(path: str, target: Path) -> None:
    try:
        os.link(path, target)
    except OSError:  # another file system, or links not allowed: copy
        shutil.copy2(path, target)


def _as_within(path: str, resolved_prefix: str, prefix: str) -> str:
    """``path`` (under the resolved prefix) spelled under ``prefix``."""
    return os.path.join(prefix, os.path.relpath(path, resolved_prefix))


def _is_within(path: str, prefix: str) -> bool:
    path = os.path.normpath(path)
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def relocated_script(data: bytes, prefix: str) -> Optional[bytes]:
    """A script that runs ``<prefix>/bin/<python>``, with a header that runs it from beside the script; None
    for anything else (binaries, scripts for other interpreters, already relocatable ones)."""
    if not data.startswith(b"#!") or b"\0" in data[:SCRIPT_HEAD_BYTES]:
        return None
    own_bin = prefix.rstrip("/").encode() + b"/bin/"
    lines = data.split(b"\n", 3)
    first = lines[0][2:].strip()
    if first.startswith(own_bin):  # #!<prefix>/bin/python3.12 [args are not used by entry points]
        interpreter, body = first[len(own_bin) :].split(b" ")[0], b"\n".join(lines[1:])
    elif first == b"/bin/sh" and len(lines) > 2 and lines[1].startswith(b"'''exec' " + own_bin):
        # pip's form for shebangs too long for the kernel: sh execs the interpreter, Python skips a string
        interpreter = lines[1][len(b"'''exec' " + own_bin) :].split(b" ")[0].strip(b"'\"")
        body = lines[3] if len(lines) > 3 else b""
        if not lines[2].startswith(b"' '''"):
            return None
    else:
        return None
    name = interpreter.decode(errors="replace")
    if not name or "/" in name or not name.startswith("python"):
        return None
    return relocatable_script_header(name).encode() + body


def relocated_pth(data: bytes, prefix: str, directory: str) -> Optional[bytes]:
    """A ``.pth`` whose absolute paths inside ``prefix`` are made relative to its directory; None if none."""
    changed = False
    lines = data.split(b"\n")
    own = prefix.rstrip("/").encode() + b"/"
    for index, line in enumerate(lines):
        text = line.rstrip(b"\r")
        if text.startswith(own) or text == own.rstrip(b"/"):
            relative = os.path.relpath(text.decode(errors="surrogateescape"), directory)
            lines[index] = relative.encode(errors="surrogateescape")
            changed = True
    return b"\n".join(lines) if changed else None
