"""Running Tcl modulefiles, ``.modulerc`` and ``.version`` files in a real Tcl 8.6 interpreter (``_tkinter``).

Lmod runs a Tcl modulefile by translating it to Lua first (``tcl2lua.tcl``) and then executing the Lua, so
during the Tcl evaluation

* ``$env(NAME)`` sees the environment as it was when the file started, plus the file's own
  ``setenv``/``unsetenv``/``pushenv`` (not its path edits, not the modules it loads), and
* ``is-loaded`` sees the modules loaded when the file started.

roost gets the same semantics the same way: while Tcl runs, the modulefile's actions are only recorded; when
the file has finished they are replayed, in order, on the :class:`~roost.modules.frame.Frame`.  Recording also
lets ``break`` abandon a modulefile without a trace (Lmod's ``LmodBreak``).

One interpreter per process (per thread, strictly), created on first use.  Modulefiles run in child
interpreters (one per nesting depth: an ``is-avail`` may read an rc file while a modulefile runs) whose ``env``
array is a plain array filled from the engine's working environment, so nothing a modulefile does reaches
``os.environ``.  After each file the child is put back to its pristine state (new globals, commands and
namespaces removed); if the file damaged it beyond that (renamed a command, redefined a built-in procedure) the
child is thrown away and made again.
"""

from __future__ import annotations

import os
import re
from _thread import get_ident
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from roost.errors import ModulefileError, RoostError
from roost.modules.frame import TOOL_ENVIRON, TOOL_VERSION, Frame, Spec
from roost.modules.tree import RcInfo

# Lmod's tcl2lua names the modes load / remove / display.
_TCL_MODES = {"load": "load", "unload": "remove"}
_HELP_MODES = ("show", "help", "spider")  # the modes in which Lmod calls ModulesHelp (tcl2lua's -h)
# Lmod strips trailing newlines and spaces from the arguments of these commands (tcl2lua's cmdargs).
_TRAILING = "\r\n "

MODULEFILE_COMMANDS = (
    "setenv", "unsetenv", "pushenv", "prepend-path", "append-path", "remove-path", "module", "module-whatis",
    "prereq", "prereq-any", "conflict", "is-loaded", "is-avail", "is-used", "module-info", "set-alias",
    "unset-alias", "set-function", "unset-function", "family", "add-property", "remove-property",
    "extensions", "always-load", "depends-on", "puts", "exit", "getenv", "uname", "versioncmp", "system",
    "require-fullname", "module-log", "module-trace", "module-user", "module-verbosity", "complete",
)
RC_COMMANDS = ("module-version", "module-alias", "hide-version", "hide-modulefile", "module-hide",
               "module-forbid", "module-tag", "module-virtual")
_RC_ALLOWED = frozenset((*RC_COMMANDS, "module-info", "puts", "exit", "getenv", "uname", "versioncmp",
                         "is-loaded"))
_NO_OPS = frozenset({"module-forbid", "module-tag"})
# Environment Modules 4/5 commands that Lmod 8.6's tcl2lua does not define: Lmod fails the modulefile with
# "invalid command name", and so does roost, saying what to write instead.
_NOT_IN_LMOD = {
    "getenv": "read the variable as $env(NAME), guarded by [info exists env(NAME)]",
    "is-used": "test the directory against [split $env(MODULEPATH) :]",
    "module-user": "remove it (Lmod has no user levels)",
    "module-log": "remove it (Lmod has no module-log)",
    "module-trace": "remove it (Lmod has no module-trace)",
    "module-verbosity": "remove it (Lmod has no module-verbosity)",
}
# What tcl2lua writes a value into: a double-quoted Lua string in which it escapes a tab as backslash-tab, an
# escape Lua rejects.  Lmod therefore fails any modulefile whose values hold a tab; so does roost.
_LUA_QUOTED = frozenset({"setenv", "unsetenv", "pushenv", "prepend-path", "append-path", "remove-path",
                         "set-alias", "set-function", "add-property", "remove-property", "family", "conflict",
                         "prereq", "prereq-any", "always-load", "depends-on"})

_SETUP = r"""
namespace eval ::roost {variable base}
proc ::roost::call {args} {
    lassign [::roost::py {*}$args] status value
    if {$status eq "ok"} { return $value }
    if {$status eq "exit"} { return -code error -errorcode {ROOST EXIT} "exit" }
    return -code error -errorcode {ROOST USAGE} $value
}
proc ::roost::report {msg opts} {
    variable last [list $msg $opts]
}
proc ::roost::make {c depth cmds} {
    variable base
    interp create $c
    interp eval $c {unset -nocomplain ::env}
    interp hide $c puts
    foreach cmd $cmds { interp alias $c $cmd {} ::roost::call $depth $cmd }
    interp alias $c ::__roost_report {} ::roost::report
    set base($c,packages) [lsort [interp eval $c {package names}]]
    set base($c,auto_path) [interp eval $c {set ::auto_path}]
    set base($c,globals) [dict create]
    foreach v [interp eval $c {info globals}] { dict set base($c,globals) $v 1 }
    set base($c,cmds) [lsort [interp eval $c {info commands ::*}]]
    set base($c,ns) [lsort [interp eval $c {namespace children ::}]]
    set base($c,aliases) [lsort [interp aliases $c]]
    set base($c,procs) [dict create]
    foreach p [interp eval $c {info procs ::*}] {
        dict set base($c,procs) $p [interp eval $c [list info body $p]]
    }
}
proc ::roost::run {c code} {
    variable last
    set rc [interp eval $c [list catch $code ::__roost_msg ::__roost_opts]]
    # the outcome is handed out by substitution alone: the file may have redefined set, foreach, dict...
    interp eval $c {::__roost_report $::__roost_msg $::__roost_opts}
    lassign $last msg opts
    set result [list $msg "" 0 0]
    foreach {i k} {1 -errorinfo 2 -errorline 3 -code} {
        if {[dict exists $opts $k]} { lset result $i [dict get $opts $k] }
    }
    return [list $rc {*}$result]
}
proc ::roost::reset {c} {
    variable base
    interp eval $c {unset -nocomplain ::env}
    foreach v [interp eval $c {info globals}] {
        if {![dict exists $base($c,globals) $v]} { interp eval $c [list unset -nocomplain ::$v] }
    }
    foreach ns [interp eval $c {namespace children ::}] {
        if {$ns ni $base($c,ns)} { interp eval $c [list namespace delete $ns] }
    }
    foreach cmd [interp eval $c {info commands ::*}] {
        if {[lsearch -exact -sorted $base($c,cmds) $cmd] < 0} { interp eval $c [list rename $cmd {}] }
    }
    # packages the file required are forgotten: the next file's `package require` loads them into it again
    foreach p [interp eval $c {package names}] {
        if {[lsearch -exact -sorted $base($c,packages) $p] < 0} { interp eval $c [list package forget $p] }
    }
    interp eval $c [list set ::auto_path $base($c,auto_path)]
    if {[lsort [interp eval $c {info procs ::*}]] ne [lsort [dict keys $base($c,procs)]]} { return 0 }
    if {[lsort [interp eval $c {info commands ::*}]] ne $base($c,cmds)} { return 0 }
    if {[lsort [interp aliases $c]] ne $base($c,aliases)} { return 0 }
    foreach alias $base($c,aliases) {
        if {[lindex [interp alias $c $alias] 0] ne "::roost::call"} { return 0 }
    }
    dict for {p body} $base($c,procs) {
        if {[catch {interp eval $c [list info body $p]} now] || $now ne $body} { return 0 }
    }
    return 1
}
"""


class _Interpreter:
    """The process's Tcl interpreter and its pool of child interpreters, one per nesting depth."""

    def __init__(self) -> None:
        import _tkinter  # what tkinter.Tcl() wraps; importing tkinter itself costs ~15 ms more

        # (screenName, baseName, className, interactive, wantobjects, wantTk, sync, use): strings, no Tk.
        self.tk: Any = _tkinter.create(None, "roost", "Tk", False, False, False, False, None)
        self.tk.eval(_SETUP)
        self.tk.createcommand("::roost::py", self._dispatch)
        self.contexts: List[Optional[_Evaluation]] = []
        self.built: List[bool] = []

    def _dispatch(self, depth: str, command: str, *args: str) -> Tuple[str, str]:
        context = self.contexts[int(depth)]
        if context is None:
            return ("error", f"{command} was called outside a modulefile")
        try:
            return context.dispatch(command, list(args))
        except _Exit:
            return ("exit", "")
        except RoostError as exc:  # e.g. a bad variable name: a Tcl error the modulefile's line is added to
            return ("error", exc.message)
        except Exception as exc:  # a callback must never raise into _tkinter; report it as a Tcl error
            return ("error", f"{command}: {exc}")

    def acquire(self, context: _Evaluation) -> int:
        """A free child interpreter for ``context``, its ``env`` array filled; returns its depth."""
        depth = self.contexts.index(None) if None in self.contexts else len(self.contexts)
        if depth == len(self.contexts):
            self.contexts.append(None)
            self.built.append(False)
        child = _child_name(depth)
        if not self.built[depth]:
            self.tk.call("::roost::make", child, str(depth), MODULEFILE_COMMANDS + RC_COMMANDS)
            self.built[depth] = True
        self.contexts[depth] = context
        flat: List[str] = []
        for name, value in context.env.items():
            flat.append(name)
            flat.append(value)
        self.tk.call("interp", "eval", child, ("array", "set", "::env", tuple(flat)))
        for name, value in (("ModulesCurrentModulefile", context.file), ("ModuleTool", "Lmod"),
                            ("ModuleToolVersion", TOOL_VERSION)):
            self.tk.call("interp", "eval", child, ("set", "::" + name, value))
        return depth

    def release(self, depth: int) -> None:
        child = _child_name(depth)
        self.contexts[depth] = None
        try:
            reusable = self.tk.call("::roost::reset", child) == "1"
        except Exception:  # _tkinter.TclError: the file broke the child so that even the reset fails
            reusable = False
        if not reusable:
            self.built[depth] = False
            self.tk.call("catch", ("interp", "delete", child))  # catch: it may be gone already

    def run(self, depth: int, code: str) -> Tuple[int, str, str, int, int]:
        try:
            result = self.tk.call("::roost::run", _child_name(depth), code)
        except Exception as exc:  # the file damaged what ::roost::run relies on (e.g. renamed `catch`)
            return 1, f"the modulefile broke the Tcl interpreter: {exc}", "", 0, 0
        rc, message, info, line, option_code = self.tk.splitlist(result)
        return int(rc), message, info, _int(line), _int(option_code)

    def eval_in(self, depth: int, script: Tuple[Any, ...]) -> str:
        return str(self.tk.call("interp", "eval", _child_name(depth), script))

    def invoke_hidden(self, depth: int, *args: str) -> str:
        return str(self.tk.call("interp", "invokehidden", _child_name(depth), *args))


def _child_name(depth: int) -> str:
    return f"roost_mf{depth}"


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


# One per thread: a Tcl interpreter only answers the thread that made it (others get "main thread is not in
# main loop").  The module command has one thread, so in practice this is one interpreter per process.
_interpreters: Dict[int, _Interpreter] = {}


def interpreter() -> _Interpreter:
    """This thread's Tcl interpreter, made on first use."""
    ident = get_ident()
    made = _interpreters.get(ident)
    if made is None:
        made = _interpreters[ident] = _Interpreter()
    return made


class _Exit(Exception):
    """``exit`` in a modulefile: stop evaluating it, keeping what it did so far."""


# A recorded action: a Frame method name and its arguments (replayed after the Tcl evaluation).
Action = Tuple[str, Tuple[Any, ...]]


class _Evaluation:
    """One modulefile (or rc file) evaluation: the commands' Python side and what they recorded."""

    def __init__(self, frame: Optional[Frame], file: str, env: Dict[str, str], sn: str = "") -> None:
        self.frame = frame
        self.file = file
        self.env = env
        self.sn = sn
        self.actions: List[Action] = []
        self.exited = False
        self.exit_status = 0
        self.rc_said: List[str] = []  # what an rc file wrote on stderr
        self.help_text: Optional[List[str]] = None  # collecting ModulesHelp's output
        self.depth = 0
        self.rc = RcInfo()
        self.mode = frame.get_mode() if frame is not None else ""
        self.handlers: Dict[str, Callable[[List[str]], str]] = {
            "setenv": self._setenv, "unsetenv": self._unsetenv, "pushenv": self._pushenv,
            "prepend-path": lambda a: self._path("prepend", a),
            "append-path": lambda a: self._path("append", a),
            "remove-path": lambda a: self._path("remove", a), "module": self._module,
            "module-whatis": self._whatis, "prereq": self._prereq, "prereq-any": self._prereq,
            "conflict": self._conflict, "is-loaded": self._is_loaded, "is-avail": self._is_avail,
            "is-used": self._is_used, "module-info": self._module_info, "set-alias": self._set_alias,
            "unset-alias": self._unset_alias, "set-function": self._set_function,
            "unset-function": self._unset_function, "complete": self._complete, "family": self._family,
            "add-property": self._add_property, "remove-property": self._remove_property,
            "extensions": self._extensions, "always-load": lambda a: self._load(a, "always_load"),
            "depends-on": lambda a: self._load(a, "depends_on"),
            "puts": self._puts, "exit": self._exit, "getenv": self._getenv, "uname": _uname,
            "versioncmp": _versioncmp, "system": self._system,
            "require-fullname": lambda a: self.record("require_full_name"),
            "module-version": self._rc_version, "module-alias": self._rc_alias, "hide-version": self._rc_hide,
            "hide-modulefile": self._rc_hide_file, "module-hide": self._rc_module_hide,
            "module-virtual": self._rc_virtual,
        }

    # ---- plumbing -------------------------------------------------------------------------------
    def dispatch(self, command: str, args: List[str]) -> Tuple[str, str]:
        if self.frame is None and command not in _RC_ALLOWED:
            return ("error", f"{command} is not allowed in a modulerc file (only module-version, "
                             "module-alias, hide-version and hide-modulefile are)")
        if self.frame is not None and command in RC_COMMANDS:
            return ("error", f"{command} belongs in a .modulerc file, not in a modulefile")
        if command in _NO_OPS:
            return ("ok", "")
        if self.frame is not None and command in _NOT_IN_LMOD:
            raise ModulefileError(f"{command} is an Environment Modules command that Lmod does not provide "
                                  f"(instead: {_NOT_IN_LMOD[command]})", _NOT_IN_LMOD[command])
        if command in _LUA_QUOTED and any("\t" in arg for arg in args):
            raise ModulefileError(f"{command}: a value holds a tab character, which Lmod cannot read from a Tcl "
                                  "modulefile (use a space, or write the module in Lua)", "use a space")
        if self.exited and command != "puts":
            raise _Exit()  # the modulefile caught our exit and went on: stop it again
        result = self.handlers[command](args)
        return ("ok", result)

    def record(self, method: str, *args: Any) -> str:
        self.actions.append((method, args))
        return ""

    def frame_(self) -> Frame:
        assert self.frame is not None  # dispatch() lets only rc commands through without a frame
        return self.frame

    def _tcl_mode(self) -> str:
        return _TCL_MODES.get(self.mode, "display")

    # ---- environment ----------------------------------------------------------------------------
    def _setenv(self, args: List[str]) -> str:
        name, value = _args(args, "setenv VARIABLE VALUE", 2)
        value = value.rstrip(_TRAILING)
        if self.mode == "load":  # tcl2lua: later $env(...) reads in this file see it (not while unloading)
            self._set_tcl_env(name, value)
        return self.record("setenv", name, value)

    def _unsetenv(self, args: List[str]) -> str:
        if not 1 <= len(args) <= 2:
            raise _usage("unsetenv VARIABLE [VALUE-WHEN-UNLOADED]")
        name = args[0]
        # Environment Modules sets VALUE when unloading; Lmod (MC_Unload.unsetenv is quiet) ignores it
        if self.mode == "load":
            self._set_tcl_env(name, None)
        return self.record("unsetenv", name, args[1] if len(args) > 1 else None)

    def _pushenv(self, args: List[str]) -> str:
        name, value = _args(args, "pushenv VARIABLE VALUE", 2)
        value = value.rstrip(_TRAILING)
        self._set_tcl_env(name, value)
        return self.record("pushenv", name, value)

    def _set_tcl_env(self, name: str, value: Optional[str]) -> None:
        if value is None:
            self.env.pop(name, None)
            interpreter().eval_in(self.depth, ("unset", "-nocomplain", f"::env({name})"))
        else:
            self.env[name] = value
            interpreter().eval_in(self.depth, ("array", "set", "::env", (name, value)))

    def _getenv(self, args: List[str]) -> str:
        if not args or len(args) > 3 or (args[0] == "--return-value" and len(args) == 1):
            raise _usage("getenv [--return-value] VARIABLE [DEFAULT]")
        if args[0] == "--return-value":
            args = args[1:]
        value = self.env.get(args[0])
        return value if value is not None else (args[1] if len(args) > 1 else "")

    def _path(self, action: str, args: List[str]) -> str:
        usage = f"{action}-path [-d C|--delim C|--delim=C] VARIABLE VALUE... [PRIORITY]"
        sep = ":"
        while args and args[0].startswith("-"):
            option = args.pop(0)
            if option.startswith("--delim="):
                sep = option[len("--delim="):]
            elif option in ("-d", "-delim", "--delim"):
                if not args:
                    raise _usage(usage)
                sep = args.pop(0)
            elif option in ("--duplicates", "--glob"):
                continue
            elif option == "--":
                break
            else:
                raise ModulefileError(f"{action}-path: unknown option {option!r}", f"usage: {usage}")
        if len(args) < 2:
            raise _usage(usage)
        name, values = args[0], args[1:]
        priority = 0
        if len(values) > 1 and re.fullmatch(r"-?\d+", values[-1]):  # Lmod's `prepend-path VAR VALUE PRIORITY`
            priority = int(values.pop())
        # Lmod 8.6's tcl2lua passes only the first value on (`append-path FOO /a /b` adds /a)
        self.record("path", action, name, values[0], sep or ":", priority)
        return ""

    def _set_alias(self, args: List[str]) -> str:
        name, value = _args(args, "set-alias NAME VALUE", 2)
        return self.record("set_alias", name, value.rstrip(_TRAILING))

    def _unset_alias(self, args: List[str]) -> str:
        (name,) = _args(args, "unset-alias NAME", 1)
        return self.record("unset_alias", name)

    def _set_function(self, args: List[str]) -> str:
        name, body = _args(args, "set-function NAME BODY", 2)
        return self.record("set_shell_function", name, body.rstrip(_TRAILING), "")

    def _unset_function(self, args: List[str]) -> str:
        (name,) = _args(args, "unset-function NAME", 1)
        return self.record("unset_shell_function", name)

    def _complete(self, args: List[str]) -> str:
        # tcl2lua: complete SHELL NAME ARGS... is complete("SHELL","NAME","ARGS joined by spaces")
        if len(args) < 2:
            raise _usage("complete SHELL NAME ARGS...")
        return self.record("complete", args[0], args[1], " ".join(a.rstrip("\r\n ") for a in args[2:]))

    # ---- dependencies ---------------------------------------------------------------------------
    def _module(self, args: List[str]) -> str:
        if not args:
            raise _usage("module load|try-load|unload|switch|use|unuse NAME...")
        sub, names = args[0], [a.rstrip(_TRAILING) for a in args[1:] if not a.startswith("-")]
        if sub in ("load", "add"):
            return self._load(names, "load")
        if sub in ("try-load", "try-add"):
            return self._load(names, "try_load")
        if sub == "load-any":
            return self._load(names, "load_any")
        if sub in ("unload", "rm", "del", "remove"):
            # tcl2lua turns `module unload X` into load("X") while unloading, which unloads X as well
            if self.mode == "unload":
                return self._load(names, "load")
            return self.record("unload", names)
        if sub in ("switch", "swap"):
            return self._swap(names)
        if sub in ("use", "unuse"):
            return self._use(sub, args[1:])
        return ""  # tcl2lua ignores every other sub-command (module clear, module list, ...): so does roost

    def _load(self, names: List[str], how: str) -> str:
        if not names:
            raise _usage(f"{how.replace('_', '-')} NAME...")
        # `module load ""` is kept: `show` lists it and a load fails on the unknown name "" (as Lmod)
        names = [n.rstrip(_TRAILING) for n in names if n] or [""]
        return self.record("load", [Spec(n) for n in names], how)

    def _swap(self, names: List[str]) -> str:
        if not 1 <= len(names) <= 2:
            raise _usage("module switch [OLD] NEW")
        old, new = names[0], names[-1]
        if self.mode == "unload":  # tcl2lua: unload(old); load(new) -- both unload while unloading
            return self.record("load", [Spec(old), Spec(new)], "load")
        self.record("unload", [old])
        return self.record("load", [Spec(new)], "load")

    def _use(self, sub: str, args: List[str]) -> str:
        action = "prepend" if sub == "use" else "remove"
        for arg in args:
            if arg in ("-a", "--append", "-append") and sub == "use":
                action = "append"
            elif arg in ("-p", "--prepend", "-prepend") and sub == "use":
                action = "prepend"
            elif arg:
                self.record("path", action, "MODULEPATH", arg, ":", 0)
        return ""

    def _prereq(self, args: List[str]) -> str:
        names = [a.rstrip(_TRAILING) for a in args if a and not a.startswith("-")]
        if not names:
            raise _usage("prereq NAME...")
        return self.record("prereq", names, True)  # tcl2lua: any one of a Tcl prereq's names satisfies it

    def _conflict(self, args: List[str]) -> str:
        names = [a.rstrip(_TRAILING) for a in args if a]
        if not names:
            raise _usage("conflict NAME...")
        return self.record("conflict", names)

    def _family(self, args: List[str]) -> str:
        (name,) = _args(args, "family NAME", 1)
        return self.record("family", name.rstrip(_TRAILING))

    # ---- queries --------------------------------------------------------------------------------
    def _is_loaded(self, args: List[str]) -> str:
        if self.frame is None:
            return "0"
        names = [a for a in args if a]
        if not names:
            return _flag(bool(self.env.get("LOADEDMODULES")))
        return _flag(any(self.frame.is_loaded(n) for n in names))

    def _is_avail(self, args: List[str]) -> str:
        names = [a for a in args if a]
        if not names:
            raise _usage("is-avail NAME...")
        return _flag(any(self.frame_().is_avail(n) for n in names))

    def _is_used(self, args: List[str]) -> str:
        used = [p.rstrip("/") for p in (self.env.get("MODULEPATH") or "").split(":") if p]
        names = [a.rstrip("/") for a in args if a]
        return _flag(any(n in used for n in names) if names else bool(used))

    def _module_info(self, args: List[str]) -> str:
        if not args:
            raise _usage("module-info mode|name|version|specified|shell|shelltype [ARGUMENT]")
        what, more = args[0], (args[1] if len(args) > 1 else "")
        frame = self.frame
        if what == "mode":
            mode = self._tcl_mode()
            if not more:
                return mode
            return _flag(more == mode or (more == "unload" and mode == "remove") or more == self.mode)
        if what == "name":
            return frame.my_full_name() if frame else ""
        if what == "specified":
            return frame.user_name if frame else ""
        if what == "version":
            sn, _, version = more.partition("/")
            return f"{sn}/{version or 'default'}"
        if what == "shell":
            return self._shell()
        if what == "shelltype":
            return _SHELL_TYPES.get(self._shell(), self._shell())
        if what in ("flags", "user", "symbols", "tags"):
            return "0" if more else ""
        raise ModulefileError(f"module-info {what}: not supported",
                              "use module-info mode, name, version, specified, shell or shelltype")

    def _shell(self) -> str:
        engine = self.frame.engine if self.frame is not None else None
        return str(getattr(engine, "shell", "") or "bash")

    # ---- description ----------------------------------------------------------------------------
    def _whatis(self, args: List[str]) -> str:
        text = " ".join(args).replace("\n", " ").rstrip()
        return self.record("add_whatis", text)

    def _add_property(self, args: List[str]) -> str:
        name, value = _args(args, "add-property NAME VALUE", 2)
        return self.record("add_property", name, value.rstrip(_TRAILING))

    def _remove_property(self, args: List[str]) -> str:
        name, value = _args(args, "remove-property NAME VALUE", 2)
        return self.record("remove_property", name, value.rstrip(_TRAILING))

    def _extensions(self, args: List[str]) -> str:
        if args:
            self.record("add_extensions", ",".join(args))
        return ""

    # ---- output and control ---------------------------------------------------------------------
    def _puts(self, args: List[str]) -> str:
        nonewline = bool(args) and args[0] == "-nonewline"
        rest = args[1:] if nonewline else list(args)
        if len(rest) == 1:
            channel, text = "stdout", rest[0]
        elif len(rest) == 2 and rest[1] != "-nonewline":
            channel, text = rest
        elif len(rest) == 3 and rest[1] == "-nonewline":  # the old `puts channel text nonewline` form
            channel, text, nonewline = rest[0], rest[1], True
        else:
            raise _usage("puts ?-nonewline? ?channel? string")
        if self.help_text is not None:  # inside ModulesHelp: whatever it prints, on any channel, is the help
            self.help_text.append(text if nonewline else text + "\n")
            return ""
        if channel not in ("stdout", "stderr", "prestdout"):
            return interpreter().invoke_hidden(self.depth, "puts", *args)  # a file the modulefile opened
        if self.frame is None:
            if channel == "stderr":  # shown only if the rc file then exits (RcFileExit)
                self.rc_said.append(text if nonewline else text + "\n")
            return ""
        if channel == "stderr":
            return self.record("message_raw", text if nonewline else text + "\n")
        # Lmod sends stdout to the shell to run (tcl2lua's execute{}); roost prints it there as text, never as
        # code; `prestdout` (Lmod's own channel) comes before everything else the command writes
        return self.record("print_stdout", text if nonewline else text + "\n", channel == "prestdout")

    def _exit(self, args: List[str]) -> str:
        status = _int(args[0]) if args else 1  # tcl2lua: `exit` alone is os.exit(1)
        if self.mode == "show":  # Lmod's show lists the os.exit() tcl2lua made of it, and goes on
            return self.record("exit", status, str(status))
        self.exited = True
        self.exit_status = status
        raise _Exit()

    def _system(self, args: List[str]) -> str:
        if self.mode not in ("load", "unload"):
            return ""
        import subprocess

        # stdout carries the shell code of the module command: the command's output must not reach it
        done = subprocess.run(["/bin/sh", "-c", " ".join(args)], stdout=subprocess.DEVNULL, check=False)
        return str(done.returncode)

    # ---- modulerc ---------------------------------------------------------------------------------
    def _rc_version(self, args: List[str]) -> str:
        if len(args) < 2:
            raise _usage("module-version NAME SYMBOL...")
        target = _rc_name(args[0], self.sn)
        sn = target.rpartition("/")[0] or target
        for symbol in args[1:]:
            self.rc.versions[f"{sn}/{symbol}"] = target
        return ""

    def _rc_alias(self, args: List[str]) -> str:
        alias, target = _args(args, "module-alias ALIAS TARGET", 2)
        self.rc.aliases[alias] = _rc_name(target, self.sn)
        return ""

    def _rc_hide(self, args: List[str]) -> str:
        (name,) = _args(args, "hide-version NAME", 1)
        self.rc.hidden.append(_rc_name(name, self.sn))
        return ""

    def _rc_virtual(self, args: List[str]) -> str:
        name, target = _args(args, "module-virtual NAME TARGET", 2)
        self.rc.add_virtual(_rc_name(name, self.sn), _rc_name(target, self.sn))
        return ""

    def _rc_hide_file(self, args: List[str]) -> str:
        (path,) = _args(args, "hide-modulefile PATH", 1)
        self.rc.hidden.append("file:" + path)
        return ""

    def _rc_module_hide(self, args: List[str]) -> str:
        # Environment Modules: module-hide [--soft|--hard|--before D|--after D|--not-user L...] NAME...
        names: List[str] = []
        skip = False
        for arg in args:
            if skip:
                skip = False
            elif arg in ("--before", "--after", "--not-user", "--not-group", "--user", "--group"):
                skip = True
            elif not arg.startswith("-"):
                names.append(arg)
        for name in names:
            self.rc.hidden.append(_rc_name(name, self.sn))
        return ""


_SHELL_TYPES = {"bash": "sh", "sh": "sh", "zsh": "sh", "ksh": "sh", "fish": "fish", "csh": "csh",
                "tcsh": "csh", "python": "python", "json": "python"}


def _args(args: List[str], usage: str, count: int) -> List[str]:
    if len(args) != count:
        raise _usage(usage)
    return args


def _usage(usage: str) -> ModulefileError:
    return ModulefileError(f"wrong arguments: should be \"{usage}\"", usage)


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _rc_name(name: str, sn: str) -> str:
    """In an sn directory's rc file, ``/1.2`` (and a bare ``1.2``) name a version of that sn."""
    if sn and name.startswith("/"):
        return sn + name
    if sn and "/" not in name and name != sn:
        return f"{sn}/{name}"
    return name


def _uname(args: List[str]) -> str:
    (what,) = _args(args, "uname sysname|machine|nodename|release|version|domain", 1)
    info = os.uname()
    values = {"sysname": info.sysname, "machine": info.machine, "nodename": info.nodename,
              "node": info.nodename, "release": info.release, "version": info.version,
              "domain": _nis_domain()}
    if what not in values:
        raise ModulefileError(f"uname {what}: not supported",
                              "use sysname, machine, nodename, release or version")
    return values[what]


def _nis_domain() -> str:
    """What /bin/domainname prints, which Lmod's `uname domain` runs: the kernel's NIS domain name."""
    try:
        with open("/proc/sys/kernel/domainname", encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return "(none)"


def _versioncmp(args: List[str]) -> str:
    """Environment Modules' versioncmp: -1, 0 or 1 by Tcl's dictionary ordering ("1.10" > "1.9")."""
    first, second = _args(args, "versioncmp VERSION1 VERSION2", 2)
    if first == second:
        return "0"
    return "-1" if _dictionary_key(first) < _dictionary_key(second) else "1"


def _dictionary_key(text: str) -> List[Tuple[int, int, str]]:
    # lsort -dictionary: digit runs compare as integers, other text case-insensitively
    parts = re.findall(r"\d+|\D+", text)
    return [(0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in parts]


# ------------------------------------------------------------------------------------------ evaluation


def _working_environ(frame: Frame) -> Dict[str, str]:
    """The engine's environment as the modulefile starts (what Lmod's process environment would be)."""
    state = getattr(frame.engine, "state", None)
    if state is not None and hasattr(state, "export_environ"):
        return {**TOOL_ENVIRON, **state.export_environ()}
    return dict(TOOL_ENVIRON)


def _evaluate(context: _Evaluation, code: str, *, help_proc: bool,
              after: Optional[Callable[[_Interpreter, int], None]] = None) -> Tuple[int, str, str, int]:
    """Run the code in a child interpreter; returns (Tcl return code, message, errorInfo, error line)."""
    tcl = interpreter()
    depth = tcl.acquire(context)
    context.depth = depth
    try:
        rc, message, info, line, option_code = tcl.run(depth, code)
        if rc == 2 and option_code == 1:  # `return -code error MSG` at the top level
            rc = 1
        if help_proc and rc in (0, 2, 4) and tcl.eval_in(depth, ("info", "procs", "ModulesHelp")):
            _collect_help(tcl, context, depth)
        if after is not None:
            after(tcl, depth)
        return rc, message, info, line
    finally:
        tcl.release(depth)


def _collect_help(tcl: _Interpreter, context: _Evaluation, depth: int) -> None:
    context.help_text = []
    try:
        tcl.eval_in(depth, ("catch", "ModulesHelp"))  # Lmod ignores errors in ModulesHelp
    finally:
        text = "".join(context.help_text)
        context.help_text = None
    context.record("add_help", text)


def evaluate_modulefile(frame: Frame, code: str) -> None:
    """Run a Tcl modulefile in the frame's mode: evaluate it, then replay what it did on the frame."""
    context = _Evaluation(frame, frame.file, _working_environ(frame))
    rc, message, info, line = _evaluate(context, code, help_proc=frame.get_mode() in _HELP_MODES)
    mode = frame.get_mode()
    if context.exited and mode in ("load", "unload"):
        # tcl2lua turns exit into os.exit: Lmod ends the whole command there, even when the file caught it
        _replay(frame, [a for a in context.actions if a[0] in ("message", "message_raw")])
        frame.exit(context.exit_status)
    if rc == 1 and context.exited:
        rc = 0  # `exit` while describing (possibly inside a proc or a loop): stop here, keep what was done
    if rc == 1 and message == 'invoked "continue" outside of a loop':
        rc = 4  # a proc that ran `continue`: as at the top level, the file stops and keeps what it did
    if rc == 3 or (rc == 1 and message == 'invoked "break" outside of a loop'):
        if mode == "load":  # LmodBreak: the module is not loaded and its changes are discarded
            _replay(frame, [a for a in context.actions if a[0] in ("message", "message_raw")])
            frame.abandoned = True  # type: ignore[attr-defined]  # the engine then does not record it
            return
        rc = 0
    if rc == 1:
        error = _modulefile_error(frame, code, message, info, line)
        if mode == "load":
            raise error
        _replay(frame, context.actions)  # Lmod keeps the actions before the error and only warns
        if mode == "unload":
            frame.warning(error.message)
        else:
            frame.error(error.message)
        return
    _replay(frame, context.actions)


def _replay(frame: Frame, actions: Sequence[Action]) -> None:
    for method, args in actions:
        getattr(frame, method)(*args)


# ------------------------------------------------------------------------------------------ errors

# errorInfo's location lines: `(procedure "f" line 3)` and `("foreach" body line 4)`
_FRAME_LINE = re.compile(
    r'\n\s+\((?:procedure "(?P<proc>[^"]+)"|"(?P<what>[^"]+)" (?P<kind>[^)]*?)) line (?P<line>\d+)\)'
)


def _error_line(code: str, info: str, line: int) -> int:
    """The line of the modulefile where the error happened, from Tcl's -errorline and errorInfo.

    Tcl's -errorline is the line of the failing top-level command (exact for commands in inline-compiled
    ``if`` bodies); errorInfo adds, innermost first, the line within each loop body or procedure."""
    for match in reversed(list(_FRAME_LINE.finditer(info))):  # outermost first
        proc, kind, offset = match.group("proc"), match.group("kind"), int(match.group("line"))
        if proc:  # `(procedure "f" line 3)`: relative to the start of f's definition
            definition = _proc_definition_line(code, proc.lstrip(":"))
            if not definition:
                return line
            line = definition + offset - 1
        elif kind in ("body", "then script", "arm"):  # a loop body that starts on its command's line
            line = line + offset - 1
        else:
            return line
    return line


def _proc_definition_line(code: str, name: str) -> int:
    if not name:
        return 0
    pattern = re.compile(r"^\s*proc\s+(?:::)?" + re.escape(name) + r"\s", re.M)
    match = pattern.search(code)
    return code.count("\n", 0, match.start()) + 1 if match else 0


_UNKNOWN_COMMAND = re.compile(r'^invalid command name "(?P<name>[^"]*)"$')


def _modulefile_error(frame: Frame, code: str, message: str, info: str, line: int) -> ModulefileError:
    where = frame.file
    line = _error_line(code, info, line)
    if line > 0:
        where = f"{frame.file}, line {line}"
    unknown = _UNKNOWN_COMMAND.match(message)
    if unknown:
        message = (f"unknown command \"{unknown.group('name')}\" (neither Tcl nor a modulefile command roost "
                   "supports)")
    return ModulefileError(
        f"error in the modulefile of \"{frame.fullname}\" ({where}): {message}",
        "fix the modulefile (or ask whoever maintains it); nothing was changed",
    )


# ------------------------------------------------------------------------------------------ rc files


def read_rc(path: str, sn: str, *, version_file: bool) -> RcInfo:
    """Evaluate a Tcl ``.modulerc`` or ``.version`` file of the directory of module ``sn`` ("" at the top)."""
    from roost.modules.tree import read_modulefile

    code = read_modulefile(path)
    context = _Evaluation(None, path, {**TOOL_ENVIRON, **os.environ}, sn)
    default: List[str] = []

    def read_default(tcl: _Interpreter, depth: int) -> None:
        # RC2lua.tcl: a .version (or .modulerc) that sets ModulesVersion (or ModuleVersion) names the default
        for variable in ("::ModulesVersion", "::ModuleVersion"):
            if tcl.eval_in(depth, ("info", "exists", variable)) == "1":
                default.append(tcl.eval_in(depth, ("set", variable)))
                return

    rc, message, info, line = _evaluate(context, code, help_proc=False, after=read_default)
    if context.exited:
        from roost.errors import RcFileExit

        raise RcFileExit(path, "".join(context.rc_said))
    if rc == 1 and not context.exited:
        line = _error_line(code, info, line)
        where = f"{path}, line {line}" if line > 0 else path
        raise ModulefileError(f"error in the rc file {where}: {message}",
                              "fix the file (or ask whoever maintains it)")
    if default and default[0] and sn:
        context.rc.versions.setdefault(f"{sn}/default", _rc_name(default[0].rstrip(_TRAILING), sn))
    return context.rc
