"""Parsing job options into types: what users type, and the errors they get for bad strings."""

from __future__ import annotations

import re
from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roost.errors import JobError
from roost.jobs.spec import (
    ArraySpec,
    Dependency,
    JobSpec,
    format_memory,
    format_time,
    parse_memory,
    parse_time,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 30 * 60),
        ("5:30", 5 * 60 + 30),
        ("1:00:00", 3600),
        ("2-0", 2 * 86400),
        ("1-12", 86400 + 12 * 3600),
        ("1-12:30", 86400 + 12 * 3600 + 30 * 60),
        ("0-0:0:5", 5),
    ],
)
def test_time_accepts_slurm_formats(text: str, seconds: int) -> None:
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "1:2:3:4", "0", "-5", "1:61:00", "10m"])
def test_time_rejects_malformed_strings_naming_the_forms(text: str) -> None:
    with pytest.raises(JobError) as error:
        parse_time(text)
    assert "--time" in error.value.message
    assert error.value.hint and ("HH:MM:SS" in error.value.hint or "10:00" in error.value.hint)


def test_time_round_trips_through_slurm_format() -> None:
    assert format_time(parse_time("1-02:03:04")) == "1-02:03:04"
    assert format_time(90) == "00:01:30"


@pytest.mark.parametrize(
    ("text", "mb"),
    [
        ("500", 500),
        ("500M", 500),
        ("4G", 4096),
        ("1T", 1024 * 1024),
        ("2048K", 2),
        ("1.5G", 1536),
        ("4gb", 4096),
    ],
)
def test_memory_sizes_in_megabytes(text: str, mb: int) -> None:
    assert parse_memory(text) == mb


@pytest.mark.parametrize("text", ["", "G", "4X", "-1G", "0", "lots"])
def test_memory_rejects_malformed_sizes(text: str) -> None:
    with pytest.raises(JobError, match="--mem"):
        parse_memory(text)


def test_memory_formats_back_compactly() -> None:
    assert [format_memory(m) for m in (4096, 500, 1024 * 1024)] == ["4G", "500M", "1T"]


def test_array_with_ranges_steps_lists_and_limit() -> None:
    array = ArraySpec.parse("0-4,10,20-26:3%2")
    assert array.indices == (0, 1, 2, 3, 4, 10, 20, 23, 26)
    assert array.limit == 2
    assert str(array) == "0-4,10,20-26:3%2"


@pytest.mark.parametrize("text", ["", "a-b", "5-1", "0-9%0", "0-9%x", "1,,2", "0-1000000", "0-9:0"])
def test_array_rejects_malformed_strings(text: str) -> None:
    with pytest.raises(JobError, match="--array"):
        ArraySpec.parse(text)


def test_dependency_all_and_any() -> None:
    both = Dependency.parse("afterok:12:13,afterany:L4")
    assert both.conditions == (("afterok", ("12", "13")), ("afterany", ("L4",)))
    assert not both.any_of
    assert both.job_ids() == ["12", "13", "L4"]
    either = Dependency.parse("afterok:1?afternotok:2")
    assert either.any_of
    assert str(either) == "afterok:1?afternotok:2"
    assert Dependency.parse("singleton").conditions == (("singleton", ()),)


@pytest.mark.parametrize(
    "text",
    ["afterok", "afterok:", "whenever:1", "afterok:x y", "afterok:1,afterany:2?after:3", "singleton:4"],
)
def test_dependency_rejects_malformed_strings(text: str) -> None:
    with pytest.raises(JobError) as error:
        Dependency.parse(text)
    assert "--dependency" in error.value.message
    assert error.value.hint


def test_spec_create_parses_strings_into_types() -> None:
    spec = JobSpec.create(
        ["python", "train.py"],
        time="1:00:00",
        mem="4G",
        array="0-9%2",
        cpus_per_task="4",
        dependency="afterok:7",
        modules=["gcc/12"],
    )
    assert spec.time == 3600
    assert spec.mem == 4096
    assert spec.array is not None and spec.array.limit == 2
    assert spec.cpus_per_task == 4
    assert spec.modules == ("gcc/12",)
    assert spec.name == "train.py"
    assert JobSpec.from_json(spec.to_json()) == spec


def test_spec_unknown_option_lists_the_valid_ones() -> None:
    with pytest.raises(JobError) as error:
        JobSpec.create(["true"], tyme="1:00")
    assert "tyme" in error.value.message
    assert error.value.hint and "time" in error.value.hint


@pytest.mark.parametrize(
    "options",
    [
        {"cpus_per_task": "0"},
        {"ntasks": "two"},
        {"mem": "4G", "mem_per_cpu": "1G"},
        {"gpus": "a100:x"},
        {"directives": ["reservation=x"]},
        {"job_name": "a\nb"},
    ],
)
def test_spec_rejects_inconsistent_or_bad_options(options: dict) -> None:
    with pytest.raises(JobError):
        JobSpec.create(["true"], **options)


def test_spec_needs_a_command() -> None:
    with pytest.raises(JobError, match="no command"):
        JobSpec.create([])


def test_resources_of_one_task() -> None:
    spec = JobSpec.create(["x"], ntasks="2", cpus_per_task="3", mem_per_cpu="1G", gres="gpu:2")
    assert (spec.task_cpus, spec.task_memory, spec.task_gpus) == (6, 6144, 2)


# parse_time and parse_memory use str methods (no `re` on submit's path); these patterns are the forms they
# accept, kept here as the reference (ASCII digits only).
_TIME_PATTERN = r"(?:([0-9]+)-)?([0-9]+)(?::([0-9]+))?(?::([0-9]+))?"
_MEMORY_PATTERN = r"([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?"


def _accepts(parse: Callable[[str], int], text: str) -> bool:
    try:
        parse(text)
    except JobError as exc:
        return "above 59" in exc.message or "zero" in exc.message or "less than 1 MB" in exc.message
    return True


@given(st.text(alphabet="0123456789-: \t\u0661", max_size=12))  # with an Arabic-Indic digit
@settings(max_examples=500)
def test_time_forms_are_exactly_the_pattern(text: str) -> None:
    assert _accepts(parse_time, text) == bool(re.fullmatch(_TIME_PATTERN, text.strip()))


@given(st.text(alphabet="0123456789.kmgtKMGTiIbB \tx", max_size=8))
@settings(max_examples=500)
def test_memory_forms_are_exactly_the_pattern(text: str) -> None:
    assert _accepts(parse_memory, text) == bool(re.fullmatch(_MEMORY_PATTERN, text.strip(), flags=re.IGNORECASE))


@pytest.mark.parametrize(
    ("text", "megabytes"), [("500", 500), ("4G", 4096), ("1.5g", 1536), ("2 GiB", 2048), ("1T", 1048576), ("512K", 0)]
)
def test_memory_values(text: str, megabytes: int) -> None:
    if megabytes:
        assert parse_memory(text) == megabytes
    else:
        with pytest.raises(JobError):
            parse_memory(text)


def test_command_lines_make_their_own_array() -> None:
    spec = JobSpec.create((), commands=["echo a", "python run.py --x 2"], array_limit="4")
    assert spec.array is not None and spec.array.text == "0-1%4" and spec.name == "echo"  # the first line
    assert JobSpec.from_json(spec.to_json()) == spec
    with pytest.raises(JobError, match="drop --array"):
        JobSpec.create((), commands=["a", "b"], array="0-5")
    with pytest.raises(JobError, match="positive whole number"):
        JobSpec.create((), commands=["a"], array_limit="0")
