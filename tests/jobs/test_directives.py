"""#SBATCH lines read as sbatch reads them: which lines count, how words split, which source wins.

The property tests build scripts from parts (comments, blank lines, directives, commands, heredocs) and
check the rule sbatch documents: directives are the #SBATCH lines before the first command.  The oracle
test submits generated scripts to the real Slurm with --hold and compares what Slurm read (scontrol) with
what roost read.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roost.errors import JobError
from roost.jobs import directives
from roost.jobs.spec import JobSpec, parse_time

# ------------------------------------------------------------------------------------ which lines


def test_directives_stop_at_the_first_command_and_skip_indented_ones() -> None:
    text = (
        "#!/bin/bash -l\n"
        "# a comment, then a blank line\n"
        "\n"
        "#SBATCH --time=10 -n 2\n"
        "   #SBATCH --ntasks=8\n"  # indented: a comment to sbatch
        "#SBATCH -J 'two words'  # trailing comment\n"
        "module load python\n"
        "#SBATCH --time=99\n"
    )
    assert directives.directive_words(text) == [["--time=10", "-n", "2"], ["-J", "two words"]]


def test_sbatch_in_a_heredoc_is_not_a_directive() -> None:
    text = "#!/bin/bash\n#SBATCH -c 2\ncat > job2.sh <<EOF\n#SBATCH -c 8\nEOF\n"
    options, _ = directives.script_options(text, source="job.sh")
    assert options == {"cpus_per_task": "2"}


def test_long_short_and_attached_forms_mean_the_same() -> None:
    forms = [["--time=5"], ["--time", "5"], ["-t5"], ["-t", "5"]]
    for words in forms:
        options, unknown = directives.spec_options(directives.parse_options(words), source="x")
        assert options == {"time": "5"} and unknown == []


def test_a_word_that_is_no_option_is_refused_as_sbatch_refuses_it() -> None:
    # sbatch matches the prefix: "#SBATCHING" is a directive line whose word "ING" is no option
    with pytest.raises(JobError, match=r"job.sh: #SBATCH line 2 has 'ING', which is not an option"):
        directives.script_options("#!/bin/sh\n#SBATCHING\n", source="job.sh")


def test_unknown_options_are_kept_verbatim_with_their_values() -> None:
    words = ["--reservation", "maint", "--hold", "-w", "node1", "--gpus-per-node=4", "-c", "2"]
    options, unknown = directives.spec_options(directives.parse_options(words), source="x")
    assert options == {"cpus_per_task": "2"}
    assert unknown == ["--reservation=maint", "--hold", "-wnode1", "--gpus-per-node=4"]


def test_quotes_backslashes_and_hashes_split_as_sbatch_splits_them() -> None:
    assert directives.split_words(' -J "a b" --x=it\\\'s --y=\'c d\' # --z=1') == ["-J", "a b", "--x=it's", "--y=c d"]
    assert directives.split_words(" --job-name=a#b") == ["--job-name=a"]
    assert directives.split_words(' --comment="a # b"') == ["--comment=a # b"]


def test_a_later_source_wins_and_mem_options_replace_each_other() -> None:
    script = {"time": "5", "mem": "4G", "ntasks": "2"}
    environ = {"time": "7"}
    cli = {"mem_per_cpu": "1G"}
    assert directives.merge([script, environ, cli]) == {"time": "7", "ntasks": "2", "mem_per_cpu": "1G"}


def test_sbatch_input_variables_are_read_for_the_options_roost_maps() -> None:
    environ = {"SBATCH_TIMELIMIT": "9", "SBATCH_EXCLUSIVE": "yes", "SBATCH_JOB_NAME": "n", "SLURM_NTASKS": "4"}
    options, _ = directives.spec_options(directives.options_from_environ(environ), source="env")
    assert options == {"time": "9", "exclusive": True, "job_name": "n"}
    off, _ = directives.spec_options(directives.options_from_environ({"SBATCH_EXCLUSIVE": "no"}), source="env")
    assert off == {}


def test_gpus_per_node_and_per_task_count_as_gpus() -> None:
    spec = JobSpec.create(["true"], ntasks="2", directives=["--gpus-per-task=a100:1", "--gpus-per-node=3"])
    assert spec.task_gpus == 5
    with pytest.raises(JobError, match="not a GPU count"):
        directives.gpus_in(["--gpus-per-node=lots"], 1)


def test_a_directive_without_its_value_is_an_error_naming_the_script() -> None:
    with pytest.raises(JobError, match=r"job\.sh: --time needs a value"):
        directives.script_options("#!/bin/sh\n#SBATCH --time\n", source="job.sh")


# ----------------------------------------------------------------------------------- properties

_VALUES = st.integers(min_value=1, max_value=59).map(str)
_OPTIONS = st.sampled_from([("time", "t"), ("ntasks", "n"), ("cpus_per_task", "c"), ("nodes", "N")])
_KEYWORD_TO_LONG = {"time": "time", "ntasks": "ntasks", "cpus_per_task": "cpus-per-task", "nodes": "nodes"}


@st.composite
def _directive(draw: st.DrawFn) -> Tuple[str, Dict[str, str]]:
    """One #SBATCH line (in any of sbatch's forms, maybe with a trailing comment) and what it sets."""
    pairs = draw(st.lists(st.tuples(_OPTIONS, _VALUES), min_size=1, max_size=3))
    words: List[str] = []
    expected: Dict[str, str] = {}
    for (keyword, short), value in pairs:
        form = draw(st.sampled_from(["--{l}={v}", "--{l} {v}", "-{s}{v}", "-{s} {v}"]))
        words.append(form.format(l=_KEYWORD_TO_LONG[keyword], s=short, v=value))
        expected[keyword] = value
    comment = draw(st.sampled_from(["", "  # why", "\t#x"]))
    return "#SBATCH " + " ".join(words) + comment, expected


_FILLER = st.sampled_from(["", "   ", "# note", "  # indented note", "# SBATCH -c 9 (not at column 0)", "\t"])
_COMMANDS = st.sampled_from(["echo hi", "  module load gcc", "set -e", "cat <<EOF", "srun python x.py", "x=1 # c"])


@given(
    before=st.lists(st.one_of(_directive(), _FILLER.map(lambda f: (f, {}))), max_size=6),
    command=_COMMANDS,
    after=st.lists(st.one_of(_directive(), _FILLER.map(lambda f: (f, {})), _COMMANDS.map(lambda c: (c, {}))),
                   max_size=6),
)
def test_only_lines_before_the_first_command_count(
    before: List[Tuple[str, Dict[str, str]]], command: str, after: List[Tuple[str, Dict[str, str]]]
) -> None:
    lines = ["#!/bin/bash", *(line for line, _ in before), command, *(line for line, _ in after)]
    expected: Dict[str, str] = {}
    for _, sets in before:
        expected.update(sets)
    found, _ = directives.script_options("\n".join(lines), source="job.sh")
    assert found == expected


@given(st.lists(st.text(alphabet="abc #'\"\\=-", max_size=6), max_size=4))
def test_quoted_words_come_back_whole(words: List[str]) -> None:
    """Any word, written in double quotes with its quotes and backslashes escaped, splits back to itself."""
    line = " ".join('"' + w.replace("\\", "\\\\").replace('"', '\\"') + '"' for w in words)
    assert directives.split_words(line) == words


# -------------------------------------------------------------------------------- the real sbatch

_SMALL = st.sampled_from([("time", "t", "3"), ("time", "t", "17"), ("ntasks", "n", "1"), ("ntasks", "n", "2"),
                          ("cpus_per_task", "c", "1"), ("cpus_per_task", "c", "2")])


@st.composite
def _small_directive(draw: st.DrawFn) -> str:
    """A #SBATCH line with requests small enough for this 2-core node (though not always together)."""
    words = []
    for keyword, short, value in draw(st.lists(_SMALL, min_size=1, max_size=2)):
        form = draw(st.sampled_from(["--{l}={v}", "--{l} {v}", "-{s}{v}", "-{s} {v}"]))
        words.append(form.format(l=_KEYWORD_TO_LONG[keyword], s=short, v=value))
    return "#SBATCH " + " ".join(words) + draw(st.sampled_from(["", " # c"]))


def _slurm_read(script: Path) -> Optional[Dict[str, Any]]:
    """What Slurm itself read from a script (submitted held, inspected, cancelled); None if it refused it."""
    done = subprocess.run(["sbatch", "--parsable", "--hold", str(script)], capture_output=True, text=True,
                          cwd=script.parent, timeout=60)
    if done.returncode != 0:
        assert "node configuration is not available" in done.stderr, done.stderr
        return None
    job_id = done.stdout.strip().split(";")[0]
    try:
        shown = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True, timeout=60)
        name = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%j"], capture_output=True, text=True, timeout=60)
    finally:
        subprocess.run(["scancel", job_id], capture_output=True, timeout=60)
    fields = dict(re.findall(r"(TimeLimit|NumTasks|CPUs/Task)=(\S+)", shown.stdout))
    limit = fields["TimeLimit"]
    return {"time": parse_time(limit) if limit[:1].isdigit() else None, "ntasks": int(fields["NumTasks"]),
            "cpus_per_task": int(fields["CPUs/Task"]), "name": name.stdout.strip()}


@pytest.mark.service("slurm")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    before=st.lists(st.one_of(_small_directive(), _FILLER), max_size=4),
    command=_COMMANDS,
    after=st.lists(st.sampled_from(["#SBATCH -c 64", "#SBATCH --time=999", "#SBATCH -J wrong"]), max_size=2),
)
def test_roost_reads_what_sbatch_reads(tmp_path: Path, before: List[str], command: str, after: List[str]) -> None:
    lines = ["#!/bin/bash", "#SBATCH -J 'held probe'", *before, command, *after]
    text = "\n".join(lines + (["EOF"] if command == "cat <<EOF" else [])) + "\n"
    script = tmp_path / "probe.sh"
    script.write_text(text)
    found, _ = directives.script_options(text, source="probe.sh")
    spec = JobSpec.create(["true"], **found)
    slurm = _slurm_read(script)
    if slurm is None:  # Slurm refused: roost must have read a request larger than this node's 2 cores
        assert spec.task_cpus > 2
        return
    assert slurm["name"] == spec.name == "held probe"
    assert (slurm["ntasks"], slurm["cpus_per_task"]) == (spec.ntasks or 1, spec.cpus_per_task or 1)
    if spec.time:
        assert slurm["time"] == spec.time
