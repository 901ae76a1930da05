"""The bond between an env and its modules: load them through the module engine, record what was loaded.

Only this file talks to :mod:`roost.modules.api` (or, with ``system="lmod"``, the site's Lmod through
:mod:`roost.envs.lmod`); an env without modules never imports either.
"""

from __future__ import annotations

import os

from roost.shell.change import EnvChange, ShellState

TYPE_CHECKING = False  # typing is not imported at run time: this is on `activate`'s path
if TYPE_CHECKING:
    from typing import Dict, List, Mapping, Sequence, Tuple

if TYPE_CHECKING:  # the manifest's dataclasses stay off the `activate` path
    from roost.envs.manifest import ModuleRecord


MODULEPATH = "MODULEPATH"  # declared in roost.envvars; a literal to keep the registry off the `activate` path


def modulepath_entries(environ: Mapping[str, str]) -> List[str]:
    return [p for p in environ.get(MODULEPATH, "").split(os.pathsep) if p]


def modulepath_prelude(recorded: Sequence[str], environ: Mapping[str, str]) -> EnvChange:
    """Append recorded MODULEPATH entries the shell lacks (a `module use` at creation time keeps working)."""
    current = set(modulepath_entries(environ))
    change = EnvChange()
    for entry in recorded:
        if entry not in current:
            change.append_path(MODULEPATH, entry)
    return change


ROOST = "roost"
LMOD = "lmod"
SYSTEMS = (ROOST, LMOD)


def load_change(names: Sequence[str], environ: Mapping[str, str], system: str = ROOST) -> EnvChange:
    """Just the change of loading ``names`` (activation needs no records)."""
    if not names:
        return EnvChange()
    if system == LMOD:
        from roost.envs import lmod

        return lmod.load(names, environ)[0]
    from roost.modules import api as modules_api

    return modules_api.load(list(names), environ, checksums=False).change


def load_modules(
    names: Sequence[str], environ: Mapping[str, str], system: str = ROOST
) -> Tuple[EnvChange, List[ModuleRecord]]:
    """Load ``names`` on top of ``environ``; the change is absolute (set/unset), as the engine returns it."""
    if not names:
        return EnvChange(), []
    if system == LMOD:
        return _lmod_load_modules(names, environ)
    from roost.envs.manifest import ModuleRecord
    from roost.modules import api as modules_api

    before = {m.fullname for m in modules_api.loaded(environ)}
    result = modules_api.load(list(names), environ)
    # Record what this load brought in (dependencies included) and what was asked for, not every module
    # that happened to be loaded in the caller's shell.
    wanted = [m for m in result.modules if m.fullname not in before or _asked(m.fullname, names)]
    records = [ModuleRecord(fullname=m.fullname, file=str(m.file), checksum=str(m.checksum)) for m in wanted]
    return result.change, records


def _lmod_load_modules(names: Sequence[str], environ: Mapping[str, str]) -> Tuple[EnvChange, List[ModuleRecord]]:
    from pathlib import Path

    from roost.envs import lmod
    from roost.envs.manifest import ModuleRecord
    from roost.envs.python import file_sha256

    before = {fullname for fullname, _ in lmod.loaded(environ)}
    change, after = lmod.load(names, environ)
    records = []
    for fullname, file in after:
        if fullname not in before or _asked(fullname, names):
            checksum = file_sha256(Path(file)) if file and os.path.isfile(file) else ""
            records.append(ModuleRecord(fullname=fullname, file=file, checksum=checksum))
    return change, records


def _asked(fullname: str, names: Sequence[str]) -> bool:
    return any(fullname == name or fullname.startswith(name.rstrip("/") + "/") for name in names)


def loaded_environ(change: EnvChange, environ: Mapping[str, str]) -> Dict[str, str]:
    state = ShellState(dict(environ))
    state.apply(change)
    return state.export_environ()


def check_module(fullname: str, environ: Mapping[str, str], system: str = ROOST) -> Tuple[EnvChange, ModuleRecord]:
    """Load one recorded module (raises the engine's ModuleError when it is gone or broken)."""
    change, records = load_modules([fullname], environ, system)
    match = [r for r in records if r.fullname == fullname]
    if match:
        return change, match[0]
    if system == LMOD:
        from roost.envs.manifest import ModuleRecord

        return change, ModuleRecord(fullname=fullname, file="", checksum="")
    # Already loaded (say, as another module's dependency): ask the engine what the name resolves to.
    from roost.envs.manifest import ModuleRecord
    from roost.modules import api as modules_api

    found = modules_api.resolve(fullname, environ)
    return change, ModuleRecord(fullname=found.fullname, file=str(found.file), checksum=str(found.checksum))
