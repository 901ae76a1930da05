"""The module engine: load, unload, swap, purge, reload, reset, use/unuse, collections.

An :class:`Engine` works on a copy of the environment (a :class:`~roost.shell.change.ShellState`) and the
module table.  A command either succeeds as a whole, and :meth:`Engine.finish` returns the absolute
:class:`~roost.shell.change.EnvChange` from the original environment, or raises and nothing is emitted: a
load is all-or-nothing, including when one of several modules on the command line fails.
"""

from __future__ import annotations

import os

from roost.errors import ModuleError, ModulefileError, ModuleNotFound, RcFileExit
from roost.modules import site_configured
from roost.modules.frame import Frame, Spec
from roost.modules.table import TABLE_VAR, Loaded, ModuleTable
from roost.modules.tree import Entry, ModuleTree, RcInfo, global_rc_files, read_modulefile, split_modulepath
from roost.modules.versions import version_key
from roost.shell.change import Action, EnvChange, Op, ShellState, diff

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

    from roost.modules.site import Site
    from roost.modules.versions import VersionKey

MAX_HIERARCHY_PASSES = 20
DUPLICATE_PATHS_VAR = "LMOD_DUPLICATE_PATHS"  # "yes": a path entry added twice is there twice (Lmod)
FIND_FIRST_VAR = "LMOD_TMOD_FIND_FIRST"  # "yes": a name's versions come from the first directory that has it
RECORDED = "__recorded:"  # a module's props keys holding what its source_sh() calls did (for unload)


def read_rc_file(path: str, kind: str, sn: str) -> RcInfo:
    """Evaluate a .modulerc.lua, .modulerc or .version file (only on a cache miss)."""
    if kind == "version" and sn:
        simple = _simple_version_file(path)
        if simple is not None:  # the one-line form needs no Tcl interpreter (~10 ms to start)
            info = RcInfo()
            info.versions[f"{sn}/default"] = f"{sn}/{simple}"
            return info
    try:
        if kind == "lua":
            from roost.modules.lua import read_rc

            return read_rc(path, sn)
        from roost.modules.tcl import read_rc as read_tcl_rc

        return read_tcl_rc(path, sn, version_file=(kind == "version"))
    except RcFileExit:
        raise  # the file stops the command on purpose (Tcl exit), as in Lmod
    except (ModuleError, OSError, ImportError):
        return RcInfo()  # a broken rc file must not break every command; the modulefiles still work


def _simple_version_file(path: str) -> Optional[str]:
    """The version a `.version` file names when it is only `#%Module` + `set ModulesVersion "X"` (+ comments),
    with X free of anything Tcl would substitute; None for any other content (then Tcl reads it)."""
    try:
        lines = [line.strip() for line in read_modulefile(path).splitlines()]
    except OSError:
        return None
    version = None
    for line in lines:
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if len(words) != 3 or words[:2] != ["set", "ModulesVersion"] or version is not None:
            return None
        value = words[2]
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if not value or any(c in value for c in '"$[]{}\\;'):
            return None
        version = value
    return version


def evaluate(frame: Frame, kind: str) -> None:
    """Run one modulefile through its interpreter in the frame's mode."""
    try:
        code = read_modulefile(frame.file)
    except OSError as exc:
        raise ModulefileError(
            f"cannot read the modulefile of \"{frame.fullname}\" ({frame.file}): {exc.strerror}",
            "check that the file exists, is readable and is a regular file",
        ) from None
    if kind == "lua":
        from roost.modules.lua import evaluate_modulefile

        evaluate_modulefile(frame, code)
    else:
        from roost.modules.tcl import evaluate_modulefile as evaluate_tcl

        evaluate_tcl(frame, code)


def _use_path(directory: str) -> str:
    """The absolute form `module use` stores: an existing directory is resolved (`..` and `~` included); a
    relative path that does not exist is only put after the current directory (Lmod)."""
    path = os.path.expanduser(directory)
    if os.path.isabs(path):
        return path
    if os.path.exists(path):
        return os.path.abspath(path)
    return os.path.join(os.getcwd(), path)


def in_range(spec: Spec, key: VersionKey) -> bool:
    """Whether a version is inside atleast()/between()'s bounds; Lmod's open bounds: between("bar", "1.2<",
    "<1.4") excludes 1.2 and 1.4 themselves."""
    low, high = spec.low.rstrip("<"), spec.high.lstrip("<")
    if low:
        low_key = version_key(low)
        if key < low_key or (key == low_key and spec.low.endswith("<")):
            return False
    if high:
        high_key = version_key(high)
        if key > high_key or (key == high_key and spec.high.startswith("<")):
            return False
    return True


class Engine:
    def __init__(self, environ: Mapping[str, str], *, cache_dir: Optional[str] = None, force: bool = False) -> None:
        self.original: Dict[str, str] = dict(environ)
        self.state = ShellState(dict(environ))
        self.state.duplicates = environ.get(DUPLICATE_PATHS_VAR) == "yes"
        self.table = ModuleTable.from_environ(environ)
        self.cache_dir = cache_dir
        self.force = force
        self.site: Optional[Site] = None  # SitePackage.lua's helpers and hooks (None: the site has none)
        if site_configured(environ):
            from roost.modules.site import current

            self.site = current(environ)
        self.messages: List[str] = []
        self.printed: List[str] = []  # text modulefiles print on stdout (Tcl's puts stdout), shown as text
        self.printed_early: List[str] = []  # Tcl's `puts prestdout`: before everything else
        self.shell = ""  # the shell the output is for (Tcl's `module-info shell`)
        self.warned = False  # an LmodWarning: changes apply, but the command reports failure (as Lmod)
        self.trace = False  # -T: say which modulefile each load and unload runs
        self.latest = False  # --latest: a bare name means its highest version, whatever is marked default
        self._tree: Optional[ModuleTree] = None
        self._tree_key: Optional[str] = None
        self._pending: List[str] = []
        self._missing: List[Tuple[str, str]] = []  # (name, needed by) that modulefiles loaded and were not found
        self.frames: List[Tuple[str, str]] = []  # (full name, file) of the modulefiles being loaded, outermost first
        self._depth = 0
        self._deactivated: List[Loaded] = []  # gone inactive in this settling: back only at a later change
        self._original: Optional[ModuleTable] = None
        self._reload_depth = 0  # nested reloadAll passes (bounded: a modulefile could make them endless)
        self.modulepath_edits = 0  # path calls on MODULEPATH by modulefiles (Lmod's changeMPATH flag)
        self._family_swaps: List[Tuple[Loaded, str]] = []  # (member to swap out, full name claiming its family)
        # MODULEPATH when the table last matched it: a change that is undone within one command (a toolchain
        # swap unloads and reloads its compiler) still leaves modules to reactivate, as Lmod's changeMPATH flag.
        self._reconciled_mpath = environ.get("MODULEPATH") or ""

    # ---- the tree under the current MODULEPATH ---------------------------------------------------
    def modulepath(self) -> List[str]:
        return split_modulepath(self.state.get("MODULEPATH"))

    def tree(self) -> ModuleTree:
        key = self.state.get("MODULEPATH") or ""
        if self._tree is None or self._tree_key != key:
            self._tree = ModuleTree(split_modulepath(key), read_rc_file, self.cache_dir,
                                    rc_files=global_rc_files(self.original),
                                    find_first=self.original.get(FIND_FIRST_VAR) == "yes")
            self._tree_key = key
        return self._tree

    def find(self, spec: Spec) -> Optional[Entry]:
        tree = self.tree()
        if spec.low or spec.high or spec.latest:
            return self._find_range(tree, spec)
        return tree.resolve(spec.name)

    def _find_range(self, tree: ModuleTree, spec: Spec) -> Optional[Entry]:
        candidates = tree.resolve_all(spec.name)
        if spec.latest:
            return tree.latest(spec.name)
        default = tree.default(spec.name)
        if default is not None and in_range(spec, default.key):
            return default
        fitting = [e for e in candidates if in_range(spec, e.key)]
        return max(fitting, key=lambda e: e.key, default=None)

    def satisfies(self, spec: Spec) -> bool:
        """A prereq(): the name is loaded, at a version in the range (or the latest) when one is asked for."""
        module = self.table.find(spec.name)
        if module is None or not (spec.low or spec.high or spec.latest):
            return module is not None
        if spec.latest:
            latest = self.tree().latest(spec.name)
            return latest is not None and latest.file == module.file
        return in_range(spec, version_key(module.version))

    def require(self, name: str, needed_by: str = "") -> Entry:
        entry = self.find(Spec(name))
        if entry is None:
            raise self._not_found(name, needed_by)
        return entry

    def _not_found(self, name: str, needed_by: str = "") -> ModuleNotFound:
        who = f" (needed by \"{needed_by}\")" if needed_by else ""
        return ModuleNotFound(
            f"the module \"{name}\"{who} is unknown or not reachable with the current MODULEPATH",
            f"try: module spider {name.split('/')[0]}  (it shows every version and how to load it)",
        )

    # ---- queries --------------------------------------------------------------------------------
    def is_loaded(self, name: str) -> bool:
        return self.table.find(name) is not None

    def loaded_fullname(self, name: str) -> Optional[str]:
        module = self.table.find(name)
        return module.fullname if module else None

    def is_avail(self, name: str) -> bool:
        return self.tree().resolve(name) is not None

    # ---- load -----------------------------------------------------------------------------------
    def load(self, names: Sequence[str], *, try_only: bool = False) -> None:
        """User-level load of several modules: all or nothing (unless try-load)."""
        missing = [(index, name) for index, name in enumerate(names) if not self._load_by_user(name) and not try_only]
        # otherwise modules left out or made reachable by MODULEPATH changes follow the whole command line (Lmod)
        reloaded = self.reconcile_hierarchy()
        if not missing:
            return
        # Lmod queues a name it cannot find yet (any but the first) and tries it again if the command line's
        # MODULEPATH changes reloaded modules; any missing name is fine if a modulefile loaded it meanwhile
        # (`load c M1`: M1 loads c)
        if reloaded:
            for index, name in missing:
                if index > 0 and not self._resolves_to_loaded(name):
                    self._load_by_user(name)
            self.reconcile_hierarchy()
        for _, name in missing:
            if not self._resolves_to_loaded(name):
                raise self._not_found(name)

    def _load_by_user(self, name: str) -> bool:
        """One name of a user's load; False when it is not found."""
        if name.startswith("__"):
            raise ModuleError(f"the module name \"{name}\" starts with two underscores, which Lmod reserves",
                              "rename the modulefile (one leading underscore is fine)")
        latest = self.latest and name in self.tree().by_sn()
        entry = self.find(Spec(name, latest=latest))
        if entry is None:
            return False
        same = self.table.find(entry.sn)
        if same is not None and same.file == entry.file:
            # loading what is loaded reloads it at the end of the list (its paths move to the front), as Lmod
            same.user = True
            self.reload_at_end(same, entry)
            return True
        # an alias or symbolic version is remembered by what it stands for (as Lmod's userName)
        # (--latest is remembered as the version it found, so that a MODULEPATH change keeps that one)
        user_name = entry.fullname if latest else self.tree().translate(name)
        loaded = self.load_entry(entry, user_name=user_name, user=True)
        if loaded is None and "/" in name:
            # the modulefile gave up (Tcl break): Lmod fails a request that named a version, not a bare name
            raise ModuleError(
                f"the module \"{name}\" exists but cannot be loaded as requested: its modulefile "
                f"({entry.file}) stopped itself (Tcl break)",
                "its messages above say why (often: not for this host); nothing was changed")
        if same is not None:
            # a version swap is a load of its own in Lmod: a swapped compiler's branch returns right after it
            self.reconcile_hierarchy()
        return True

    def _resolves_to_loaded(self, name: str) -> bool:
        """A user's name that was missing is fine if it now means a module whose name is loaded (Lmod checks
        the requested names against the table once the command is done)."""
        entry = self.find(Spec(name))
        return entry is not None and self.table.find(entry.sn) is not None

    def _has_loaded(self, name: str) -> bool:
        """Whether a module of this name (NAME, or NAME/VERSION's NAME) is loaded."""
        table = self.table
        return table.find(name.split("/")[0]) is not None or table.find(name.rpartition("/")[0] or name) is not None

    def load_entry(self, entry: Entry, *, user_name: str = "", user: bool = True, ref: int = 0,
                   managed: bool = False) -> Optional[Loaded]:
        same = self.table.find(entry.sn)
        if same is not None and same.fullname == entry.fullname and same.file == entry.file:
            same.user = same.user or user
            same.ref += ref
            return same
        if entry.file in self._pending:
            return None  # a module that (indirectly) loads itself
        if same is not None:
            if same.version != entry.version and self._autoswap_disabled():
                raise ModuleError(
                    f"the module \"{same.fullname}\" is loaded and this site turns off the automatic swap to "
                    f"another version (LMOD_DISABLE_SAME_NAME_AUTOSWAP=yes), so \"{entry.fullname}\" was not loaded",
                    f"swap them explicitly: module swap {same.fullname} {entry.fullname}")
            self.unload_module(same)  # the one-name rule: python/3.12 replaces python/3.11
            if not self._pending:
                # at the user's level Lmod settles the hierarchy between the unload and the load: what only the
                # old version made reachable goes inactive and comes back after the new one
                self.reconcile_hierarchy()
        self._check_forbidden(entry)
        frame = Frame(self, entry.fullname, entry.file, "load", user_name=user_name, mpath=entry.mpath, sn=entry.sn)
        frame.managed = managed
        if self.trace:
            self.messages.append(f"{'  ' * (len(self._pending) + 1)}Loading: {entry.fullname} (fn: {entry.file})")
        self._pending.append(entry.file)
        self.frames.append((entry.fullname, entry.file))
        before = (self.state.copy(), list(self.table.modules))
        try:
            evaluate(frame, entry.kind)
        finally:
            self._pending.remove(entry.file)
            self.frames.pop()
        if not self._pending:
            self._check_missing()
        if frame.abandoned:  # LmodBreak / Tcl break: as if the modulefile had not been loaded
            self.state, self.table.modules = before
            self._family_swaps = [s for s in self._family_swaps if s[1] != entry.fullname]
            return None
        if self.site is not None:
            self.site.module_hook("load", frame)
        replaced = self.table.find(entry.sn)
        if replaced is not None and replaced not in before[1]:
            # it loaded another version of its own name (pkg/outer loads pkg/inner): as in Lmod, that one takes
            # the name's place, and what the outer file changed stays
            return replaced
        props = dict(frame.properties)
        props.update({RECORDED + key: value for key, value in frame.recorded.items()})
        module = Loaded(entry.fullname, entry.sn, entry.version, entry.file, entry.mpath, entry.kind,
                        props=props, ref=ref, user=user, family=frame.family_name or "",
                        user_name=user_name)
        self.table.modules.append(module)
        if self._family_swaps and self._family_swaps[-1][1] == entry.fullname:
            return self._swap_family_members(module, entry)
        return module

    def _original_table(self) -> ModuleTable:
        """The module table as the command found it (decoded once: mgrload and the messages compare with it)."""
        if self._original is None:
            self._original = ModuleTable.from_environ(self.original)
        return self._original

    def _autoswap_disabled(self) -> bool:
        """LMOD_DISABLE_SAME_NAME_AUTOSWAP=yes (Lmod 9.2.6 renames it LMOD_DISABLE_NAME_AUTOSWAP)."""
        return "yes" in (self.original.get(name) for name in ("LMOD_DISABLE_NAME_AUTOSWAP",
                                                              "LMOD_DISABLE_SAME_NAME_AUTOSWAP"))

    def _check_forbidden(self, entry: Entry) -> None:
        """forbid{} in a modulerc: refuse the load with the site's message (or warn before its date)."""
        tree = self.tree()
        if not tree.rc.rules:
            return
        rule = tree.forbidding(entry)
        if rule is not None:
            site_message = getattr(rule, "message", "")
            raise ModuleError(
                f"the module \"{entry.fullname}\" is forbidden here" + (f": {site_message}" if site_message else ""),
                "ask your site's support which module to use instead (`module avail` lists it, on purpose)")
        nearly = tree.nearly_forbidding(entry)
        if nearly is not None:
            note = getattr(nearly, "nearly_message", "") or f"the module \"{entry.fullname}\" will soon be forbidden"
            self.messages.append(note)

    def load_from_modulefile(self, specs: List[Spec], how: str, frame: Frame) -> None:
        if how == "depends_on_any":
            # Lmod 8.7.41: one of them, counted as depends_on -- the first already loaded, else the first that exists
            for spec in specs:
                satisfied = self._already_satisfied(spec)
                if satisfied is not None:
                    satisfied.ref += 1
                    return
            for spec in specs:
                entry = self.find(spec)
                if entry is not None:
                    self.load_entry(entry, user_name=spec.name, user=False, ref=1)
                    return
            if specs:
                raise self._not_found(" or ".join(s.name for s in specs), frame.fullname)
            return
        if how in ("mgrload", "try_mgrload"):
            for spec in specs:
                self._manager_load(spec, required=how == "mgrload", frame=frame)
            return
        if how == "load_any":
            for spec in specs:
                entry = self.find(spec)
                if entry is not None:
                    self.load_entry(entry, user_name=spec.name, user=False)
                    return
            if specs:
                raise self._not_found(" or ".join(s.name for s in specs), frame.fullname)
            return
        for spec in specs:
            satisfied = self._already_satisfied(spec)
            if satisfied is not None:
                if how == "depends_on":
                    satisfied.ref += 1
                    continue
                entry = self.find(spec)
                if how in ("load", "always_load") and entry is not None:
                    if entry.file == satisfied.file:
                        self.reload_at_end(satisfied, entry)  # load() of a loaded module reloads it (not depends_on)
                    else:  # the name means another file now (a toolchain swapped the compiler): swap it here
                        self.load_entry(entry, user_name=self._swapped_user_name(satisfied, entry, spec),
                                        user=satisfied.user, ref=satisfied.ref)
                continue
            entry = self.find(spec)
            if entry is None:
                if spec.low or spec.high or spec.latest:
                    if how == "try_load":
                        continue
                    raise self._not_found(spec.name, frame.fullname)  # no version in the range: no second chance
                if how != "try_load":
                    # Lmod reports a missing module only once the whole load is done, and not at all if a
                    # module of that name got loaded meanwhile (`load("gcc/4.9.3", "other")`, other loads gcc)
                    self._missing.append((spec.name, frame.fullname))
                continue
            # a range request is remembered by what it resolved to, so a later MODULEPATH change keeps it
            user_name = entry.fullname if (spec.low or spec.high or spec.latest) else spec.name
            self.load_entry(entry, user_name=user_name, user=False, ref=1 if how == "depends_on" else 0)

    def _manager_load(self, spec: Spec, *, required: bool, frame: Frame) -> None:
        """mgrload(): load a module as it was before this command (its reference count, whether the user
        asked for it) without its own load()s, which the calling modulefile reloads itself."""
        entry = self.find(spec)
        if entry is None:
            if required:
                raise self._not_found(spec.name, frame.fullname)
            return
        if self.table.find(entry.sn) is not None:
            return
        before = self._original_table().find(spec.name)
        self.load_entry(entry, user_name=before.user_name if before else spec.name,
                        user=before.user if before else False, ref=before.ref if before else 0, managed=True)

    def _swapped_user_name(self, satisfied: Loaded, entry: Entry, spec: Spec) -> str:
        """The name a module swapped in by a modulefile's load() is remembered by: the name it was loaded by
        while that still means the new file, else this request (a range by what it resolved to, as below)."""
        kept = self.find(Spec(satisfied.user_name))
        if kept is not None and kept.file == entry.file:
            return satisfied.user_name
        return entry.fullname if spec.low or spec.high or spec.latest else spec.name

    def _check_missing(self) -> None:
        missing, self._missing = self._missing, []
        for name, needed_by in missing:
            if not self._has_loaded(name):
                raise self._not_found(name, needed_by)

    def _already_satisfied(self, spec: Spec) -> Optional[Loaded]:
        """The loaded module that satisfies a request from a modulefile: any version for a bare name, else
        the one the request resolves to (python/3.10.4 is not satisfied by python/3.10.4-bare)."""
        loaded = self.table.find(spec.name.split("/")[0] if "/" not in spec.name else spec.name)
        if loaded is None:
            sn = spec.name.rpartition("/")[0]
            loaded = self.table.find(sn) if sn else None
            if loaded is None:
                return None
        if "/" not in spec.name and not (spec.low or spec.high):
            return loaded
        if (spec.low or spec.high) and not spec.latest:
            # atleast()/between(): any loaded version in the range will do, not only the one a load would pick
            return loaded if in_range(spec, version_key(loaded.version)) else None
        entry = self.find(spec)
        return loaded if entry is not None and entry.fullname == loaded.fullname else None

    # ---- unload ---------------------------------------------------------------------------------
    def unload(self, names: Sequence[str]) -> None:
        for name in names:
            module = self.table.find(name, include_inactive=True)
            if module is None:
                continue
            if module.sticky and not self.force:
                # Lmod unloads a sticky module and loads it again: it stays, moved to the end
                self.unload_module(module)
                entry = self.find(Spec(module.user_name)) or self.find(Spec(module.fullname))
                if entry is not None:
                    self.load_entry(entry, user_name=module.user_name, user=module.user)
                self.messages.append(
                    f"The following module(s) are sticky and were not unloaded: {module.fullname}\n"
                    "(use \"module --force unload\" to unload it)"
                )
                continue
            self.unload_module(module)
        self.reconcile_hierarchy()

    def unload_module(self, module: Loaded) -> None:
        if module not in self.table.modules:
            return
        if module.status == "active" and os.path.exists(module.file):
            if self.trace:
                self.messages.append(f"  Unloading: {module.fullname} (fn: {module.file})")
            frame = Frame(self, module.fullname, module.file, "unload", user_name=module.user_name, mpath=module.mpath,
                          sn=module.sn)
            frame.recorded = {k[len(RECORDED):]: v for k, v in module.props.items() if k.startswith(RECORDED)}
            evaluate(frame, module.kind)
            if self.site is not None:
                self.site.module_hook("unload", frame)
        if module in self.table.modules:
            self.table.modules.remove(module)

    def unload_from_modulefile(self, names: List[str]) -> None:
        for name in names:
            module = self.table.find(name)
            if module is not None:
                self.unload_module(module)

    def release_any_dependency(self, names: List[str]) -> None:
        """depends_on_any() in reverse: release the first of the names that is loaded."""
        for name in names:
            if self.table.find(name) is not None:
                self.release_dependencies([name])
                return

    def release_dependencies(self, names: List[str]) -> None:
        """depends_on() in reverse: unload a dependency only when nothing else needs it and the user did not ask."""
        for name in names:
            module = self.table.find(name)
            if module is None:
                continue
            module.ref -= 1
            if module.ref <= 0 and not module.user:
                self.unload_module(module)

    def claim_family(self, family: str, frame: Frame) -> None:
        """family(): another loaded member of the family is swapped out once this modulefile has run (Lmod's
        family stack), so that what it sets survives whatever the old member's unload takes away."""
        for module in list(self.table.active()):
            if module.family == family and module.sn != frame.sn:
                self._family_swaps.append((module, frame.fullname))

    def _swap_family_members(self, new: Loaded, entry: Entry) -> Loaded:
        """After NEW's modulefile claimed a family held by other modules: unload them and NEW, then load NEW
        again (Lmod: the new member ends up loaded once, after the old one is gone)."""
        swaps, self._family_swaps = self._family_swaps, []
        for old, _ in reversed(swaps):
            self.messages.append(
                f"\nLmod is automatically replacing \"{old.fullname}\" with \"{new.fullname}\".\n")
            self.unload_module(old)
        current = self.table.find(new.sn)
        if current is None:
            return new
        self.unload_module(current)
        again = self.load_entry(entry, user_name=current.user_name, user=current.user, ref=current.ref)
        return again if again is not None else new

    # ---- other user commands --------------------------------------------------------------------
    def swap(self, old: str, new: Optional[str] = None) -> None:
        if new is None:
            old, new = old.split("/")[0], old
        module = self.table.find(old)
        if module is None:
            raise ModuleError(f"swap: the module \"{old}\" is not loaded", f"load it instead: module load {new}")
        self.unload_module(module)
        self.reconcile_hierarchy()  # as after an unload: what only OLD made reachable goes inactive
        self.load([new])  # a user-level load: an already loaded NEW moves to the end, as with `module load`

    def purge(self, modulepath: Optional[str] = None) -> None:
        """Unload everything, then load the sticky modules again (unless --force), as Lmod: a sticky module
        that cannot be found any more (its compiler was purged) stays unloaded, with a message.  With
        ``modulepath`` (reset), MODULEPATH is set to it before the sticky modules come back."""
        self._reload_sticky(self._unload_everything(modulepath))

    def _unload_everything(self, modulepath: Optional[str]) -> List[Loaded]:
        """Unload all modules (then set MODULEPATH, if given); the sticky ones to load again (none with --force)."""
        modules = list(self.table.modules)
        sticky = [m for m in modules if m.sticky and not self.force and m.status == "active"]
        for module in reversed(modules):
            self.unload_module(module)
        self.table.modules = []
        if modulepath is not None:
            self.state.set("MODULEPATH", modulepath or None)
            self.table.base_mpath = modulepath
        return sticky

    def _reload_sticky(self, sticky: List[Loaded]) -> None:
        lost = []
        for module in sticky:
            if self.table.find(module.sn) is not None:
                continue  # loaded again already (a restored collection holds it)
            entry = self.find(Spec(module.user_name)) or self.find(Spec(module.fullname))
            if entry is None:
                lost.append(module.user_name)
                continue
            loaded = self.load_entry(entry, user_name=module.user_name, user=module.user)
            if loaded is not None:
                loaded.ref = module.ref
        kept = [m.fullname for m in self.table.modules if m.sticky]
        if kept:
            self.messages.append("The following modules were not unloaded:\n  (Use \"module --force purge\" to "
                                 "unload all):\n\n" + "".join(f"  {i}) {n}\n" for i, n in enumerate(kept, 1)))
        if lost:
            self.messages.append("The following sticky modules could not be reloaded:\n\n"
                                 + "".join(f"  {i}) {n}\n" for i, n in enumerate(lost, 1)))

    def reload(self) -> None:
        """Unload then load every active module from its current file (Lmod's reload/update)."""
        modules = [m for m in self.table.active()]
        for module in reversed(modules):
            self.unload_module(module)
        for module in modules:
            entry = self.find(Spec(module.fullname))
            if entry is not None:
                loaded = self.load_entry(entry, user_name=module.user_name, user=module.user)
                if loaded is not None:
                    loaded.ref = module.ref
        self.reconcile_hierarchy()

    def use(self, directories: Sequence[str], *, append: bool = False, priority: int = 0) -> None:
        """Each directory goes to the front (or the end) in turn, as Lmod: `use a b` gives b:a:..."""
        base = split_modulepath(self.table.base_mpath)
        for directory in directories:
            path = _use_path(directory)
            if os.path.exists(path) and not os.path.isdir(path):
                self.messages.append(f"Lmod Warning:  MODULEPATH directory: \"{path}\" has a problem (not a directory)")
            self.state.apply_op(Op(Action.APPEND if append else Action.PREPEND, "MODULEPATH", path, ":", priority))
            if path in base:
                base.remove(path)
            base = [*base, path] if append else [path, *base]
        self.table.base_mpath = ":".join(base)
        self.reconcile_hierarchy()

    def unuse(self, directories: Sequence[str]) -> None:
        base = split_modulepath(self.table.base_mpath)
        for directory in directories:
            path = os.path.abspath(os.path.expanduser(directory))
            self.state.apply_op(Op(Action.REMOVE, "MODULEPATH", path), force_remove=True)
            base = [p for p in base if p != path]
        self.table.base_mpath = ":".join(base)
        self.reconcile_hierarchy()

    def reset(self) -> None:
        defaults = self.state.get("LMOD_SYSTEM_DEFAULT_MODULES") or ""
        names = [n for n in defaults.replace(",", ":").replace(" ", ":").split(":") if n]
        if not names:  # as Lmod: resetting to nothing would only be a purge in disguise
            raise ModuleError(
                "the system default contains no modules (LMOD_SYSTEM_DEFAULT_MODULES is empty); nothing was changed",
                "use `module purge` to unload everything, or ask your site which modules should be the default",
            )
        self.force, force = False, self.force
        self.purge(self.table.system_mpath)
        self.force = force
        self.load(names)

    def restore_modules(self, base_mpath: str, fullnames: Sequence[str]) -> None:
        """A collection: everything unloaded, its MODULEPATH, its modules in its order, then the sticky modules
        it does not hold (as Lmod)."""
        sticky = self._unload_everything(base_mpath)
        later = []  # not reachable yet: a module further on may add its directory (M1 loads c from its own)
        for name in fullnames:
            if self.table.find(name) is None:
                entry = self.find(Spec(name))
                if entry is None:
                    later.append(name)
                    continue
                self.load_entry(entry, user_name=name, user=True)
        for name in later:
            if self.table.find(name) is None:
                self.load_entry(self.require(name), user_name=name, user=True)
        self.reconcile_hierarchy()
        self._reload_sticky(sticky)

    # ---- hierarchy ------------------------------------------------------------------------------
    def reconcile_hierarchy(self, *, force: bool = False) -> bool:
        """After MODULEPATH changes: reload modules found elsewhere now, deactivate the unreachable ones,
        reactivate inactive ones that are reachable again.  Whether any module changed."""
        if not force and (self.state.get("MODULEPATH") or "") == self._reconciled_mpath:
            return False
        # what goes inactive now waits for the next MODULEPATH change (Lmod's reloadAll is one pass: the
        # dependencies an unreachable module took with it come back only when that module can)
        self._deactivated = []
        changed = self._reconcile_until_settled()
        self._reconciled_mpath = self.state.get("MODULEPATH") or ""
        return changed

    def _reconcile_until_settled(self) -> bool:
        changed = False
        for _ in range(MAX_HIERARCHY_PASSES):
            if not self._reload_all():
                break
            changed = True
        return changed

    def _replacement_of(self, module: Loaded) -> Optional[Entry]:
        """The file an active module's name (as the user gave it, else its full name) means now."""
        replacement = self.find(Spec(module.user_name))
        if replacement is None and module.user_name != module.fullname:
            replacement = self.find(Spec(module.fullname))
        return replacement

    def _reload_all(self) -> bool:
        """One pass of Lmod's reloadAll over the modules as they are now: the active ones in load order, then the
        inactive ones.  A reload that changes MODULEPATH settles the others at once (as Lmod's own unload and
        load do), before the pass goes on.  Whether anything changed."""
        if self._reload_depth >= MAX_HIERARCHY_PASSES:
            return False
        self._reload_depth += 1
        try:
            modules = self.table.modules
            snapshot = [m for m in modules if m.status == "active"] + [m for m in modules if m.status != "active"]
            changed = False
            for module in snapshot:
                if module not in self.table.modules:
                    continue  # unloaded meanwhile (by a nested pass, or as a dependency)
                if module.status == "active":
                    changed = self._reload_if_moved(module) or changed
                else:
                    changed = self._reactivate(module) or changed
            self._order_inactive(snapshot)
            return changed
        finally:
            self._reload_depth -= 1

    def _reload_if_moved(self, module: Loaded) -> bool:
        if not module.mpath:
            return False  # loaded by another tool: leave it alone
        # what the user asked for may mean another file now (a compiler swap, `module use`)
        replacement = self._replacement_of(module)
        if replacement is not None and replacement.file == module.file:
            return False
        if replacement is None and module.mpath in self.modulepath() and os.path.exists(module.file):
            return False
        before = list(self.table.modules)
        self._settling(lambda: self.unload_module(module))
        replacement = self._replacement_of(module)  # the unload may have settled others: look again
        if replacement is None:
            # unreachable: it goes inactive, and so do the modules its unload took with it (Lmod's reloadAll
            # marks every module it started with that is no longer active), in their order
            for gone in before:
                if gone not in self.table.modules and self.table.find(gone.sn, include_inactive=True) is None:
                    gone.status = "inactive"
                    self.table.modules.append(gone)
                    self._deactivated.append(gone)
        elif self.table.find(module.sn) is None:
            self._settling(lambda: self._load_again(module, replacement))
        return True

    def _reactivate(self, module: Loaded) -> bool:
        """An inactive module comes back by the name the user gave (Lmod's userName): a bare name means the
        default there, a version only that version."""
        if module in self._deactivated:
            return False
        replacement = self.find(Spec(module.user_name or module.fullname))
        if replacement is None:
            return False
        self.table.modules.remove(module)
        self._settling(lambda: self._load_again(module, replacement))
        return True

    def _load_again(self, module: Loaded, entry: Entry) -> None:
        loaded = self.load_entry(entry, user_name=module.user_name, user=module.user)
        if loaded is not None:
            loaded.ref = module.ref

    def _settling(self, change: Callable[[], None]) -> None:
        """Run a load or unload of the pass; if it changed MODULEPATH, settle the rest now (a nested pass)."""
        before, edits = self.state.get("MODULEPATH"), self.modulepath_edits
        change()
        if self.state.get("MODULEPATH") != before or self.modulepath_edits != edits:
            self._deactivated = []  # a MODULEPATH change: what went inactive may come back now
            self._reload_all()

    def _order_inactive(self, snapshot: List[Loaded]) -> None:
        """Lmod numbers what a pass left inactive in the pass's order: that is the order they come back in."""
        rank = {id(m): i for i, m in enumerate(snapshot)}
        active = [m for m in self.table.modules if m.status == "active"]
        inactive = [m for m in self.table.modules if m.status != "active"]
        inactive.sort(key=lambda m: rank.get(id(m), len(rank)))
        self.table.modules[:] = active + inactive

    # ---- results --------------------------------------------------------------------------------
    def finish(self) -> EnvChange:
        """Write the module table and LOADEDMODULES/_LMFILES_, then the change from the original environment."""
        if self.state.get("MODULEPATH") is not None:
            self.state.path("MODULEPATH", ":")  # Lmod rewrites it normalised: no duplicates, no trailing slashes
        self.state.flush()
        env = self.state.environ
        active = self.table.active()
        # keep the table once it matters: modules loaded, or `module use` made the base differ from the system
        if self.table.modules or self.table.base_mpath != self.table.system_mpath:
            env[TABLE_VAR] = self.table.encode()
        else:
            env.pop(TABLE_VAR, None)
        if active:
            env["LOADEDMODULES"] = ":".join(m.fullname for m in active)
            env["_LMFILES_"] = ":".join(m.file for m in active)
        else:
            env.pop("LOADEDMODULES", None)
            env.pop("_LMFILES_", None)
        return self._without_quarantined(diff(self.original, self.state))

    def _without_quarantined(self, change: EnvChange) -> EnvChange:
        """LMOD_QUARANTINE_VARS: variables a module command never sets (unsetting them still happens, as Lmod)."""
        names = set(filter(None, self.original.get("LMOD_QUARANTINE_VARS", "").split(":")))
        if not names:
            return change
        return EnvChange([op for op in change.ops if not (op.action is Action.SET and op.name in names)])

    def newly_loaded(self) -> List[Tuple[str, str]]:
        """(full name, file) of the modules this command made active (for admin.list messages)."""
        before = {(m.fullname, m.file) for m in self._original_table().active()}
        return [(m.fullname, m.file) for m in self.table.active() if (m.fullname, m.file) not in before]

    def reload_at_end(self, module: Loaded, entry: Entry) -> Optional[Loaded]:
        """Load again a module that is loaded: it moves to the end, and the modules reachable only through the
        directories it adds (its hierarchy branch) go inactive while it is out and come back after it (Lmod)."""
        ref = module.ref
        branch = self._branch_of(module)
        for member in reversed(branch):
            self.unload_module(member)
        self.unload_module(module)
        self.reconcile_hierarchy(force=True)
        loaded = self.load_entry(entry, user_name=module.user_name, user=module.user)
        if loaded is not None:
            loaded.ref = ref
        for member in branch:  # back after it, in their order
            again = self.find(Spec(member.user_name)) or self.find(Spec(member.fullname))
            if again is not None and self.table.find(again.sn) is None:
                reloaded = self.load_entry(again, user_name=member.user_name, user=member.user)
                if reloaded is not None:
                    reloaded.ref = member.ref
        self.reconcile_hierarchy(force=True)
        return loaded

    def _branch_of(self, module: Loaded) -> List[Loaded]:
        """Modules loaded after ``module`` that live in directories it adds to MODULEPATH, transitively."""
        from roost.modules.spider import modulefile_info

        def added_by(m: Loaded) -> List[str]:
            info = modulefile_info(m.file, m.kind, m.fullname)
            return list(info.modulepaths) if info else []

        index = self.table.modules.index(module)
        directories = set(added_by(module))
        branch: List[Loaded] = []
        for later in self.table.modules[index + 1:]:
            if later.status == "active" and later.mpath in directories:
                branch.append(later)
                directories.update(added_by(later))
        return branch

    def hierarchy_messages(self) -> List[str]:
        """Lmod's report of what a command did to modules beyond the ones named: the table before the command
        against the table after it, name by name (modules gone inactive, activated again, reloaded from another
        file, replaced by another version), each list sorted."""
        before = {m.sn: m for m in self._original_table().modules}
        after = {m.sn: m for m in self.table.modules}
        inactive: List[str] = []
        activated: List[str] = []
        reloaded: List[str] = []
        changed: List[str] = []
        for sn, old in before.items():
            new = after.get(sn)
            if new is None:
                continue
            if new.status != "active":
                if old.status == "active":
                    inactive.append(old.user_name or old.fullname)
            elif old.status != "active":
                activated.append(new.fullname)
            elif new.file != old.file:
                if new.fullname == old.fullname:
                    reloaded.append(new.fullname)
                else:
                    changed.append(f"{old.fullname} => {new.fullname}")
        headings = ("Inactive Modules:", "Activating Modules:",
                    "Due to MODULEPATH changes, the following have been reloaded:",
                    "The following have been reloaded with a version change:")
        lines = []
        for heading, names in zip(headings, (inactive, activated, reloaded, changed)):
            if names:
                items = "  ".join(f"{i}) {name}" for i, name in enumerate(sorted(names), 1))
                lines.append(f"\n{heading}\n  {items}\n")
        return lines
