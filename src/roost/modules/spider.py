"""What ``spider`` and ``keyword`` know: every modulefile reachable from MODULEPATH through the hierarchy.

Each modulefile is read once in ``spider`` mode (whatis, help, extensions, properties and the MODULEPATH
directories it adds); the results are cached per file and revalidated by the file's mtime and size.
"""

from __future__ import annotations

import marshal
import os

from roost.errors import RoostError
from roost.modules.frame import Frame
from roost.modules.tree import DirIndex, Entry, load_dir_index, split_modulepath
from roost.shell.change import ShellState

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    from typing import Dict, List, Mapping, Optional, Tuple

SPIDER_FORMAT = "2:" + __import__("roost").__version__


class FileInfo:
    __slots__ = ("whatis", "help", "extensions", "properties", "modulepaths")

    def __init__(self, whatis: List[str], help: List[str], extensions: List[str], properties: Dict[str, str],
                 modulepaths: List[str]) -> None:
        self.whatis = whatis
        self.help = help
        self.extensions = extensions
        self.properties = properties
        self.modulepaths = modulepaths

    def to_tuple(self) -> tuple:
        return (self.whatis, self.help, self.extensions, self.properties, self.modulepaths)


class _SpiderEngine:
    """The little a modulefile can ask of the engine while it is only being described."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.state = ShellState(dict(environ))
        self.messages: List[str] = []

    def is_loaded(self, name: str) -> bool:
        return False

    def is_avail(self, name: str) -> bool:
        return True


def describe(entry_file: str, kind: str, fullname: str, mode: str = "spider",
             environ: Optional[Mapping[str, str]] = None) -> Frame:
    """Evaluate a modulefile in a describing mode (spider, whatis, help, show) and return its frame."""
    from roost.modules.engine import evaluate

    frame = Frame(_SpiderEngine(environ if environ is not None else os.environ), fullname, entry_file, mode)  # type: ignore[arg-type]
    evaluate(frame, kind)
    return frame


def modulefile_info(file: str, kind: str, fullname: str) -> Optional[FileInfo]:
    try:
        frame = describe(file, kind, fullname)
    except (RoostError, OSError):
        return None
    return FileInfo(frame.whatis, frame.help, frame.extensions, frame.properties, frame.modulepath_added)


class SpiderCache:
    def __init__(self, cache_dir: Optional[str]) -> None:
        self.path = os.path.join(cache_dir, "spider.marshal") if cache_dir else None
        self.data: Dict[str, tuple] = {}
        self.dirty = False
        if self.path:
            try:
                with open(self.path, "rb") as handle:
                    loaded = marshal.load(handle)
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
            return FileInfo(*cached[2]) if cached[2] is not None else None
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


def spider_all(modulepath: Optional[str], read_rc, cache_dir: Optional[str]) -> Dict[str, List[SpiderRecord]]:  # type: ignore[no-untyped-def]
    """Every module reachable from ``modulepath`` (following MODULEPATH edits), grouped by short name."""
    cache = SpiderCache(cache_dir)
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
        hidden_by_rc = set(index.rc.hidden)
        for entry in index.entries:
            if entry.fullname in hidden_by_rc:
                entry.hidden = True
            info = cache.info(entry)
            record = SpiderRecord(entry, info, [chain])
            by_file[entry.file] = record
            result.setdefault(entry.sn, []).append(record)
            for added in info.modulepaths if info else []:
                queue.append((added, (*chain, entry.fullname)))
    cache.save()
    return result


def _add_chain(by_file: Dict[str, SpiderRecord], mpath: str, chain: Tuple[str, ...]) -> None:
    for record in by_file.values():
        if record.entry.mpath == mpath and chain not in record.parents:
            record.parents.append(chain)
