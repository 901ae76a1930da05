"""Differential harness: run the same module command sequence through real Lmod and through roost.

Each tool is driven through its command-line contract, ``TOOL SHELL SUBCOMMAND ARGS...``: stdout is shell code,
stderr carries messages. A case is a modulefile tree (copied from ``trees/`` with ``@ROOT@`` replaced by the
copy's path, or generated from a seed) plus a sequence of steps; each tool runs the steps on its own copy with its
own HOME, and after every step the exit statuses, the resulting environments (minus each tool's bookkeeping) and,
where asked, the messages are compared.

With SHELL ``python`` (most cases) the output is applied to a plain dict. Lmod quotes values with Lua's ``%q``
(a newline becomes backslash-newline, which Python would read as a line continuation), so Lmod's output is
decoded by a small Lua-string parser; roost's output is real Python and is ``exec``-ed against a fake ``os``.
With ``bash``/``zsh``/``sh``/``fish`` the output is evaluated by that shell, as the ``module`` function does, and
the aliases and functions are compared too.

Pseudo-steps simulate the world between commands: ``@new-shell`` (a fresh login), ``@subshell``, ``@write`` and
``@remove`` (a site edits the tree). Known Lmod bugs are declared per case (``LmodBug``) so that roost is held to
the correct value there and to Lmod everywhere else. trees/README.md records what Lmod does.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

if TYPE_CHECKING:
    from roost.modules.engine import Engine

LMOD_CMD = "/usr/share/lmod/lmod/libexec/lmod"
LMOD_ML = "/usr/share/lmod/lmod/libexec/ml_cmd"  # translates ml's shorthand into module arguments
ROOST_CMD: Tuple[str, ...] = (sys.executable, "-m", "roost.modules.command")
TREES = Path(__file__).parent / "trees"
ROOT_PLACEHOLDER = "@ROOT@"
STEP_TIMEOUT = 60

# Each tool's private state; everything else in the environment must match.
_PRIVATE_PREFIXES = ("_ModuleTable", "__LMOD_", "_ROOST_", "__ROOST_")
# Set by the harness itself (each tool gets its own home) or by the process, never by a modulefile.
_HARNESS_VARIABLES = frozenset({"HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"})


def is_compared(name: str) -> bool:
    if name in _HARNESS_VARIABLES or name.startswith(_PRIVATE_PREFIXES):
        return False
    return not (name.startswith("LMOD_") and not name.startswith("LMOD_FAMILY_"))


# ----------------------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Step:
    """One module command.

    ``expect_ok`` is what Lmod does (checked by the corpus self-test); ``keeps_changes`` marks a failure that
    still applies its changes (Lmod's warnings); ``compare_output`` also compares the whitespace-normalised
    stderr (terse avail/list output)."""

    args: Tuple[str, ...]
    expect_ok: bool = True
    compare_output: bool = False
    keeps_changes: bool = False

    @property
    def text(self) -> str:
        return " ".join(shlex.quote(a) for a in self.args)


STATUS = "<status>"  # an LmodBug on this "variable" corrects the step's status ("ok" or "failed")


@dataclass(frozen=True)
class LmodBug:
    """Where Lmod is wrong and roost must not copy it: after the given steps (1-based), roost's ``variable``
    must be ``roost_value`` (None: unset) instead of Lmod's value."""

    steps: Tuple[int, ...]
    variable: str
    roost_value: Optional[str]
    reason: str


@dataclass(frozen=True)
class Case:
    id: str
    tree: str
    steps: Tuple[Step, ...]
    modulepath: Tuple[str, ...] = ("Core",)
    # Extra initial variables; ``@ROOT@`` is replaced by the tree's path.
    env: Tuple[Tuple[str, str], ...] = ()
    lmod_bugs: Tuple[LmodBug, ...] = ()
    # python: apply the output to a dict; bash/zsh/fish: evaluate it in that shell (aliases and functions too).
    shell: str = "python"

    def expected_ok_for_roost(self, number: int, lmod_ok: bool) -> bool:
        """Lmod's status for step ``number`` unless a known bug on ``STATUS`` says what roost must do."""
        for bug in self.lmod_bugs:
            if number in bug.steps and bug.variable == STATUS:
                return bug.roost_value == "ok"
        return lmod_ok

    def expected_for_roost(self, number: int, lmod_view: Dict[str, str]) -> Dict[str, str]:
        """Lmod's variables after step ``number`` with its known bugs corrected."""
        expected = dict(lmod_view)
        for bug in self.lmod_bugs:
            if number in bug.steps and bug.variable != STATUS:
                expected.pop(bug.variable, None)
                if bug.roost_value is not None:
                    expected[bug.variable] = bug.roost_value
        return expected


def step(text: str) -> Step:
    """Parse a step such as ``"load gcc"``.

    Prefixes: ``!`` Lmod fails it and changes nothing, ``~`` Lmod fails it but applies its changes (a
    warning), ``?`` compare its terse output too."""
    expect_ok, compare_output, keeps_changes = True, False, False
    while text[:1] in ("!", "?", "~"):
        expect_ok = expect_ok and text[0] == "?"
        compare_output = compare_output or text[0] == "?"
        keeps_changes = keeps_changes or text[0] == "~"
        text = text[1:]
    return Step(tuple(shlex.split(text)), expect_ok, compare_output, keeps_changes)


def case(
    id: str,
    tree: str,
    *steps: str,
    modulepath: Sequence[str] = ("Core",),
    env: Optional[Mapping[str, str]] = None,
    lmod_bugs: Sequence[LmodBug] = (),
    shell: str = "python",
) -> Case:
    initial = tuple(sorted((env or {}).items()))
    return Case(id, tree, tuple(step(s) for s in steps), tuple(modulepath), initial, tuple(lmod_bugs), shell)


# ------------------------------------------------------------------------------------------ trees/env


GENERATED = "generated-"  # tree name prefix: a random tree from the seed that follows


def write_tree(root: Path, files: Mapping[str, str]) -> Path:
    """Write ``{"Core/name/1.0": text}`` under root (a tree a test makes up); returns root."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def install_tree(tree: str, destination: Path) -> Path:
    """Copy ``trees/<tree>`` to ``destination`` (symlinks kept) with ``@ROOT@`` replaced by its new path;
    ``generated-SEED`` writes the random tree of that seed instead."""
    root = destination / tree
    if tree.startswith(GENERATED):
        write_generated_tree(generated_tree(int(tree[len(GENERATED):])), root)
        return root
    shutil.copytree(TREES / tree, root, symlinks=True)
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            text = path.read_text(encoding="utf-8")
            if ROOT_PLACEHOLDER in text:
                path.write_text(text.replace(ROOT_PLACEHOLDER, str(root)), encoding="utf-8")
    return root


# ------------------------------------------------------------------------------------ generated trees

# No two of these compare equal in Lmod's ordering (1.0 and 1.0.0 would, and Lmod then lists them at random).
GENERATED_VERSIONS = (
    "0.9", "1.2", "1.10", "1.2.3", "2.0-rc1", "2.0", "2.0.1", "2022b", "2023a", "3.11.3-GCCcore-12.3.0",
    "3.11.3-GCCcore-12.3.0-bare", "10.1", "r9", "r10", "1.0a", "1.0-beta", "5.4.3-foss-2023a", "12.2.0",
)
GENERATED_NAMES = ("zlib", "HDF5", "netcdf-c", "Py-bundle", "R", "openblas", "fftw3", "boost.python", "tk",
                   "ncl", "gdal", "xz", "Perl", "git-lfs", "cmake", "LLVM", "jdk", "node", "go", "rust")


@dataclass(frozen=True)
class GeneratedModule:
    directory: str  # "A" or "B": the tree has two MODULEPATH directories
    name: str
    version: str
    tcl: bool
    hidden: bool


@dataclass(frozen=True)
class GeneratedTree:
    modules: Tuple[GeneratedModule, ...]
    # (directory, name, marker, version): marker is "modulerc", "tcl-modulerc", "version-file" or "symlink"
    defaults: Tuple[Tuple[str, str, str, str], ...]
    # (directory, name, version) named "stable" by the same modulerc file (modulerc markers only)
    stable: Tuple[Tuple[str, str, str], ...] = ()

    def names(self) -> List[str]:
        return sorted({m.name for m in self.modules})


def generated_tree(seed: int) -> GeneratedTree:
    """A random but reproducible site: names in one or both directories, Lua and Tcl files, marked defaults,
    hidden versions."""
    import random

    rng = random.Random(seed)
    modules: List[GeneratedModule] = []
    defaults: List[Tuple[str, str, str, str]] = []
    stable: List[Tuple[str, str, str]] = []
    for name in GENERATED_NAMES:
        for directory in rng.choice((["A"], ["A"], ["B"], ["A", "B"])):
            versions = rng.sample(GENERATED_VERSIONS, rng.randint(1, 5))
            hidden = versions[0] if len(versions) > 2 and rng.random() < 0.2 else None
            for version in versions:
                modules.append(GeneratedModule(directory, name, version, rng.random() < 0.3, version == hidden))
            marker = rng.choice((None, None, None, "modulerc", "tcl-modulerc", "version-file", "symlink"))
            visible = [v for v in versions if v != hidden]
            if marker and len(visible) > 1:
                defaults.append((directory, name, marker, rng.choice(visible)))
                if marker.endswith("modulerc"):
                    stable.append((directory, name, rng.choice(visible)))
    return GeneratedTree(tuple(modules), tuple(defaults), tuple(stable))


def write_generated_tree(tree: GeneratedTree, root: Path) -> None:
    for module in tree.modules:
        folder = root / module.directory / module.name
        folder.mkdir(parents=True, exist_ok=True)
        stem = ("." if module.hidden else "") + module.version
        variable = "GEN_" + re.sub(r"[^A-Za-z0-9]", "_", module.name).upper()
        value = f"{module.directory}:{module.name}/{module.version}"
        if module.tcl:
            (folder / stem).write_text(f'#%Module\nsetenv {variable} "{value}"\n', encoding="utf-8")
        else:
            (folder / f"{stem}.lua").write_text(f'setenv("{variable}", "{value}")\n', encoding="utf-8")
    tcl_files = {(m.directory, m.name, m.version): m.tcl for m in tree.modules}
    stable = {(directory, name): version for directory, name, version in tree.stable}
    for directory, name, marker, version in tree.defaults:
        folder = root / directory / name
        symbolic = stable.get((directory, name))
        if marker == "modulerc":
            extra = f'module_version("{name}/{symbolic}", "stable")\n' if symbolic else ""
            (folder / ".modulerc.lua").write_text(f'module_version("{name}/{version}", "default")\n{extra}')
        elif marker == "tcl-modulerc":
            extra = f"module-version {name}/{symbolic} stable\n" if symbolic else ""
            (folder / ".modulerc").write_text(f"#%Module\nmodule-version {name}/{version} default\n{extra}")
        elif marker == "version-file":
            (folder / ".version").write_text(f'#%Module\nset ModulesVersion "{version}"\n')
        else:
            target = version if tcl_files[(directory, name, version)] else f"{version}.lua"
            (folder / "default").symlink_to(target)


def initial_environ(the_case: Case, root: Path, home: Path) -> Dict[str, str]:
    """A minimal environment free of the session's own module state."""
    home.mkdir(parents=True, exist_ok=True)
    environ = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "USER": os.environ.get("USER", "root"),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "MODULEPATH": ":".join(str(root / p) for p in the_case.modulepath),
    }
    for name, value in the_case.env:
        environ[name] = value.replace(ROOT_PLACEHOLDER, str(root))
    return environ


# ------------------------------------------------------------------------------------ output decoding

_LUA_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "\\": "\\",
                '"': '"', "'": "'", "\n": "\n"}


def _read_lua_string(text: str, start: int) -> Tuple[str, int]:
    """Decode the Lua ``%q`` string starting at ``text[start] == '"'``; return (value, index after it).

    Lua escapes bytes, not characters (``\\195\\188`` is one UTF-8 "ü"), so the value is built as bytes."""
    assert text[start] == '"'
    out = bytearray()
    i = start + 1
    while True:
        ch = text[i]
        if ch == '"':
            return out.decode("utf-8", "surrogateescape"), i + 1
        if ch != "\\":
            out += ch.encode("utf-8", "surrogateescape")
            i += 1
            continue
        nxt = text[i + 1]
        if nxt.isdigit():  # \ddd is a decimal byte in Lua
            digits = re.match(r"\d{1,3}", text[i + 1:])
            assert digits
            out.append(int(digits.group()))
            i += 1 + len(digits.group())
        else:
            out += _LUA_ESCAPES.get(nxt, nxt).encode("utf-8", "surrogateescape")
            i += 2


_LMOD_SET = re.compile(r'os\.environ\[("(?:[^"\\]|\\.)*")\] = ')
_LMOD_DEL = re.compile(r'del os\.environ\[("(?:[^"\\]|\\.)*")\]\n')


def apply_lmod_python(stdout: str, environ: Dict[str, str]) -> Optional[bool]:
    """Apply Lmod's python-shell output to ``environ``; return the ``_mlstatus`` it reported (None: none)."""
    status: Optional[bool] = None
    i = 0
    while i < len(stdout):
        if stdout.startswith("\n", i):
            i += 1
            continue
        line_end = stdout.find("\n", i)
        line = stdout[i:] if line_end < 0 else stdout[i:line_end]
        set_match = _LMOD_SET.match(stdout, i)
        del_match = _LMOD_DEL.match(stdout, i)
        if set_match:
            name, _ = _read_lua_string(set_match.group(1), 0)
            rest = stdout[set_match.end():]
            if rest.startswith("''"):  # the first half of an unset: os.environ["X"] = ''
                environ[name] = ""
                i = set_match.end() + 2
            else:
                value, used = _read_lua_string(stdout, set_match.end())
                environ[name] = value
                i = used
            i = stdout.find("\n", i)
            i = len(stdout) if i < 0 else i + 1
        elif del_match:
            name, _ = _read_lua_string(del_match.group(1), 0)
            environ.pop(name, None)
            i = del_match.end()
        else:
            if line.startswith("_mlstatus = "):
                status = line.endswith("True")
            elif line.strip() not in ("import os", ""):
                raise ValueError(f"unexpected line in Lmod's python output: {line!r}")
            i = len(stdout) if line_end < 0 else line_end + 1
    return status


def _only_os_import(name: str, *args: object, **kwargs: object) -> object:
    raise ImportError(f"roost's python output imports {name!r}; it may only use the given os")


def apply_roost_python(stdout: str, environ: Dict[str, str]) -> Optional[bool]:
    """Exec roost's python-shell output against a fake ``os``; return its status (False: a failure marker)."""
    lines = stdout.rstrip("\n").split("\n") if stdout.strip() else []
    status: Optional[bool] = None
    if lines and lines[-1].strip() in ("false", "False"):
        status = False
        lines = lines[:-1]
    code = "\n".join(line for line in lines if line.strip() != "import os")
    namespace: Dict[str, object] = {
        "os": SimpleNamespace(environ=environ),
        "__builtins__": {"__import__": _only_os_import, "True": True, "False": False, "None": None},
    }
    exec(compile(code, "<roost python output>", "exec"), namespace)
    mlstatus = namespace.get("_mlstatus")
    if isinstance(mlstatus, bool) and status is None:
        status = mlstatus
    return status


# ---------------------------------------------------------------------------------------------- runs


@dataclass
class StepResult:
    ok: bool
    returncode: int
    stdout: str
    stderr: str
    environ: Dict[str, str]
    # For real shells: the aliases and functions defined after the step (carried to the next step).
    shell_state: str = ""


# Evaluating a tool's output in a real shell the way the ``module`` function does (``eval "$(TOOL bash ...)"``).
# Positional arguments: the previous state (aliases/functions), the code, the env dump, the new state.
_SHELL_DRIVERS: Dict[str, Tuple[str, ...]] = {
    "bash": ("bash", "--norc", "--noprofile", "-c",
             'source "$1"; eval "$(cat "$2")"; st=$?; env -0 > "$3"; { alias -p; declare -f; } > "$4"; exit $st',
             "bash"),
    "zsh": ("zsh", "-f", "-c",
            'source "$1"; eval "$(<"$2")"; st=$?; env -0 > "$3"; { alias -L; typeset -f; } > "$4"; exit $st',
            "zsh"),
    "sh": ("sh", "-c", '. "$1"; eval "$(cat "$2")"; st=$?; env -0 > "$3"; alias > "$4"; exit $st', "sh"),
    "fish": ("fish", "--no-config", "-c",
             'source $argv[1]; cat $argv[2] | source -; set st $status; env -0 > $argv[3]; '
             'echo -n > $argv[4]; exit $st'),
}
# Variables a shell sets for itself.
_SHELL_OWN_VARIABLES = frozenset({"PWD", "OLDPWD", "SHLVL", "_"})


def evaluate_in_shell(
    shell: str, code: str, environ: Dict[str, str], state: str, scratch: Path
) -> Tuple[int, Dict[str, str], str, str]:
    """Evaluate ``code`` in ``shell`` started with ``environ`` and ``state``; return
    (status, environment after, aliases/functions after, the shell's stderr)."""
    scratch.mkdir(parents=True, exist_ok=True)
    files = [scratch / name for name in ("state-in", "code", "env-out", "state-out")]
    files[0].write_text(state, encoding="utf-8", errors="surrogateescape")
    files[1].write_text(code, encoding="utf-8", errors="surrogateescape")
    for out in files[2:]:
        out.write_bytes(b"")
    proc = subprocess.run([*_SHELL_DRIVERS[shell], *map(str, files)], env=environ, capture_output=True,
                          timeout=STEP_TIMEOUT, cwd=scratch)
    after: Dict[str, str] = {}
    for entry in files[2].read_bytes().split(b"\0"):
        name, sep, value = entry.decode("utf-8", "surrogateescape").partition("=")
        if sep and name not in _SHELL_OWN_VARIABLES:
            after[name] = value
    new_state = files[3].read_text(encoding="utf-8", errors="surrogateescape")
    return proc.returncode, after, new_state, proc.stderr.decode("utf-8", "replace")


@dataclass
class Tool:
    name: str
    command: Tuple[str, ...]
    apply: Callable[[str, Dict[str, str]], Optional[bool]]

    def run(
        self,
        args: Sequence[str],
        environ: Dict[str, str],
        shell: str = "python",
        shell_state: str = "",
        scratch: Optional[Path] = None,
    ) -> StepResult:
        if args[:1] == ["ml"]:
            args = self.ml_arguments(args[1:], environ)
        proc = subprocess.run(
            [*self.command, shell, *args],
            env=environ,
            capture_output=True,
            timeout=STEP_TIMEOUT,
        )
        stdout = proc.stdout.decode("utf-8", "surrogateescape")
        stderr = proc.stderr.decode("utf-8", "replace")
        if shell != "python":
            assert scratch is not None
            evaluated = evaluate_in_shell(shell, stdout, environ, shell_state, scratch)
            shell_status, after, state, shell_stderr = evaluated
            if shell_stderr:
                stderr += f"\n[{shell} while evaluating {self.name}'s output]\n{shell_stderr}"
            ok = proc.returncode == 0 and shell_status == 0
            return StepResult(ok, proc.returncode, stdout, stderr, after, state)
        after = dict(environ)
        try:
            status = self.apply(stdout, after)
        except Exception as error:  # unparseable output is a failure the report must show
            stderr += f"\n[harness] could not apply {self.name}'s stdout: {error!r}\n--- stdout ---\n{stdout}"
            return StepResult(False, proc.returncode, stdout, stderr, dict(environ))
        ok = proc.returncode == 0 and status is not False
        return StepResult(ok, proc.returncode, stdout, stderr, after)


    def ml_arguments(self, args: Sequence[str], environ: Dict[str, str]) -> List[str]:
        """The ``ml`` shorthand: Lmod's ml_cmd prints the module command it stands for; roost takes ``--ml``."""
        if self.name == "roost":
            return ["--ml", *args]
        proc = subprocess.run([LMOD_ML, *args], env=environ, capture_output=True, text=True,
                              timeout=STEP_TIMEOUT, check=True)
        words = shlex.split(proc.stdout)
        assert words[:1] == ["module"], proc.stdout
        return words[1:]


LMOD = Tool("lmod", (LMOD_CMD,), apply_lmod_python)
ROOST = Tool("roost", ROOST_CMD, apply_roost_python)


@dataclass
class Run:
    tool: str
    root: Path  # the tree copy; reports and comparisons show it as @ROOT@
    initial: Dict[str, str]
    results: List[StepResult] = field(default_factory=list)

    def view(self, environ: Mapping[str, str]) -> Dict[str, str]:
        """The compared variables, with the tree's path written as @ROOT@ (runs may use different copies)."""
        return {k: self.relative(v) for k, v in environ.items() if is_compared(k)}

    def relative(self, text: str) -> str:
        return text.replace(str(self.root), ROOT_PLACEHOLDER)


NEW_SHELL = "@new-shell"
WRITE_FILE = "@write"
WRITE_FILE_NOW = "@write-now"  # the same, without pushing the times ahead: an edit within the same second
SUBSHELL = "@subshell"  # a child shell: exported variables survive, aliases and functions do not
REMOVE_FILE = "@remove"


def _new_shell(the_case: Case, root: Path, home: Path, assignments: Sequence[str]) -> StepResult:
    """The pseudo-step ``@new-shell [NAME=VALUE...]``: a fresh login (same home), e.g. after a site change."""
    environ = initial_environ(the_case, root, home)
    for assignment in assignments:
        name, _, value = assignment.partition("=")
        environ[name] = value
    return StepResult(True, 0, "", "", environ)


def _edit_tree(root: Path, args: Sequence[str], environ: Dict[str, str]) -> StepResult:
    """The pseudo-steps ``@write RELPATH TEXT`` and ``@remove RELPATH``: a site admin edits the tree between
    two commands (caches must notice).  The times are pushed 2 s ahead, as a later edit would have them.  An
    existing file is rewritten in place, so its directory's time does not change (only a new or removed entry
    changes it): a cache keyed on directory times alone would go stale."""
    target = root / args[1]
    existed = target.exists()
    if args[0] in (WRITE_FILE, WRITE_FILE_NOW):
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "r+" if existed else "w", encoding="utf-8") as handle:
            handle.write(args[2].replace(ROOT_PLACEHOLDER, str(root)) + "\n")
            handle.truncate()
    else:
        target.unlink()
    if args[0] == WRITE_FILE_NOW:
        return StepResult(True, 0, "", "", dict(environ))
    later = time.time() + 2
    touched = [target] if args[0] == WRITE_FILE else []
    if not (existed and args[0] == WRITE_FILE):
        touched.append(target.parent)
    for path in touched:
        os.utime(path, (later, later))
    return StepResult(True, 0, "", "", dict(environ))


def run_case(the_case: Case, tool: Tool, root: Path, home: Path) -> Run:
    environ = initial_environ(the_case, root, home)
    run = Run(tool.name, root, dict(environ))
    shell_state = ""
    for one_step in the_case.steps:
        args = [arg.replace(ROOT_PLACEHOLDER, str(root)) for arg in one_step.args]
        if args[0] == NEW_SHELL:
            result = _new_shell(the_case, root, home, args[1:])
        elif args[0] in (WRITE_FILE, WRITE_FILE_NOW, REMOVE_FILE):
            result = _edit_tree(root, args, environ)
        elif args[0] == SUBSHELL:
            result = StepResult(True, 0, "", "", dict(environ), shell_state="")
        else:
            scratch = home.parent / f"shell-{tool.name}"
            result = tool.run(args, environ, the_case.shell, shell_state, scratch)
        run.results.append(result)
        environ, shell_state = result.environ, result.shell_state
    return run


def run_tool(the_case: Case, tool: Tool, workdir: Path) -> Run:
    """One tool's run on its own copy of the tree and its own home (collections, caches, tree edits)."""
    base = workdir / tool.name
    root = install_tree(the_case.tree, base)
    return run_case(the_case, tool, root, base / "home")


def run_both(the_case: Case, workdir: Path) -> Tuple[Run, Run]:
    """Run the case through Lmod and roost concurrently."""
    runs: Dict[str, Run] = {}

    def target(tool: Tool) -> None:
        runs[tool.name] = run_tool(the_case, tool, workdir)

    threads = [threading.Thread(target=target, args=(tool,)) for tool in (LMOD, ROOST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return runs["lmod"], runs["roost"]


# ------------------------------------------------------------------------------------------ comparing


def normalise_output(text: str) -> List[str]:
    """Output compared line by line with whitespace collapsed; blank lines and rules (only dashes) dropped."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip().strip("-")]


def _indent(text: str, prefix: str = "      ", keep: int = 12) -> str:
    """Indent the last ``keep`` lines (a traceback's end is what matters)."""
    lines = text.rstrip("\n").splitlines()
    shown = lines[-keep:] if len(lines) > keep else lines
    skipped = [f"[{len(lines) - keep} lines above]"] if len(lines) > keep else []
    return "".join(prefix + line + "\n" for line in skipped + shown)


VariableDiffs = Dict[str, Tuple[Optional[str], Optional[str]]]
SHELL_STATE = "<aliases and functions>"


def variable_differences(the_case: Case, number: int, lmod: Run, roost: Run) -> VariableDiffs:
    left, right = lmod.results[number - 1], roost.results[number - 1]
    lmod_view = the_case.expected_for_roost(number, lmod.view(left.environ))
    roost_view = roost.view(right.environ)
    if left.shell_state or right.shell_state:
        lmod_view[SHELL_STATE] = lmod.relative(left.shell_state)
        roost_view[SHELL_STATE] = roost.relative(right.shell_state)
    return {
        name: (lmod_view.get(name), roost_view.get(name))
        for name in sorted(set(lmod_view) | set(roost_view))
        if lmod_view.get(name) != roost_view.get(name)
    }


def step_differences(
    the_case: Case, one_step: Step, lmod: Run, roost: Run, number: int, reported: VariableDiffs
) -> List[str]:
    """What differs after step ``number``; variables already reported with the same values are left out."""
    left, right = lmod.results[number - 1], roost.results[number - 1]
    lines: List[str] = []
    if the_case.expected_ok_for_roost(number, left.ok) != right.ok:
        lines.append(f"  status: lmod {'ok' if left.ok else 'FAILED'} (rc {left.returncode}), "
                     f"roost {'ok' if right.ok else 'FAILED'} (rc {right.returncode})")
        lines.append("    lmod stderr:\n" + _indent(lmod.relative(left.stderr)))
        lines.append("    roost stderr:\n" + _indent(roost.relative(right.stderr)))
    current = variable_differences(the_case, number, lmod, roost)
    for name in [n for n in reported if n not in current]:  # agreed again: report a later difference anew
        del reported[name]
    for name, (lmod_value, roost_value) in current.items():
        if reported.get(name) != (lmod_value, roost_value):
            reported[name] = (lmod_value, roost_value)
            lines.append(f"  {name}:\n    lmod : {_show(lmod_value)}\n    roost: {_show(roost_value)}")
    if one_step.compare_output:
        expected = normalise_output(lmod.relative(left.stderr))
        actual = normalise_output(roost.relative(right.stderr))
        if expected != actual:
            header = "  output (stderr, whitespace-normalised; - lmod, + roost):\n"
            lines.append(header + _output_diff(expected, actual))
    return lines


def _output_diff(expected: List[str], actual: List[str]) -> str:
    """The whole output when short, else a unified diff with a little context."""
    if len(expected) + len(actual) <= 16:
        return ("    lmod :\n" + _indent("\n".join(expected) or "<nothing>")
                + "    roost:\n" + _indent("\n".join(actual) or "<nothing>"))
    diff = difflib.unified_diff(expected, actual, "lmod", "roost", n=2, lineterm="")
    return _indent("\n".join(list(diff)[2:]), keep=40)


def _show(value: Optional[str]) -> str:
    return "<unset>" if value is None else repr(value)


def differences(the_case: Case, lmod: Run, roost: Run) -> str:
    """A readable report of every step where roost differs from Lmod ('' when they agree).

    A difference carried over unchanged from an earlier step is reported once, where it appears."""
    report: List[str] = []
    reported: VariableDiffs = {}
    for number, one_step in enumerate(the_case.steps, 1):
        lines = step_differences(the_case, one_step, lmod, roost, number, reported)
        if lines:
            report.append(f"step {number} `module {one_step.text}`:")
            report.extend(lines)
    if report and the_case.lmod_bugs:
        by_reason: Dict[str, List[str]] = {}
        for bug in the_case.lmod_bugs:
            by_reason.setdefault(bug.reason, []).append(f"{bug.variable} after steps {list(bug.steps)}")
        report.append("(lmod values above are corrected for known Lmod bugs: "
                      + "; ".join(f"{', '.join(where)}: {reason}" for reason, where in by_reason.items()) + ")")
    return "\n".join(report)


def expectation_mismatches(the_case: Case, lmod: Run) -> List[str]:
    """Where Lmod's own behaviour differs from the case's stated expectations (the corpus self-check)."""
    problems: List[str] = []
    before = lmod.initial
    for number, (one_step, result) in enumerate(zip(the_case.steps, lmod.results), 1):
        if result.ok != one_step.expect_ok:
            expected = "ok" if one_step.expect_ok else "failure"
            actual = "succeeded" if result.ok else "failed"
            problems.append(f"step {number} `{one_step.text}`: expected {expected}, Lmod {actual}:\n"
                            f"{_indent(result.stderr)}")
        changed = lmod.view(result.environ) != lmod.view(before)
        if not result.ok and not one_step.keeps_changes and changed:
            problems.append(f"step {number} `{one_step.text}` failed but changed the environment")
        before = result.environ
    return problems


# ------------------------------------------------------------------------------------- cached oracle

# Each case's runs, shared by the differential test, the corpus self-check and the error-message check.
_LMOD_RUNS: Dict[Case, Run] = {}


_ROOST_RUNS: Dict[Case, Run] = {}


def lmod_and_roost(the_case: Case, workdir: Path) -> Tuple[Run, Run]:
    if the_case not in _ROOST_RUNS:
        if the_case in _LMOD_RUNS:
            _ROOST_RUNS[the_case] = run_tool(the_case, ROOST, workdir)
        else:
            _LMOD_RUNS[the_case], _ROOST_RUNS[the_case] = run_both(the_case, workdir)
    return _LMOD_RUNS[the_case], _ROOST_RUNS[the_case]


def lmod_only(the_case: Case, workdir: Path) -> Run:
    if the_case not in _LMOD_RUNS:
        _LMOD_RUNS[the_case] = run_tool(the_case, LMOD, workdir)
    return _LMOD_RUNS[the_case]


# ------------------------------------------------------------------------------------------- asserts


def roost_command_exists() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(ROOST_CMD[-1]) is not None
    except ModuleNotFoundError:
        return False


def assert_roost_matches_lmod(the_case: Case, workdir: Path) -> None:
    import pytest

    if not roost_command_exists():
        pytest.fail(f"{ROOST_CMD[-1]} does not exist yet: nothing to compare with Lmod", pytrace=False)
    lmod, roost = lmod_and_roost(the_case, workdir)
    report = differences(the_case, lmod, roost)
    if report:
        pytest.fail(f"roost differs from Lmod in case {the_case.id!r} (tree {the_case.tree}):\n{report}",
                    pytrace=False)


def assert_lmod_meets_expectations(the_case: Case, workdir: Path) -> None:
    import pytest

    problems = expectation_mismatches(the_case, lmod_only(the_case, workdir))
    if problems:
        summary = "\n".join(problems)
        pytest.fail(f"Lmod does not do what case {the_case.id!r} states:\n{summary}", pytrace=False)


def differential_tests(cases: Sequence[Case]) -> Tuple[Callable[..., None], Callable[..., None]]:
    """The two tests a differential file runs over its cases: roost matches Lmod on every step, and Lmod does
    what each case states (so a case cannot drift into testing nothing).  Bind both in the test module:
    ``test_roost_matches_lmod, test_lmod_meets_case_expectations = differential_tests(CASES)``."""
    import pytest

    @pytest.mark.parametrize("the_case", cases, ids=lambda c: c.id)
    def test_roost_matches_lmod(the_case: Case, tmp_path: Path) -> None:
        assert_roost_matches_lmod(the_case, tmp_path)

    @pytest.mark.parametrize("the_case", cases, ids=lambda c: c.id)
    def test_lmod_meets_case_expectations(the_case: Case, tmp_path: Path) -> None:
        assert_lmod_meets_expectations(the_case, tmp_path)

    return test_roost_matches_lmod, test_lmod_meets_case_expectations


def load(environ: Mapping[str, str], *names: str) -> Tuple[Dict[str, str], Engine]:
    """`module load NAMES` through roost's engine in-process: the environment after it, and the engine."""
    from roost.modules.engine import Engine

    engine = Engine(environ)
    engine.load(list(names))
    return engine.finish().applied_to(environ), engine


def unload(environ: Mapping[str, str], *names: str) -> Dict[str, str]:
    """`module unload NAMES` through roost's engine in-process: the environment after it."""
    from roost.modules.engine import Engine

    engine = Engine(environ)
    engine.unload(list(names))
    return engine.finish().applied_to(environ)
