"""Run pickled Python calls inside a job: ``python -m roost.jobs.call DIR``.

``DIR/call.pkl`` holds the submitter's sys.path and the pickled (function, calls), written by
:class:`roost.jobs.api.Executor`; ``calls`` is a list of (args, kwargs).  A plain job runs calls[0] and writes
``DIR/result.pkl``; an array task (ROOST_CALL_ARRAY set) runs calls[SLURM_ARRAY_TASK_ID] and writes
``DIR/result-<index>.pkl``.  A result is ("ok", value, "") or ("error", exception, traceback); the exit code is 0 or 1.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any, Tuple


def main(call_dir: str) -> int:
    import cloudpickle

    directory = Path(call_dir)
    submitter_path, payload = cloudpickle.loads((directory / "call.pkl").read_bytes())
    sys.path.extend(entry for entry in submitter_path if entry not in sys.path)
    function, calls = cloudpickle.loads(payload)
    # Set by Executor.map_array in the job's script; the task index comes from the scheduler.
    index = int(os.environ["SLURM_ARRAY_TASK_ID"]) if os.environ.get("ROOST_CALL_ARRAY") else None
    args, kwargs = calls[index or 0]
    outcome: Tuple[str, Any, str]
    try:
        outcome = ("ok", function(*args, **kwargs), "")
        code = 0
    except Exception as exc:
        trace = traceback.format_exc()
        sys.stderr.write(trace)
        outcome = ("error", exc, trace)
        code = 1
    name = "result.pkl" if index is None else f"result-{index}.pkl"
    partial = directory / f"{name}.part"
    partial.write_bytes(cloudpickle.dumps(outcome))
    partial.replace(directory / name)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
