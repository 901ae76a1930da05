"""Named collections of loaded modules: save, restore, savelist, describe, disable.

A collection records the base MODULEPATH (what it was without module-added directories) and the loaded modules'
full names in load order.  As in Lmod, restore refuses when the base MODULEPATH has changed since the save: the
same names could now mean other files.  It also records a digest of what each modulefile does (its `show`
listing, as Lmod's computeHashSum): a module whose file now does something else makes the restore refuse.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from typing import NamedTuple  # at run time: collections are not on the hot path

from roost.errors import CollectionError
from roost.modules.table import ModuleTable

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    from typing import Dict, List

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")


def collections_dir() -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "roost", "collections")


def collection_file(name: str) -> str:
    if not _NAME.match(name):
        raise CollectionError(f"\"{name}\" is not a valid collection name",
                              "use letters, digits and . _ + - (no slashes or spaces)")
    return os.path.join(collections_dir(), name + ".json")


def save(name: str, table: ModuleTable) -> str:
    path = collection_file(name)
    saved = [m for m in table.active() if m.user or m.ref <= 0]
    data = {"version": 1, "base_modulepath": table.base_mpath, "system_modulepath": table.system_mpath,
            "modules": [m.fullname for m in saved], "user_names": [m.user_name for m in saved],
            "digests": {m.sn: module_digest(m.file, m.kind, m.fullname) for m in table.active()}}
    text = json.dumps(data, indent=1)
    tmp = path + ".tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())  # a full disk shows here at the latest, before the old file is replaced
        os.replace(tmp, path)
    except OSError as exc:
        _remove_quietly(tmp)
        raise CollectionError(
            f"cannot save the collection \"{name}\" to {path}: {exc.strerror or exc}",
            _write_hint(exc),
        ) from None
    return path


# what Lmod's computeHashSum counts: the modules a file loads or unloads and how it changes MODULEPATH
# (a changed setenv or help text leaves a collection valid)
_DIGESTED_CALLS = ("load(", "try_load(", "always_load(", "always_unload(", "depends_on(", "depends_on_any(",
                   "load_any(", "unload(", "mgrload(", "inherit(", 'prepend_path("MODULEPATH"',
                   'append_path("MODULEPATH"', 'remove_path("MODULEPATH"', 'prepend_path{"MODULEPATH"',
                   'append_path{"MODULEPATH"', 'remove_path{"MODULEPATH"')


def module_digest(file: str, kind: str, fullname: str) -> str:
    """A digest of the calls of a modulefile's `show` listing that make a collection of it (see above)."""
    import hashlib

    from roost.modules.spider import describe

    try:
        shown = describe(file, kind, fullname, "show").shown
    except Exception:  # a file that cannot be shown now is a changed file; the restore says which one
        return ""
    calls = [line for line in shown if line.startswith(_DIGESTED_CALLS)]
    return hashlib.sha1("\n".join(calls).encode("utf-8", "surrogateescape")).hexdigest()


def changed_modules(saved: Collection, table: ModuleTable) -> List[str]:
    """The short names of restored modules whose file does something else than when the collection was saved."""
    changed = []
    for module in table.active():
        digest = saved.digests.get(module.sn)
        if digest is not None and digest != module_digest(module.file, module.kind, module.fullname):
            changed.append(module.sn)
    return sorted(changed)


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _write_hint(exc: OSError) -> str:
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk (or your quota) is full: free some space, then save again; the old collection is kept"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return ("your home directory is not writable here; set XDG_CONFIG_HOME to a writable directory "
                "to keep collections there")
    return "check that the directory exists and is writable, then save again"


class Collection(NamedTuple):
    base_modulepath: str  # MODULEPATH without module-added directories (restored)
    system_modulepath: str  # the site's MODULEPATH when the modules were loaded (must still match)
    modules: List[str]  # full names, in load order
    user_names: List[str]  # the names as typed (restored: a collection is not pinned to versions)
    digests: Dict[str, str]  # short name -> module_digest() at save time (none in older collections)


def load(name: str) -> Collection:
    path = collection_file(name)
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise CollectionError(f"there is no saved collection named \"{name}\"",
                              "see the saved ones with: module savelist") from None
    except (OSError, ValueError) as exc:
        raise CollectionError(f"the collection \"{name}\" ({path}) cannot be read: {exc}",
                              f"save it again: module save {name}") from None
    base = data.get("base_modulepath", "")
    modules = list(data.get("modules", []))
    return Collection(base, data.get("system_modulepath", base), modules, list(data.get("user_names") or modules),
                      dict(data.get("digests") or {}))


def exists(name: str) -> bool:
    return os.path.exists(collection_file(name))


def check_modulepath(name: str, saved_base: str, current_base: str) -> None:
    if saved_base != current_base:
        raise CollectionError(
            f"the MODULEPATH has changed since the collection \"{name}\" was saved, so it cannot be restored safely",
            f"load the modules you need and save it again: module save {name}",
        )


def names() -> List[str]:
    try:
        return sorted(f[:-5] for f in os.listdir(collections_dir()) if f.endswith(".json"))
    except FileNotFoundError:
        return []


def disable(name: str) -> str:
    path = collection_file(name)
    if not os.path.exists(path):
        raise CollectionError(f"there is no saved collection named \"{name}\"",
                              "see the saved ones with: module savelist")
    try:
        os.replace(path, path + "~")
    except OSError as exc:
        raise CollectionError(f"cannot disable the collection \"{name}\" ({path}): {exc.strerror or exc}",
                              _write_hint(exc)) from None
    return path
