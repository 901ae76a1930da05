"""Run a pickled Python call inside a job: ``python -m roost.jobs.call DIR``.

Reads ``DIR/call.pkl`` (the submitter's sys.path and the pickled function, args, kwargs, written by
:class:`roost.jobs.api.Executor`), writes
``DIR/result.pkl`` as ("ok", value, "") or ("error", exception, traceback) and exits 0 or 1.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path


def main(call_dir: str) -> int:
    import cloudpickle

    directory = Path(call_dir)
    submitter_path, payload = cloudpickle.loads((directory / "call.pkl").read_bytes())
    sys.path.extend(entry for entry in submitter_path if entry not in sys.path)
    function, args, kwargs = cloudpickle.loads(payload)
    try:
        outcome = ("ok", function(*args, **kwargs), "")
        code = 0
    except Exception as exc:
        trace = traceback.format_exc()
        sys.stderr.write(trace)
        outcome = ("error", exc, trace)
        code = 1
    partial = directory / "result.pkl.part"
    partial.write_bytes(cloudpickle.dumps(outcome))
    partial.replace(directory / "result.pkl")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
