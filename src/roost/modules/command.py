"""The ``module`` / ``ml`` command: ``python -m roost.modules.command SHELL SUBCOMMAND [ARGS...]``.

Like ``$LMOD_CMD SHELL ...``: shell code on stdout (to be evaluated by the shell function), messages and reports
on stderr.  With SHELL ``none`` (the ``roost module`` CLI) reports go to stdout and nothing is evaluated.  This
module is the hot path: it imports only what the subcommand needs.
"""

from __future__ import annotations

import os
import sys

from roost.errors import ModuleError, ModulefileExit, RoostError
from roost.modules import site_configured

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

SHELLS = ("bash", "zsh", "sh", "fish", "python", "json", "none")
USAGE = """Usage: module [options] sub-command [args ...]

Loading/unloading sub-commands:
  load | add          module [...]   load module(s)
  try-load | try-add  module [...]   load module(s), no error if a module is missing
  unload | rm         module [...]   remove module(s)
  swap | switch       m1 m2          unload m1 and load m2
  purge                              unload all modules (sticky ones stay unless --force)
  reload | update                    reload all currently loaded modules
  reset                              back to the system default modules

Listing / searching sub-commands:
  list  [-t] [pattern]               the loaded modules
  avail | av [-t] [-d] [pattern]     the modules that can be loaded now
  spider [name[/version]]            every module, and how to reach it in the hierarchy
  show | display module              what a module does
  whatis module ...                  short descriptions
  help module ...                    a module's help text
  keyword | key | search word ...    search descriptions
  is-loaded module ...               exit status 0 when loaded
  is-avail module ...                exit status 0 when loadable
  category [name ...]                categories (whatis "Category: ..."), or the modules in some
  last-error                         the last error a module command reported

Searching with the module path:
  use [-a] dir ...                   add directories to MODULEPATH (-a: append)
  unuse dir ...                      remove directories from MODULEPATH

Collections:
  save [name]    restore [name]    savelist    describe [name]    disable name

Options: -t/--terse  -d/--default  --json  -q/--quiet  -f/--force  --show-hidden  --redirect  -h/--help

ml: `ml` lists, `ml foo` loads, `ml -foo` unloads, `ml foo -bar` unloads bar then loads foo,
    `ml <sub-command> ...` runs the sub-command.
"""

ALIASES = {
    "add": "load", "try-add": "try-load", "rm": "unload", "del": "unload", "remove": "unload",
    "switch": "swap", "display": "show", "av": "avail", "key": "keyword", "search": "keyword",
    "update": "reload", "mcc": "describe", "sl": "savelist", "r": "restore", "s": "save", "ls": "list",
    "try_load": "try-load", "is_loaded": "is-loaded", "is_avail": "is-avail",
}
# Lmod's sub-command words and the shortest prefix of each it accepts (`module del`, `module disp`):
# a word names the first entry it is a prefix of, when at least that long.
_LMOD_WORDS = (
    "add 2 load|avail 2 avail|delete 3 unload|describe 3 describe|disable 4 disable|display 3 show|"
    "erase 3 unload|gd 2 getdefault|getdefault 4 getdefault|help 1 help|isAvail 3 is-avail|isavail 3 is-avail|"
    "is_avail 4 is-avail|is-avail 4 is-avail|isLoaded 3 is-loaded|isloaded 3 is-loaded|is_loaded 4 is-loaded|"
    "is-loaded 4 is-loaded|keyword 1 keyword|ld 2 savelist|listdefaults 5 savelist|load 2 load|list 1 list|"
    "mcc 2 describe|overview 2 overview|purge 2 purge|refresh 4 refresh|reload 3 reload|remove 3 unload|"
    "reset 4 reset|rm 2 unload|restore 1 restore|savelist 5 savelist|sd 2 save|search 3 keyword|"
    "setdefault 4 save|show 2 show|sl 2 savelist|spider 2 spider|swap 2 swap|switch 2 swap|save 1 save|"
    "tablelist 5 tablelist|try-load 5 try-load|try-add 5 try-load|try_load 5 try-load|try_add 5 try-load|"
    "tryload 4 try-load|tryadd 4 try-load|try 3 try-load|unload 3 unload|unuse 3 unuse|update 2 reload|"
    "use 3 use|whatis 1 whatis"
)
LOADS = ("load", "try-load")
SUBCOMMANDS = {"load", "try-load", "unload", "swap", "purge", "reload", "refresh", "reset", "list", "avail",
               "spider", "show", "whatis", "help", "keyword", "is-loaded", "is-avail", "use", "unuse", "save",
               "restore", "savelist", "describe", "disable", "overview", "ov", "category", "last-error",
               "getdefault", "tablelist"}
FLAGS = {"-t": "terse", "--terse": "terse", "-d": "default", "--default": "default", "--json": "json",
         "-q": "quiet", "--quiet": "quiet", "-f": "force", "--force": "force", "--show-hidden": "hidden",
         "--show_hidden": "hidden", "--redirect": "redirect", "-a": "append", "--append": "append",
         "-h": "help", "-?": "help", "-H": "help", "--help": "help", "-D": "debug", "--debug": "debug",
         "--no-redirect": "noredirect", "--no_redirect": "noredirect", "--version": "version", "-v": "version",
         "-p": "prepend", "--prepend": "prepend", "-r": "regexp", "--regexp": "regexp",
         "--ignore_cache": "ignore_cache", "--ignore-cache": "ignore_cache", "-T": "trace", "--trace": "trace",
         "--mt": "mt", "--config": "config", "--config_json": "config_json", "--checkSyntax": "check_syntax",
         "--check_syntax": "check_syntax", "--latest": "latest", "--expert": "quiet", "--novice": "novice",
         "--raw": "raw", "--initial_load": "initial_load", "--pin_versions": "pin_versions", "--timer": "timer",
         "--regression_testing": "regression_testing", "--gitversion": "version", "--dumpversion": "dumpversion",
         "--nx": "no_extensions", "--no_extensions": "no_extensions", "--loc": "location",
         "--location": "location"}
# options that take a value (the next word, or `--opt=value`)
VALUED = {"--priority": "priority", "-w": "width", "--width": "width", "-s": "style", "--style": "style",
          "--spider_timeout": "spider_timeout"}
# the words `ml` takes as sub-commands besides roost's own (exact words: `ml spi` loads a module "spi")
_ML_WORDS = {"available": "avail", "sw": "swap", "delete": "unload", "getdefault": "getdefault",
             "gd": "getdefault", "listdefault": "savelist", "ld": "savelist", "tablelist": "tablelist",
             "isloaded": "is-loaded", "isAvail": "is-avail", "tryload": "try-load", "tryadd": "try-load",
             "setdefault": "save", "sd": "save"}
# what `module --mt` and friends do when no sub-command follows
_OPTION_COMMANDS = ("mt", "config", "config_json", "dumpversion")


def lmod_subcommand(word: str) -> Optional[str]:
    """The sub-command a word names: roost's own names and aliases, else Lmod's prefix rule."""
    if word in ALIASES or word in SUBCOMMANDS:
        return ALIASES.get(word, word)
    for item in _LMOD_WORDS.split("|"):
        full, shortest, command = item.split(" ")
        if len(word) >= int(shortest) and full.startswith(word):
            return command
    return None


class Outcome:
    """What a module command produced: environment changes (via the engine), text for the user, a status."""

    def __init__(self) -> None:
        self.report = ""  # for people: stderr when evaluated by a shell
        self.ok = True
        self.engine = None  # type: Optional[object]


class Invocation:
    def __init__(self, shell: str, subcommand: str, args: List[str], flags: Dict[str, Any],
                 environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.shell = shell
        self.subcommand = subcommand
        self.args = args
        self.flags = flags


def parse(argv: Sequence[str]) -> Tuple[str, List[str], Dict[str, Any]]:
    flags: Dict[str, Any] = {}
    rest: List[str] = []
    words = list(argv)
    index = 0
    while index < len(words):
        arg = words[index]
        index += 1
        option, equals, given = arg.partition("=")
        if arg.startswith("-") and rest[:1] and lmod_subcommand(rest[0]) in LOADS:
            # Lmod reads no option after the sub-command: `module load -a foo` unloads `a`, then loads foo
            rest.append(arg)
        elif option in VALUED and (equals or index < len(words)):
            if not equals:
                given, index = words[index], index + 1
            flags[VALUED[option]] = given
        elif arg in FLAGS:
            flags[FLAGS[arg]] = True
        elif arg.startswith("-") and len(arg) > 1:
            raise ModuleError(f"unknown option \"{arg}\"", "see: module --help")
        else:
            rest.append(arg)
    if not rest:
        for option in _OPTION_COMMANDS:
            if flags.get(option):
                return option, [], flags
        return ("help" if flags.get("help") or not flags.get("version") else "version"), [], flags
    subcommand = lmod_subcommand(rest[0]) or rest[0]
    return subcommand, rest[1:], flags


def parse_ml(argv: Sequence[str]) -> Tuple[str, List[str], Dict[str, Any]]:
    """Lmod's ml shorthand: list / sub-command / loads and -unloads."""
    options: List[str] = []
    words: List[str] = list(argv)
    while words and ((words[0] in FLAGS and words[0] != "-a") or words[0].partition("=")[0] in VALUED):
        options.append(words.pop(0))
        if options[-1] in VALUED and words:
            options.append(words.pop(0))
    _, _, flags = parse(options)
    if not words:
        for option in _OPTION_COMMANDS:
            if flags.get(option):
                return option, [], flags
        return "list", [], flags
    if words[0] in ALIASES or words[0] in SUBCOMMANDS or words[0] in _ML_WORDS:
        if words[0] in _ML_WORDS:
            words[0] = _ML_WORDS[words[0]]
        subcommand, args, more = parse(words)
        flags.update(more)
        return subcommand, args, flags
    return "ml", words, flags


def _site(environ: Mapping[str, str]):  # type: ignore[no-untyped-def]
    """The site's SitePackage.lua (hooks), only looked for when LMOD_PACKAGE_PATH or LMOD_CONFIG_DIR is set."""
    if not site_configured(environ):
        return None
    from roost.modules.site import current

    return current(environ)


def _engine(inv: Invocation, force: bool = False):  # type: ignore[no-untyped-def]
    from roost.modules.engine import Engine

    cache_dir = None if inv.flags.get("ignore_cache") else module_cache_dir(inv.environ)
    engine = Engine(inv.environ, cache_dir=cache_dir, force=force)
    engine.shell = inv.shell
    engine.trace = bool(inv.flags.get("trace"))
    engine.latest = bool(inv.flags.get("latest"))
    return engine


def module_cache_dir(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    environ = os.environ if environ is None else environ
    if environ.get("ROOST_MODULE_CACHE", "").lower() in ("no", "0", "off", "false"):
        return None
    home = environ.get("HOME") or os.path.expanduser("~")
    root = environ.get("ROOST_CACHE_DIR") or os.path.join(
        environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "roost")
    return os.path.join(root, "modules")


# ---- sub-commands -------------------------------------------------------------------------------
def cmd_load(inv: Invocation, out: Outcome) -> None:
    if not inv.args:
        raise ModuleError("load: which module?", "for example: module load python")
    if inv.flags.get("check_syntax"):
        _check_syntax(inv)
        return
    if "-" in inv.args:
        raise ModuleError("illegal option \"-\"", "name a module to unload after the dash: module load -NAME")
    engine = _engine(inv, inv.flags.get("force", False))
    unloads = [a[1:] for a in inv.args if a.startswith("-")]
    if unloads:
        engine.unload(unloads)
    # `+NAME` is a load, spelled to stand out beside `-NAME`
    loads = [a[1:] if a.startswith("+") else a for a in inv.args if not a.startswith("-")]
    engine.load(loads, try_only=inv.subcommand == "try-load")
    out.engine = engine


def _check_syntax(inv: Invocation) -> None:
    """`module --checkSyntax load NAME...`: run each modulefile without acting on it (as `show` does), so only
    errors in the file itself fail; the modules it would load need not exist."""
    from roost.modules.spider import describe

    for name in inv.args:
        fullname, file, kind = _resolve_for_display(inv, name)
        describe(file, kind, fullname, "show", inv.environ, user_name=name)


def cmd_unload(inv: Invocation, out: Outcome) -> None:
    engine = _engine(inv, inv.flags.get("force", False))
    engine.unload(inv.args)
    out.engine = engine


def cmd_ml(inv: Invocation, out: Outcome) -> None:
    engine = _engine(inv, inv.flags.get("force", False))
    unloads = [a[1:] for a in inv.args if a.startswith("-") and len(a) > 1]
    loads = [a for a in inv.args if not a.startswith("-")]
    if unloads:
        engine.unload(unloads)
    if loads:
        engine.load(loads)
    out.engine = engine


def cmd_swap(inv: Invocation, out: Outcome) -> None:
    if len(inv.args) not in (1, 2):
        raise ModuleError("swap needs one or two module names", "for example: module swap gcc/12.2.0 gcc/13.1.0")
    engine = _engine(inv, inv.flags.get("force", False))
    engine.swap(*inv.args)
    out.engine = engine


def cmd_purge(inv: Invocation, out: Outcome) -> None:
    engine = _engine(inv, inv.flags.get("force", False))
    engine.purge()
    out.engine = engine


def cmd_reload(inv: Invocation, out: Outcome) -> None:
    engine = _engine(inv)
    engine.reload()
    out.engine = engine


def cmd_reset(inv: Invocation, out: Outcome) -> None:
    engine = _engine(inv)
    engine.reset()
    out.engine = engine
    out.report += "Resetting modules to system default.\n"


def cmd_use(inv: Invocation, out: Outcome) -> None:
    if not inv.args:
        raise ModuleError("use: which directory?", "for example: module use $HOME/modulefiles")
    engine = _engine(inv)
    if inv.subcommand == "use":
        priority = _number_option(inv, "priority")
        engine.use(inv.args, append=inv.flags.get("append", False), priority=priority)
    else:
        engine.unuse(inv.args)
    out.engine = engine


def _number_option(inv: Invocation, name: str) -> int:
    text = inv.flags.get(name) or "0"
    try:
        return int(text)
    except ValueError:
        raise ModuleError(f"--{name} takes a whole number, not \"{text}\"",
                          f"for example: module use --{name} 100 DIR") from None


def cmd_list(inv: Invocation, out: Outcome) -> None:
    from roost.modules.table import ModuleTable

    table = ModuleTable.from_environ(inv.environ)
    if inv.flags.get("json"):
        from roost.modules.report import list_json

        out.report = _json(list_json(table.modules))
        return
    from roost.modules.report import list_text

    out.report = list_text(table.modules, terse=inv.flags.get("terse", False), filters=inv.args)
    _message_hook(inv, out, "list")


def cmd_avail(inv: Invocation, out: Outcome) -> None:
    from roost.modules import report

    engine = _engine(inv)
    tree = engine.tree()
    if not tree.dirs and not inv.flags.get("terse"):  # as Lmod (terse avail just lists nothing)
        raise ModuleError("module avail is not possible: MODULEPATH is not set or names no directory",
                          "add one: module use DIR (or ask your site which MODULEPATH to use)")
    loaded = [m.file for m in engine.table.active()]
    site = _site(inv.environ)
    visible = None
    if site is not None and site.has("isVisibleHook"):
        def visible(entry, by_name):  # type: ignore[no-untyped-def]
            return site.is_visible(entry.fullname, entry.sn, entry.file, by_name)
    groups = report.avail_items(tree, loaded, inv.args, show_hidden=inv.flags.get("hidden", False),
                                defaults_only=inv.flags.get("default", False), regexp=inv.flags.get("regexp", False),
                                visible=visible)
    if inv.flags.get("json"):
        out.report = _json(report.avail_json(groups, tree))
    else:
        if site is not None and not inv.flags.get("terse"):
            style = (inv.environ.get("LMOD_AVAIL_STYLE") or "system").split(":")[0]  # the first is the default
            groups = report.relabel_groups(groups, site.avail_labels([mpath for mpath, _ in groups], style))
        out.report = report.avail_text(groups, tree, terse=inv.flags.get("terse", False), filters=inv.args,
                                       defaults_only=inv.flags.get("default", False),
                                       regexp=inv.flags.get("regexp", False),
                                       footer=site is None or not site.has("msgHook"),
                                       decorations=inv.environ.get("LMOD_TERSE_DECORATIONS", "").lower() == "yes")
        _message_hook(inv, out, "avail")


def _spider_records(inv: Invocation):  # type: ignore[no-untyped-def]
    return _spider_records_and_hidden(inv)[0]


def _spider_records_and_hidden(inv: Invocation):  # type: ignore[no-untyped-def]
    """Every module spider sees, and the names the system and user modulerc files hide."""
    from roost.modules.spider import hide_by_global_rc, spider_all

    records = spider_all(inv.environ.get("MODULEPATH"), None, module_cache_dir(inv.environ))
    return records, hide_by_global_rc(records, inv.environ)


def cmd_spider(inv: Invocation, out: Outcome) -> None:
    records, also_hidden = _spider_records_and_hidden(inv)
    _spider_report(inv, out, records, also_hidden)
    # a modulefile call that warned while spider read the tree (a path function given nil): Lmod lists what it
    # found and exits 1
    from roost.modules.spider import tree_warned

    if tree_warned(records):
        out.ok = False


def _spider_report(inv: Invocation, out: Outcome, records: Dict[str, List[Any]], also_hidden: Set[str]) -> None:
    from roost.modules import report

    name = inv.args[0] if inv.args else None
    if name is not None and not inv.flags.get("hidden"):
        # hidden versions (b/.2.0) are not found by name either, unless --show_hidden (Lmod)
        from roost.modules.spider import VisibleRecords

        records = VisibleRecords(records, also_hidden)
    if name is not None and inv.flags.get("regexp"):
        _spider_regexp(records, name, inv, out)
        return
    if inv.flags.get("json"):
        out.report = _json(report.spider_json(records, name))
        out.ok = bool(records) if not name else out.report.strip() != "[]"
        return
    if name is None:
        out.report = report.spider_overview(records, terse=inv.flags.get("terse", False),
                                            show_hidden=inv.flags.get("hidden", False))
        _message_hook(inv, out, "spider")
        return
    if inv.flags.get("terse"):
        _, found = report.spider_find(records, name)
        if not found:  # an extension: Lmod prints the one-version page, and nothing for several versions
            hits = report._extensions(records).get(name.split("/")[0], [])
            if len({e for e, _ in hits}) == 1:
                out.report = report.spider_detail(records, name, []) or ""
            out.ok = bool(hits)
            return
        show_hidden = inv.flags.get("hidden", False)
        shown = [r for r in found if show_hidden or not r.entry.hidden]
        if len(shown) == 1:  # one version to show: Lmod prints its page even when asked for terse output
            out.report = report.spider_detail(records, name, []) or ""
        else:
            out.report = "".join(r.entry.fullname + "\n" for r in shown) + "\n"
        out.ok = bool(found)
        return
    text = report.spider_detail(records, name, [])
    if text is None:
        out.ok = False
        out.report = f"Lmod has detected the following error: Unable to find: \"{name}\".\n"
        return
    out.report = text
    _message_hook(inv, out, "spider")


def _message_hook(inv: Invocation, out: Outcome, kind: str) -> None:
    """A site's msgHook may rewrite the report of avail, list and spider (not their terse forms)."""
    site = _site(inv.environ)
    if site is not None and not inv.flags.get("terse"):
        out.report = site.message_hook(kind, out.report)


def _spider_regexp(records, pattern: str, inv: Invocation, out: Outcome) -> None:  # type: ignore[no-untyped-def]
    """`module -r spider REGEX`: every module whose name the regular expression matches (Lmod's -r)."""
    import re

    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ModuleError(f"spider -r: \"{pattern}\" is not a regular expression ({exc})",
                          "quote it for the shell, and escape characters such as + and ( with \\") from None
    from roost.modules import report

    show_hidden = inv.flags.get("hidden", False)
    found = {sn: [r for r in group if show_hidden or not r.entry.hidden] for sn, group in records.items()
             if regex.search(sn) or any(regex.search(r.entry.fullname) for r in group)}
    found = {sn: group for sn, group in found.items() if group}
    out.ok = bool(found)
    if not found:
        out.report = f"Lmod has detected the following error: Unable to find: \"{pattern}\".\n"
    else:
        out.report = report.spider_overview(found, terse=inv.flags.get("terse", False), show_hidden=show_hidden)


def _resolve_for_display(inv: Invocation, name: str):  # type: ignore[no-untyped-def]
    from roost.modules.table import ModuleTable

    engine = _engine(inv)
    from roost.modules.frame import Spec

    entry = engine.find(Spec(name))
    if entry is None:
        loaded = ModuleTable.from_environ(inv.environ).find(name)
        if loaded is not None and os.path.exists(loaded.file):
            return loaded.fullname, loaded.file, loaded.kind
        raise engine._not_found(name)
    return entry.fullname, entry.file, entry.kind


def _report_location(inv: Invocation, out: Outcome) -> bool:
    """--location show/whatis/help NAME: only the file of the first name, nothing evaluated (Lmod)."""
    if not inv.flags.get("location") or not inv.args:
        return False
    _, file, _ = _resolve_for_display(inv, inv.args[0])
    out.report += file + "\n"
    return True


def cmd_show(inv: Invocation, out: Outcome) -> None:
    from roost.modules import report
    from roost.modules.spider import describe

    if not inv.args:
        raise ModuleError("show: which module?", "for example: module show python")
    if _report_location(inv, out):
        return
    for name in inv.args:
        fullname, file, kind = _resolve_for_display(inv, name)
        frame = describe(file, kind, fullname, "show", inv.environ, user_name=name)
        out.ok = out.ok and not frame.failed
        out.report += "".join(f"{warning}\n" for warning in frame.warnings)
        if inv.flags.get("json"):
            out.report += _json({"fullName": fullname, "path": file, "calls": frame.shown, "whatis": frame.whatis,
                                 "help": "\n".join(frame.help)})
        else:
            out.report += report.show_text(file, frame.shown)


def cmd_whatis(inv: Invocation, out: Outcome) -> None:
    from roost.modules import report
    from roost.modules.spider import describe

    if _report_location(inv, out):
        return
    for name in inv.args:
        fullname, file, kind = _resolve_for_display(inv, name)
        frame = describe(file, kind, fullname, "whatis", inv.environ)
        out.ok = out.ok and not frame.failed
        out.report += "".join(f"{warning}\n" for warning in frame.warnings)
        out.report += report.whatis_text(fullname, frame.whatis)


def cmd_help(inv: Invocation, out: Outcome) -> None:
    if not inv.args:
        out.report = USAGE
        return
    from roost.modules import report
    from roost.modules.spider import describe

    if _report_location(inv, out):
        return
    for name in inv.args:
        fullname, file, kind = _resolve_for_display(inv, name)
        frame = describe(file, kind, fullname, "help", inv.environ)
        out.ok = out.ok and not frame.failed
        out.report += "".join(f"{warning}\n" for warning in frame.warnings)
        out.report += report.help_text(fullname, frame.help)


def cmd_keyword(inv: Invocation, out: Outcome) -> None:
    from roost.modules import report

    if not inv.args:
        raise ModuleError("keyword: which words?", "for example: module keyword mpi")
    hits = report.keyword_hits(_spider_records(inv), inv.args)
    if inv.flags.get("json"):
        out.report = _json({sn: [r.entry.fullname for r in records] for sn, records in hits.items()})
    elif inv.flags.get("terse"):
        out.report = report.keyword_terse(_spider_records(inv), hits, inv.args)
    else:
        out.report = report.keyword_text(hits, inv.args)


def cmd_category(inv: Invocation, out: Outcome) -> None:
    from roost.modules import report

    out.report = report.category_text(_spider_records(inv), inv.args)
    if inv.args and not out.report:
        out.ok = False
        out.report = f"No category matches: {' '.join(inv.args)}\n"


def cmd_last_error(inv: Invocation, out: Outcome) -> None:
    """The last error a module command reported in this account (Lmod 9.2.6's last-error)."""
    path = last_error_file(inv.environ)
    try:
        with open(path, encoding="utf-8") as handle:
            out.report = handle.read()
    except OSError:
        out.report = "No module command has reported an error yet.\n"


def last_error_file(environ: Mapping[str, str]) -> str:
    cache = module_cache_dir(environ) or os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".cache",
                                                      "roost", "modules")
    return os.path.join(cache, "last-error")


def _remember_error(environ: Mapping[str, str], text: str) -> None:
    try:
        path = last_error_file(environ)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError:
        pass  # remembering is a convenience: a read-only home must not turn one error into two


def cmd_is_loaded(inv: Invocation, out: Outcome) -> None:
    from roost.modules.table import ModuleTable

    table = ModuleTable.from_environ(inv.environ)
    out.ok = bool(inv.args) and all(table.find(name) is not None for name in inv.args)


def cmd_is_avail(inv: Invocation, out: Outcome) -> None:
    engine = _engine(inv)
    out.ok = bool(inv.args) and all(engine.is_avail(name) for name in inv.args)


def cmd_save(inv: Invocation, out: Outcome) -> None:
    from roost.modules import collections
    from roost.modules.table import ModuleTable

    name = inv.args[0] if inv.args else "default"
    table = ModuleTable.from_environ(inv.environ)
    if not table.active() and not inv.flags.get("force"):
        out.ok = False
        out.report = (f"Lmod Warning: You are trying to save an empty collection of modules in \"{name}\". "
                      f"If this is what you want then enter:\n  $ module --force save {name}\n")
        return
    collections.save(name, table)
    out.report = f"Saved current collection of modules to: \"{name}\"\n"


def cmd_restore(inv: Invocation, out: Outcome) -> None:
    from roost.modules import collections

    name = inv.args[0] if inv.args else "default"
    engine = _engine(inv)
    if not inv.args and not collections.exists(name):
        engine.reset()
        out.engine = engine
        out.report = "Restoring modules to system default\n"
        return
    saved = collections.load(name)
    # Lmod compares the site's MODULEPATH; directories the user added with `module use` come back with it
    collections.check_modulepath(name, saved.system_modulepath, engine.table.system_mpath)
    # not pinned: a collection holds the names as typed, so `python` restores today's default (Lmod's rule),
    # unless the site pins versions (LMOD_PIN_VERSIONS=yes: the versions that were saved)
    pinned = inv.environ.get("LMOD_PIN_VERSIONS") == "yes"
    engine.restore_modules(saved.base_modulepath, saved.modules if pinned else saved.user_names)
    changed = collections.changed_modules(saved, engine.table)
    if changed:
        _refuse_changed_collection(inv, out, name, changed)
        return
    modules = saved.modules
    out.engine = engine
    out.report = f"Restoring modules from user's {name}\n"
    site = _site(inv.environ)
    if site is not None:
        site.restore_hook(name, collections.collection_file(name))
    if not modules:  # restored (everything purged), but say so and fail, as Lmod does
        out.ok = False
        out.report += f"Lmod Warning: You have no modules loaded because the collection \"{name}\" is empty!\n"


def _refuse_changed_collection(inv: Invocation, out: Outcome, name: str, changed: List[str]) -> None:
    """Modules of the collection whose files changed since the save: a named collection is not restored at all;
    the default one leaves the user with the system default (Lmod: a warning, then reset)."""
    modules = ", ".join(f'"{sn}"' for sn in changed)
    if name != "default":
        raise ModuleError(f"one or more modules in your {name} collection have changed: {modules}",
                          f"load the modules you want and save the collection again: module save {name}")
    engine = _engine(inv)
    if engine.state.get("LMOD_SYSTEM_DEFAULT_MODULES"):
        engine.reset()
    else:
        engine.purge(engine.table.system_mpath)
    out.engine = engine
    out.ok = False
    out.report = (f"Restoring modules from user's {name}\n"
                  f"Lmod Warning: One or more modules in your {name} collection have changed: {modules}.\n"
                  "To rebuild the collection, do a module reset, then load the modules you wish, then execute:\n"
                  f"  $ module save {name}\n")


def cmd_savelist(inv: Invocation, out: Outcome) -> None:
    from roost.modules import collections

    found = collections.names()
    if inv.flags.get("json"):
        out.report = _json(found)
    elif inv.flags.get("terse"):
        out.report = "".join(n + "\n" for n in found)
    elif not found:
        out.report = "No named collections.\n"
    else:
        out.report = "Named collection list :\n" + "".join(f"  {i}) {n}\n" for i, n in enumerate(found, 1))


def cmd_describe(inv: Invocation, out: Outcome) -> None:
    from roost.modules import collections
    from roost.modules.report import columns

    name = inv.args[0] if inv.args else "default"
    cells = [f"{i}) {m}" for i, m in enumerate(collections.load(name).user_names, 1)]
    out.report = f"Collection \"{name}\" contains: \n" + "\n".join(columns(cells, indent=3)) + "\n"


def cmd_disable(inv: Invocation, out: Outcome) -> None:
    from roost.modules import collections

    if not inv.args:
        raise ModuleError("disable: which collection?", "see them with: module savelist")
    collections.disable(inv.args[0])
    out.report = f"Disabled collection \"{inv.args[0]}\"\n"


def cmd_overview(inv: Invocation, out: Outcome) -> None:
    engine = _engine(inv)
    counts = {sn: len(entries) for sn, entries in engine.tree().by_sn().items()}
    out.report = "".join(f"{sn} ({count})\n" for sn, count in sorted(counts.items(), key=lambda kv: kv[0].lower()))


def cmd_mt(inv: Invocation, out: Outcome) -> None:
    """`module --mt`: the module table, one module a line (Lmod prints its Lua table)."""
    from roost.modules.table import ModuleTable

    table = ModuleTable.from_environ(inv.environ)
    lines = [f"module table: base MODULEPATH {table.base_mpath or '(empty)'}",
             f"              system MODULEPATH {table.system_mpath or '(empty)'}"]
    for module in table.modules:
        extras = [f"status={module.status}", f"userName={module.user_name}", f"file={module.file}"]
        if module.ref:
            extras.append(f"ref={module.ref}")
        if module.family:
            extras.append(f"family={module.family}")
        extras += [f"{key}={value}" for key, value in sorted(module.props.items())]
        lines.append(f"  {module.fullname}: " + " ".join(extras))
    out.report = "\n".join(lines) + "\n"


def cmd_tablelist(inv: Invocation, out: Outcome) -> None:
    """`module tablelist`: the active modules as short name = version."""
    from roost.modules.table import ModuleTable

    active = ModuleTable.from_environ(inv.environ).active()
    out.report = "activeList = {\n" + "".join(f'  ["{m.sn}"] = "{m.version}",\n' for m in active) + "}\n"


def cmd_config(inv: Invocation, out: Outcome) -> None:
    """`module --config` / `--config_json`: the settings this module command runs with."""
    from roost import __version__

    settings = [
        ("roost module system version", __version__),
        ("Lmod API", "8.6 (Lua and Tcl modulefiles)"),
        ("MODULEPATH", inv.environ.get("MODULEPATH", "")),
        ("Cache directory", module_cache_dir(inv.environ) or "(cache disabled: ROOST_MODULE_CACHE)"),
        ("System default modules", inv.environ.get("LMOD_SYSTEM_DEFAULT_MODULES", "")),
        ("Collections directory", os.path.join(inv.environ.get("HOME", "~"), ".lmod.d")),
    ]
    if inv.subcommand == "config_json":
        out.report = _json(dict(settings))
        return
    width = max(len(k) for k, _ in settings)
    out.report = "".join(f"{key:<{width}}  {value}\n" for key, value in settings)


def cmd_dumpversion(inv: Invocation, out: Outcome) -> None:
    out.report = "8.6.19\n"


def cmd_refresh(inv: Invocation, out: Outcome) -> None:
    cmd_reload(inv, out)


def cmd_usage(inv: Invocation, out: Outcome) -> None:
    out.report = USAGE


def cmd_version(inv: Invocation, out: Outcome) -> None:
    from roost import __version__

    out.report = f"roost module system {__version__} (Lmod-compatible, API 8.7)\n"


HANDLERS: Dict[str, Callable[[Invocation, Outcome], None]] = {
    "load": cmd_load, "try-load": cmd_load, "unload": cmd_unload, "ml": cmd_ml, "swap": cmd_swap,
    "purge": cmd_purge, "reload": cmd_reload, "refresh": cmd_refresh, "reset": cmd_reset, "use": cmd_use,
    "unuse": cmd_use, "list": cmd_list, "avail": cmd_avail, "spider": cmd_spider, "show": cmd_show,
    "whatis": cmd_whatis, "help": cmd_help, "keyword": cmd_keyword, "is-loaded": cmd_is_loaded,
    "is-avail": cmd_is_avail, "save": cmd_save, "restore": cmd_restore, "savelist": cmd_savelist,
    "describe": cmd_describe, "disable": cmd_disable, "overview": cmd_overview, "ov": cmd_overview,
    "version": cmd_version, "category": cmd_category, "last-error": cmd_last_error, "mt": cmd_mt,
    "tablelist": cmd_tablelist, "config": cmd_config, "config_json": cmd_config, "dumpversion": cmd_dumpversion,
    "getdefault": cmd_restore,
}


def _json(data: object) -> str:
    import json

    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


# ---- running ------------------------------------------------------------------------------------
def run(shell: str, argv: Sequence[str], *, ml: bool = False,
        environ: Optional[Mapping[str, str]] = None) -> Tuple[str, str, bool]:
    """Run one module command against ``environ`` (default: this process's); return (stdout code, stderr
    text, ok).  Never raises RoostError."""
    code, messages, status = run_status(shell, argv, ml=ml, environ=environ)
    return code, messages, status == 0


def run_status(shell: str, argv: Sequence[str], *, ml: bool = False,
               environ: Optional[Mapping[str, str]] = None) -> Tuple[str, str, int]:
    """:func:`run` with the exit status instead of ok: 0, 1, or what a modulefile gave os.exit."""
    from roost.shell.quote import render_print, render_status

    report_to_stdout = shell == "none"
    try:
        subcommand, args, flags = parse_ml(argv) if ml else parse(argv)
        if flags.get("help") and subcommand not in ("help",):
            subcommand, args = "help", []
        handler = HANDLERS.get(subcommand)
        if handler is None:
            raise ModuleError(f"\"{subcommand}\" is not a module sub-command", "see: module --help")
        invocation = Invocation(shell, subcommand, args, flags, os.environ if environ is None else environ)
        outcome = Outcome()
        site = _site(invocation.environ)
        if site is not None:
            site.command_hook("startup", subcommand)
        handler(invocation, outcome)
        if site is not None:
            site.command_hook("finalize", subcommand)
        code = "" if subcommand == "version" else _normalised_modulepath(invocation, outcome.engine, shell)
        messages = ""
        if outcome.engine is not None:
            from roost.shell.render import render

            change = outcome.engine.finish()  # type: ignore[attr-defined]
            outcome.ok = outcome.ok and not outcome.engine.warned  # type: ignore[attr-defined]
            if shell not in ("none",):
                code = render(change, shell)
            elif change:
                code = render(change, "bash")
            messages = "".join(m if m.endswith("\n") else m + "\n" for m in outcome.engine.messages)  # type: ignore[attr-defined]
            printed = "".join(outcome.engine.printed)  # type: ignore[attr-defined]
            early = "".join(outcome.engine.printed_early)  # type: ignore[attr-defined]
            if shell in ("bash", "zsh", "sh", "fish"):
                code = render_print(early, shell) + code + render_print(printed, shell)
            else:  # python/json output is read by programs: the text goes to the user with the messages
                messages = early + messages + printed
            messages += "".join(outcome.engine.hierarchy_messages())  # type: ignore[attr-defined]
            if invocation.environ.get("LMOD_ADMIN_FILE") and not flags.get("quiet"):
                from roost.modules.site import admin_messages

                messages += admin_messages(invocation.environ, outcome.engine.newly_loaded())  # type: ignore[attr-defined]
        if site is not None:
            messages += "".join(m if m.endswith("\n") else m + "\n" for m in site.messages)
            outcome.ok = outcome.ok and not site.warned
            site.messages, site.warned = [], False
        redirect = flags.get("redirect") or (flags.get("json") and not report_to_stdout)
        if report_to_stdout and (outcome.ok or flags.get("json")):
            code = outcome.report + code
        elif report_to_stdout:  # a failure's report is a message: stdout stays for what scripts read
            messages += outcome.report
        elif redirect:
            code += render_print(outcome.report, shell)
        else:
            messages += outcome.report
        if not flags.get("quiet") or not outcome.ok:
            pass
        else:
            messages = ""
        return code + render_status(outcome.ok, shell), messages, 0 if outcome.ok else 1
    except ModulefileExit as exc:  # Lmod prints nothing of its own and changes nothing
        return render_status(exc.status == 0, shell) if exc.status in (0, 1) else "", exc.said, exc.status
    except RoostError as exc:
        hint = f"\n  hint: {exc.hint}" if exc.hint else ""
        text = f"error: {exc.message}{hint}\n"
        _remember_error(os.environ if environ is None else environ, text)
        return render_status(False, shell), text, 1


def _normalised_modulepath(inv: Invocation, engine: object, shell: str) -> str:
    """Lmod writes its state back after any sub-command: MODULEPATH cleaned (no `//`, `/./`, trailing `/` or
    repeated entry), and LOADEDMODULES/_LMFILES_ cleared when no table backs them; the engine's commands do
    it in finish(), the others here."""
    if engine is not None or shell == "none":
        return ""
    from roost.modules.table import stale_loaded_modules

    clean = _clean_modulepath(inv.environ.get("MODULEPATH"))
    stale = stale_loaded_modules(inv.environ)
    if clean is None and not stale:
        return ""  # the usual case: `module list` stays free of the tree's imports
    from roost.shell.change import EnvChange
    from roost.shell.render import render

    change = EnvChange()
    if clean is not None:
        change.set("MODULEPATH", clean)
    if stale:
        change.unset("LOADEDMODULES").unset("_LMFILES_")
    return render(change, shell)


def _clean_modulepath(current: Optional[str]) -> Optional[str]:
    """MODULEPATH as Lmod writes it back, or None when it is already that."""
    if current is None:
        return None
    parts = current.split(":")
    if "//" not in current and "/./" not in current and "" not in parts and len(set(parts)) == len(parts) \
            and not any(len(p) > 1 and p.endswith("/") for p in parts):
        return None
    from roost.modules.tree import split_modulepath

    clean = ":".join(split_modulepath(current))
    return None if clean == current else clean


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    ml = False
    if len(args) >= 2 and args[1] == "--ml":
        ml = True
        del args[1]
    if not args or args[0] not in SHELLS:
        sys.stderr.write(f"usage: python -m roost.modules.command {{{'|'.join(SHELLS)}}} [--ml] SUBCOMMAND ...\n")
        return 2
    try:
        code, messages, status = run_status(args[0], args[1:], ml=ml)
    except Exception as exc:  # a bug in roost: nothing was written to stdout, so the shell changes nothing
        import traceback

        sys.stderr.write(traceback.format_exc())
        sys.stderr.write(f"error: roost's module command failed ({type(exc).__name__}: {exc}); nothing was changed\n"
                         "  hint: this is a bug in roost: please report it with the traceback above\n")
        return 1
    from roost.shell.quote import write_code

    if messages:
        write_code(messages, to_stderr=True)
    write_code(code)
    return status


if __name__ == "__main__":
    sys.exit(main())
