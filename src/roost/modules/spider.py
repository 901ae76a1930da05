"""What ``spider`` and ``keyword`` know: every modulefile reachable from MODULEPATH through the hierarchy.

Each modulefile is read once in ``spider`` mode (whatis, extensions, properties and the MODULEPATH
directories it adds); the results are cached per file and revalidated by the file's mtime and size.  Help
texts are not cached (they are most of the bytes): the one record a detailed spider shows is read again.
"""

from __future__ import annotations

import marshal
import os

from roost.errors import RoostError
from roost.modules import site_configured
from roost.modules.tree import DirIndex, Entry, load_dir_index, split_modulepath

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    from typing import Dict, Iterable, List, Mapping, Optional, Set, Tuple

    from roost.modules.frame import Frame

SPIDER_FORMAT = "7:" + __import__("roost").__version__


class FileInfo:
    __slots__ = ("whatis", "help", "extensions", "properties", "modulepaths", "warnings")

    def __init__(self, whatis: List[str], help: List[str], extensions: List[str], properties: Dict[str, str],
                 modulepaths: List[str], warnings: Optional[List[str]] = None) -> None:
        self.whatis = whatis
        self.help = help
        self.extensions = extensions
        self.properties = properties
        self.modulepaths = modulepaths
        self.warnings = warnings or []  # what the file's calls warned about (Lmod's spider then exits 1)

    def to_tuple(self) -> tuple:
        return (self.whatis, self.extensions, self.properties, self.modulepaths, self.warnings)

    @classmethod
    def from_tuple(cls, data: tuple) -> FileInfo:
        whatis, extensions, properties, modulepaths, warnings = data
        return cls(whatis, [], extensions, properties, modulepaths, warnings)


class _SpiderEngine:
    """The little a modulefile can ask of the engine while it is only being described."""

    def __init__(self, environ: Mapping[str, str], *, sees_loaded: bool = False) -> None:
        from roost.shell.change import ShellState  # here: a warm spider reads only its snapshot

        self.state = ShellState(dict(environ))
        self.messages: List[str] = []
        self.printed: List[str] = []
        self.printed_early: List[str] = []  # Tcl's `puts prestdout`: before everything else
        self.site = None  # SitePackage.lua's registered helpers must exist for the modulefile to run
        if site_configured(environ):
            from roost.modules.site import current

            self.site = current(environ)
        # `module show` answers isloaded() from the user's loaded modules (spider, run for everyone, does not)
        self._table = None
        if sees_loaded:
            from roost.modules.table import ModuleTable

            self._table = ModuleTable.from_environ(environ)

    def is_loaded(self, name: str) -> bool:
        return self._table is not None and self._table.find(name) is not None

    def is_avail(self, name: str) -> bool:
        return True


def describe(entry_file: str, kind: str, fullname: str, mode: str = "spider",
             environ: Optional[Mapping[str, str]] = None, user_name: str = "") -> Frame:
    """Evaluate a modulefile in a describing mode (spider, whatis, help, show) and return its frame."""
    from roost.modules.engine import evaluate
    from roost.modules.frame import Frame

    engine = _SpiderEngine(environ if environ is not None else os.environ, sees_loaded=mode == "show")
    frame = Frame(engine, fullname, entry_file, mode, user_name=user_name)  # type: ignore[arg-type]
    evaluate(frame, kind)
    return frame


# One modulefile that cannot be described (broken, unreadable, or tripping a bug in roost) must not break
# spider, keyword or avail for every user of the tree: like Lmod, they list it without its description.
def help_of(file: str, kind: str, fullname: str) -> List[str]:
    try:
        return describe(file, kind, fullname, "help").help
    except (RoostError, OSError, Exception):
        return []


def modulefile_info(file: str, kind: str, fullname: str) -> Optional[FileInfo]:
    try:
        frame = describe(file, kind, fullname)
    except (RoostError, OSError, Exception):
        return None
    return FileInfo(frame.whatis, frame.help, frame.extensions, frame.properties, frame.modulepath_added,
                    frame.warnings)


class SpiderCache:
    def __init__(self, cache_dir: Optional[str]) -> None:
        self.path = os.path.join(cache_dir, "spider.marshal") if cache_dir else None
        self.data: Dict[str, tuple] = {}
        self.dirty = False
        if self.path:
            try:
                with open(self.path, "rb") as handle:
                    loaded = marshal.loads(handle.read())
                if loaded and loaded[0] == SPIDER_FORMAT:
                    self.data = loaded[1]
            except (OSError, EOFError, ValueError, TypeError):
                self.data = {}

    def info(self, entry: Entry) -> Optional[FileInfo]:
        try:
            stat = os.stat(entry.file)
        except OSError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = self.data.get(entry.file)
        if cached is not None and cached[0] == stamp and cached[1] == entry.fullname:
            return FileInfo.from_tuple(cached[2]) if cached[2] is not None else None
        info = modulefile_info(entry.file, entry.kind, entry.fullname)
        self.data[entry.file] = (stamp, entry.fullname, info.to_tuple() if info else None)
        self.dirty = True
        return info

    def save(self) -> None:
        if not (self.path and self.dirty):
            return
        from roost.modules.tree import _write_atomically

        _write_atomically(self.path, marshal.dumps((SPIDER_FORMAT, self.data)))


class SpiderRecord:
    """One modulefile as spider sees it, with the chains of modules that make it reachable."""

    __slots__ = ("entry", "info", "parents")

    def __init__(self, entry: Entry, info: Optional[FileInfo], parents: List[Tuple[str, ...]]) -> None:
        self.entry = entry
        self.info = info
        self.parents = parents


class SpiderResult(dict):  # type: ignore[type-arg]
    """short name -> [SpiderRecord]; records are built from the snapshot only for the names looked at."""

    def __init__(self, raw: Dict[str, bytes], extensions: Dict[str, List[Tuple[str, str]]],
                 visible_extensions: Dict[str, List[Tuple[str, str]]], warned: bool) -> None:
        super().__init__()
        self._raw = raw
        self.extension_index = extensions
        self.visible_extension_index = visible_extensions  # the same without hidden providers
        self.warned = warned  # a modulefile's call warned while the tree was read (Lmod's spider exits 1)

    def __missing__(self, sn: str) -> List[SpiderRecord]:
        if sn not in self._raw:
            raise KeyError(sn)
        records = [_record_from_tuple(t) for t in marshal.loads(self._raw[sn])]
        self[sn] = records
        return records

    def __contains__(self, sn: object) -> bool:
        return sn in self._raw

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def keys(self):  # type: ignore[no-untyped-def]
        return self._raw.keys()

    def items(self):  # type: ignore[no-untyped-def]
        return ((sn, self[sn]) for sn in self._raw)

    def values(self):  # type: ignore[no-untyped-def]
        return (self[sn] for sn in self._raw)


class VisibleRecords(dict):  # type: ignore[type-arg]
    """``records`` without hidden versions (what spider NAME searches), filtered as names are read, so that a warm
    snapshot decodes only the names a search looks at.  A name whose versions are all hidden is not there."""

    def __init__(self, records: Dict[str, List[SpiderRecord]], also_hidden: Iterable[str] = ()) -> None:
        super().__init__()
        self._all = records
        self._also_hidden = set(also_hidden)
        precomputed = getattr(records, "visible_extension_index", None)
        if precomputed is not None:
            self.extension_index = {name: kept for name, hits in precomputed.items()
                                    if (kept := [h for h in hits if h[1] not in self._also_hidden])}

    def __missing__(self, sn: str) -> List[SpiderRecord]:
        kept = [r for r in self._all[sn] if not r.entry.hidden]
        if not kept:
            raise KeyError(sn)
        self[sn] = kept
        return kept

    def __contains__(self, sn: object) -> bool:
        if not isinstance(sn, str) or sn not in self._all:
            return False
        try:
            self[sn]
        except KeyError:
            return False
        return True

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._all)  # names only: a name read from here may still turn out to be all hidden

    def __len__(self) -> int:
        return len(self._all)

    def keys(self):  # type: ignore[no-untyped-def]
        return self._all.keys()

    def items(self):  # type: ignore[no-untyped-def]
        return ((sn, self[sn]) for sn in self._all if sn in self)

    def values(self):  # type: ignore[no-untyped-def]
        return (self[sn] for sn in self._all if sn in self)


def tree_warned(records: Dict[str, List[SpiderRecord]]) -> bool:
    """Whether a modulefile call warned while spider read the tree."""
    warned = getattr(records, "warned", None)
    if warned is not None:
        return bool(warned)
    return any(r.info is not None and r.info.warnings for group in records.values() for r in group)


def _record_to_tuple(record: SpiderRecord) -> tuple:
    e = record.entry
    return (e.fullname, e.sn, e.version, e.file, e.kind, e.mpath, e.hidden, e.key,
            record.info.to_tuple() if record.info else None, record.parents)


def _record_from_tuple(data: tuple) -> SpiderRecord:
    fullname, sn, version, file, kind, mpath, hidden, key, info, parents = data
    entry = Entry(fullname, sn, version, file, kind, mpath, hidden, key)
    return SpiderRecord(entry, FileInfo.from_tuple(info) if info else None, list(parents))


def extension_index(records: Dict[str, List[SpiderRecord]], *,
                    visible_only: bool = False) -> Dict[str, List[Tuple[str, str]]]:
    """extension name -> [(extension full name, providing module)]"""
    precomputed = getattr(records, "extension_index", None)
    if precomputed is not None and not visible_only:
        return precomputed  # type: ignore[no-any-return]
    found: Dict[str, List[Tuple[str, str]]] = {}
    for sn_records in records.values():
        for record in sn_records:
            if visible_only and record.entry.hidden:
                continue
            for extension in record.info.extensions if record.info else []:
                found.setdefault(extension.split("/")[0], []).append((extension, record.entry.fullname))
    return found


def _snapshot_file(cache_dir: Optional[str], modulepath: str) -> Optional[str]:
    if not cache_dir:
        return None
    import zlib

    return os.path.join(cache_dir, f"spider-{zlib.crc32(modulepath.encode('utf-8', 'surrogateescape')):08x}.marshal")


def _load_snapshot(path: Optional[str], modulepath: str) -> Optional[SpiderResult]:
    """The last walk's result, if nothing it saw has changed (every directory, rc file and modulefile)."""
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            data = marshal.loads(handle.read())
        if data[0] != SPIDER_FORMAT or data[1] != modulepath:
            return None
        stat = os.stat
        for file, stamp in data[2]:
            st = stat(file)
            if (st.st_mtime_ns if isinstance(stamp, int) else (st.st_mtime_ns, st.st_size)) != stamp:
                return None
    except (OSError, EOFError, ValueError, TypeError, IndexError):
        return None
    return SpiderResult(data[3], data[4], data[5], data[6])


def spider_all(modulepath: Optional[str], read_rc, cache_dir: Optional[str]) -> Dict[str, List[SpiderRecord]]:  # type: ignore[no-untyped-def]
    """``read_rc`` may be None: the engine's reader is then imported only if the tree must be walked."""
    """Every module reachable from ``modulepath`` (following MODULEPATH edits), grouped by short name.

    A snapshot of the whole result is kept per MODULEPATH and used while every stamp it recorded still holds.
    """
    snapshot_path = _snapshot_file(cache_dir, modulepath or "")
    snapshot = _load_snapshot(snapshot_path, modulepath or "")
    if snapshot is not None:
        return snapshot
    if read_rc is None:
        from roost.modules.engine import read_rc_file as read_rc
    result, stamps = _walk(modulepath, read_rc, cache_dir)
    if snapshot_path:
        from roost.modules.tree import _write_atomically

        # one marshalled blob per short name: a lookup unpacks only the names it reads
        raw = {sn: marshal.dumps([_record_to_tuple(r) for r in records]) for sn, records in result.items()}
        data = (SPIDER_FORMAT, modulepath or "", stamps, raw, extension_index(result),
                extension_index(result, visible_only=True), tree_warned(result))
        _write_atomically(snapshot_path, marshal.dumps(data))
    return result


def _walk(modulepath: Optional[str], read_rc, cache_dir: Optional[str]):  # type: ignore[no-untyped-def]
    cache = SpiderCache(cache_dir)
    stamps: List[Tuple[str, object]] = []
    queue: List[Tuple[str, Tuple[str, ...]]] = [(m, ()) for m in split_modulepath(modulepath)]
    seen_dirs: Dict[str, List[Tuple[str, ...]]] = {}
    by_file: Dict[str, SpiderRecord] = {}
    result: Dict[str, List[SpiderRecord]] = {}
    while queue:
        mpath, chain = queue.pop(0)
        if mpath in seen_dirs:
            seen_dirs[mpath].append(chain)
            _add_chain(by_file, mpath, chain)
            continue
        seen_dirs[mpath] = [chain]
        if not os.path.isdir(mpath):
            continue
        index: DirIndex = load_dir_index(mpath, read_rc, cache_dir)
        stamps.extend(index.stamps.items())
        hidden_by_rc = set(index.rc.hidden)
        for entry in index.entries:
            if entry.fullname in hidden_by_rc:
                entry.hidden = True
            info = cache.info(entry)
            cached = cache.data.get(entry.file)
            if cached is not None:
                stamps.append((entry.file, cached[0]))
            record = SpiderRecord(entry, info, [chain])
            by_file[entry.file] = record
            result.setdefault(entry.sn, []).append(record)
            for added in info.modulepaths if info else []:
                queue.append((added, (*chain, entry.fullname)))
    cache.save()
    return result, stamps


def hide_by_global_rc(records: Dict[str, List[SpiderRecord]], environ: Mapping[str, str]) -> Set[str]:
    """The system and user modulerc files hide versions everywhere (hide_version / hide-version): spider does
    not show them either (Lmod).  Applied per command, not cached: ~/.modulerc is the user's to change."""
    from roost.modules.tree import global_rc_files

    files = global_rc_files(environ)
    hidden: Set[str] = set()
    if not files:
        return hidden
    from roost.modules.engine import read_rc_file

    for path in files:
        hidden.update(read_rc_file(path, "lua" if path.endswith(".lua") else "tcl", "").hidden)
    for fullname in hidden:  # only the names concerned are decoded (a warm spider holds them as bytes)
        parts = fullname.split("/")
        for cut in range(1, len(parts)):
            sn = "/".join(parts[:cut])
            if sn not in records:
                continue
            for record in records[sn]:  # (not .get(): the snapshot decodes a name in __missing__)
                if record.entry.fullname == fullname:
                    record.entry.hidden = True
    return hidden


def _add_chain(by_file: Dict[str, SpiderRecord], mpath: str, chain: Tuple[str, ...]) -> None:
    for record in by_file.values():
        if record.entry.mpath == mpath and chain not in record.parents:
            record.parents.append(chain)
