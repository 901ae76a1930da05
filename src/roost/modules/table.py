"""The table of loaded modules, kept in the environment (``_ROOST_MT_``) beside LOADEDMODULES/_LMFILES_.

It is stored as base64 of ``marshal`` data: both are built into the interpreter, so reading it costs no import
(``json`` pulls in ``re`` and ``enum``: milliseconds on every ``module list``).
"""

from __future__ import annotations

import binascii
import marshal

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    from typing import Dict, List, Mapping, Optional

TABLE_VAR = "_ROOST_MT_"
TABLE_VERSION = 2


class Loaded:
    """One loaded (or inactive) module."""

    __slots__ = ("fullname", "sn", "version", "file", "mpath", "kind", "status", "props", "ref", "user", "family",
                 "user_name")

    def __init__(self, fullname: str, sn: str, version: str, file: str, mpath: str, kind: str, *,
                 status: str = "active", props: Optional[Dict[str, str]] = None, ref: int = 0, user: bool = True,
                 family: str = "", user_name: str = "") -> None:
        self.fullname = fullname
        self.sn = sn
        self.version = version
        self.file = file
        self.mpath = mpath
        self.kind = kind
        self.status = status
        self.props = props or {}
        self.ref = ref  # number of modules that depends_on() this one
        self.user = user  # loaded by the user (not only as a dependency)
        self.family = family
        self.user_name = user_name or fullname

    @property
    def sticky(self) -> bool:
        return self.props.get("lmod") == "sticky"

    def to_list(self) -> list:
        return [self.fullname, self.sn, self.version, self.file, self.mpath, self.kind, self.status, self.props,
                self.ref, self.user, self.family, self.user_name]

    @classmethod
    def from_list(cls, data: list) -> Loaded:
        fullname, sn, version, file, mpath, kind, status, props, ref, user, family, user_name = data
        return cls(fullname, sn, version, file, mpath, kind, status=status, props=props, ref=ref, user=user,
                   family=family, user_name=user_name)


class ModuleTable:
    def __init__(self, modules: List[Loaded], base_mpath: str, system_mpath: str) -> None:
        self.modules = modules
        self.base_mpath = base_mpath  # MODULEPATH without what modules added (changed by use/unuse)
        self.system_mpath = system_mpath  # MODULEPATH when the table was first made (for reset)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ModuleTable:
        raw = environ.get(TABLE_VAR)
        if raw:
            try:
                data = marshal.loads(binascii.a2b_base64(raw))
                if data.get("v") == TABLE_VERSION:
                    return cls([Loaded.from_list(m) for m in data["modules"]], data["base"], data["system"])
            except (ValueError, KeyError, TypeError, EOFError, AttributeError, binascii.Error):
                pass
        mpath = environ.get("MODULEPATH", "")
        # Without any table, LOADEDMODULES alone is stale (Lmod starts afresh and clears it); with Lmod's or
        # Environment Modules' own state, the shell's modules were loaded by that tool: at least list them
        adopted = _from_lmod_variables(environ) if _loaded_by_another_tool(environ) else []
        return cls(adopted, mpath, mpath)

    def encode(self) -> str:
        data = {"v": TABLE_VERSION, "base": self.base_mpath, "system": self.system_mpath,
                "modules": [m.to_list() for m in self.modules]}
        return binascii.b2a_base64(marshal.dumps(data), newline=False).decode("ascii")

    def active(self) -> List[Loaded]:
        return [m for m in self.modules if m.status == "active"]

    def find(self, name: str, *, include_inactive: bool = False) -> Optional[Loaded]:
        """A loaded module by full name, short name, or a prefix of the version (``gcc/12``)."""
        candidates = self.modules if include_inactive else self.active()
        for module in candidates:
            if name in (module.fullname, module.sn, module.user_name):
                return module
        for module in candidates:  # gcc/12 names a loaded gcc/12.2.0
            if module.fullname.startswith(name + "."):
                return module
        return None


def _loaded_by_another_tool(environ: Mapping[str, str]) -> bool:
    return "_ModuleTable001_" in environ or "_ModuleTable_" in environ or any(
        name.startswith("__MODULES_") for name in environ)


def stale_loaded_modules(environ: Mapping[str, str]) -> bool:
    """LOADEDMODULES or _LMFILES_ left without any tool's table: a module command clears them (as Lmod)."""
    return (TABLE_VAR not in environ and ("LOADEDMODULES" in environ or "_LMFILES_" in environ)
            and not _loaded_by_another_tool(environ))


def _from_lmod_variables(environ: Mapping[str, str]) -> List[Loaded]:
    """A shell whose modules were loaded by Lmod (or Environment Modules): at least list them."""
    names = [n for n in environ.get("LOADEDMODULES", "").split(":") if n]
    files = [f for f in environ.get("_LMFILES_", "").split(":") if f]
    modules = []
    for index, fullname in enumerate(names):
        file = files[index] if index < len(files) else ""
        sn, _, version = fullname.rpartition("/")
        kind = "lua" if file.endswith(".lua") else "tcl"
        modules.append(Loaded(fullname, sn or fullname, version if sn else "", file, "", kind))
    return modules
