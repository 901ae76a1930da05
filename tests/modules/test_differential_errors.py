"""roost versus Lmod on bad input: every failing load must fail (exit status) and leave the environment
exactly as it was, including when one module among several on the command line fails (loads are
all-or-nothing).

Each case is a command sequence on ``trees/edge``; see oracle.py for the step syntax and trees/README.md for
what Lmod does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import List

import pytest
from oracle import (
    ROOT_PLACEHOLDER,
    Case,
    case,
    differential_tests,
    lmod_and_roost,
    roost_command_exists,
)

pytestmark = pytest.mark.service("lmod")

CASES = [
    case("unknown-module", "edge", "load refa", "!load nosuchmodule", "?-t list"),
    case("unknown-version", "edge", "load refa", "!load lib/9.9", "?-t list"),
    case("conflict", "edge", "load refa", "!load conf", "?-t list"),
    case("conflict-is-one-way", "edge", "load conf", "load refa", "?-t list"),
    case("missing-prereq", "edge",
         "!load needsbase", "load refa", "load needsbase", "unload refa", "?-t list"),
    case("lua-syntax-error", "edge", "load refa", "!load broken", "?-t list"),
    case("lmod-error", "edge", "load refa", "!load lmoderr", "?-t list"),
    case("lmod-warning-applies-and-fails", "edge", "load refa", "~load warner", "?-t list"),
    case("tcl-syntax-error", "edge", "load refa", "!load tclbroken", "?-t list"),
    case("tcl-error-command", "edge", "load refa", "!load tclerror", "?-t list"),
    case("load-of-missing-dependency", "edge", "load refa", "!load loadmiss", "?-t list"),
    case("all-or-nothing-syntax-error", "edge", "load refa", "!load refb broken setter", "?-t list"),
    case("all-or-nothing-unknown", "edge", "load refa", "!load refb nosuchmodule setter", "?-t list"),
    case("all-or-nothing-missing-dependency", "edge", "load refa", "!load refb loadmiss", "?-t list"),
    case("all-or-nothing-lmod-error", "edge", "load refa", "!load refb lmoderr pusher", "?-t list"),
    case("all-or-nothing-conflict", "edge", "load refa", "!load refb conf", "?-t list"),
    case("all-or-nothing-prereq", "edge", "!load refb needsbase", "?-t list"),
    case("error-keeps-earlier-swap", "edge", "load lib/1.0", "!load lib/3.0 broken", "?-t list"),
    case("unload-of-broken-after-fix", "edge", "load refa", "!load broken", "unload refa", "?-t list"),
]


test_roost_matches_lmod, test_lmod_meets_case_expectations = differential_tests(CASES)


@pytest.mark.parametrize("the_case", CASES, ids=lambda c: c.id)
def test_roost_names_the_failing_modulefile(the_case: Case, tmp_path: Path) -> None:
    """Beyond Lmod's behaviour: a failed load says why on stderr and names every modulefile Lmod names."""
    if not roost_command_exists():
        pytest.fail("roost.modules.command does not exist yet", pytrace=False)
    lmod, roost = lmod_and_roost(the_case, tmp_path)
    problems: List[str] = []
    for number, (one_step, left, right) in enumerate(zip(the_case.steps, lmod.results, roost.results), 1):
        if one_step.expect_ok or right.ok:
            continue
        message = roost.relative(right.stderr)
        if not message.strip():
            problems.append(f"step {number} `{one_step.text}`: failed without a message")
        for path in sorted(set(re.findall(re.escape(ROOT_PLACEHOLDER) + r"/[^\s:\"']+", lmod.relative(left.stderr)))):
            if path not in message:
                problems.append(f"step {number} `{one_step.text}`: the message does not name {path}:\n{message}")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
