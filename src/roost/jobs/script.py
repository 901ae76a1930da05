"""JobSpec -> batch script: the one place that writes a job script's lines, each from typed values.

A pure function: the same spec and environment change give the same text.  The header is sorted
``#SBATCH`` lines, each value quoted the way sbatch reads it (the local backend reads the same script, where
they are comments); the spec refuses values that could end such a line (control characters, bytes that are
not UTF-8).  The body changes to the submit directory when no header line can hold its name, loads the
modules and activates the environment through the one shell renderer, sets the thread variables, then runs
the command, under ``srun --mpi=pmi2`` (Slurm) or ``mpiexec`` (local) for ``--mpi``.  Every word in the body
is quoted: nothing in a value is ever read as shell code.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from roost.errors import JobError
from roost.jobs.spec import THREAD_VARIABLES, JobSpec, format_memory, format_time, unsafe_character
from roost.shell.change import EnvChange
from roost.shell.quote import quote_word
from roost.shell.render import quote_posix, render

LAUNCHERS = ("slurm", "local")


def sbatch_options(spec: JobSpec) -> List[Tuple[str, Optional[str]]]:
    """(flag, value) pairs for sbatch; value None is a bare flag (``--exclusive``)."""
    pairs: List[Tuple[str, Optional[str]]] = []

    def add(flag: str, value: object) -> None:
        if value is not None and value is not False:
            pairs.append((flag, None if value is True else str(value)))

    add("job-name", spec.name)
    add("partition", spec.partition)
    add("account", spec.account)
    add("qos", spec.qos)
    add("time", format_time(spec.time) if spec.time else None)
    add("nodes", spec.nodes)
    add("ntasks", spec.ntasks)
    add("ntasks-per-node", spec.ntasks_per_node)
    add("cpus-per-task", spec.cpus_per_task)
    add("mem", format_memory(spec.mem) if spec.mem else None)
    add("mem-per-cpu", format_memory(spec.mem_per_cpu) if spec.mem_per_cpu else None)
    add("gpus", spec.gpus)
    add("gres", spec.gres)
    add("array", spec.array.text if spec.array else None)
    add("dependency", str(spec.dependency) if spec.dependency else None)
    add("output", spec.output or spec.default_output())
    add("error", spec.error or (None if spec.output else spec.default_error()))
    add("constraint", spec.constraint)
    add("exclusive", spec.exclusive)
    add("mail-type", spec.mail_type)
    add("mail-user", spec.mail_user)
    if header_holds_workdir(spec):
        add("chdir", spec.workdir)
    return sorted(pairs)


def header_holds_workdir(spec: JobSpec) -> bool:
    """Whether ``#SBATCH --chdir`` can carry the job's directory.  The directory one submits from may have
    any name (a newline, bytes that are not UTF-8): then the body changes to it, quoted, and sbatch runs
    there (Slurm's default working directory is sbatch's own)."""
    return spec.workdir is not None and unsafe_character(spec.workdir) is None


def sbatch_quote(value: str) -> str:
    """``value`` as sbatch reads it back from a ``#SBATCH`` line: in quotes, a backslash escapes the next
    character (so ``\\`` and ``\\'`` stand for themselves); ``#`` and spaces inside quotes are plain."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def directive(flag: str, value: Optional[str]) -> str:
    """One ``#SBATCH --flag[=value]`` line.  A value that would end the line is refused here too, whoever
    built the spec (JobSpec refuses it first, naming the option)."""
    problem = unsafe_character(flag) or (unsafe_character(value) if value is not None else None)
    if problem is not None:
        raise JobError(f"--{flag} {value!r} contains {problem}", "option values are one line of text")
    return f"#SBATCH --{flag}" if value is None else f"#SBATCH --{flag}={sbatch_quote(value)}"


def _raw_directive(text: str) -> str:
    flag, sep, value = text.partition("=")
    return directive(flag[2:], value if sep else None)


def thread_change(spec: JobSpec) -> EnvChange:
    """OMP_NUM_THREADS and friends from --cpus-per-task, so threaded libraries fit the allocation."""
    change = EnvChange()
    if spec.cpus_per_task:
        for name in THREAD_VARIABLES:
            change.set(name, str(spec.cpus_per_task))
    return change


def command_line(spec: JobSpec, launcher: str, task_wrapper: Sequence[str] = ()) -> str:
    """The line that runs the user's work, with the MPI launcher in front when asked.

    ``task_wrapper`` (the start-up image's :func:`roost.envs.nodeimage.wrapper_argv`) goes in front of each
    task's command, so the command must then be one program with arguments (shell text runs under bash -c).
    """
    as_program = spec.mpi or bool(task_wrapper)
    if spec.commands:
        # each task runs its own line of the --array-from file (the lines travel inside the script)
        task_line = '"${roost_commands[$SLURM_ARRAY_TASK_ID]}"'
        body = f"eval {task_line}" if not as_program else f"bash -c {task_line}"
    elif spec.wrap is not None:
        body = spec.wrap if not as_program else f"bash -c {quote_posix(spec.wrap)}"
    else:
        body = " ".join(quote_word(word) for word in spec.command)
    if task_wrapper:
        body = " ".join(quote_word(word) for word in task_wrapper) + " " + body
    if not spec.mpi:
        return body
    if launcher == "slurm":
        return f"srun --mpi=pmi2 {body}"
    return f"mpiexec -n {spec.ntasks or 1} {body}"


def render_script(
    spec: JobSpec,
    *,
    launcher: str = "slurm",
    setup: Optional[EnvChange] = None,
    task_wrapper: Sequence[str] = (),
) -> str:
    """The whole batch script.  ``setup`` is the modules-then-env change computed by the caller;
    ``task_wrapper`` the words that start each task from the env's start-up image (see command_line)."""
    if launcher not in LAUNCHERS:
        raise JobError(f"unknown launcher {launcher!r}", f"use one of {', '.join(LAUNCHERS)}")
    lines = ["#!/bin/bash"]
    lines += [directive(flag, value) for flag, value in sbatch_options(spec)]
    lines += [_raw_directive(text) for text in spec.directives]
    if spec.workdir is not None and not header_holds_workdir(spec):
        lines += ["", "# roost: the submit directory (its name cannot go into a #SBATCH line)",
                  f"cd -- {quote_word(spec.workdir)} || exit 1"]
    if setup:
        what = ", ".join(
            filter(
                None,
                [
                    f"modules {' '.join(spec.modules)}" if spec.modules else "",
                    f"environment {spec.env}" if spec.env else "",
                ],
            )
        )
        lines += ["", f"# roost: {what or 'environment'}", render(setup, "bash").rstrip("\n")]
    extra = EnvChange()
    for name, value in spec.environment:
        extra.set(name, value)
    if extra:
        lines += ["", "# roost: variables", render(extra, "bash").rstrip("\n")]
    threads = thread_change(spec)
    if threads:
        lines += ["", "# roost: threads from --cpus-per-task", render(threads, "bash").rstrip("\n")]
    if spec.commands:
        lines += ["", "# roost: one command per array task (--array-from)", "roost_commands=("]
        lines += [f"    {quote_posix(command)}" for command in spec.commands]
        lines += [")"]
    lines.append("")
    if task_wrapper:
        lines.append(f"# roost: each task runs environment {spec.env} from its start-up image on node-local storage")
    lines.append(command_line(spec, launcher, task_wrapper))
    return "\n".join(lines) + "\n"
