"""The actions a modulefile can take, interpreted by mode.

Lua (:mod:`roost.modules.lua`) and Tcl (:mod:`roost.modules.tcl`) modulefiles call these methods; the mode
decides what they mean, as in Lmod: in ``unload`` mode ``setenv`` unsets, ``prepend_path`` removes one
reference, ``pushenv`` pops, ``load`` unloads; in ``show`` mode every call is only recorded for display; in
``whatis``/``help``/``spider`` modes only the descriptive calls matter.  A frame applies its changes to the
engine's working :class:`~roost.shell.change.ShellState`; the engine commits or discards the whole command.
"""

from __future__ import annotations

import os

from roost.errors import InvalidName, MissingPrereq, ModuleConflict, ModulefileError
from roost.shell.change import Action, Op, check_op, is_var_name

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    from typing import Dict, Iterable, List, Optional, Sequence

    from roost.modules.engine import Engine

STACK_PREFIX = "__ROOST_STACK_"
LOAD_MODES = ("load",)
DESCRIBE_MODES = ("show", "whatis", "help", "spider")


TOOL_VERSION = "8.7.99"  # the Lmod version roost answers as (LmodVersion(), ModuleToolVersion)
# What Lmod puts in its own process environment for modulefiles, rc files and their subprocesses to read
# (`if {[info exists ::env(LMOD_VERSION_MAJOR)]}` guards Lmod-only commands); never written to the user's shell.
TOOL_ENVIRON = {"LMOD_VERSION": TOOL_VERSION, "LMOD_VERSION_MAJOR": "8", "LMOD_VERSION_MINOR": "7",
                "LMOD_VERSION_SUBMINOR": "99", "ModuleTool": "Lmod", "ModuleToolVersion": TOOL_VERSION}


class Spec:
    """A module request from a modulefile: a name, or a version range from atleast()/between()/latest()."""

    __slots__ = ("name", "low", "high", "latest")

    def __init__(self, name: str, low: str = "", high: str = "", latest: bool = False) -> None:
        self.name, self.low, self.high, self.latest = name, low, high, latest

    def __str__(self) -> str:
        return self.name

    def describe(self) -> str:
        """As the modulefile wrote it: `atleast("gcc","9")`, `between(...)`, `latest("gcc")`, or the name."""
        if self.latest:
            return f'latest("{self.name}")'
        if not (self.low or self.high):
            return self.name
        if not self.high:
            return f'atleast("{self.name}","{self.low}")'
        return f'between("{self.name}","{self.low}","{self.high}")'


class Frame:
    def __init__(self, engine: Engine, fullname: str, file: str, mode: str, *, user_name: str = "",
                 mpath: str = "", sn: str = "") -> None:
        self.engine = engine
        self.fullname = fullname
        self.file = file
        self.mode = mode
        self.user_name = user_name or fullname
        self.mpath = mpath
        if not sn:  # without the tree's word, the last component is the version
            sn = fullname.rpartition("/")[0] or fullname
        self.sn = sn
        self.version = fullname[len(sn) + 1 :] if fullname.startswith(sn + "/") else ""
        # collected for describe modes and for the module table
        self.whatis: List[str] = []
        self.help: List[str] = []
        self.shown: List[str] = []
        self.extensions: List[str] = []
        self.properties: Dict[str, str] = {}
        self.family_name: Optional[str] = None
        self.modulepath_added: List[str] = []
        self.abandoned = False  # Tcl `break`, LmodBreak(): the modulefile gave up; its changes are dropped
        self.recorded: Dict[str, str] = {}  # what source_sh() did on load, kept with the module for unload
        self.failed = False  # an error while showing: the listing goes on, the command fails (as Lmod)
        self.warnings: List[str] = []  # what a describing mode (show, whatis, help) warns about, before its text
        # loaded by another modulefile's mgrload(): that one reloads the modules itself, so this file's own
        # load()/unload() calls do nothing (Lmod's MC_MgrLoad mode)
        self.managed = False

    # ---- identity -------------------------------------------------------------------------------
    def my_name(self) -> str:
        return self.sn

    def my_version(self) -> str:
        return self.version

    def my_full_name(self) -> str:
        return self.fullname

    def my_file(self) -> str:
        return self.file

    def my_user_name(self) -> str:
        return self.user_name

    def get_mode(self) -> str:
        return self.mode

    def require_full_name(self) -> None:
        """requireFullName() / Tcl require-fullname: refuse a load asked for by a bare or partial name."""
        if self.mode == "load" and self.user_name != self.fullname:
            self.error(f"the module \"{self.sn}\" must be loaded with its version: \"module load {self.fullname}\" "
                       f"(module spider {self.sn} lists the versions)")

    def getenv(self, name: str) -> Optional[str]:
        value = self.engine.state.get(name)
        return TOOL_ENVIRON.get(name) if value is None else value

    # ---- helpers --------------------------------------------------------------------------------
    def _show(self, call: str) -> bool:
        """Record a call in show mode; True when nothing else should happen in this mode."""
        if self.mode == "show":
            self.shown.append(call)
            return True
        return self.mode in DESCRIBE_MODES

    def _apply(self, op: Op, *, force_remove: bool = False, where: str = "all") -> None:
        try:
            self.engine.state.apply_op(op, force_remove=force_remove, where=where)
        except InvalidName as exc:
            raise self.bad_name(exc) from None

    def _checked(self, op: Op) -> None:
        try:
            check_op(op)
        except InvalidName as exc:
            raise self.bad_name(exc) from None

    def bad_name(self, exc: InvalidName) -> ModulefileError:
        """A name no shell may see is the modulefile's error (the engine then changes nothing at all)."""
        return ModulefileError(
            f"the modulefile of \"{self.fullname}\" ({self.file}) uses the {exc.kind} name {exc.name!r}; "
            "it was not loaded and nothing was changed",
            f"{exc.hint}; fix the modulefile, or rename its directory if the name is built from it",
        )

    # ---- environment ----------------------------------------------------------------------------
    def setenv(self, name: str, value: str) -> None:
        if self._show(f'setenv("{name}","{value}")'):
            return
        if self.mode == "unload":
            self._apply(Op(Action.UNSET, name))
        else:
            self._apply(Op(Action.SET, name, str(value)))

    def unsetenv(self, name: str, restore: Optional[str] = None) -> None:
        if self._show(f'unsetenv("{name}","{restore}")' if restore is not None else f'unsetenv("{name}")'):
            return
        if self.mode == "unload":
            return  # Lmod ignores unsetenv's second argument when unloading
        else:
            self._apply(Op(Action.UNSET, name))

    def pushenv(self, name: str, value: Optional[str]) -> None:
        if self._show(f'pushenv("{name}","{value}")'):
            return
        import json  # only pushenv needs it; json pulls in re and enum

        state = self.engine.state
        try:
            check_op(Op(Action.SET, name))  # before the stack variable is written under a name built from it
        except InvalidName as exc:
            raise self.bad_name(exc) from None
        stack_name = STACK_PREFIX + name
        stack = json.loads(state.environ.get(stack_name, "[]"))
        if self.mode == "unload":
            previous = stack.pop() if stack else None
            self._apply(Op(Action.SET, name, previous) if previous is not None else Op(Action.UNSET, name))
        else:
            stack.append(state.get(name))
            self._apply(Op(Action.SET, name, str(value)) if value is not None else Op(Action.UNSET, name))
        if stack:
            state.environ[stack_name] = json.dumps(stack)
        else:
            state.environ.pop(stack_name, None)

    def path(self, action: str, name: str, value: str, sep: str = ":", priority: int = 0) -> None:
        extras = (f',delim="{sep}"' if sep != ":" else "") + (f',priority="{priority}"' if priority else "")
        shown = f'{action}_path{{"{name}","{value}"{extras}}}' if extras else f'{action}_path("{name}","{value}")'
        if self._show(shown):
            if self.mode == "spider" and name == "MODULEPATH" and action != "remove":
                self.modulepath_added.extend(p for p in str(value).split(sep) if p)
            return
        value = self._expand_home(str(value), sep)
        if name == "PATH" and "" in value.split(sep):  # Lmod never puts an empty entry (the current directory) in PATH
            value = sep.join(part for part in value.split(sep) if part)
            if not value:
                return
        if name == "MODULEPATH" and action != "remove":
            self.modulepath_added.extend(p for p in value.split(sep) if p)
        if name == "MODULEPATH" and self.mode in ("load", "unload"):
            # Lmod marks MODULEPATH changed on any edit of it, even one that leaves the value as it was
            self.engine.modulepath_edits = getattr(self.engine, "modulepath_edits", 0) + 1
        if self.mode == "unload":
            if action != "remove":  # with duplicate entries kept, the occurrence this call added goes
                self._apply(Op(Action.REMOVE, name, value, sep), where="first" if action == "prepend" else "last")
            return
        kind = {"prepend": Action.PREPEND, "append": Action.APPEND, "remove": Action.REMOVE}[action]
        self._apply(Op(kind, name, value, sep, int(priority)), force_remove=True)

    def _expand_home(self, value: str, sep: str) -> str:
        """`~` at the start of a path entry is the home directory (Lmod expands it in path functions)."""
        if "~" not in value:
            return value
        home = self.engine.state.get("HOME") or os.path.expanduser("~")
        return sep.join(home + part[1:] if part == "~" or part.startswith("~/") else part
                        for part in value.split(sep))

    def set_alias(self, name: str, value: str) -> None:
        if self._show(f'set_alias("{name}","{value}")'):
            return
        self._apply(Op(Action.UNALIAS, name) if self.mode == "unload" else Op(Action.ALIAS, name, value))

    def unset_alias(self, name: str) -> None:
        if self._show(f'unset_alias("{name}")') or self.mode == "unload":
            return
        self._apply(Op(Action.UNALIAS, name))

    def set_shell_function(self, name: str, body: str, csh_body: str = "") -> None:
        if self._show(f'set_shell_function("{name}","{body}")'):
            return
        self._apply(Op(Action.UNFUNCTION, name) if self.mode == "unload" else Op(Action.FUNCTION, name, body))

    def export_shell_function(self, name: str) -> None:
        """export_shell_function() (Lmod 8.7.57): bash exports the function to child processes (a job script, a
        `bash -c`); unloading removes the function, as Lmod does."""
        if self._show(f'export_shell_function("{name}")'):
            return
        self._apply(Op(Action.UNFUNCTION if self.mode == "unload" else Action.EXPORT_FUNCTION, name))

    def unset_shell_function(self, name: str) -> None:
        if self._show(f'unset_shell_function("{name}")') or self.mode == "unload":
            return
        self._apply(Op(Action.UNFUNCTION, name))

    # ---- dependencies ---------------------------------------------------------------------------
    def load(self, specs: Sequence[Spec], how: str = "load") -> None:
        """load / try_load / always_load / depends_on / load_any / mgrload."""
        if self._show(f'{how}({_shown_specs(specs)})') or self.managed:
            return
        if self.mode == "unload":
            if how in ("load", "try_load", "load_any"):
                self.engine.unload_from_modulefile([s.name for s in specs])
            elif how == "depends_on":
                self.engine.release_dependencies([s.name for s in specs])
            elif how == "depends_on_any":
                self.engine.release_any_dependency([s.name for s in specs])
            return
        self.engine.load_from_modulefile(list(specs), how, self)

    def purge(self) -> None:
        """purge() (Lmod 8.7.28): loading this module first unloads every other one (sticky ones stay)."""
        if self._show("purge()") or self.mode != "load":
            return
        self.engine.purge()

    def unload(self, names: Sequence[str]) -> None:
        if self._show(f'unload({_quoted_args(names)})') or self.mode == "unload" or self.managed:
            return
        self.engine.unload_from_modulefile(list(names))

    def prereq(self, names: Sequence[str | Spec], any_of: bool = False) -> None:
        specs = [n if isinstance(n, Spec) else Spec(n) for n in names]
        if self._show(f'{"prereq_any" if any_of else "prereq"}({_shown_specs(specs)})') or self.mode == "unload":
            return
        met = [s for s in specs if self.engine.satisfies(s)]
        if any_of and met:
            return
        missing = [s.describe() for s in specs if s not in met]
        if missing:
            raise MissingPrereq(
                f"cannot load module \"{self.fullname}\" ({self.file}): it needs the module(s) "
                f"{', '.join(missing)} loaded first",
                f"run: module load {' '.join(missing)}  (then load {self.fullname} again)",
            )

    def conflict(self, names: Sequence[str]) -> None:
        if self._show(f'conflict({_quoted_args(names)})') or self.mode == "unload":
            return
        found = [self.engine.loaded_fullname(n) for n in names if self.engine.is_loaded(n)]
        clashing = [c for c in found if c and c != self.fullname]
        if clashing:
            raise ModuleConflict(
                f"cannot load module \"{self.fullname}\" ({self.file}) because these module(s) are loaded: "
                f"{', '.join(clashing)}",
                f"unload them first: module unload {' '.join(clashing)}"
                f"  (or: module swap {clashing[0]} {self.fullname})",
            )

    def family(self, name: str) -> None:
        if self._show(f'family("{name}")'):
            return
        self.family_name = name
        var = "LMOD_FAMILY_" + name.upper()
        if not is_var_name(var):
            # Lmod writes LMOD_FAMILY_MY-TOOLCHAIN anyway, which no shell accepts as a name: the family still
            # holds (the module table records it), only its variables are left out
            if self.mode != "unload":
                self.engine.claim_family(name, self)
            return
        if self.mode == "unload":
            self._apply(Op(Action.UNSET, var))
            self._apply(Op(Action.UNSET, var + "_VERSION"))
            return
        self.engine.claim_family(name, self)
        self._apply(Op(Action.SET, var, self.sn))
        # a module without a version: Lmod writes its Lua `false` as the text "false"; scripts test for it
        self._apply(Op(Action.SET, var + "_VERSION", self.version or "false"))

    # ---- description ----------------------------------------------------------------------------
    def add_whatis(self, text: str) -> None:
        self.whatis.append(str(text))
        if self.mode == "show":
            self.shown.append(f'whatis("{text}")')

    def add_help(self, text: str, parts: Optional[Sequence[str]] = None) -> None:
        """The help text; ``parts``: the separate arguments of a Lua help(...), as show prints them."""
        self.help.append(str(text))
        if self.mode == "show":
            self.shown.append("help(" + ", ".join(f"[[{p}]]" for p in (parts or [text])) + ")")

    def add_extensions(self, text: str) -> None:
        self.extensions.extend(e.strip() for e in str(text).split(",") if e.strip())
        if self.mode == "show":
            self.shown.append(f'extensions("{text}")')

    def add_property(self, name: str, value: str) -> None:
        self.properties[str(name)] = str(value)
        if self.mode == "show":
            self.shown.append(f'add_property("{name}","{value}")')

    def remove_property(self, name: str, value: str) -> None:
        self.properties.pop(str(name), None)

    # ---- queries --------------------------------------------------------------------------------
    def is_loaded(self, name: str) -> bool:
        return self.engine.is_loaded(name)

    def is_avail(self, name: str) -> bool:
        return self.engine.is_avail(name)

    def loaded_modules(self) -> List[List[str]]:
        """[full name, short name, version, name as asked for, file] of each active module."""
        table = getattr(self.engine, "table", None)
        active = table.active() if table is not None else []
        return [[m.fullname, m.sn, m.version, m.user_name, m.file] for m in active]

    def stack_trace(self) -> str:
        """The modules being loaded, outermost first, as Lmod's moduleStackTraceBack() lists them."""
        rows = [("Module fullname", "Module Filename"), ("---------------", "---------------")]
        rows += [(name, file) for name, file in getattr(self.engine, "frames", [])] or [(self.fullname, self.file)]
        width = max(len(name) for name, _ in rows)
        return "".join(f"  {name:<{width}}  {file}\n" for name, file in rows)

    # ---- the rest of Lmod's sandbox -------------------------------------------------------------
    def inherit(self) -> None:
        """inherit(): run the modulefile of the same name from a later MODULEPATH directory, in this mode.
        The file found on load is remembered with the module: unloading runs that one, whatever MODULEPATH
        holds by then (a compiler swap may have taken its directory away), as Lmod's pushInheritFn."""
        key = f"inherit:{self.file}"
        parent = self.recorded.get(key) if self.mode == "unload" else None
        if parent is None or not os.path.isfile(parent):
            parent = _next_same_name(self.fullname, self.engine.state.get("MODULEPATH"), self.file)
        if parent is not None and self.mode == "load":
            self.recorded[key] = parent
        if parent is None:
            if self._show('inherit()'):
                return
            raise ModulefileError(f"module \"{self.fullname}\" ({self.file}) calls inherit(), but no other "
                                  f"\"{self.fullname}\" follows it on MODULEPATH",
                                  "install the module it inherits from, or remove inherit() from the modulefile")
        from roost.modules.engine import evaluate

        own_file = self.file
        self.file = parent
        try:
            evaluate(self, "lua" if parent.endswith(".lua") else "tcl")
        finally:
            self.file = own_file

    def execute(self, command: str, modes: Sequence[str]) -> None:
        """execute{cmd=..., modeA={...}}: run the command now, in the listed modes (output to the terminal)."""
        if self._show(f'execute{{cmd="{command}",modeA={{"{chr(34).join(modes)}"}}}}') or self.mode not in modes:
            return
        from roost.modules.sandbox import execute

        self.engine.state.flush()
        output, errors = execute(command, self.engine.state.environ)
        if output or errors:
            self.engine.messages.append((output + errors).rstrip("\n"))

    def complete(self, shell: str, command: str, args: str) -> None:
        """complete(shell, cmd, args): programmable completion for a command, given to the shell it names when
        that is the shell the output is for (Lmod: bash); unloading removes it."""
        if self._show(f'complete("{shell}","{command}","{args}")'):
            return
        op = Op(Action.UNCOMPLETE, command) if self.mode == "unload" else Op(Action.COMPLETE, command, args)
        self._checked(op)  # a bad name is the modulefile's error in every shell, not only where it would apply
        if shell == self.engine.shell:
            self._apply(op)

    def uncomplete(self, shell: str, command: str) -> None:
        if self._show(f'uncomplete("{shell}","{command}")') or shell != self.engine.shell or self.mode == "unload":
            return
        self._apply(Op(Action.UNCOMPLETE, command))

    def source_sh(self, shell: str, script: str) -> None:
        """source_sh(shell, script): what sourcing the script changes in the environment, done (and undone on
        unload) as modulefile actions.  The actions are remembered with the module, so unload undoes exactly
        what load did.  `show` runs the script too and lists what it does (a missing script fails the show),
        as Lmod."""
        if self._show(f'source_sh("{shell}","{script}")') and self.mode not in ("spider", "show"):
            return
        key = f"source_sh:{shell}:{script}"
        recorded = self.recorded.get(key)
        if recorded is not None and self.mode == "unload":
            import json

            ops = json.loads(recorded)
        else:
            from roost.modules.sandbox import source_sh_ops

            self.engine.state.flush()
            ops = source_sh_ops(shell, script, self.engine.state.environ)
        for op in ops:
            if op[0] == "setenv":
                self.setenv(op[1], op[2])
            elif op[0] == "unsetenv":
                self.unsetenv(op[1])
            else:
                self.path(op[0].split("_")[0], op[1], op[2])
        if self.mode == "load":
            import json

            self.recorded[key] = json.dumps(ops)

    def lmod_break(self, text: str) -> bool:
        """LmodBreak(): a load stops here; the module is not loaded and what it changed is undone."""
        if self.mode != "load":
            return False
        if text:
            self.message(text)
        return True

    # ---- messages -------------------------------------------------------------------------------
    def message(self, text: str, raw: bool = False) -> None:
        if self.mode in ("load", "unload"):
            self.engine.messages.append(str(text))

    def message_raw(self, text: str) -> None:
        """Text for the user exactly as given (Tcl's `puts stderr`, Lmod's LmodMsgRaw)."""
        if self.mode in ("load", "unload"):
            self.engine.messages.append(str(text))
        elif self.mode == "show":
            self.shown.append(f'LmodMsgRaw("{text}")')

    def print_stdout(self, text: str, early: bool = False) -> None:
        """Tcl's `puts stdout`: Lmod hands it to the shell to run; roost has the shell print it, as text.
        ``early`` (`puts prestdout`): before the rest of the command's output."""
        if self.mode in ("load", "unload"):
            (self.engine.printed_early if early else self.engine.printed).append(str(text))
        elif self.mode == "show" and early:
            self.shown.append(f"io.stdout:write([===[{text}]===])")
        elif self.mode == "show":
            self.shown.append(f'execute{{cmd="{text}",modeA={{"load"}}}}')

    def arguments_not_strings(self, command: str) -> None:
        """A modulefile function given a table or a number where Lmod wants text (`help{[[...]]}`): an error
        while loading, a warning in the other modes (Lmod's e_Args_Not_Strings); the call itself is skipped."""
        text = f"Syntax error in file: {self.file} with command: {command}, one or more arguments are not strings."
        if self.mode == "load":
            raise ModulefileError(text, f"pass {command}() strings: {command}(\"...\") or {command}([[...]])")
        if self.mode in DESCRIBE_MODES:  # show, whatis, help: the listing goes on, the command fails
            self.warnings.append(f"Lmod Warning:  {text}")
            self.failed = True
            return
        self.warning(text)

    def warning(self, text: str) -> None:
        if self.mode in ("load", "unload", "show"):
            self.engine.messages.append(
                f"Lmod Warning:  {text}\nWhile processing the following module(s):\n"
                f"    Module fullname  Module Filename\n    {self.fullname}  {self.file}\n")
            self.engine.warned = True

    def exit(self, status: int, given: Optional[str] = None) -> None:
        """os.exit(status): Lmod stops at once, prints nothing more, changes nothing and exits with status.
        `show` lists the call and goes on, spider ignores it (Lmod swaps os.exit for those two); ``given`` is
        the argument as the modulefile wrote it, for show."""
        if self.mode == "show":
            self.shown.append(f'os.exit("{given}")' if given is not None else "os.exit()")
            return
        if self.mode == "spider":
            return
        from roost.errors import ModulefileExit

        said = "".join(m if m.endswith("\n") else m + "\n" for m in self.engine.messages)
        raise ModulefileExit(
            status, f"the modulefile of \"{self.fullname}\" ({self.file}) called os.exit({status})",
            "nothing was changed; the module command exits with that status, as Lmod's does", said)

    def error(self, text: str) -> None:
        if self.mode == "unload":  # Lmod: the module is unloaded anyway, with a warning and a failed status
            self.warning(text)
            return
        if self.mode in ("load",):
            raise ModulefileError(f"{text}", f"raised by module \"{self.fullname}\" ({self.file})")
        if self.mode == "show":
            self.shown.append(f'LmodError("{text}")')
            self.failed = True


def _quoted_args(names: Iterable[str]) -> str:
    """Arguments as `module show` prints them: each double-quoted, separated by a bare comma (Lmod)."""
    return ",".join(f'"{name}"' for name in names)


def _shown_specs(specs: Iterable[Spec]) -> str:
    """Requests as `module show` prints them: names quoted, ranges as the call that made them."""
    return ",".join(s.describe() if s.low or s.high or s.latest else f'"{s.name}"' for s in specs)


def _next_same_name(fullname: str, modulepath: Optional[str], current: str) -> Optional[str]:
    """The file of ``fullname`` in the first MODULEPATH directory after the one holding ``current``."""
    from roost.modules.tree import split_modulepath

    found: List[str] = []
    for directory in split_modulepath(modulepath):
        base = os.path.join(directory, fullname)
        found += [p for p in (base + ".lua", base) if os.path.isfile(p)][:1]
    real = os.path.realpath(current)
    for index, file in enumerate(found):
        if os.path.realpath(file) == real:
            return found[index + 1] if index + 1 < len(found) else None
    return None


def path_join(*parts: str) -> str:
    joined = os.path.join(*[str(p) for p in parts]) if parts else ""
    return joined.replace("//", "/")
