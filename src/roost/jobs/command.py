"""``roost submit`` itself: one function that both the click CLI and the click-free fast path call.

People submit in loops (parameter sweeps), so a submission should cost little more than sbatch: the
fast path (:func:`fast_submit`, reached through ``roost.cli.entry``) parses with the option table in
roost.jobs.options and imports only what a submission needs.  Anything it does not handle (--help,
--wait, an unknown option) goes to the click CLI, which explains it.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, List, Mapping, Optional, Sequence, Tuple

from roost.errors import JobError, RoostError
from roost.jobs.options import SUBMIT_OPTIONS, parse_fast

if TYPE_CHECKING:
    from roost.jobs.spec import JobSpec
    from roost.jobs.store import Store

# Keywords of the submit options that steer the command rather than describe the job.
_COMMAND_KEYWORDS = ("backend", "dry_run", "wait_for_it", "parsable")


def fast_submit(args: Sequence[str]) -> Optional[int]:
    """``roost submit ARGS`` without click; None when the full CLI must take these arguments."""
    parsed = parse_fast(args, SUBMIT_OPTIONS)
    if parsed is None or parsed[0]["wait_for_it"]:  # following a job's output is the full CLI's work
        return None
    values, command = parsed
    try:
        run_submit(command, values)
    except RoostError as exc:
        sys.stderr.write(exc.report())
        return exc.exit_code
    return 0


def run_submit(command: Sequence[str], values: Mapping[str, Any]) -> Optional[Tuple[Store, str]]:
    """Submit (or print the script for --dry-run), printing the job id as ``roost submit`` does.

    ``values`` holds every keyword of SUBMIT_OPTIONS.  Returns the store and the job id of the submitted
    job, or None for a dry run.
    """
    from roost.jobs import api

    spec = build_spec(command, values)
    backend = api.backend_name(values.get("backend"))
    if backend == "local":
        _report_ignored(spec)
    if values.get("dry_run"):
        sys.stdout.write(api.prepare(spec, backend))
        if spec.script is not None and backend == "slurm":
            _report_sbatch_line(spec)
        return None
    from roost.jobs.store import Store

    store = Store()
    job = api.submit_spec(spec, backend=backend, store=store)
    sys.stdout.write(f"{job.id}\n" if values.get("parsable") else f"Submitted job {job.id} ({backend})\n")
    sys.stdout.flush()
    return store, job.id


def build_spec(command: Sequence[str], values: Mapping[str, Any]) -> JobSpec:
    """The job ``roost submit`` would submit: a batch script with its directives, a Python script, a command."""
    from roost.jobs import api
    from roost.jobs.spec import JobSpec

    options = {k: v for k, v in values.items() if k not in _COMMAND_KEYWORDS}
    chdir = options.pop("workdir", None)
    if chdir:  # an option, checked as one; the directory we are in may have any name
        from roost.jobs.spec import check_option_text

        chdir = os.path.realpath(check_option_text("workdir", chdir))
    workdir = chdir or api.submit_directory()
    command_file = options.pop("array_from", None)
    argv = list(command)
    script = _script_path(argv, workdir)
    if script is not None:
        from roost.jobs.userscript import script_keywords

        options = script_keywords(script, argv[1:], dict(options, workdir=chdir), os.environ)
        argv = []
    elif argv and argv[0].endswith(".py") and os.path.isfile(os.path.join(workdir, argv[0])):
        from roost.jobs.userscript import merged_keywords, read_text

        # A Python script's own #SBATCH lines count as a batch script's would.
        text = read_text(os.path.join(workdir, argv[0]), "Python script")
        options = merged_keywords(text, dict(options, workdir=chdir), os.environ, source=argv[0])
    elif _has_input_variables(os.environ):
        from roost.jobs.userscript import merged_keywords

        # sbatch's SBATCH_* variables count for every job, under the command line (as for sbatch)
        options = merged_keywords("", dict(options, workdir=chdir), os.environ, source="the command line")
    if options.get("workdir"):  # the script's #SBATCH --chdir (the command line's is chdir already)
        workdir = os.path.realpath(options["workdir"])
    options.pop("workdir", None)
    if command_file:
        from roost.jobs.spec import read_command_file
        from roost.jobs.userscript import refuse_script_as_commands

        refuse_script_as_commands(command_file)
        options["commands"] = read_command_file(command_file)
        if not options.get("job_name") and command_file != "-":  # shown by its file: params.txt -> params
            options["job_name"] = os.path.splitext(os.path.basename(command_file))[0] or None
    spec = JobSpec.create(_with_interpreter(argv, workdir, options.get("env")) if argv else argv, **options)
    return spec.with_changes(workdir=workdir)


def _has_input_variables(environ: Mapping[str, str]) -> bool:
    from roost.jobs.directives import INPUT_VARIABLES

    return any(name in environ for name in INPUT_VARIABLES)


def _report_ignored(spec: Any) -> None:
    from roost.jobs.userscript import local_ignored

    ignored = local_ignored(spec)
    if ignored:
        sys.stderr.write(f"roost: the local backend ignores {' '.join(ignored)}\n")


def _report_sbatch_line(spec: Any) -> None:
    """Under Slurm a script goes to sbatch as a file, with roost's resolved options on sbatch's command line."""
    from roost.jobs.userscript import sbatch_arguments
    from roost.shell.quote import quote_word

    words = ["sbatch", "--parsable", *sbatch_arguments(spec), spec.script_name or "SCRIPT", *spec.script_args]
    sys.stderr.write(f"roost: submitted as: {' '.join(quote_word(w) for w in words)}\n")


def _script_path(argv: Sequence[str], directory: str) -> Optional[str]:
    """The batch script ``roost submit job.sh`` names (found as sbatch finds it: from --chdir if given, else
    here), or None when argv is a command."""
    if not argv or argv[0].startswith("-"):
        return None
    from roost.jobs.userscript import SCRIPT_SUFFIXES, is_batch_script

    path = os.path.join(directory, argv[0])
    if is_batch_script(path):
        return path
    if argv[0].endswith(SCRIPT_SUFFIXES) and not os.path.exists(path):
        from roost import paths

        found = paths.which(argv[0]) if "/" not in argv[0] else None  # sbatch looks on PATH too
        if found and is_batch_script(found):
            return found
        raise JobError(
            f"no batch script {argv[0]} in {directory}",
            "check the name (or give --chdir DIR); a command goes after --: roost submit -- CMD",
        )
    return None


def _with_interpreter(argv: List[str], workdir: str, env: Optional[str]) -> List[str]:
    """``roost submit script.py ARGS`` runs the script with the env's python (or python3 on PATH)."""
    if not argv or not argv[0].endswith(".py") or argv[0].startswith("-"):
        return argv
    if not os.path.isfile(os.path.join(workdir, argv[0])):
        raise JobError(
            f"no Python script {argv[0]} in {workdir}",
            "check the name, or give the command after --: roost submit -- CMD",
        )
    from roost.jobs.api import python_for

    return [python_for(env), *argv]
