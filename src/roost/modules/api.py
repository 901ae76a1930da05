"""The module system as a library, for the other capabilities (envs, kernels, jobs, containers).

    result = load(["gcc/12", "openmpi"], environ=os.environ)
    result.change    # EnvChange that turns environ into the loaded state
    result.modules   # the modules now loaded (dependencies included), with a checksum of each modulefile
"""

from __future__ import annotations

import os

from roost.errors import ModuleNotFound
from roost.modules.command import module_cache_dir
from roost.modules.engine import Engine
from roost.modules.frame import Spec
from roost.shell.change import EnvChange

TYPE_CHECKING = False  # typing is not imported at run time: this is on `activate`'s path
if TYPE_CHECKING:
    from typing import List, Mapping, NamedTuple, Optional, Sequence, Tuple
else:
    from roost._records import NamedTuple


class LoadedModule(NamedTuple):
    fullname: str
    name: str
    version: str
    file: str
    checksum: str  # sha256 of the modulefile, to detect a site changing it under an environment


class LoadResult(NamedTuple):
    change: EnvChange
    modules: List[LoadedModule]
    messages: List[str]


def file_checksum(path: str) -> str:
    import hashlib  # here, not at the top: activation loads modules but needs no checksum

    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return ""


def _engine(environ: Optional[Mapping[str, str]]) -> Engine:
    return Engine(os.environ if environ is None else environ, cache_dir=module_cache_dir())


def load(names: Sequence[str], environ: Optional[Mapping[str, str]] = None, *,
         checksums: bool = True) -> LoadResult:
    """Load modules on top of ``environ`` (all or nothing); raises a ModuleError subclass on failure.

    ``checksums=False`` leaves ``LoadedModule.checksum`` empty: activation and kernel launches need only the change.
    """
    engine = _engine(environ)
    engine.load(list(names))
    change = engine.finish()
    modules = [LoadedModule(m.fullname, m.sn, m.version, m.file, file_checksum(m.file) if checksums else "")
               for m in engine.table.active()]
    return LoadResult(change, modules, list(engine.messages))


def resolve(name: str, environ: Optional[Mapping[str, str]] = None) -> LoadedModule:
    """What ``module load NAME`` would pick now, without loading it."""
    entry = _engine(environ).find(Spec(name))
    if entry is None:
        raise ModuleNotFound(f"the module \"{name}\" is unknown or not reachable with the current MODULEPATH",
                             f"try: module spider {name.split('/')[0]}")
    return LoadedModule(entry.fullname, entry.sn, entry.version, entry.file, file_checksum(entry.file))


def environ_with(names: Sequence[str], environ: Optional[Mapping[str, str]] = None) -> dict:
    """The environment a subprocess gets after loading ``names``."""
    base = dict(os.environ if environ is None else environ)
    return load(names, base).change.applied_to(base)


def loaded(environ: Optional[Mapping[str, str]] = None) -> List[LoadedModule]:
    from roost.modules.table import ModuleTable

    table = ModuleTable.from_environ(os.environ if environ is None else environ)
    return [LoadedModule(m.fullname, m.sn, m.version, m.file, "") for m in table.active()]


class ModuleSession:
    """A shell-less module session: run module commands against an environment kept in this object.

    >>> session = ModuleSession({"MODULEPATH": "/apps/modulefiles", "PATH": "/usr/bin"})
    >>> report, ok = session.run("load", "python")
    >>> session.environ["PATH"]
    """

    def __init__(self, environ: Optional[Mapping[str, str]] = None) -> None:
        self.environ = dict(os.environ if environ is None else environ)

    def run(self, *argv: str) -> Tuple[str, bool]:
        """Run ``module ARGV...``; returns (what the user would read, success).  A failure changes nothing."""
        import json

        from roost.modules.command import run
        from roost.shell.change import apply_to_environ

        code, messages, ok = run("json", list(argv), environ=self.environ)
        if code.strip():
            apply_to_environ(EnvChange.from_json(json.loads(code)), self.environ)
        return messages, ok
