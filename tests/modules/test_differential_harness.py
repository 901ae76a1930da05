"""The differential harness itself: decoding Lmod's python output, applying roost's, comparing outputs.

A harness bug would make roost "agree" with a misread Lmod, so the decoders are checked on the awkward cases.
"""

from __future__ import annotations

from typing import Dict

import pytest
from oracle import apply_lmod_python, apply_roost_python, generated_tree, normalise_output, step


def test_lmod_python_output_is_decoded_as_lua_strings() -> None:
    # What Lmod 8.6 prints for setenv("V", "a \"b\"\nc ü") and an unset, byte for byte.
    stdout = ('import os\nos.environ["V"] = "a \\"b\\"\\\nc \\195\\188";\n'
              'os.environ["GONE"] = \'\'\ndel os.environ["GONE"]\n_mlstatus = True\n')
    environ: Dict[str, str] = {"GONE": "x"}
    assert apply_lmod_python(stdout, environ) is True
    assert environ == {"V": 'a "b"\nc ü'}


def test_lmod_failure_after_changes_reports_the_last_status() -> None:
    environ: Dict[str, str] = {}
    assert apply_lmod_python('os.environ["W"] = "1";\n_mlstatus = True\n_mlstatus = False\n', environ) is False
    assert environ == {"W": "1"}


def test_unexpected_lmod_output_is_an_error_not_ignored() -> None:
    with pytest.raises(ValueError, match="unexpected line"):
        apply_lmod_python("export X=1\n", {})


def test_roost_python_output_runs_against_the_dict_only() -> None:
    environ: Dict[str, str] = {"OLD": "1"}
    status = apply_roost_python("os.environ['NEW'] = 'a\\nb'\nos.environ.pop('OLD', None)\nfalse\n", environ)
    assert status is False
    assert environ == {"NEW": "a\nb"}
    with pytest.raises(ImportError):
        apply_roost_python("import subprocess\n", {})


def test_output_normalisation_and_step_syntax() -> None:
    assert normalise_output("  a   b \n\n-----\n c\n") == ["a b", "c"]
    parsed = step("!?load 'x y' z")
    assert parsed.args == ("load", "x y", "z")
    assert (parsed.expect_ok, parsed.compare_output, parsed.keeps_changes) == (False, True, False)
    assert step("~load w").keeps_changes


def test_generated_trees_are_reproducible() -> None:
    assert generated_tree(7) == generated_tree(7)
    assert generated_tree(7) != generated_tree(8)
