"""``roost submit`` itself: one function that both the click CLI and the click-free fast path call.

People submit in loops (parameter sweeps), so a submission should cost little more than sbatch: the
fast path (:func:`fast_submit`, reached through ``roost.cli.entry``) parses with the option table in
roost.jobs.options and imports only what a submission needs.  Anything it does not handle (--help,
--wait, an unknown option) goes to the click CLI, which explains it.
"""

from __future__ import annotations

import os
import sys

from roost.errors import JobError, RoostError
from roost.jobs.options import SUBMIT_OPTIONS, parse_fast

TYPE_CHECKING = False  # typing is not imported at run time: `roost submit` is on a hot path
if TYPE_CHECKING:
    from typing import Any, List, Mapping, Optional, Sequence, Tuple

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
    from roost.jobs.spec import JobSpec

    options = {k: v for k, v in values.items() if k not in _COMMAND_KEYWORDS}
    chdir = options.pop("workdir", None)
    if chdir:  # an option, checked as one; the directory we are in may have any name
        from roost.jobs.spec import check_option_text

        chdir = os.path.realpath(check_option_text("workdir", chdir))
    workdir = chdir or api.submit_directory()
    command_file = options.pop("array_from", None)
    if command_file:
        from roost.jobs.spec import read_command_file

        options["commands"] = read_command_file(command_file)
        if not options.get("job_name") and command_file != "-":  # shown by its file: params.txt -> params
            options["job_name"] = os.path.splitext(os.path.basename(command_file))[0] or None
    spec = JobSpec.create(_with_interpreter(list(command), workdir, options.get("env")), **options)
    spec = spec.with_changes(workdir=workdir)
    backend = api.backend_name(values.get("backend"))
    if values.get("dry_run"):
        sys.stdout.write(api.prepare(spec, backend))
        return None
    from roost.jobs.store import Store

    store = Store()
    job = api.submit_spec(spec, backend=backend, store=store)
    sys.stdout.write(f"{job.id}\n" if values.get("parsable") else f"Submitted job {job.id} ({backend})\n")
    sys.stdout.flush()
    return store, job.id


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
