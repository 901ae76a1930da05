"""One data type for an environment change.

Modules, env activation and container wrappers *produce* an :class:`EnvChange`; renderers in
:mod:`roost.shell.render` and :mod:`roost.shell.modulefile` *consume* it.  An ``EnvChange`` is an ordered
list of :class:`Op`.  Path operations carry a separator and a priority; applying a change to a
:class:`ShellState` keeps per-entry reference counts, so that a directory added by two modules stays until
both have removed it (Lmod's rule).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    from enum import Enum
    from typing import Dict, Iterable, Iterator, List, Mapping, MutableMapping, NamedTuple, Optional, Tuple
else:
    from roost._records import Enum

# Aliases and shell functions become names in the user's shell: keep them to characters no shell treats
# specially, so that nothing in a name can ever be executed.  (Checked with str methods, not `re`: importing
# re costs milliseconds on `module`'s and `roost submit`'s paths.)
COMMAND_NAME_PUNCTUATION = "_.+:@%-"
REFCOUNT_PREFIX = "__ROOST_REF_COUNT_"
PRIORITY_PREFIX = "__ROOST_PRIORITY_"


class Action(Enum):
    SET = "set"
    UNSET = "unset"
    PREPEND = "prepend"
    APPEND = "append"
    REMOVE = "remove"
    ALIAS = "alias"
    UNALIAS = "unalias"
    FUNCTION = "function"
    UNFUNCTION = "unfunction"
    EXPORT_FUNCTION = "export-function"  # bash's `export -f`: child bash processes get the function too
    COMPLETE = "complete"  # bash's programmable completion for a command; value: complete's options, as words
    UNCOMPLETE = "uncomplete"


NAMED_ACTIONS = frozenset({Action.ALIAS, Action.UNALIAS, Action.FUNCTION, Action.UNFUNCTION, Action.EXPORT_FUNCTION,
                           Action.COMPLETE, Action.UNCOMPLETE})
# what only bash renders (the other shells have no such thing, or cannot take bash's form of it)
BASH_ONLY_ACTIONS = frozenset({Action.EXPORT_FUNCTION, Action.COMPLETE, Action.UNCOMPLETE})


PATH_ACTIONS = frozenset({Action.PREPEND, Action.APPEND, Action.REMOVE})


if TYPE_CHECKING:

    class _OpBase(NamedTuple):
        action: Action
        name: str
        value: str = ""
        sep: str = ":"
        priority: int = 0
else:  # the same tuple type without importing typing at run time
    from collections import namedtuple

    _OpBase = namedtuple("_OpBase", "action name value sep priority", defaults=("", ":", 0))


class Op(_OpBase):
    """One operation; ``value`` is unused for unset/unalias/unfunction, ``sep``/``priority`` only for paths."""

    __slots__ = ()

    def as_dict(self) -> Dict[str, object]:
        data: Dict[str, object] = {"action": self.action.value, "name": self.name}
        if self.action not in (Action.UNSET, Action.UNALIAS, Action.UNFUNCTION, Action.EXPORT_FUNCTION,
                               Action.UNCOMPLETE):
            data["value"] = self.value
        if self.action in PATH_ACTIONS:
            data["sep"] = self.sep
            if self.priority:
                data["priority"] = self.priority
        return data


def is_var_name(name: str) -> bool:
    """[A-Za-z_][A-Za-z0-9_]*, as every shell accepts."""
    return name.isascii() and name.isidentifier()


def is_command_name(name: str) -> bool:
    """[A-Za-z0-9_][A-Za-z0-9_.+:@%-]*"""
    return (
        name.isascii()
        and bool(name)
        and (name[0].isalnum() or name[0] == "_")
        and all(char.isalnum() or char in COMMAND_NAME_PUNCTUATION for char in name)
    )


VAR_NAME_HINT = "use letters, digits and underscores, not starting with a digit"
COMMAND_NAME_HINT = "use letters, digits and _ . + - : @ %, starting with a letter, a digit or _"


def check_var_name(name: str) -> str:
    if not is_var_name(name):
        from roost.errors import InvalidName

        raise InvalidName(name, "environment variable", VAR_NAME_HINT)
    return name


def check_command_name(name: str, what: str) -> str:
    if not is_command_name(name):
        from roost.errors import InvalidName

        raise InvalidName(name, what, COMMAND_NAME_HINT)
    return name


def check_op(op: Op) -> Op:
    """Refuse an operation whose name no shell may see as a name (whatever produced it: a modulefile, Lmod's
    output, a template fed a directory name).  Every op reaching :class:`ShellState` or a renderer passes here."""
    action = op.action
    if action is Action.ALIAS or action is Action.UNALIAS:
        check_command_name(op.name, "alias")
    elif action is Action.FUNCTION or action is Action.UNFUNCTION or action is Action.EXPORT_FUNCTION:
        check_command_name(op.name, "shell function")
    elif action is Action.COMPLETE or action is Action.UNCOMPLETE:
        check_command_name(op.name, "completed command")
    else:
        check_var_name(op.name)
    return op


class EnvChange:
    """An ordered list of environment operations; build it with the methods, read it with ``ops``."""

    __slots__ = ("ops",)

    def __init__(self, ops: Optional[List[Op]] = None) -> None:
        self.ops: List[Op] = list(ops) if ops else []

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EnvChange) and self.ops == other.ops

    def __repr__(self) -> str:
        return f"EnvChange({self.ops!r})"

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    def __bool__(self) -> bool:
        return bool(self.ops)

    def set(self, name: str, value: str) -> EnvChange:
        self.ops.append(Op(Action.SET, check_var_name(name), str(value)))
        return self

    def unset(self, name: str) -> EnvChange:
        self.ops.append(Op(Action.UNSET, check_var_name(name)))
        return self

    def prepend_path(self, name: str, value: str, sep: str = ":", priority: int = 0) -> EnvChange:
        self.ops.append(Op(Action.PREPEND, check_var_name(name), value, sep, priority))
        return self

    def append_path(self, name: str, value: str, sep: str = ":", priority: int = 0) -> EnvChange:
        self.ops.append(Op(Action.APPEND, check_var_name(name), value, sep, priority))
        return self

    def remove_path(self, name: str, value: str, sep: str = ":") -> EnvChange:
        self.ops.append(Op(Action.REMOVE, check_var_name(name), value, sep))
        return self

    def alias(self, name: str, value: str) -> EnvChange:
        self.ops.append(Op(Action.ALIAS, check_command_name(name, "alias"), value))
        return self

    def unalias(self, name: str) -> EnvChange:
        self.ops.append(Op(Action.UNALIAS, check_command_name(name, "alias")))
        return self

    def function(self, name: str, body: str) -> EnvChange:
        self.ops.append(Op(Action.FUNCTION, check_command_name(name, "shell function"), body))
        return self

    def unfunction(self, name: str) -> EnvChange:
        self.ops.append(Op(Action.UNFUNCTION, check_command_name(name, "shell function")))
        return self

    def export_function(self, name: str) -> EnvChange:
        """Pass the function ``name`` to child shells where the shell can (bash; others ignore it), as Lmod's
        init exports ``module`` and ``ml``: ``bash job_step.sh`` inside a job can then ``module load``."""
        self.ops.append(Op(Action.EXPORT_FUNCTION, check_command_name(name, "shell function")))
        return self

    def extend(self, other: Iterable[Op]) -> EnvChange:
        self.ops.extend(other)
        return self

    def variables(self) -> List[str]:
        """Names of the environment variables this change touches, in first-touched order."""
        seen: Dict[str, None] = {}
        for op in self.ops:
            if op.action not in NAMED_ACTIONS:
                seen.setdefault(op.name, None)
        return list(seen)

    def to_json(self) -> List[Dict[str, object]]:
        return [op.as_dict() for op in self.ops]

    @classmethod
    def from_json(cls, data: Iterable[Mapping[str, object]]) -> EnvChange:
        ops = [
            Op(
                Action(str(item["action"])),
                str(item["name"]),
                str(item.get("value", "")),
                str(item.get("sep", ":")),
                int(item.get("priority", 0)),  # type: ignore[call-overload]
            )
            for item in data
        ]
        return cls(ops)

    def applied_to(self, environ: Mapping[str, str]) -> Dict[str, str]:
        """The environment a process gets when this change is applied to ``environ`` (for subprocesses)."""
        state = ShellState(dict(environ))
        state.apply(self)
        return state.export_environ()


def split_path(value: str, sep: str) -> List[str]:
    return [part for part in value.split(sep)] if value else []


def normalize_entry(entry: str, *, keep_recursive: bool = True) -> str:
    """Lmod's path regularisation: squeeze repeated slashes, drop `/./` and a trailing slash (`..` stays).
    A trailing `//` after a name is kept (TEXINPUTS=/x//: search /x recursively) unless ``keep_recursive``
    is off, as for MODULEPATH."""
    recursive = keep_recursive and len(entry) > 2 and entry.endswith("//") and entry[-3] != "/"
    while "//" in entry:
        entry = entry.replace("//", "/")
    while "/./" in entry:
        entry = entry.replace("/./", "/")
    if len(entry) > 1 and entry.endswith("/"):
        entry = entry[:-1]
    return entry + "//" if recursive else entry


class PathVar:
    """A path-like variable under edit: entries in order, each with a reference count and a priority.

    With ``duplicates`` (Lmod's LMOD_DUPLICATE_PATHS=yes) an entry added again is added once more where it goes,
    and a removal takes away one occurrence (the first or the last) instead of lowering a count."""

    def __init__(self, value: Optional[str], sep: str, counts: Optional[Dict[str, int]],
                 priorities: Optional[Dict[str, int]] = None, *, duplicates: bool = False,
                 keep_recursive: bool = True) -> None:
        self.sep = sep
        self.duplicates = duplicates
        self.keep_recursive = keep_recursive
        self.entries: List[str] = []
        self.priority: Dict[str, int] = dict(priorities or {})
        for entry in split_path(value or "", sep):
            entry = normalize_entry(entry, keep_recursive=keep_recursive)
            if duplicates or entry not in self.entries:
                self.entries.append(entry)
        self.counts: Dict[str, int] = {}
        for entry in self.entries:
            self.counts[entry] = self.counts.get(entry, 0) + 1
        if counts and not duplicates:
            for entry, count in counts.items():
                if entry in self.counts:
                    self.counts[entry] = count

    def _insert(self, entry: str, front: bool, priority: int) -> None:
        if front:
            index = 0
            while index < len(self.entries) and self.priority.get(self.entries[index], 0) > priority:
                index += 1
        else:
            # appended entries with a higher priority stay outermost (at the end)
            index = len(self.entries)
            while index > 0 and self.priority.get(self.entries[index - 1], 0) > priority:
                index -= 1
        self.entries.insert(index, entry)
        if priority:
            self.priority[entry] = priority

    def add(self, value: str, front: bool, priority: int) -> None:
        # "" is an entry: the system default
        parts = [normalize_entry(p, keep_recursive=self.keep_recursive) for p in value.split(self.sep)]
        # prepend "a:b" keeps a before b, so insert from the last one
        for entry in reversed(parts) if front else parts:
            # a present entry moves, unless duplicates are kept (an entry with a priority is never repeated)
            if entry in self.counts and not (self.duplicates and not priority and not self.priority.get(entry)):
                self.entries.remove(entry)
            self.counts[entry] = self.counts.get(entry, 0) + 1
            self._insert(entry, front, priority)

    def remove(self, value: str, *, force: bool = False, where: str = "all") -> None:
        """Take ``value``'s entries away: one reference each, or with duplicates the ``first`` or ``last``
        occurrence (what unloading a prepend or an append undoes), or ``all`` of them."""
        for entry in (normalize_entry(p, keep_recursive=self.keep_recursive) for p in value.split(self.sep)):
            if entry not in self.counts:
                continue
            if self.duplicates and where in ("first", "last") and not force and self.counts[entry] > 1:
                index = self.entries.index(entry) if where == "first" else _last_index(self.entries, entry)
                del self.entries[index]
                self.counts[entry] -= 1
                continue
            self.counts[entry] = 0 if force or self.duplicates else self.counts[entry] - 1
            if self.counts[entry] <= 0:
                del self.counts[entry]
                self.entries = [e for e in self.entries if e != entry]
                self.priority.pop(entry, None)

    def value(self) -> Optional[str]:
        if self.entries == [""]:
            return self.sep + self.sep  # only the empty entry left: Lmod writes it as "::" (";;" in LUA_PATH)
        if not self.entries:
            return None
        # A trailing empty entry ("the system default" in MANPATH) is written as a doubled separator, as Lmod does.
        value = self.sep.join(self.entries)
        return value + self.sep if self.entries[-1] == "" else value

    def tracked_counts(self) -> Dict[str, int]:
        if self.duplicates:
            return {}  # each reference is an occurrence of its own, read back from the value
        return {e: c for e, c in self.counts.items() if c != 1}

    def tracked_priorities(self) -> Dict[str, int]:
        return {e: p for e, p in self.priority.items() if p and e in self.counts}


def _last_index(entries: List[str], entry: str) -> int:
    return len(entries) - 1 - entries[::-1].index(entry)


def parse_refcounts(text: str) -> Dict[str, int]:
    """Parse ``/a:2;/b:3`` (the count follows the last colon of each ``;``-separated item)."""
    counts: Dict[str, int] = {}
    for item in text.split(";"):
        entry, _, count = item.rpartition(":")
        if entry and count.isdigit():
            counts[entry] = int(count)
    return counts


def format_refcounts(counts: Mapping[str, int]) -> str:
    return ";".join(f"{entry}:{count}" for entry, count in counts.items())


class ShellState:
    """A working copy of a shell's environment, aliases and functions that changes are applied to.

    Reference counts of path entries live in ``__ROOST_REF_COUNT_<VAR>`` variables, written only for
    entries whose count is not 1, so that an untouched environment carries nothing extra.
    """

    def __init__(
        self,
        environ: Dict[str, str],
        aliases: Optional[Dict[str, str]] = None,
        functions: Optional[Dict[str, str]] = None,
    ) -> None:
        self.environ = environ
        self.aliases: Dict[str, Optional[str]] = dict(aliases or {})
        self.functions: Dict[str, Optional[str]] = dict(functions or {})
        self.exported: List[str] = []  # functions to export to child processes (bash's export -f), in order
        self.completions: Dict[str, Optional[str]] = {}  # command -> complete's options (None: removed)
        self._paths: Dict[str, PathVar] = {}
        # Lmod's LMOD_DUPLICATE_PATHS=yes: path entries may repeat (MODULEPATH never does)
        self.duplicates = False

    def copy(self) -> ShellState:
        self.flush()
        clone = ShellState(dict(self.environ))
        clone.duplicates = self.duplicates
        clone.aliases = dict(self.aliases)
        clone.functions = dict(self.functions)
        clone.exported = list(self.exported)
        clone.completions = dict(self.completions)
        return clone

    def path(self, name: str, sep: str) -> PathVar:
        var = self._paths.get(name)
        if var is None or var.sep != sep:
            if var is not None:
                self._flush_one(name, var)
            counts_text = self.environ.get(REFCOUNT_PREFIX + name)
            priority_text = self.environ.get(PRIORITY_PREFIX + name)
            var = PathVar(self.environ.get(name), sep, parse_refcounts(counts_text) if counts_text else None,
                          parse_refcounts(priority_text) if priority_text else None,
                          duplicates=self.duplicates and name != "MODULEPATH", keep_recursive=name != "MODULEPATH")
            self._paths[name] = var
        return var

    def get(self, name: str) -> Optional[str]:
        var = self._paths.get(name)
        if var is not None:
            return var.value()
        return self.environ.get(name)

    def set(self, name: str, value: Optional[str]) -> None:
        self._paths.pop(name, None)
        self.environ.pop(REFCOUNT_PREFIX + name, None)
        self.environ.pop(PRIORITY_PREFIX + name, None)
        if value is None:
            self.environ.pop(name, None)
        else:
            self.environ[name] = value

    def apply_op(self, op: Op, *, force_remove: bool = False, where: str = "all") -> None:
        check_op(op)
        action = op.action
        if action is Action.SET:
            self.set(op.name, op.value)
        elif action is Action.UNSET:
            self.set(op.name, None)
        elif action is Action.PREPEND or action is Action.APPEND:
            self.path(op.name, op.sep).add(op.value, action is Action.PREPEND, op.priority)
        elif action is Action.REMOVE:
            self.path(op.name, op.sep).remove(op.value, force=force_remove, where=where)
        elif action is Action.ALIAS:
            self.aliases[op.name] = op.value
        elif action is Action.UNALIAS:
            self.aliases[op.name] = None
        elif action is Action.FUNCTION:
            self.functions[op.name] = op.value
        elif action is Action.UNFUNCTION:
            self.functions[op.name] = None
            if op.name in self.exported:
                self.exported.remove(op.name)
        elif action is Action.EXPORT_FUNCTION and op.name not in self.exported:
            self.exported.append(op.name)
        elif action is Action.COMPLETE:
            self.completions[op.name] = op.value
        elif action is Action.UNCOMPLETE:
            self.completions[op.name] = None

    def apply(self, change: Iterable[Op]) -> None:
        for op in change:
            self.apply_op(op)

    def _flush_one(self, name: str, var: PathVar) -> None:
        value = var.value()
        if value is None:
            self.environ.pop(name, None)
        else:
            self.environ[name] = value
        for prefix, tracked in ((REFCOUNT_PREFIX, var.tracked_counts()), (PRIORITY_PREFIX, var.tracked_priorities())):
            if tracked:
                self.environ[prefix + name] = format_refcounts(tracked)
            else:
                self.environ.pop(prefix + name, None)

    def flush(self) -> None:
        for name, var in self._paths.items():
            self._flush_one(name, var)
        self._paths.clear()

    def export_environ(self) -> Dict[str, str]:
        self.flush()
        return dict(self.environ)


def diff(before: Mapping[str, str], after: ShellState, *, before_aliases: Optional[Mapping[str, str]] = None,
         before_functions: Optional[Mapping[str, str]] = None) -> EnvChange:
    """The absolute change (set/unset, alias, function) that turns ``before`` into ``after``."""
    after_env = after.export_environ()
    change = EnvChange()
    for name, value in after_env.items():
        if before.get(name) != value:
            change.ops.append(Op(Action.SET, name, value))
    for name in before:
        if name not in after_env:
            change.ops.append(Op(Action.UNSET, name))
    _diff_named(change, before_aliases or {}, after.aliases, Action.ALIAS, Action.UNALIAS)
    _diff_named(change, before_functions or {}, after.functions, Action.FUNCTION, Action.UNFUNCTION)
    change.ops.extend(Op(Action.EXPORT_FUNCTION, name) for name in after.exported)  # after their definitions
    _diff_named(change, {}, after.completions, Action.COMPLETE, Action.UNCOMPLETE)
    return change


def _diff_named(change: EnvChange, before: Mapping[str, str], after: Mapping[str, Optional[str]],
                define: Action, undefine: Action) -> None:
    for name, value in after.items():
        if value is None:
            change.ops.append(Op(undefine, name))
        elif before.get(name) != value:
            change.ops.append(Op(define, name, value))


def environ_items(change: EnvChange) -> Tuple[Dict[str, str], List[str]]:
    """For an absolute change: the variables it sets and the ones it unsets."""
    sets = {op.name: op.value for op in change.ops if op.action is Action.SET}
    unsets = [op.name for op in change.ops if op.action is Action.UNSET]
    return sets, unsets


def apply_to_environ(change: EnvChange, environ: MutableMapping[str, str]) -> None:
    """Apply a change to a mutable mapping in place (``os.environ`` of a launcher, say)."""
    new = change.applied_to(environ)
    for name in [n for n in environ if n not in new]:
        del environ[name]
    environ.update(new)
