"""Renderers of an :class:`~roost.shell.change.EnvChange` into code for a target.

Every renderer returns a string (testable per shell).  Values are always quoted so that spaces, quotes,
``$``, backticks, newlines, semicolons and non-ASCII text arrive byte for byte and nothing in a value is
executed.  Shell *function* bodies are code by definition (``set_shell_function``) and are emitted as such.
"""

from __future__ import annotations

from roost.shell.change import Action, EnvChange, Op, check_op
from roost.shell.quote import (  # noqa: F401  (re-exported: callers import quoting from here)
    _double_quoted,
    quote_fish,
    quote_posix,
    render_print,
    render_status,
)

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    from typing import Callable, Dict, List, Sequence, Tuple

    from roost.shell.wrapper import Arg, Condition, Prepend, WrapperScript

SHELLS = ("bash", "zsh", "sh", "fish", "python", "json")

# Removing one entry from a separator-delimited variable needs a loop in the shell; it is emitted once,
# then unset, when a relative change (not a module command's absolute diff) contains a removal.
_POSIX_REMOVE = (
    "__roost_rm() { eval \"__r_v=\\${$1-}\"; __r_o=; while [ -n \"$__r_v\" ]; do "
    "case $__r_v in *\"$3\"*) __r_e=${__r_v%%\"$3\"*}; __r_v=${__r_v#*\"$3\"};; "
    "*) __r_e=$__r_v; __r_v=;; esac; "
    "[ \"$__r_e\" = \"$2\" ] || __r_o=\"${__r_o:+$__r_o$3}$__r_e\"; done; "
    "if [ -n \"$__r_o\" ]; then export \"$1=$__r_o\"; else unset \"$1\"; fi; }"
)


def _function_body(body: str) -> str:
    """A modulefile's function body without the trailing separators a Tcl brace block often ends with
    (``...\n; }``): a lone ``;`` line is a syntax error in sh.  An empty body becomes ``:``."""
    trimmed = body.rstrip()
    while trimmed.endswith(";") and not trimmed.endswith(";;"):
        trimmed = trimmed[:-1].rstrip()
    return trimmed or ":"


def _completion_words(options: str) -> List[str]:
    """complete()'s option text as the words bash would see (`-W "start stop"` is two words); text a shell
    could not split (an open quote) gives none, and nothing is emitted."""
    import shlex  # only for a module's completion

    try:
        return shlex.split(options)
    except ValueError:
        return []


def _posix_op(op: Op, shell: str) -> str:
    name, action = op.name, op.action
    if action is Action.SET:
        return f"export {name}={quote_posix(op.value)};"
    if action is Action.UNSET:
        return f"unset {name};"
    if action is Action.PREPEND:
        return f"export {name}={quote_posix(op.value)}\"${{{name}:+{_double_quoted(op.sep)}${name}}}\";"
    if action is Action.APPEND:
        return f"export {name}=\"${{{name}:+${name}{_double_quoted(op.sep)}}}\"{quote_posix(op.value)};"
    if action is Action.REMOVE:
        return f"__roost_rm {name} {quote_posix(op.value)} {quote_posix(op.sep)};"
    if action is Action.ALIAS:
        return f"alias {name}={quote_posix(op.value)};"
    if action is Action.UNALIAS:
        return f"unalias {name} 2>/dev/null || true;"
    if action is Action.FUNCTION:
        return f"{name} () {{\n{_function_body(op.value)}\n}};"
    if action is Action.EXPORT_FUNCTION:  # zsh and sh cannot export functions; bash: not an error if undefined
        return f"export -f {name} 2>/dev/null || true;" if shell == "bash" else ""
    if action is Action.COMPLETE:  # bash's programmable completion; each option word stays one quoted word
        words = _completion_words(op.value)
        return f"complete {' '.join(quote_posix(w) for w in words)} {name};" if shell == "bash" and words else ""
    if action is Action.UNCOMPLETE:
        return f"complete -r {name} 2>/dev/null || true;" if shell == "bash" else ""
    # UNFUNCTION
    return f"unset -f {name} 2>/dev/null || true;"


def render_posix(change: EnvChange, shell: str = "bash") -> str:
    lines: List[str] = []
    needs_remove = any(op.action is Action.REMOVE for op in change.ops)
    if needs_remove:
        lines.append(_POSIX_REMOVE)
    lines.extend(line for line in (_posix_op(op, shell) for op in change.ops) if line)
    if needs_remove:
        lines.append("unset -f __roost_rm;")
    return "\n".join(lines) + ("\n" if lines else "")


def _is_fish_path_var(name: str) -> bool:
    # fish splits variables whose names end in PATH into lists (joined with ':' on export).
    return name.endswith("PATH")


def _fish_op(op: Op) -> str:
    name, action = op.name, op.action
    if action is Action.SET:
        if _is_fish_path_var(name) and op.value:
            parts = " ".join(quote_fish(p) for p in op.value.split(":"))
            return f"set -gx {name} {parts};"
        return f"set -gx {name} {quote_fish(op.value)};"
    if action is Action.UNSET:
        return f"set -e {name};"
    if action in (Action.PREPEND, Action.APPEND):
        if _is_fish_path_var(name) and op.sep == ":":
            parts = " ".join(quote_fish(p) for p in op.value.split(":"))
            order = f"{parts} ${name}" if action is Action.PREPEND else f"${name} {parts}"
            return f"set -gx {name} {order};"
        value, sep = quote_fish(op.value), quote_fish(op.sep)
        joined = f"{value}{sep}\"${name}\"" if action is Action.PREPEND else f"\"${name}\"{sep}{value}"
        return f"if set -q {name}; and test -n \"${name}\"; set -gx {name} {joined}; else; set -gx {name} {value}; end;"
    if action is Action.REMOVE:
        value, sep = quote_fish(op.value), quote_fish(op.sep)
        if _is_fish_path_var(name) and op.sep == ":":
            return f"if set -l __i (contains -i -- {value} ${name}); set -e {name}[$__i]; end;"
        return (f"if set -q {name}; set -l __p (string split -- {sep} \"${name}\"); "
                f"set -gx {name} (string join -- {sep} (string match -v -- {value} $__p)); end;")
    if action is Action.ALIAS:
        # Not fish's `alias`: it sources a definition pasted from the text, so "end; cmd; function x" would run
        # at load time, a text with an unbalanced quote fails after the variables are set, and "-la" reads as
        # an option.  The text stays data until the alias is used, as in bash and zsh; the description is the
        # one `alias` writes, so `alias` still lists it.
        description, text = quote_fish(f"alias {name} {op.value}"), quote_fish(op.value)
        return f"function {name} --description {description}; eval {text} (string escape -- $argv); end;"
    if action is Action.UNALIAS:
        return f"functions -e {name};"
    if action is Action.FUNCTION:
        return f"function {name}\n{_function_body(op.value)}\nend;"
    if action in (Action.EXPORT_FUNCTION, Action.COMPLETE, Action.UNCOMPLETE):  # bash's alone
        return ""
    return f"functions -e {name};"


def render_fish(change: EnvChange) -> str:
    return "".join(line + "\n" for line in (_fish_op(op) for op in change.ops) if line)


def render_python(change: EnvChange) -> str:
    """Python statements on ``os.environ`` (Lmod's ``python`` shell); aliases and functions do not apply."""
    lines: List[str] = []
    for op in change.ops:
        if op.action is Action.SET:
            lines.append(f"os.environ[{op.name!r}] = {op.value!r}")
        elif op.action is Action.UNSET:
            lines.append(f"os.environ.pop({op.name!r}, None)")
        elif op.action in (Action.PREPEND, Action.APPEND, Action.REMOVE):
            lines.append(f"# relative {op.action.value} of {op.name}: apply with roost.shell.change")
    return "".join(line + "\n" for line in lines)


def render_json(change: EnvChange) -> str:
    import json  # only for this target: json imports re, which `module` and `roost submit` do without

    return json.dumps(change.to_json(), indent=None, separators=(",", ":"))


_RENDERERS: Dict[str, Callable[[EnvChange], str]] = {
    "bash": lambda c: render_posix(c, "bash"),
    "zsh": lambda c: render_posix(c, "zsh"),
    "sh": lambda c: render_posix(c, "sh"),
    "fish": render_fish,
    "python": render_python,
    "json": render_json,
}


def render(change: EnvChange, shell: str) -> str:
    try:
        renderer = _RENDERERS[shell]
    except KeyError:
        from roost.errors import RoostError

        raise RoostError(f"unknown shell {shell!r}", f"choose one of: {', '.join(SHELLS)}") from None
    for op in change.ops:  # a name is never code, whoever built the change (ops may be appended directly)
        check_op(op)
    return renderer(change)


def eval_function_body(argv: List[str], shell: str, *, extra_first: bool = False) -> str:
    """Body of a shell function that runs ``argv`` + the function's arguments, evaluates what it prints (the
    ``module``/``ml`` pattern) and returns the command's status.  With ``extra_first`` the function's first
    argument is passed before argv's tail is appended — not needed so far, kept simple."""
    if shell == "fish":
        return _fish_eval(" ".join(quote_fish(a) for a in argv) + " $argv", "    ")
    return _posix_eval(" ".join(quote_posix(a) for a in argv) + " \"$@\"", "    ")


# The evaluated commands exit 0 (done), 1 (failed; what they print is still evaluated: a warning's changes, the
# failed status) or anything else (a modulefile's os.exit(N), a crash, a kill): then nothing is evaluated, in
# case the output was cut.  The function returns that status, or the evaluation's when it fails, so
# `module load X || exit 1` works in every shell and in job scripts.
def _posix_eval(command: str, indent: str) -> str:
    return (f"{indent}local __roost_code __roost_status\n"
            f"{indent}__roost_code=\"$({command})\"\n"
            f"{indent}__roost_status=$?\n"
            f"{indent}case $__roost_status in 0|1) eval \"$__roost_code\" || __roost_status=$?;; esac\n"
            f"{indent}return $__roost_status")


def _fish_eval(command: str, indent: str) -> str:
    return (f"{indent}set -l __roost_code ({command} | string collect -N)\n"
            f"{indent}set -l __roost_status $pipestatus[1]\n"
            f"{indent}if contains -- $__roost_status 0 1\n"
            f"{indent}    printf '%s' $__roost_code | source; or set __roost_status $status\n"
            f"{indent}end\n"
            f"{indent}return $__roost_status")


def dispatch_function_body(
    python: str,
    evaluated: List[str],
    fast: List[str],
    shell: str,
    direct: Sequence[str] = (),
    direct_command: Sequence[str] = (),
) -> str:
    """Body of the ``roost`` shell function: sub-commands in ``evaluated`` (activate, deactivate) run ``fast``
    (a start-up-lean command line) with the shell and the arguments, and the shell evaluates what it prints;
    those in ``direct`` (submit) run ``direct_command`` with the arguments; everything else runs the CLI."""
    if shell == "fish":
        py = quote_fish(python)
        cases = " ".join(quote_fish(e) for e in evaluated)
        command = " ".join(quote_fish(a) for a in fast)
        body = f"    if contains -- \"$argv[1]\" {cases}\n{_fish_eval(command + ' fish $argv', '        ')}\n"
        if direct:
            direct_line = " ".join(quote_fish(a) for a in direct_command)
            body += f"    else if contains -- \"$argv[1]\" {' '.join(quote_fish(d) for d in direct)}\n"
            body += f"        {direct_line} $argv\n"
        return body + f"    else\n        {py} -m roost $argv\n    end"
    py = quote_posix(python)
    command = " ".join(quote_posix(a) for a in fast)
    evaluate = _posix_eval(f"{command} {shell} \"$@\"", "            ")
    body = f"    case \"${{1-}}\" in\n        {'|'.join(evaluated)})\n{evaluate};;\n"
    if direct:
        body += f"        {'|'.join(direct)}) {' '.join(quote_posix(a) for a in direct_command)} \"$@\";;\n"
    return body + f"        *) {py} -m roost \"$@\";;\n    esac"


# --- guarded init files ---------------------------------------------------------------------------------
# `roost shell-init` caches its code in a file the user's shell sources directly.  The file starts with the
# conditions under which it is still right, each a test the shell runs without starting a program (a file
# test or a string comparison), so a new shell pays microseconds, not a Python start.  A condition is a tuple:
#   ("executable", PATH)  ("file", PATH)  ("directory", PATH)
#   ("not-newer", PATH, THAN)       PATH is missing or older than THAN
#   ("equals", VARIABLE, VALUE)     unset counts as empty
#   ("not-on-path", VARIABLE, ENTRY)  ENTRY is not one of VARIABLE's ':'-separated entries


# kind -> (POSIX sh, fish): {0}, {1} are the quoted operands, {name} the first one as a variable name.
_CONDITIONS = {
    "executable": ("[ -x {0} ]", "test -x {0}"),
    "file": ("[ -f {0} ]", "test -f {0}"),
    "directory": ("[ -d {0} ]", "test -d {0}"),
    "not-newer": ("[ ! {0} -nt {1} ]", "not test {0} -nt {1}"),
    "equals": ('[ "${{{name}-}}" = {1} ]', 'test "${name}" = {1}'),
    "not-on-path": ('case ":${{{name}-}}:" in *:{1}:*) false;; *) true;; esac', "not contains -- {1} ${name}"),
}


def _condition(condition: Sequence[str], shell: str) -> str:
    kind, *args = condition
    try:
        posix, fish = _CONDITIONS[kind]
    except KeyError:
        raise ValueError(f"unknown init condition {kind!r}") from None
    quote = quote_fish if shell == "fish" else quote_posix
    return (fish if shell == "fish" else posix).format(*(quote(a) for a in args), name=args[0])


def _all_of(conditions: Sequence[Sequence[str]], shell: str) -> str:
    if shell == "fish":
        return "; and ".join(_condition(c, shell) for c in conditions) or "true"
    return " &&\n    ".join(_condition(c, shell) for c in conditions) or "true"


def _if_block(conditions: Sequence[Sequence[str]], then: str, otherwise: str, shell: str) -> str:
    then, otherwise = then.rstrip("\n") or ":", otherwise.rstrip("\n")
    if shell == "fish":
        tail = f"else\n{otherwise}\n" if otherwise else ""
        return f"if {_all_of(conditions, shell)}\n{then}\n{tail}end\n"
    tail = f"else\n{otherwise}\n" if otherwise else ""
    return f"if {_all_of(conditions, shell)}; then\n{then}\n{tail}fi\n"


def message_function_body(message: str, shell: str) -> str:
    """Body of a stand-in function that says ``message`` on stderr and fails (``module`` when roost is gone)."""
    if shell == "fish":
        return f"    printf '%s\\n' {quote_fish(message)} >&2\n    return 1"
    return f"    printf '%s\\n' {quote_posix(message)} >&2\n    return 1"


def _regenerate(shell: str, forget: EnvChange, fallback: EnvChange, warning: str) -> str:
    """The stale branch: drop the old functions, run the ``roost`` found on PATH (or, when its script's
    interpreter line is broken because its venv moved, the ``python`` beside it) and evaluate the fresh code;
    with neither, define ``fallback`` and print ``warning`` once."""
    say = f"printf '%s\\n' {quote_fish(warning) if shell == 'fish' else quote_posix(warning)} >&2"
    if shell == "fish":
        return (
            render_fish(forget)
            + "set -l __roost_bin (command -v roost)\n"
            + "set -l __roost_dir (string replace -r '/[^/]*$' '' -- $__roost_bin)\n"
            + "set -l __roost_init\n"
            + "if test -n \"$__roost_bin\"; and begin\n"
            + f"        set __roost_init ($__roost_bin shell-init {shell} 2>/dev/null)\n"
            + f"        or set __roost_init ($__roost_dir/python -m roost shell-init {shell} 2>/dev/null)\n"
            + "    end\n"
            + "    printf '%s\\n' $__roost_init | source\n"
            + f"else\n{render_fish(fallback)}{say}\nend\n"
        )
    return (
        render_posix(forget, shell)
        + "__roost_init=\n"
        + "if __roost_bin=$(command -v roost) && { "
        + f"__roost_init=$(\"$__roost_bin\" shell-init {shell} 2>/dev/null) || "
        + f"__roost_init=$(\"${{__roost_bin%/*}}/python\" -m roost shell-init {shell} 2>/dev/null); }}; then\n"
        + "    eval \"$__roost_init\"\n"
        + f"else\n{render_posix(fallback, shell)}{say}\nfi\n"
        + "unset __roost_bin __roost_init\n"
    )


def render_init_file(
    change: EnvChange,
    shell: str,
    *,
    header: str,
    requires: Sequence[Sequence[str]],
    optional: Sequence[Tuple[Sequence[Sequence[str]], EnvChange]] = (),
    forget: EnvChange,
    fallback: EnvChange,
    warning: str,
) -> str:
    """A sourceable file: ``change`` when every condition in ``requires`` holds (then each ``optional``
    change whose conditions hold), else the stale branch of :func:`_regenerate`.  ``header`` becomes comments."""
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    fresh = render(change, shell) + "".join(
        _if_block(conditions, render(extra, shell), "", shell) for conditions, extra in optional
    )
    return comments + _if_block(requires, fresh, _regenerate(shell, forget, fallback, warning), shell)


def relocatable_script_header(interpreter: str) -> str:
    """The first lines of a Python script that runs ``interpreter`` from the script's own directory.

    Both sh and Python read the file: sh sees an empty word and ``:`` then ``exec``s the interpreter found
    beside the (resolved) script; Python sees a string statement spanning the two lines.  Used where an env is
    moved (start-up images), so scripts never name the directory they were installed in.
    """
    if not interpreter or "/" in interpreter or "'" in interpreter:
        from roost.errors import RoostError

        raise RoostError(f"{interpreter!r} is not an interpreter name", "give a bare name such as python3.12")
    target = quote_posix(interpreter)
    return (
        "#!/bin/sh\n"
        f"'''': ; exec \"$(dirname -- \"$(realpath -- \"$0\")\")\"/{target} \"$0\" \"$@\"\n"
        "'''\n"
    )

# `sh -c SCRIPT sh NAME...` prints "NAME<tab>PATH" for each NAME that is a program with an absolute path (not a
# builtin, alias or function): the names arrive as arguments, never inside the code (a container's commands).
COMMAND_PATHS_SCRIPT = (
    'for c do p=$(command -v "$c") && case $p in /*) printf "%s\\t%s\\n" "$c" "$p";; esac; done; exit 0'
)


# --- wrapper scripts ------------------------------------------------------------------------------------
# A roost.shell.wrapper.WrapperScript is a command line assembled in "$@" back to front, then exec'd: no
# arrays (POSIX sh has none), one dash start and a few builtins per call.


def render_wrapper_script(script: WrapperScript) -> str:
    """The POSIX sh script for ``script`` (see :mod:`roost.shell.wrapper`)."""
    lines = ["#!/bin/sh", *(f"# {line}".rstrip(" ") for line in script.comment.splitlines())]
    if script.set_user:
        lines.append('[ -n "${USER-}" ] || { USER=$(id -un); export USER; }')
    if script.environment:
        lines.append(render(script.environment, "sh").rstrip("\n"))
    lines.extend(_posix_step(step) for step in script.steps)
    lines.append(f"exec {_words_then_arguments(script.program)}")
    return "\n".join(lines) + "\n"


def _posix_word(arg: Arg) -> str:
    """A word: literals single-quoted, references double-quoted (never split or globbed, never code)."""
    from roost.shell.change import check_var_name

    out = []
    for part in arg.parts:
        out.append(quote_posix(part) if isinstance(part, str) else f'"${{{check_var_name(part.name)}}}"')
    return "".join(out) or "''"


def _words_then_arguments(words: Sequence[Arg]) -> str:
    return "".join(f"{_posix_word(word)} " for word in words) + '"$@"'


def _prepend_words(words: Sequence[Arg]) -> str:
    return f"set -- {_words_then_arguments(words)}"


def _posix_step(step: Prepend) -> str:
    if step.when is None:
        return _prepend_words(step.words)
    setup, test = _posix_condition(step.when)
    otherwise = "" if step.otherwise is None else f"; else {_prepend_words(step.otherwise)}"
    return f"{setup}if {test}; then {_prepend_words(step.words)}{otherwise}; fi"


def _posix_condition(condition: Condition) -> Tuple[str, str]:
    """Lines to run first (each ending in a newline) and the test itself."""
    from roost.shell.change import check_var_name
    from roost.shell.wrapper import Below, DirectoryExists

    if isinstance(condition, DirectoryExists):
        return "", f"[ -d {_posix_word(condition.path)} ]"
    if isinstance(condition, Below):
        # `case` with the directory double-quoted compares it as a string: glob characters in it are literal.
        words = " ".join(_posix_word(directory) for directory in condition.directories)
        loop = (f"__roost_in=; for __roost_d in {words}; do case ${check_var_name(condition.variable)} in "
                '"$__roost_d"|"$__roost_d"/*) [ -n "$__roost_d" ] && __roost_in=1;; esac; done\n')
        return loop, '[ -n "$__roost_in" ]'
    return "", "[ -t 0 ] && [ -t 1 ]"  # Terminal
