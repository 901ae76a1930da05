"""The less common functions Lmod's sandbox gives modulefiles: commands' output, `source_sh`, lfs and posix.

Imported only when a modulefile calls one of them (``subprocess`` and friends cost start-up time).  Commands a
modulefile runs (``capture``, ``execute{}``, ``source_sh``) run in a child process with the environment the
modulefile sees; nothing of their text is ever pasted into the code the user's shell evaluates.
"""

from __future__ import annotations

import os

from roost.errors import ModulefileError

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    from typing import Dict, List, Mapping, Optional, Tuple

# the shells source_sh() understands, and how each prints its environment NUL-separated
_SOURCE_SHELLS = ("bash", "sh", "zsh", "ksh")
_SPLIT = "__ROOST_SOURCE_SH_SPLIT__"
# variables a shell sets for itself: never part of what a sourced script changes
_SHELL_OWN = {"_", "SHLVL", "PWD", "OLDPWD", "PS1", "PS2", "PS4", "OPTIND", "RANDOM", "LINENO", "SECONDS",
              "BASH_EXECUTION_STRING", "ZSH_EXECUTION_STRING"}


def capture(command: str, environ: Mapping[str, str]) -> str:
    """A command's standard output (Lmod's capture()/subprocess(); also io.popen's read)."""
    import subprocess

    result = subprocess.run(["/bin/sh", "-c", command], env=dict(environ), stdout=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, check=False)
    return result.stdout.decode("utf-8", errors="surrogateescape")


def execute(command: str, environ: Mapping[str, str]) -> Tuple[str, str]:
    """Run an execute{} command now; its output and errors (they go to the user's terminal)."""
    import subprocess

    result = subprocess.run(["/bin/sh", "-c", command], env=dict(environ), capture_output=True,
                            stdin=subprocess.DEVNULL, check=False)
    return (result.stdout.decode("utf-8", errors="replace"), result.stderr.decode("utf-8", errors="replace"))


def source_sh_ops(shell: str, script: str, environ: Mapping[str, str]) -> List[List[str]]:
    """What sourcing ``script`` in ``shell`` does to the environment, as modulefile actions:
    ``["setenv", NAME, VALUE]``, ``["unsetenv", NAME]``, ``["prepend_path"|"append_path", NAME, PART]``."""
    import subprocess

    if shell not in _SOURCE_SHELLS:
        raise ModulefileError(f"source_sh: the shell \"{shell}\" is not supported",
                              f"use one of: {', '.join(_SOURCE_SHELLS)}")
    if not os.path.isfile(script.split()[0] if script else ""):
        raise ModulefileError(f"source_sh: the script \"{script}\" does not exist",
                              "check the path in the modulefile (or ask whoever maintains it)")
    program = f'env -0; printf "\\0{_SPLIT}\\0"; . {script} >/dev/null 2>&1; env -0'
    result = subprocess.run([shell, "-c", program], env=dict(environ), capture_output=True,
                            stdin=subprocess.DEVNULL, check=False)
    before_text, _, after_text = result.stdout.partition(f"\0{_SPLIT}\0".encode())
    before, after = _env_of(before_text), _env_of(after_text)
    ops: List[List[str]] = []
    for name, value in after.items():
        if name in _SHELL_OWN or before.get(name) == value:
            continue
        ops += _path_or_set(name, before.get(name), value)
    ops += [["unsetenv", name] for name in before if name not in after and name not in _SHELL_OWN]
    return ops


def _env_of(data: bytes) -> Dict[str, str]:
    env: Dict[str, str] = {}
    for item in data.split(b"\0"):
        name, equals, value = item.decode("utf-8", errors="surrogateescape").partition("=")
        if equals and name:
            env[name] = value
    return env


def _path_or_set(name: str, old: Optional[str], new: str) -> List[List[str]]:
    """A value that only grew at either end (``/x:$PATH``) is path edits; anything else is a setenv."""
    if old:
        if new.endswith(":" + old):
            return [["prepend_path", name, part] for part in reversed(new[: -len(old) - 1].split(":")) if part]
        if new.startswith(old + ":"):
            return [["append_path", name, part] for part in new[len(old) + 1 :].split(":") if part]
    return [["setenv", name, new]]


def attributes(path: str, what: Optional[str], link: bool) -> object:
    """lfs.attributes / lfs.symlinkattributes: a dict (or one field), None when the path is missing."""
    import stat

    try:
        info = os.lstat(path) if link else os.stat(path)
    except OSError:
        return None
    mode = info.st_mode
    kinds = ((stat.S_ISDIR, "directory"), (stat.S_ISLNK, "link"), (stat.S_ISREG, "file"),
             (stat.S_ISCHR, "char device"), (stat.S_ISBLK, "block device"), (stat.S_ISFIFO, "named pipe"),
             (stat.S_ISSOCK, "socket"))
    table = {
        "mode": next((kind for test, kind in kinds if test(mode)), "other"),
        "size": info.st_size, "modification": int(info.st_mtime), "access": int(info.st_atime),
        "change": int(info.st_ctime), "uid": info.st_uid, "gid": info.st_gid, "ino": info.st_ino,
        "dev": info.st_dev, "nlink": info.st_nlink, "permissions": stat.filemode(mode)[1:],
    }
    return table.get(what) if what else table


def lfs_call(what: str, path: str) -> object:
    """The lfs functions that act on one path: True on success, else (None, message) as lfs returns."""
    try:
        if what == "currentdir":
            return os.getcwd()
        if what == "chdir":
            os.chdir(path)
        elif what == "mkdir":
            os.mkdir(path)
        elif what == "rmdir":
            os.rmdir(path)
        elif what == "touch":
            with open(path, "a"):
                os.utime(path, None)
        return True
    except OSError as exc:
        return (None, f"{path}: {exc.strerror}")


def uname(fmt: str) -> str:
    """posix.uname(format): %s system, %n node, %r release, %v version, %m machine."""
    info = os.uname()
    fields = {"s": info.sysname, "n": info.nodename, "r": info.release, "v": info.version, "m": info.machine,
              "%": "%"}
    out, index = [], 0
    while index < len(fmt):
        if fmt[index] == "%" and index + 1 < len(fmt):
            out.append(fields.get(fmt[index + 1], ""))
            index += 2
        else:
            out.append(fmt[index])
            index += 1
    return "".join(out)


def hostid() -> int:
    """posix.hostid(): the C library's gethostid()."""
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.gethostid.restype = ctypes.c_long
    return int(libc.gethostid()) & 0xFFFFFFFF


def uuid_string(epoch: object) -> str:
    """UUIDString(): the date and time (of ``epoch``, else now) and a random UUID, as Lmod builds it."""
    import time
    import uuid

    when = time.localtime(float(epoch) if isinstance(epoch, (int, float)) else None)
    return time.strftime("%Y_%m_%d_%H_%M_%S", when) + "-" + str(uuid.uuid4())


def syslog(action: str, ident: str = "", priority: int = 6, message: str = "") -> None:
    import syslog as system_log

    if action == "open":
        system_log.openlog(ident)
    elif action == "close":
        system_log.closelog()
    else:
        system_log.syslog(priority, message)
