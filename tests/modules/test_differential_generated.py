"""roost versus Lmod on random (seeded, reproducible) trees: many names in two MODULEPATH directories, Lua and
Tcl files, mixed version styles, defaults marked by .modulerc.lua, .version or a ``default`` symlink, hidden
versions.  The steps list everything (terse avail, defaults only), load every name (also by a partial version)
and list what got loaded, so default selection and version ordering are exercised far beyond the hand-written
cases.  A failing case names its seed: ``generated_tree(seed)`` in oracle.py rebuilds the tree.
"""

from __future__ import annotations

from typing import List

import pytest
from oracle import (
    GENERATED,
    Case,
    case,
    differential_tests,
    generated_tree,
)

pytestmark = pytest.mark.service("lmod")

SEEDS = (1, 2, 4, 5, 39)
BATCH = 10


def generated_case(seed: int, directories: List[str]) -> Case:
    tree = generated_tree(seed)
    names = tree.names()
    steps = ["?-t avail", "?-t -d avail"]
    for start in range(0, len(names), BATCH):
        steps += ["load " + " ".join(names[start:start + BATCH]), "?-t list", "purge"]
    # Partial versions: the first component of one version of each name (try-load: some match nothing).
    partial = {m.name: f"{m.name}/{m.version.split('.')[0]}" for m in tree.modules if "." in m.version}
    steps += ["try-load " + " ".join(sorted(partial.values())), "?-t list", "purge"]
    # Symbolic versions from the modulerc files.
    symbolic = sorted({f"{name}/stable" for _, name, _ in tree.stable})
    if symbolic:
        steps += ["try-load " + " ".join(symbolic), "?-t list"]
    return case(f"seed-{seed}-{''.join(directories)}", f"{GENERATED}{seed}", *steps, modulepath=directories)


CASES = [generated_case(seed, directories) for seed in SEEDS for directories in (["A", "B"], ["B", "A"])]


test_roost_matches_lmod, test_lmod_meets_case_expectations = differential_tests(CASES)
