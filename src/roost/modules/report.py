"""Text and JSON reports for people and scripts: avail, list, spider, show, whatis, help, keyword.

Layouts follow Lmod's (directory banners, numbered lists, (D)/(L)/(S) markers, terse forms), so that users and
scripts that read Lmod's output find what they expect.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

    from roost.modules.spider import SpiderRecord
    from roost.modules.table import Loaded
    from roost.modules.tree import DirIndex, Entry, ModuleTree


def width() -> int:
    columns = os.environ.get("COLUMNS")
    if columns and columns.isdigit():
        return max(40, int(columns))
    try:
        return os.get_terminal_size(2).columns if os.isatty(2) else 80
    except OSError:
        return 80


def banner(title: str, fill: str = "-") -> str:
    total = width()
    title = f" {title} "
    left = max(4, (total - len(title)) // 2)  # at least four dashes a side, as Lmod
    right = max(4, total - len(title) - left)
    return fill * left + title + fill * right


def columns(items: Sequence[str], indent: int = 3) -> List[str]:
    if not items:
        return []
    total = width() - indent
    cell = max(len(i) for i in items) + 4
    per_row = max(1, total // cell)
    rows = (len(items) + per_row - 1) // per_row
    lines = []
    for row in range(rows):
        cells = [items[col * rows + row] for col in range(per_row) if col * rows + row < len(items)]
        lines.append(" " * indent + "".join(c.ljust(cell) for c in cells).rstrip())
    return lines


# ---- avail -------------------------------------------------------------------------------------
class AvailItem:
    __slots__ = ("entry", "default", "marked_default", "loaded")

    def __init__(self, entry: Entry, default: bool, marked_default: bool, loaded: bool) -> None:
        self.entry = entry
        self.default = default
        self.marked_default = marked_default
        self.loaded = loaded


def avail_items(tree: ModuleTree, loaded_files: Iterable[str], filters: Sequence[str], *, show_hidden: bool,
                defaults_only: bool, regexp: bool = False,
                visible: Optional[Callable[[Entry, bool], bool]] = None) -> List[Tuple[str, List[AvailItem]]]:
    """avail's sections; ``visible(entry, visible_by_name)`` may overrule hiding (a site's isVisibleHook)."""
    loaded = set(loaded_files)
    groups: List[Tuple[str, List[AvailItem]]] = []
    # a filter that names an alias also shows the module the alias stands for
    via_alias = {tree.translate(alias) for alias in tree.rc.aliases
                 if any(f.lower() in alias.lower() for f in filters)}
    default_files: Dict[str, Tuple[str, bool]] = {}
    for sn in tree.by_sn():
        default = tree.default(sn)
        if default is not None:
            default_files[sn] = (default.file, tree.marked_default(sn) is not None)
    for index in tree.dirs:
        items = []
        virtual = _virtual_entries(tree, index)
        # "multi-entry" sorts before "multi/...": Lmod compares "sn/" strings
        for entry in sorted([*index.entries, *virtual], key=lambda e: (e.sn + "/", e.key)):
            if tree.rc.rules and tree.hide_kind(entry) == "hard":
                continue  # hide{kind="hard"}: not even --show-hidden lists it
            hidden = tree.is_hidden(entry)
            if visible is not None:
                hidden = not visible(entry, not hidden)
            if hidden and not show_hidden and entry.file not in loaded:
                continue
            if filters and not any(_matches(entry, f, regexp) for f in filters) and entry.fullname not in via_alias:
                continue
            is_default, marked = default_files.get(entry.sn, ("", False)) if entry not in virtual else ("", False)
            item = AvailItem(entry, is_default == entry.file, marked and is_default == entry.file, entry.file in loaded)
            if defaults_only and not item.default:
                continue
            items.append(item)
        groups.append((index.mpath, items))
    return groups


def _virtual_entries(tree: ModuleTree, index: DirIndex) -> List[Entry]:
    """module_virtual names of a MODULEPATH directory as avail lists them: like its modules (Lmod 9.2.7)."""
    from roost.modules.tree import Entry
    from roost.modules.versions import version_key

    entries = []
    for name, target in index.rc.virtual.items():
        implementation = tree.by_fullname().get(tree.translate(target))
        if implementation is None:
            continue
        sn, _, version = name.rpartition("/") if "/" in name else (name, "", "")
        entries.append(Entry(name, sn, version, implementation.file, implementation.kind, index.mpath, False,
                             version_key(version)))
    return entries


def relabel_groups(groups: List[Tuple[str, List[AvailItem]]],
                   labels: Dict[str, str]) -> List[Tuple[str, List[AvailItem]]]:
    """avail's sections under the labels a site's avail hook gave their directories; directories that share a
    label share one section, where the first of them stood (Lmod's grouped avail)."""
    merged: Dict[str, List[AvailItem]] = {}
    for mpath, items in groups:
        merged.setdefault(labels.get(mpath, mpath), []).extend(items)
    return list(merged.items())


def _matches(entry: Entry, pattern: str, regexp: bool = False) -> bool:
    """Lmod's avail filter: a case-insensitive substring of the full name (a regular expression with -r)."""
    return _text_matches(entry.fullname, pattern, regexp)


def _text_matches(text: str, pattern: str, regexp: bool) -> bool:
    if regexp:
        import re

        return re.search(pattern, text) is not None
    return pattern.lower() in text.lower()


def alias_lines(tree: ModuleTree, filters: Sequence[str], regexp: bool = False) -> List[str]:
    """``alias(@target)`` lines that terse avail prints first, for aliases matching the filter."""
    lines = []
    for alias in sorted(tree.rc.aliases, key=str.lower):
        if alias in tree.rc.virtual:
            continue  # listed with the modules of its directory
        target = tree.rc.aliases[alias]
        resolved = tree.translate(target)
        if not filters or any(_text_matches(alias, f, regexp) or _text_matches(resolved, f, regexp) for f in filters):
            lines.append(f"{alias}(@{tree.translate(target)})")
    return lines


def avail_text(groups: List[Tuple[str, List[AvailItem]]], tree: ModuleTree, *, terse: bool,
               filters: Sequence[str] = (), defaults_only: bool = False, regexp: bool = False,
               footer: bool = True, decorations: bool = False) -> str:
    """avail's report.  ``footer=False`` leaves out the closing advice: a site's msgHook replaces it (in Lmod
    that advice is what the standard msgHook adds)."""
    if terse:
        aliases = "".join(line + "\n" for line in alias_lines(tree, filters, regexp))
        decorate = (lambda entry: terse_decoration(tree, entry)) if decorations else None
        return aliases + _avail_terse(groups, bool(filters) or defaults_only, tree.symbolic_names(), decorate)
    lines: List[str] = []
    legend = {"D": False, "L": False, "H": False}
    multiple_versions = {sn for sn, entries in tree.by_sn().items() if len(entries) > 1}
    for mpath, items in groups:
        if not items:
            continue
        lines.append("")
        lines.append(banner(mpath))
        cells = []
        for item in items:
            marks = []
            if item.default and item.entry.sn in multiple_versions:
                marks.append("D")
            if item.loaded:
                marks.append("L")
            if tree.is_hidden(item.entry):
                marks.append("H")
            for mark in marks:
                legend[mark] = True
            cells.append(item.entry.fullname + (f" ({','.join(marks)})" if marks else ""))
        lines.extend(columns(cells))
    if not lines:
        return ("No module(s) or extension(s) found!\n"
                "Use \"module spider\" to find all possible modules and extensions.\n")
    notes = {"D": "Default Module", "L": "Module is loaded", "H": "Hidden Module"}
    if any(legend.values()):
        lines += ["", "  Where:"] + [f"   {k}:  {notes[k]}" for k, used in legend.items() if used]
    if footer:
        lines += ["", "Use \"module spider\" to find all possible modules and extensions.",
                  "Use \"module keyword key1 key2 ...\" to search for all possible modules matching"
                  " any of the \"keys\".", ""]
    return "\n".join(lines) + "\n"


def terse_decoration(tree: ModuleTree, entry: Entry) -> str:
    """Lmod 8.7.50's marks after a terse name (on with LMOD_TERSE_DECORATIONS=yes; Lmod 8.6 has none):
    <H> hidden, <s> soft-hidden, <F> forbidden, <NF> nearly forbidden."""
    marks = []
    kind = tree.hide_kind(entry) if tree.rc.rules else ""
    if kind == "soft":
        marks.append("<s>")
    elif tree.is_hidden(entry):
        marks.append("<H>")
    if tree.rc.rules and tree.forbidding(entry) is not None:
        marks.append("<F>")
    elif tree.rc.rules and tree.nearly_forbidding(entry) is not None:
        marks.append("<NF>")
    return "".join(" " + mark for mark in marks)


def _avail_terse(groups: List[Tuple[str, List[AvailItem]]], filtered: bool,
                 symbols: Dict[str, List[str]], decorate: Optional[Callable[[Entry], str]] = None) -> str:
    """One line per module under a ``dir:`` line; without a filter each name first gets a ``name/`` line."""
    lines: List[str] = []
    for mpath, items in groups:
        if not items:
            continue
        lines.append(f"{mpath}:")
        last_sn = None
        for item in items:
            if item.entry.version and item.entry.sn != last_sn and not filtered:
                lines.append(f"{item.entry.sn}/")
            last_sn = item.entry.sn
            lines.extend(f"{symbol}(@{item.entry.fullname})" for symbol in sorted(symbols.get(item.entry.fullname, [])))
            lines.append(item.entry.fullname + (decorate(item.entry) if decorate is not None else ""))
    return "\n".join(lines) + ("\n" if lines else "")


def avail_json(groups: List[Tuple[str, List[AvailItem]]], tree: ModuleTree) -> list:
    return [
        {"directory": mpath,
         "modules": [{"fullName": i.entry.fullname, "sn": i.entry.sn, "version": i.entry.version, "path": i.entry.file,
                      "default": i.default, "markedDefault": i.marked_default, "loaded": i.loaded,
                      "hidden": tree.is_hidden(i.entry)} for i in items]}
        for mpath, items in groups
    ]


# ---- list --------------------------------------------------------------------------------------
def list_text(modules: List[Loaded], *, terse: bool, filters: Sequence[str] = ()) -> str:
    if not modules:
        return "No modules loaded\n"
    active = [m for m in modules if m.status == "active" and _list_match(m, filters)]
    inactive = [m for m in modules if m.status != "active" and _list_match(m, filters)]
    if terse:
        return "".join(m.fullname + "\n" for m in active)
    lines: List[str] = []
    sticky_used = False
    if active:
        lines += ["", "Currently Loaded Modules:"]
        cells = []
        for number, module in enumerate(active, 1):
            mark = ""
            if module.sticky:
                mark, sticky_used = " (S)", True
            cells.append(f"{number}) {module.fullname}{mark}")
        lines.extend(columns(cells, indent=2))
    if inactive:
        lines += ["", "Inactive Modules:"]
        lines.extend(columns([f"{n}) {m.sn}" for n, m in enumerate(inactive, 1)], indent=2))
    if sticky_used:
        lines += ["", "  Where:", "   S:  Module is Sticky, requires --force to unload or purge"]
    return "\n".join(lines) + "\n\n"


def _list_match(module: Loaded, filters: Sequence[str]) -> bool:
    return not filters or any(f.lower() in module.fullname.lower() for f in filters)


def list_json(modules: List[Loaded]) -> list:
    return [{"fullName": m.fullname, "sn": m.sn, "version": m.version, "path": m.file, "status": m.status,
             "sticky": m.sticky, "userLoaded": m.user, "properties": m.props} for m in modules]


# ---- spider ------------------------------------------------------------------------------------
def spider_terse(records: Dict[str, List[SpiderRecord]], *, show_hidden: bool = False,
                 extensions: bool = True) -> str:
    """``name/`` and ``name/version`` lines, extensions included, in Lmod's order."""
    keyed: List[Tuple[Tuple[str, str], str]] = []
    for sn, sn_records in records.items():
        visible = [r for r in _sorted(sn_records) if show_hidden or not r.entry.hidden]
        if not visible:
            continue
        if visible[0].entry.version:
            keyed.append(((sn, ""), sn + "/"))
        keyed += [((sn + "/", r.entry.key), r.entry.fullname) for r in visible]
    known = {line for _, line in keyed}
    for hits in (_extensions(records).values() if extensions else []):
        for extension in sorted({e for e, _ in hits}):
            ext_sn, _, version = extension.rpartition("/")
            if (ext_sn or extension) + "/" not in known:
                keyed.append((((ext_sn or extension), ""), (ext_sn or extension) + "/"))
                known.add((ext_sn or extension) + "/")
            if extension not in known:
                from roost.modules.versions import version_key

                keyed.append(((ext_sn + "/", version_key(version)), extension))
                known.add(extension)
    return "".join(line + "\n" for _, line in sorted(keyed))


def spider_overview(records: Dict[str, List[SpiderRecord]], *, terse: bool, show_hidden: bool = False) -> str:
    names = sorted(records, key=str.lower)
    if terse:
        return spider_terse(records, show_hidden=show_hidden)
    lines = ["", "-" * width(), "The following is a list of the modules and extensions currently available:",
             "-" * width()]
    for sn in names:
        visible = [r for r in _sorted(records[sn]) if not r.entry.hidden]
        if not visible:
            continue
        lines.append(f"  {sn}: " + ", ".join(r.entry.fullname for r in visible))
        description = _description(visible[-1])
        if description:
            lines.append(f"    {description}")
        lines.append("")
    extensions = _extensions(records)
    if extensions:
        lines.append("")
        for name in sorted(extensions, key=str.lower):
            lines.append(f"  {name}: " + ", ".join(sorted({e for e, _ in extensions[name]})) + " (E)")
        lines += ["", "Names marked by a trailing (E) are extensions provided by another module."]
    lines += ["", "-" * width(), "To learn more about a package execute:", "",
              "   $ module spider Foo", "",
              "where \"Foo\" is the name of a module.", "",
              "To find detailed information about a particular package you",
              "must specify the version if there is more than one version:", "",
              "   $ module spider Foo/11.1", "-" * width(), ""]
    return "\n".join(lines) + "\n"


def _sorted(records: List[SpiderRecord]) -> List[SpiderRecord]:
    unique: Dict[str, SpiderRecord] = {}
    for record in records:
        if record.entry.fullname in unique:
            for chain in record.parents:
                if chain not in unique[record.entry.fullname].parents:
                    unique[record.entry.fullname].parents.append(chain)
        else:
            unique[record.entry.fullname] = record
    return sorted(unique.values(), key=lambda r: r.entry.key)


def _description(record: SpiderRecord) -> str:
    if not record.info:
        return ""
    for line in record.info.whatis:
        key, _, value = line.partition(":")
        if key.strip().lower() == "description":
            return value.strip()
    return ""  # as Lmod: only a "Description:" whatis line describes a module


def _extensions(records: Dict[str, List[SpiderRecord]]) -> Dict[str, List[Tuple[str, str]]]:
    """extension name -> [(extension full name, providing module)]"""
    from roost.modules.spider import extension_index

    return extension_index(records)


def spider_find(records: Dict[str, List[SpiderRecord]], name: str) -> Tuple[str, List[SpiderRecord]]:
    """('sn', records) for a name or name/version; matching is case-insensitive on the short name."""
    if name in records:
        return name, _sorted(records[name])
    lowered = {sn.lower(): sn for sn in records}
    if name.lower() in lowered:
        sn = lowered[name.lower()]
        return sn, _sorted(records[sn])
    sn, _, version = name.rpartition("/")
    for candidate in (sn, lowered.get(sn.lower(), "")):
        if candidate in records:
            exact = [r for r in _sorted(records[candidate]) if r.entry.fullname == name or
                     r.entry.version.startswith(version)]
            return candidate, exact
    # a name that begins longer ones or one of their parts (`fftw` or `fft` for `fftw/3.3.4/gcc`, `gromacs`
    # for `apps/gromacs`), as Lmod searches
    wanted = name.lower()
    starting = sorted(sn for low, sn in lowered.items() if (low.startswith(wanted) or "/" + wanted in low)
                      and sn in records)
    if starting:
        return starting[0], _sorted(records[starting[0]])
    return "", []


def spider_detail(records: Dict[str, List[SpiderRecord]], name: str, loaded: Sequence[str]) -> Optional[str]:
    sn, found = spider_find(records, name)
    extension_hits = _extensions(records).get(name.split("/")[0], [])
    if not found and extension_hits:
        versions = sorted({e for e, _ in extension_hits})
        if "/" not in name and len(versions) > 1:
            return _extension_versions_text(name, versions)
        return _extension_text(name, extension_hits)
    if not found:
        return None
    # one version shows the details at once, unless it provides extensions (then the list, as Lmod does)
    exact = "/" in name or (len(found) == 1 and not (found[0].info and found[0].info.extensions))
    lines = ["", "-" * width()]
    if not exact:
        lines.append(f"  {sn}:")
        lines.append("-" * width())
        description = _description(found[-1])
        if description:
            lines += ["    Description:", f"      {description}", ""]
        lines.append("     Versions:")
        lines += [f"        {r.entry.fullname}" for r in found if not r.entry.hidden]
        if extension_hits:
            providers = ", ".join(sorted({p for _, p in extension_hits}))
            lines += ["     Other possible modules matches:", "        " + providers]
        lines += ["", "-" * width(),
                  f"  For detailed information about a specific \"{sn}\" package (including how to load the modules)"
                  " use the module's full name.",
                  "  Note that names that have a trailing (E) are extensions provided by other modules.",
                  "  For example:", "", f"     $ module spider {found[-1].entry.fullname}", "-" * width(), ""]
        return "\n".join(lines) + "\n"
    record = found[-1] if "/" not in name else next((r for r in found if r.entry.fullname == name), found[-1])
    lines.append(f"  {sn}: {record.entry.fullname}")
    lines.append("-" * width())
    description = _description(record)
    if description:
        lines += ["    Description:", f"      {description}", ""]
    chains = [c for c in record.parents if c]
    if chains:
        lines += ["", f"    You will need to load all module(s) on any one of the lines below before the "
                  f"\"{record.entry.fullname}\" module is available to load.", ""]
        lines += ["      " + "  ".join(chain) for chain in chains]
    else:
        lines += ["", "    This module can be loaded directly: module load " + record.entry.fullname]
    if record.info and record.info.extensions:
        lines += ["", "    This module provides the following extensions:", "",
                  "       " + ", ".join(f"{e} (E)" for e in record.info.extensions)]
    from roost.modules.spider import help_of

    help_texts = help_of(record.entry.file, record.entry.kind, record.entry.fullname)
    if help_texts:
        help_lines = [line for text in help_texts for line in text.strip("\n").splitlines()]
        lines += ["", "    Help:"] + ["      " + line for line in help_lines]
    lines.append("")
    return "\n".join(lines) + "\n"


def _extension_versions_text(name: str, versions: List[str]) -> str:
    from roost.modules.versions import version_key

    ordered = sorted(versions, key=lambda e: version_key(e.rpartition("/")[2]))
    lines = ["", "-" * width(), f"  {name}:", "-" * width(), "     Versions:"]
    lines += [f"        {e} (E)" for e in ordered]
    lines += ["", "Names marked by a trailing (E) are extensions provided by another module.", "",
              "-" * width(),
              f"  For detailed information about a specific \"{name}\" package (including how to load the modules)"
              " use the module's full name.",
              "  Note that names that have a trailing (E) are extensions provided by other modules.",
              "  For example:", "", f"     $ module spider {ordered[-1]}", "-" * width(), ""]
    return "\n".join(lines) + "\n"


def _extension_text(name: str, hits: List[Tuple[str, str]]) -> str:
    versions = ", ".join(f"{e} (E)" for e in sorted({e for e, _ in hits}))
    lines = ["", "-" * width(), f"  {name.split('/')[0]}: {versions}", "-" * width(),
             "", "     This extension is provided by the following modules. To access the extension you must load one"
             " of the following modules. Note that any module names in parentheses show the module location in the"
             " software hierarchy.", ""]
    lines += [f"       {provider}" for provider in sorted({p for e, p in hits if e == name or "/" not in name})]
    lines += ["", "", "Names marked by a trailing (E) are extensions provided by another module."]
    return "\n".join(lines) + "\n\n"


def spider_json(records: Dict[str, List[SpiderRecord]], name: Optional[str]) -> list:
    selected = records
    if name:
        sn, found = spider_find(records, name)
        selected = {sn: found} if sn else {}
    result = []
    for sn in sorted(selected, key=str.lower):
        for record in _sorted(selected[sn]):
            info = record.info
            result.append({
                "fullName": record.entry.fullname, "sn": sn, "version": record.entry.version,
                "path": record.entry.file, "hidden": record.entry.hidden,
                "whatis": info.whatis if info else [],
                "extensions": info.extensions if info else [], "properties": info.properties if info else {},
                "parents": [list(chain) for chain in record.parents if chain],
            })
    if name and not result:
        hits = _extensions(records).get(name.split("/")[0], [])
        result = [{"extension": e, "providedBy": p} for e, p in hits]
    return result


# ---- show / whatis / help / keyword ------------------------------------------------------------
def show_text(file: str, shown: List[str]) -> str:
    rule = "-" * width()
    return "\n".join([rule, f"   {file}:", rule, *shown]) + "\n\n"  # a blank line after each, as Lmod


def whatis_text(fullname: str, whatis: List[str]) -> str:
    return "".join(f"{fullname:<20} : {line}\n" for line in whatis) or f"{fullname:<20} : (no whatis)\n"


def help_text(fullname: str, help_parts: List[str]) -> str:
    body = "\n".join(help_parts) if help_parts else f"No help found for \"{fullname}\"."
    return "\n" + banner(f"Module Specific Help for \"{fullname}\"") + "\n" + body.rstrip("\n") + "\n\n"


def keyword_hits(records: Dict[str, List[SpiderRecord]], words: Sequence[str]) -> Dict[str, List[SpiderRecord]]:
    lowered = [w.lower() for w in words]
    hits: Dict[str, List[SpiderRecord]] = {}
    for sn, sn_records in records.items():
        for record in _sorted(sn_records):
            info = record.info
            text = " ".join([record.entry.fullname, *(info.whatis if info else []),
                             *(info.extensions if info else [])]).lower()
            if any(w in text for w in lowered) and not record.entry.hidden:
                hits.setdefault(sn, []).append(record)
    return hits


def keyword_terse(records: Dict[str, List[SpiderRecord]], hits: Dict[str, List[SpiderRecord]],
                  words: Sequence[str]) -> str:
    """Terse keyword: spider's terse lines for the matching modules and the extensions that match."""
    lowered = [w.lower() for w in words]
    text = spider_terse(hits)
    lines = set(text.splitlines())
    extra: List[Tuple[Tuple[str, str], str]] = []
    from roost.modules.versions import version_key

    for name, found in _extensions(records).items():
        if not any(w in name.lower() for w in lowered):
            continue
        for extension in {e for e, _ in found}:
            ext_sn, _, version = extension.rpartition("/")
            for key, line in (((ext_sn, ""), ext_sn + "/"), ((ext_sn + "/", version_key(version)), extension)):
                if line not in lines:
                    lines.add(line)
                    extra.append((key, line))
    keyed = [(((line[:-1], "") if line.endswith("/") else (line.rpartition("/")[0] + "/",
              version_key(line.rpartition("/")[2]))), line) for line in text.splitlines()]
    return "".join(line + "\n" for _, line in sorted(keyed + extra))


def keyword_text(hits: Dict[str, List[SpiderRecord]], words: Sequence[str]) -> str:
    rule = "-" * width()
    lines = ["", rule, f"The following modules match your search criteria: \"{' '.join(words)}\"", rule, ""]
    for sn in sorted(hits, key=str.lower):
        lines.append(f"  {sn}: " + ", ".join(r.entry.fullname for r in hits[sn]))
        description = _description(hits[sn][-1])
        if description:
            lines.append(f"    {description}")
        lines.append("")
    return "\n".join(lines) + "\n"


# ---- category (Lmod 8.7.14) ---------------------------------------------------------------------
def categories(records: Dict[str, List[SpiderRecord]]) -> Dict[str, Dict[str, int]]:
    """category -> {short name: number of versions}, from each modulefile's ``whatis("Category: ...")``
    (several categories may be given, comma-separated)."""
    found: Dict[str, Dict[str, int]] = {}
    for sn, sn_records in records.items():
        for record in sn_records:
            if record.entry.hidden or record.info is None:
                continue
            for line in record.info.whatis:
                key, sep, value = line.partition(":")
                if not sep or key.strip().lower() != "category":
                    continue
                for category in (c.strip() for c in value.split(",")):
                    if category:
                        per_sn = found.setdefault(category, {})
                        per_sn[sn] = per_sn.get(sn, 0) + 1
    return found


def category_text(records: Dict[str, List[SpiderRecord]], names: Sequence[str]) -> str:
    """``module category``: the categories; with names, the modules of each category whose name contains one
    of them (case-insensitive), with their number of versions."""
    found = categories(records)
    ordered = sorted(found, key=str.lower)
    if not names:
        return "\n" + banner("List of Categories") + "\n" + "\n".join(columns(ordered)) + "\n\n" if ordered else ""
    lowered = [n.lower() for n in names]
    lines: List[str] = []
    for category in ordered:
        if not any(n in category.lower() for n in lowered):
            continue
        cells = [f"{sn} ({count})" for sn, count in sorted(found[category].items(), key=lambda kv: kv[0].lower())]
        lines += ["", banner(category), *columns(cells)]
    return "\n".join(lines) + "\n\n" if lines else ""
