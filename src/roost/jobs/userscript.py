"""The batch scripts users already have: ``roost submit job.sh ARGS`` runs one as sbatch would.

The script is read once at submit (sbatch copies it too), its ``#SBATCH`` lines are merged with the
``SBATCH_*`` input variables and roost's command line (:mod:`roost.jobs.directives`), and it runs as written:
roost's additions (``module``/``ml``, modules, env, threads) go after the directives and before the first
command, rendered by :func:`roost.shell.render.render`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence

from roost.errors import JobError
from roost.jobs import directives
from roost.shell.change import EnvChange
from roost.shell.render import render

if TYPE_CHECKING:
    from roost.jobs.spec import JobSpec

# Suffixes that say "batch script" even before the file is read.
SCRIPT_SUFFIXES = (".sh", ".bash", ".slurm", ".sbatch", ".job", ".batch")
# Interpreters whose scripts roost can add to (the render shell for each); others run untouched.
_SHELLS = {"bash": "bash", "sh": "sh", "dash": "sh", "ksh": "sh", "zsh": "zsh"}


def read_text(path: str, what: str = "batch script") -> str:
    try:
        with open(path, encoding="utf-8", newline="") as handle:  # as written: \r\n stays visible
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise JobError(f"cannot read the {what} {path}: {exc}", "give a readable text file") from exc


def is_batch_script(path: str) -> bool:
    """A file that sbatch would take: a known suffix, a ``#!`` line, or ``#SBATCH`` lines in its header."""
    if path.endswith(".py") or not os.path.isfile(path):
        return False
    if path.endswith(SCRIPT_SUFFIXES):
        return True
    try:
        with open(path, "rb") as handle:
            start = handle.read(65536)
    except OSError:
        return False
    if start.startswith(b"#!"):
        return True
    try:
        return bool(directives.directive_words(start.decode("utf-8")))
    except UnicodeDecodeError:
        return False


def interpreter(text: str) -> Optional[str]:
    """The render shell of a script's ``#!`` line (bash, sh, zsh), or None for any other interpreter."""
    first = text.split("\n", 1)[0]
    if not first.startswith("#!"):
        return None
    words = first[2:].split()
    if words and words[0].rsplit("/", 1)[-1] == "env":
        words = [w for w in words[1:] if not w.startswith("-")]
    return _SHELLS.get(words[0].rsplit("/", 1)[-1]) if words else None


def script_keywords(
    path: str, args: Sequence[str], command_line: Mapping[str, Any], environ: Mapping[str, str]
) -> Dict[str, Any]:
    """JobSpec keywords for ``roost submit path ARGS``: the script's directives, then SBATCH_* input
    variables, then ``command_line`` (roost's options as the CLI has them; None where not given)."""
    text = read_text(path)
    if not text.startswith("#!"):
        raise JobError(
            f"{path} has no #! line, so Slurm would refuse it",
            "make its first line the interpreter, e.g. #!/bin/bash",
        )
    if "\r\n" in text:  # sbatch refuses these too; bash would run "cmd\r" and fail on every line
        raise JobError(
            f"{path} has DOS line breaks (\\r\\n), as a Windows editor writes them",
            f"convert it first: dos2unix {path}  (or: sed -i 's/\\r$//' {path})",
        )
    keywords = merged_keywords(text, command_line, environ, source=path)
    keywords.update(script=text, script_name=path, script_args=tuple(args))
    return keywords


def merged_keywords(
    text: str, command_line: Mapping[str, Any], environ: Mapping[str, str], *, source: str
) -> Dict[str, Any]:
    """The keywords of a script's ``#SBATCH`` lines under SBATCH_* variables under the command line."""
    from_script, unknown = directives.script_options(text, source=source)
    from_environ, _ = directives.spec_options(directives.options_from_environ(environ), source="SBATCH_* variables")
    cli = {k: v for k, v in command_line.items() if v is not None and v != () and v is not False}
    merged = directives.merge([from_script, from_environ, cli])
    merged.update({k: v for k, v in command_line.items() if k not in merged})  # the rest, as given (empty)
    merged["directives"] = (*unknown, *(command_line.get("directives") or ()))
    return merged


def refuse_script_as_commands(path: str) -> None:
    """``--array-from job.sh`` would make each line of a script an array task: say what to do instead."""
    if path != "-" and is_batch_script(path):
        raise JobError(
            f"{path} is a batch script, not a list of commands (--array-from runs each line as a task)",
            f"submit the script itself: roost submit --array 0-9 {path} (or #SBATCH --array in it)",
        )


def render_script(spec: JobSpec, additions: Sequence[EnvChange], labels: Sequence[str]) -> str:
    """The user's script with each non-empty addition (and its label) after the directives."""
    text = spec.script or ""
    blocks: List[str] = []
    shell = interpreter(text)
    for change, label in zip(additions, labels):
        if not change:
            continue
        if shell is None:
            raise JobError(
                f"{spec.script_name}: roost can add {label} only to a sh, bash or zsh script",
                "load them inside the script yourself, or submit it without -e/--module",
            )
        blocks.append(f"# roost: {label}\n{render(change, shell).rstrip()}\n")
    if not blocks:
        return text
    lines = text.split("\n")
    end = directives.header_end(lines)
    head = "\n".join(lines[:end])
    body = "\n".join(lines[end:])
    gap = "\n" if end and not lines[end - 1].strip() else "\n\n"  # one blank line before roost's part
    return head + gap + "\n".join(blocks) + f"\n{body}"


def local_ignored(spec: JobSpec) -> List[str]:
    """Options the local backend cannot honour (reported once at submit)."""
    ignored = [
        f"--{flag}={value}"
        for flag, value in (
            ("partition", spec.partition),
            ("account", spec.account),
            ("qos", spec.qos),
            ("constraint", spec.constraint),
            ("mail-type", spec.mail_type),
            ("mail-user", spec.mail_user),
        )
        if value
    ]
    if spec.exclusive:
        ignored.append("--exclusive")
    gpu_options = ("--gpus-per-node", "--gpus-per-task")  # honoured: they count towards the GPUs asked for
    return ignored + [d for d in spec.directives if not d.startswith(gpu_options)]


def sbatch_arguments(spec: JobSpec) -> List[str]:
    """sbatch's command line for a user's script: every option roost resolved (so Slurm runs what roost
    recorded), and the verbatim ones.  Output files are passed only when asked for: Slurm's defaults are
    the script's defaults."""
    from roost.jobs.script import sbatch_options

    explicit = {"output": spec.output, "error": spec.error}
    arguments = [
        f"--{flag}" if value is None else f"--{flag}={value}"
        for flag, value in sbatch_options(spec)
        if flag not in explicit or explicit[flag]
    ]
    return arguments + list(spec.directives)
