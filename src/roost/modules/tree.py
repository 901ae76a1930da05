"""Finding modulefiles: one index per MODULEPATH directory, combined in MODULEPATH order.

Names follow Lmod: a file ``<mpath>/python/3.10.4.lua`` is the module ``python/3.10.4``, short name
``python``, version ``3.10.4``; a file directly under ``<mpath>`` is a module without a version.  A file is a
Lua modulefile when it ends in ``.lua``, a Tcl one when it starts with ``#%Module``.  Names with a component
starting with ``.`` are hidden.  Defaults come from a ``default`` symlink, a ``.version`` file, or
``module_version(..., "default")`` in a ``.modulerc``/``.modulerc.lua``; without one, the highest version.

Each directory's index is cached (``marshal``) and revalidated on every use by the modification times of its
directories and rc files, so a cache is never stale (Lmod's user cache can be, for up to a day).
"""

from __future__ import annotations

import marshal
import os

from roost.modules.versions import version_key

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

CACHE_FORMAT = "8:" + __import__("roost").__version__
# Modulefiles are small; a bigger "modulefile" is a mistake (a log, a core dump, /dev/zero behind a link)
MAX_MODULEFILE_BYTES = 4 << 20
RC_NAMES = (".modulerc.lua", ".modulerc", ".version")
MAX_DEPTH = 16  # directory levels read below a MODULEPATH entry (a symlink loop must end somewhere)
def _is_modulefile_name(filename: str) -> bool:
    """Lmod's DirTree rule for the files it skips: editor backups and locks (`x~`, `#x#`, `.#x`, `.x.swp`),
    version-control files and names starting with `__`; a `.orig` or `.bak` file is a modulefile like any other."""
    return not (filename in _IGNORED_NAMES or filename.endswith(("~", "#")) or filename.startswith(("#", ".#", "__"))
                or (filename.startswith(".") and filename.endswith(".swp")))


_IGNORED_NAMES = frozenset({".git", ".gitignore", ".svn", ".lua", ".DS_Store"})


class Entry:
    """One modulefile found under one MODULEPATH directory."""

    __slots__ = ("fullname", "sn", "version", "file", "kind", "mpath", "hidden", "key")

    def __init__(self, fullname: str, sn: str, version: str, file: str, kind: str, mpath: str,
                 hidden: Optional[bool] = None, key: Optional[str] = None) -> None:
        self.fullname = fullname
        self.sn = sn
        self.version = version
        self.file = file
        self.kind = kind
        self.mpath = mpath
        self.hidden = any(part.startswith(".") for part in fullname.split("/")) if hidden is None else hidden
        self.key = version_key(version) if key is None else key  # Lmod's version order, cached with the index

    def __repr__(self) -> str:
        return f"Entry({self.fullname!r}, {self.file!r})"


class RcInfo:
    """What modulerc files say: symbolic versions, aliases and hidden modules."""

    __slots__ = ("versions", "aliases", "hidden", "rules", "virtual")

    def __init__(self) -> None:
        self.versions: Dict[str, str] = {}  # "python/default" -> "python/3.10.4"
        self.aliases: Dict[str, str] = {}  # "py" -> "python/3.10.4"
        self.hidden: List[str] = []
        self.rules: List[tuple] = []  # hide{}/forbid{} (roost.modules.rules.RuleData), in file order
        # module_virtual (Lmod 9.2.7): "stack/2024" -> "stack/.base", also an alias and a hidden target; listed
        # by avail in its directory like a module
        self.virtual: Dict[str, str] = {}

    def add_virtual(self, name: str, target: str) -> None:
        self.aliases[name] = target
        self.hidden.append(target)
        self.virtual[name] = target

    def to_tuple(self) -> tuple:
        return (self.versions, self.aliases, self.hidden, self.rules, self.virtual)

    @classmethod
    def from_tuple(cls, data: tuple) -> RcInfo:
        info = cls()
        info.versions, info.aliases, info.hidden, info.rules, info.virtual = data
        return info


# Evaluates one rc file; given (path, kind, sn or "") returns RcInfo.  Supplied by the engine so that the
# tree does not import the interpreters (and rc files are read only on a cache miss).
if TYPE_CHECKING:
    RcReader = Callable[[str, str, str], RcInfo]


def read_modulefile(path: str) -> str:
    """The text of a modulefile or rc file, read at most MAX_MODULEFILE_BYTES; bytes that are not UTF-8 are kept
    (surrogateescape), as Lmod keeps them.  Raises OSError for a file that is not regular (a FIFO must not
    block, a device must not be read) or too big."""
    import errno
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with open(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        data = handle.read(MAX_MODULEFILE_BYTES + 1)
    if len(data) > MAX_MODULEFILE_BYTES:
        raise OSError(errno.EFBIG, f"larger than {MAX_MODULEFILE_BYTES >> 20} MiB, so not read", path)
    return data.decode("utf-8", "surrogateescape")


def list_directory(dirpath: str) -> Tuple[List[str], List[str]]:
    """A directory's subdirectories and regular files (links followed), plus a dangling ``default`` link (its
    target names the default); a FIFO or a device in a modulefile tree must neither hang a command nor be
    read.  Raises OSError when the directory cannot be listed."""
    dirnames: List[str] = []
    filenames: List[str] = []
    with os.scandir(dirpath) as listing:
        entries = list(listing)
    for entry in entries:
        try:
            if entry.is_dir():
                dirnames.append(entry.name)
            elif entry.is_file() or (entry.name == "default" and entry.is_symlink()):
                filenames.append(entry.name)
        except OSError:
            continue
    return dirnames, filenames


def _is_tcl_modulefile(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(8) == b"#%Module"
    except OSError:
        return False


class DirIndex:
    """The modulefiles, defaults and rc information of one MODULEPATH directory."""

    def __init__(self, mpath: str) -> None:
        self.mpath = mpath
        self.entries: List[Entry] = []
        self.defaults: Dict[str, str] = {}  # sn -> version marked default
        self.rc = RcInfo()
        self.stamps: Dict[str, int] = {}  # directory or rc file -> mtime_ns
        self.nvv = False  # a version in a subdirectory (N/V/V): Lmod then picks from the first directory only

    def scan(self, read_rc: RcReader) -> None:
        files, dirs = self._listing(self.mpath)
        self._scan_category(self.mpath, "", files, dirs, read_rc)

    def _listing(self, dirpath: str) -> Tuple[List[str], List[str]]:
        """A directory's files and subdirectories, sorted (its time is recorded for the cache)."""
        try:
            self.stamps[dirpath] = os.stat(dirpath).st_mtime_ns
            dirs, files = list_directory(dirpath)
        except OSError:
            return [], []
        return sorted(files), sorted(d for d in dirs if d not in (".git", ".svn", "__pycache__"))

    def _scan_category(self, dirpath: str, prefix: str, files: List[str], dirs: List[str],
                       read_rc: RcReader) -> None:
        """A directory above the module names (MODULEPATH itself, or a category such as ``compilers/``).

        As Lmod: its files are modules without a version; a subdirectory is a module name when it marks a
        default (.modulerc, .version, a `default` link) or has no subdirectories, and is a category otherwise."""
        for filename in files:
            path = os.path.join(dirpath, filename)
            if filename in RC_NAMES:
                if not prefix:
                    self._read_rc(path, filename, "", read_rc)
            elif _is_modulefile_name(filename):
                self._add_modulefile(path, filename, prefix.rstrip("/"), versionless=True)
        for name in dirs if prefix.count("/") < MAX_DEPTH else ():
            path = os.path.join(dirpath, name)
            sub_files, sub_dirs = self._listing(path)
            if not sub_dirs or any(f in RC_NAMES or f == "default" for f in sub_files):
                self._scan_module(path, prefix + name, sub_files, sub_dirs, read_rc)
            else:
                self._scan_category(path, prefix + name + "/", sub_files, sub_dirs, read_rc)

    def _scan_module(self, dirpath: str, sn: str, files: List[str], dirs: List[str], read_rc: RcReader) -> None:
        """The directory of one module name: every modulefile below it is a version; one in a subdirectory
        (``intel/17/17.0.2``) makes the tree N/V/V."""
        pending = [(dirpath, "", files, dirs)]
        while pending:
            here, level, here_files, here_dirs = pending.pop(0)
            level_name = f"{sn}/{level}" if level else sn
            for filename in here_files:
                path = os.path.join(here, filename)
                if filename in RC_NAMES:
                    self._read_rc(path, filename, level_name, read_rc)
                elif filename == "default" and os.path.islink(path):
                    self._read_default_link(path, level_name)
                elif _is_modulefile_name(filename):
                    self._add_modulefile(path, filename, sn, version_dir=level)
            for name in here_dirs if level.count("/") < MAX_DEPTH else ():
                self.nvv = True
                sub = os.path.join(here, name)
                sub_files, sub_dirs = self._listing(sub)
                pending.append((sub, f"{level}/{name}" if level else name, sub_files, sub_dirs))
        if self.nvv:
            self._settle_nvv_default(sn)

    def _settle_nvv_default(self, sn: str) -> None:
        """An N/V/V name's default, by Lmod's weights: at each level the marked entry wins over its siblings,
        else the highest; a name with no mark at any level has none (its highest version is used)."""
        marks = {level: self.defaults.pop(level) for level in list(self.defaults)
                 if level == sn or level.startswith(sn + "/")}
        versions = [e.version for e in self.entries if e.sn == sn]
        if not marks or not versions:
            return
        chosen: List[str] = []
        while True:
            here = "/".join([sn, *chosen])
            depth = len(chosen)
            children = {v.split("/")[depth] for v in versions if v.split("/")[:depth] == chosen and
                        len(v.split("/")) > depth}
            if not children:
                break
            mark = marks.get(here)
            chosen.append(max(children, key=lambda child: (child == mark, version_key(child))))
        self.defaults[sn] = "/".join(chosen)

    def _add_modulefile(self, path: str, filename: str, sn: str, *, versionless: bool = False,
                        version_dir: str = "") -> None:
        """A modulefile: ``sn/[version_dir/]stem``; with ``versionless`` (a file above the module names)
        ``[sn/]stem`` is a module of its own without a version."""
        if filename.endswith(".lua"):
            kind, stem = "lua", filename[:-4]
        elif _is_tcl_modulefile(path):
            kind, stem = "tcl", filename
        else:
            return
        if not stem:
            return  # a file named only ".lua" names nothing
        if versionless:
            name = f"{sn}/{stem}" if sn else stem
            self.entries.append(Entry(name, name, "", path, kind, self.mpath))
            return
        version = f"{version_dir}/{stem}" if version_dir else stem
        key = "\x01".join(version_key(part) for part in version.split("/")) if version_dir else None
        self.entries.append(Entry(f"{sn}/{version}", sn, version, path, kind, self.mpath, key=key))

    def _read_default_link(self, path: str, sn: str) -> None:
        if os.path.islink(path):
            target = os.path.basename(os.readlink(path))
            self.defaults.setdefault(sn, target[:-4] if target.endswith(".lua") else target)

    def _read_rc(self, path: str, filename: str, sn: str, read_rc: RcReader) -> None:
        self.stamps[path] = os.stat(path).st_mtime_ns
        kind = "lua" if filename.endswith(".lua") else ("version" if filename == ".version" else "tcl")
        info = read_rc(path, kind, sn)
        for key, target in info.versions.items():
            if key.endswith("/default") and sn and key == f"{sn}/default":
                # a default named in the sn's own rc file marks that version
                self.defaults.setdefault(sn, target[len(sn) + 1 :] if target.startswith(sn + "/") else target)
            else:
                self.rc.versions.setdefault(key, target)
        for alias, target in info.aliases.items():
            self.rc.aliases.setdefault(alias, target)
        self.rc.hidden.extend(info.hidden)
        self.rc.rules.extend(info.rules)
        for name, target in info.virtual.items():
            self.rc.virtual.setdefault(name, target)

    def still_valid(self) -> bool:
        try:
            return all(os.stat(path).st_mtime_ns == stamp for path, stamp in self.stamps.items())
        except OSError:
            return False

    def to_data(self) -> tuple:
        entries = [(e.fullname, e.sn, e.version, e.file, e.kind, e.hidden, e.key) for e in self.entries]
        return (CACHE_FORMAT, self.mpath, entries, self.defaults, self.rc.to_tuple(), self.stamps, self.nvv)

    @classmethod
    def from_data(cls, data: tuple) -> Optional[DirIndex]:
        if not data or data[0] != CACHE_FORMAT:
            return None
        _, mpath, entries, defaults, rc, stamps, nvv = data
        index = cls(mpath)
        index.nvv = nvv
        index.entries = [Entry(f, s, v, p, k, mpath, h, key) for f, s, v, p, k, h, key in entries]
        index.defaults = defaults
        index.rc = RcInfo.from_tuple(rc)
        index.stamps = stamps
        return index


def _cache_file(cache_dir: Optional[str], mpath: str) -> Optional[str]:
    if not cache_dir:
        return None
    # a readable, collision-free file name for the directory (no hashlib: it costs start-up time)
    safe = mpath.strip("/").replace("%", "%25").replace("/", "%2F") or "%2F"
    return os.path.join(cache_dir, "dirs", safe[-200:] + ".marshal")


def load_dir_index(mpath: str, read_rc: RcReader, cache_dir: Optional[str]) -> DirIndex:
    """The index of one directory: from the cache when every recorded mtime still matches, else a fresh scan."""
    cache_file = _cache_file(cache_dir, mpath)
    if cache_file:
        try:
            with open(cache_file, "rb") as handle:
                cached = DirIndex.from_data(marshal.loads(handle.read()))
            if cached is not None and cached.mpath == mpath and cached.still_valid():
                return cached
        except (OSError, EOFError, ValueError, TypeError):
            pass
    index = DirIndex(mpath)
    index.scan(read_rc)
    if cache_file:
        _write_atomically(cache_file, marshal.dumps(index.to_data()))
    return index


def _write_atomically(path: str, data: bytes) -> None:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written only costs time


class ModuleTree:
    """All modulefiles reachable from a MODULEPATH, with Lmod's name resolution."""

    def __init__(self, mpaths: List[str], read_rc: RcReader, cache_dir: Optional[str],
                 rc_files: Sequence[str] = (), *, find_first: bool = False) -> None:
        self.mpaths = mpaths
        self.dirs = [load_dir_index(m, read_rc, cache_dir) for m in mpaths if os.path.isdir(m)]
        self._by_sn: Optional[Dict[str, List[Entry]]] = None
        self._by_name: Optional[Dict[str, Entry]] = None
        self.rc = RcInfo()
        # the system modulerc files, then the user's: read in that order, a later one overrides an earlier one
        # and all of them override the tree's own rc files (Lmod's priorities)
        overrides = [read_rc(path, "lua" if path.endswith(".lua") else "tcl", "") for path in rc_files]
        self.default_overrides: Dict[str, str] = {}  # sn -> full name marked default by those files
        self.override_files: Dict[str, str] = {}  # sn -> the file that marked it
        for rc_path, info in zip(rc_files, overrides):
            for key, target in info.versions.items():
                if key.endswith("/default"):
                    self.default_overrides[key[: -len("/default")]] = target
                    self.override_files[key[: -len("/default")]] = rc_path
                else:
                    self.rc.versions[key] = target
            self.rc.aliases.update(info.aliases)
            self.rc.hidden.extend(info.hidden)
            self.rc.rules.extend(info.rules)
            self.rc.virtual.update(info.virtual)
        for index in self.dirs:
            for key, target in index.rc.versions.items():
                self.rc.versions.setdefault(key, target)
            for alias, target in index.rc.aliases.items():
                self.rc.aliases.setdefault(alias, target)
            self.rc.hidden.extend(index.rc.hidden)
            self.rc.rules.extend(index.rc.rules)
            for name, target in index.rc.virtual.items():
                self.rc.virtual.setdefault(name, target)
        if self.rc.aliases:
            self._attach_symbols_to_alias_targets()
        self.hidden_names = set(self.rc.hidden)
        self._rules: Optional[list] = None  # hide{}/forbid{} as objects, made on first question
        self._identity: Optional[object] = None
        # Lmod's Find-First: once any name has versions in subdirectories (or the site asks for it with
        # LMOD_TMOD_FIND_FIRST=yes), a name is looked up in the first MODULEPATH directory that has it, not
        # across all of them (Find-Best)
        self.nvv = find_first or any(index.nvv for index in self.dirs)

    def _attach_symbols_to_alias_targets(self) -> None:
        """``module-version ALIAS SYMBOL`` names a version of the module the alias stands for: Lmod resolves the
        alias first, so ``tr_loc/al1 -> loc_tr/2.0`` makes the symbol ``loc_tr/SYMBOL``, not ``tr_loc/SYMBOL``."""
        moved = [(key, target) for key, target in self.rc.versions.items()
                 if target in self.rc.aliases and not key.endswith("/default")]
        for key, _ in moved:
            del self.rc.versions[key]
        for key, target in moved:
            resolved = self.translate(target)
            symbol = key[len(target.rpartition("/")[0] or target) + 1 :]
            self.rc.versions.setdefault(f"{resolved.rpartition('/')[0] or resolved}/{symbol}", resolved)

    def entries(self) -> Iterator[Entry]:
        for index in self.dirs:
            yield from index.entries

    def by_sn(self) -> Dict[str, List[Entry]]:
        if self._by_sn is None:
            table: Dict[str, List[Entry]] = {}
            for entry in self.entries():
                table.setdefault(entry.sn, []).append(entry)
            self._by_sn = table
        return self._by_sn

    def by_fullname(self) -> Dict[str, Entry]:
        if self._by_name is None:
            table: Dict[str, Entry] = {}
            for entry in self.entries():
                table.setdefault(entry.fullname, entry)
            self._by_name = table
        return self._by_name

    def is_hidden(self, entry: Entry) -> bool:
        return entry.hidden or entry.fullname in self.hidden_names or bool(self.rules and self.hide_kind(entry))

    @property
    def rules(self) -> list:
        if self._rules is None:
            from roost.modules.rules import Rule

            self._rules = [Rule(data) for data in self.rc.rules]
        return self._rules

    def _rule_in_force(self, what: str, entry: Entry) -> Optional[object]:
        if not self.rc.rules:
            return None
        from roost.modules.rules import Identity, first_in_force

        if self._identity is None:
            self._identity = Identity()
        return first_in_force(self.rules, what, entry.sn, entry.fullname, entry.file, self._identity)  # type: ignore[arg-type]

    def hide_kind(self, entry: Entry) -> str:
        """What a hide{} rule in force makes of the entry: "hidden", "soft", "hard", or "" (no rule)."""
        rule = self._rule_in_force("hide", entry)
        return str(getattr(rule, "kind", "")) if rule is not None else ""

    def forbidding(self, entry: Entry) -> Optional[object]:
        """The forbid{} rule in force for the entry (a roost.modules.rules.Rule), or None."""
        return self._rule_in_force("forbid", entry)

    def nearly_forbidding(self, entry: Entry) -> Optional[object]:
        if not self.rc.rules:
            return None
        from roost.modules.rules import Identity, first_nearly

        if self._identity is None:
            self._identity = Identity()
        return first_nearly(self.rules, entry.sn, entry.fullname, entry.file, self._identity)  # type: ignore[arg-type]

    def candidates(self, sn: str) -> List[Entry]:
        """The versions of ``sn`` a default is chosen from: all directories', or the first one's (N/V/V)."""
        found = self.by_sn().get(sn, [])
        if self.nvv and found:
            return [e for e in found if e.mpath == found[0].mpath]
        return found

    def marked_entries(self, sn: str) -> List[Entry]:
        """The version each MODULEPATH directory marks as default for ``sn``, in directory order."""
        candidates = self.candidates(sn)
        marked: List[Entry] = []
        for index in self.dirs:
            version = index.defaults.get(sn)
            if version is None:
                continue
            version = self._symbolic(sn, version)
            marked += [e for e in candidates if e.version == version and e.mpath == index.mpath][:1]
        return marked

    def marked_default(self, sn: str) -> Optional[Entry]:
        """The version marked default; when several directories mark one, the highest of those (Lmod's rule)."""
        override = self.default_overrides.get(sn)
        if override is not None:
            chosen = self.by_fullname().get(self.translate(override))
            if chosen is not None:
                return chosen
        target = self.rc.versions.get(f"{sn}/default")
        marked = self.marked_entries(sn)
        if marked:
            return _highest(marked, marked=True)
        if target:
            return self.by_fullname().get(target)
        return None

    def _symbolic(self, sn: str, version: str) -> str:
        """Follow symbolic versions to a real one: ``default -> 14``, ``14 -> 14.0``, ``14.0 -> 14.0.3``."""
        seen = set()
        while version not in seen:
            seen.add(version)
            target = self.rc.versions.get(f"{sn}/{version}")
            if not (target and target.startswith(sn + "/")):
                break
            version = target[len(sn) + 1 :]
        return version

    def default(self, sn: str) -> Optional[Entry]:
        """Lmod's default: a marked default, else the highest version (hidden ones only if nothing else)."""
        marked = self.marked_default(sn)
        if marked is not None:
            return marked
        candidates = self.candidates(sn)
        if self.rc.rules:  # a hard-hidden module does not exist; a soft-hidden one may still be the default
            candidates = [e for e in candidates if self.hide_kind(e) != "hard"]
        visible = [e for e in candidates if not self.is_hidden(e) or self.hide_kind(e) == "soft"] or candidates
        for entry in visible:
            if entry.version == "":
                return entry  # a module without versions (a file named like the directory) wins over versions
        best: Optional[Entry] = None
        for entry in visible:  # first directory wins a tie, so compare strictly
            if best is None or entry.key > best.key:
                best = entry
        return best

    def default_kind(self, sn: str, fullname: str, home: str) -> str:
        """Lmod's MName:defaultKind(): what marks ``fullname`` as its name's default -- "system" (a system
        modulerc file), "user" (~/.modulerc*), "marked" (the tree's own marks, even where a modulerc file
        overrides them) -- or "none"."""
        source = self.override_files.get(sn)
        override = self.by_fullname().get(self.translate(self.default_overrides[sn])) if source else None
        if override is not None and override.fullname == fullname:
            return "user" if home and os.path.dirname(source or "") == home.rstrip("/") else "system"
        if any(entry.fullname == fullname for entry in self.marked_entries(sn)):
            return "marked"
        return "none"

    def translate(self, name: str) -> str:
        """Follow aliases (``module_alias``) and symbolic versions (``module_version``) to the name they mean."""
        name = name.rstrip("/")
        seen = set()
        while name not in seen:
            seen.add(name)
            if name in self.rc.aliases:
                name = self.rc.aliases[name]
            elif name in self.rc.versions and not name.endswith("/default") and name not in self.by_fullname():
                name = self.rc.versions[name]
            else:
                break
        return name

    def symbolic_names(self) -> Dict[str, List[str]]:
        """full name -> its symbolic versions other than default (``symver/stable`` for ``symver/2.0``)."""
        names: Dict[str, List[str]] = {}
        for symbol, target in self.rc.versions.items():
            if not symbol.endswith("/default"):
                names.setdefault(self.translate(target), []).append(symbol)
        return names

    def resolve(self, name: str) -> Optional[Entry]:
        """The entry a user name refers to: alias, short name (default version), full name or symbolic version."""
        entry = self._resolve(name)
        if entry is not None and self.rc.rules and self.hide_kind(entry) == "hard":
            return None  # hide{kind="hard"}: as if it did not exist
        return entry

    def _resolve(self, name: str) -> Optional[Entry]:
        name = self.translate(name)
        if name.endswith(".lua") and name not in self.by_fullname():
            name = name[:-4]  # `module load gcc/12.2.0.lua` names the file: Lmod accepts it
        if name in self.by_sn():  # a module name first: `namd/2.13/plumed` the directory beats such a file
            return self.default(name)
        exact = self.by_fullname().get(name)
        if exact is not None:
            # the same version in several directories: the copy a directory marks as default wins
            marked = [e for e in self.marked_entries(exact.sn) if e.fullname == exact.fullname]
            return marked[0] if marked else exact
        symbolic = self.rc.versions.get(name)
        if symbolic:
            return self.by_fullname().get(symbolic)
        sn, version = name, ""
        while "/" in sn:  # the longest leading part that is a module name (N/V/V: intel/17 is in intel)
            sn, _, last = sn.rpartition("/")
            version = f"{last}/{version}" if version else last
            if sn in self.by_sn():
                if version in ("default",):
                    return self.default(sn)
                return self._prefix_match(sn, version)  # no magic "latest": Lmod 8.6 says it is unknown
        return None

    def latest(self, sn: str) -> Optional[Entry]:
        candidates = self.by_sn().get(sn, [])
        return max(candidates, key=lambda e: e.key, default=None)

    def _prefix_match(self, sn: str, version: str) -> Optional[Entry]:
        """``gcc/12`` finds the highest ``gcc/12.*`` (Lmod's partial version match)."""
        # Lmod's extended default: after a digit the next character must be a separator (4.0.2 finds 4.0.2-z,
        # 4.0 not 4.01); after a letter or a separator anything may follow (4.0.2-i finds 4.0.2-ivybridge)
        last = version[-1:]
        open_ended = bool(last) and (last in _VERSION_SEPARATORS or (last.isascii() and last.isalpha()))

        def fits(entry: Entry) -> bool:
            rest = entry.version[len(version):] if entry.version.startswith(version) else ""
            return bool(rest) and (open_ended or rest[0] in _VERSION_SEPARATORS or rest[0] == "/")

        marked = [e for e in self.marked_entries(sn) if fits(e)]
        if marked:  # a marked default that fits the partial version wins (the highest such, across directories)
            return _highest(marked, marked=True)
        matches = [e for e in self.candidates(sn) if fits(e)]
        return max(matches, key=lambda e: e.key, default=None)

    def resolve_all(self, sn: str) -> List[Entry]:
        return self.by_sn().get(sn, [])


_VERSION_SEPARATORS = "-+_.="  # what may follow a partial version that ends in a digit (Lmod's collectFileA)


def _highest(entries: List[Entry], *, marked: bool = False) -> Entry:
    """The entry with the highest version; the first one (directory order) wins a tie.

    Between marked defaults Lmod compares a weighted key whose first character is replaced by ``^``: a version
    starting with a letter (``r9``) then beats any number (``2.0``), while numbers still compare as versions.
    """
    def weight(entry: Entry) -> str:
        return entry.key[1:] if marked else entry.key

    best = entries[0]
    for entry in entries[1:]:
        if weight(entry) > weight(best):
            best = entry
    return best


def global_rc_files(environ: Mapping[str, str]) -> List[str]:
    """The modulerc files that apply to every MODULEPATH directory, lowest priority first: the system ones
    (LMOD_MODULERCFILE, else MODULERCFILE; colon-separated), then the user's ~/.modulerc.lua (or, without
    one, ~/.modulerc).  Only those that exist."""
    system = environ.get("LMOD_MODULERCFILE") or environ.get("MODULERCFILE") or ""
    files = [path for path in system.split(":") if path and os.path.isfile(path)]
    home = environ.get("HOME")
    if home:
        for name in (".modulerc.lua", ".modulerc"):
            path = os.path.join(home, name)
            if os.path.isfile(path):
                files.append(path)
                break
    return files


def split_modulepath(value: Optional[str]) -> List[str]:
    """MODULEPATH's directories as Lmod keeps them: regularised (``a//b/`` is ``a/b``), each once."""
    from roost.shell.change import normalize_entry

    seen: Dict[str, None] = {}
    for part in (value or "").split(":"):
        if part:
            seen.setdefault(normalize_entry(part, keep_recursive=False), None)
    return list(seen)


def tree_key(mpaths: List[str]) -> Tuple[str, ...]:
    return tuple(mpaths)
