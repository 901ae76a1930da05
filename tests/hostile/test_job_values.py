"""Option values, the submit directory and HOME never run as code in a job script.

Two guarantees, on both backends and in --dry-run:

* an option value holding a control character (newline, CR, NUL, any other C0 or DEL) or bytes that are
  not UTF-8 is refused when the job is described, with an ``error:`` naming the option;
* every other value arrives as the value: sbatch reads each ``#SBATCH`` line back to exactly what was typed,
  the command receives exactly its words, and the job runs in exactly the directory it was submitted from,
  whatever that directory is called (a newline, a quote, bytes that are not UTF-8).

The values try ``touch CANARY`` in every shell syntax; the canary must never appear.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roost.errors import JobError
from roost.jobs.script import render_script, sbatch_options
from roost.jobs.spec import JobSpec

CANARY = "/tmp/roost-hostile-canary"

# Every JobSpec field that is text and reaches a #SBATCH line, with how the CLI spells it.
TEXT_OPTIONS: Dict[str, Tuple[str, str]] = {
    "partition": ("-p", "-p/--partition"),
    "account": ("-A", "-A/--account"),
    "qos": ("-q", "-q/--qos"),
    "constraint": ("-C", "-C/--constraint"),
    "mail_user": ("--mail-user", "--mail-user"),
    "gres": ("--gres", "--gres"),
    "output": ("-o", "-o/--output"),
    "error": ("--error", "--error"),
    "job_name": ("-J", "-J/--job-name"),
    "workdir": ("-D", "-D/--chdir"),
    "env": ("-e", "-e/--env"),
    "modules": ("-m", "-m/--module"),
    "directives": ("--directive", "--directive"),
    "mail_type": ("--mail-type", "--mail-type"),
    "gpus": ("-G", "-G/--gpus"),
}

# Ways to run a command from a value, in every syntax a shell (or sbatch's line reader) might honour.
PAYLOADS = [
    f"x\ntouch {CANARY}\n#",
    f"x\rtouch {CANARY}",
    f"$(touch {CANARY})",
    f"`touch {CANARY}`",
    f"'; touch {CANARY}; '",
    f'"; touch {CANARY}; #',
    f"x' ; touch {CANARY} #",
    f"\\'; touch {CANARY} #",
    f"a\\\\'$(touch {CANARY})'",
    f"${{IFS}}touch${{IFS}}{CANARY}",
    f"x;touch {CANARY}",
    f"x|touch {CANARY}",
    f"x&&touch {CANARY}",
    f"# \\\ntouch {CANARY}",
]
CONTROL = [chr(code) for code in [*range(0x20), 0x7F]]


@pytest.fixture(autouse=True)
def no_canary() -> Iterator[None]:
    Path(CANARY).unlink(missing_ok=True)
    yield
    assert not os.path.exists(CANARY), "a value ran as a command"


def sbatch_read(line: str) -> Tuple[str, Optional[str]]:
    """What sbatch makes of one ``#SBATCH --flag[=value]`` line: quotes group, a backslash escapes the next
    character (inside quotes too), an unquoted ``#`` ends the line.  (Checked against the real sbatch in
    test_real_sbatch_reads_the_values_back_exactly.)"""
    assert line.startswith("#SBATCH ") and "\n" not in line and "\r" not in line
    text, out, quote, index = line[len("#SBATCH ") :], [], "", 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            out.append(text[index + 1])
            index += 2
            continue
        if quote:
            if char == quote:
                quote = ""
            else:
                out.append(char)
        elif char in "'\"":
            quote = char
        elif char == "#" or char.isspace():
            break
        else:
            out.append(char)
        index += 1
    flag, equals, value = "".join(out).partition("=")
    return flag, value if equals else None


def header(script: str) -> List[Tuple[str, Optional[str]]]:
    return [sbatch_read(line) for line in script.split("\n") if line.startswith("#SBATCH")]


def run_script(script: str, cwd: Path) -> bytes:
    """Run a rendered script as the local backend does (bash reads the header as comments)."""
    path = cwd.parent / "job.sh"
    path.write_text(script)
    done = subprocess.run(["bash", str(path)], cwd=str(cwd), capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


# ------------------------------------------------------------------------------------------- refused


def _value_for(keyword: str, text: str) -> object:
    if keyword == "modules":
        return [text]
    if keyword == "directives":
        return [f"--comment={text}"]
    return text


@settings(max_examples=300, deadline=None)
@given(
    keyword=st.sampled_from(sorted(TEXT_OPTIONS)),
    before=st.text(max_size=8),
    control=st.sampled_from([*CONTROL, "\udcff", "\udc80"]),
    after=st.text(max_size=8),
)
def test_a_control_character_in_any_option_is_refused_naming_the_option(
    keyword: str, before: str, control: str, after: str
) -> None:
    with pytest.raises(JobError) as raised:
        JobSpec.create(["true"], **{keyword: _value_for(keyword, before + control + after)})
    assert raised.value.message.startswith(TEXT_OPTIONS[keyword][1] + " "), raised.value.message
    assert raised.value.hint


def roost(
    *args: str, cwd: Optional[str] = None, env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "roost", *args], capture_output=True, timeout=120, cwd=cwd, env=env or dict(os.environ)
    )


# Each option once through the CLI, the backends taking turns (the property above covers the values).
CLI_CASES = [
    (keyword, ["--backend", "local", "--wait"] if index % 2 else ["--backend", "slurm", "--dry-run"])
    for index, keyword in enumerate(sorted(TEXT_OPTIONS))
]


@pytest.mark.parametrize(("keyword", "backend_args"), CLI_CASES, ids=[k for k, _ in CLI_CASES])
def test_the_cli_refuses_a_newline_in_any_option_and_records_nothing(
    keyword: str, backend_args: List[str], clean_environ: Dict[str, str], tmp_path: Path
) -> None:
    flag = TEXT_OPTIONS[keyword][0]
    value = f"x\ntouch {CANARY}\n#"
    if keyword == "directives":
        value = f"--comment={value}"
    done = roost("submit", *backend_args, flag, value, "--", "true", cwd=str(tmp_path))
    stderr = done.stderr.decode()
    assert done.returncode != 0 and done.stdout == b"", stderr
    assert stderr.startswith(f"error: {TEXT_OPTIONS[keyword][1]} ") and "newline" in stderr, stderr
    assert "Traceback" not in stderr
    assert not (Path(os.environ["HOME"]) / ".local" / "share" / "roost" / "jobs" / "jobs.sqlite").exists()


# -------------------------------------------------------------------------------------- data, not code

hostile_text = st.one_of(
    st.sampled_from([p for p in PAYLOADS if not any(c in p for c in CONTROL)]),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="".join(CONTROL)), max_size=20),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.fixed_dictionaries(
        {
            k: hostile_text.filter(lambda v: v.strip() != "")
            for k in (
                "partition",
                "account",
                "qos",
                "constraint",
                "mail_user",
                "gres",
                "output",
                "error",
                "job_name",
                "workdir",
            )
        }
    ),
    comment=hostile_text,
    words=st.lists(
        st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12)
        | st.sampled_from(PAYLOADS),
        min_size=1,
        max_size=4,
    ),
    launcher=st.sampled_from(["slurm", "local"]),
)
def test_every_value_reaches_the_script_as_data(
    values: Dict[str, str], comment: str, words: List[str], launcher: str, tmp_path: Path
) -> None:
    spec = JobSpec.create(["printf", "%s\\0", *words], directives=[f"--comment={comment}"], **values)
    script = render_script(spec, launcher=launcher)
    lines = header(script)
    # sbatch reads back exactly the typed values, one line each
    assert lines == [(f"--{flag}", value) for flag, value in sbatch_options(spec)] + [("--comment", comment)]
    assert dict(lines)["--account"] == values["account"] and dict(lines)["--chdir"] == values["workdir"]
    # and bash runs exactly the command, whose words arrive unchanged
    (tmp_path / "work").mkdir(exist_ok=True)
    out = run_script(script, tmp_path / "work")
    assert out.decode().split("\0")[:-1] == words


# ---------------------------------------------------------------------------------------- directories

# Directory names cannot hold "/": these touch a relative canary, which would appear in the job's directory.
RELATIVE_CANARY = "roost-hostile-canary"
DIRECTORY_NAMES = [
    f"proj\ntouch {RELATIVE_CANARY}\n#",
    f"p$(touch {RELATIVE_CANARY})",
    f"p'\"`touch {RELATIVE_CANARY}`\\",
    "p\udcff\udcfe",  # bytes that are not UTF-8 (os.fsdecode's surrogates)
    "p\r\x1b[2J",
    "#p ;",
]


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(DIRECTORY_NAMES)
    | st.text(alphabet=st.characters(blacklist_characters="/\x00"), min_size=1, max_size=12).filter(
        lambda n: n not in (".", "..")
    )
)
def test_the_job_runs_in_its_directory_whatever_its_name(name: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as top:
        directory = os.path.join(top, name)
        try:
            os.mkdir(directory)
        except (UnicodeEncodeError, OSError):
            return  # a name this file system cannot hold (a surrogate outside os.fsdecode's range)
        spec = JobSpec(command=("pwd", "-P"), workdir=directory)
        for launcher in ("slurm", "local"):
            script = render_script(spec, launcher=launcher)
            chdir = dict(header(script)).get("--chdir")
            if chdir is not None:  # the header names it (sbatch and the local runner start there) ...
                assert chdir == directory
            else:  # ... or the body changes to it, quoted
                out = run_script(script, Path(top))
                assert out == os.fsencode(directory) + b"\n"


@pytest.mark.parametrize("name", DIRECTORY_NAMES[:4], ids=["newline", "dollar", "quotes", "not-utf8"])
def test_submitting_from_a_hostile_directory_works_on_the_local_backend(
    name: str, clean_environ: Dict[str, str], tmp_path: Path
) -> None:
    directory = tmp_path / name
    directory.mkdir()
    done = roost("submit", "--backend", "local", "--wait", "--", "pwd", "-P", cwd=str(directory))
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert os.fsencode(str(directory)) + b"\n" in done.stdout
    dry = roost("submit", "--backend", "slurm", "--dry-run", "--", "true", cwd=str(directory))
    assert dry.returncode == 0 and subprocess.run(["bash", "-n"], input=dry.stdout).returncode == 0
    assert not list(tmp_path.rglob(RELATIVE_CANARY))


def test_a_home_with_a_newline_does_not_break_jobs(clean_environ: Dict[str, str], tmp_path: Path) -> None:
    home = tmp_path / f"home\ntouch {CANARY}\n#"
    (home / "project").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env["HOME"] = str(home)
    done = roost("submit", "--backend", "local", "--wait", "--", "pwd", "-P", cwd=str(home / "project"), env=env)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert os.fsencode(str(home / "project")) + b"\n" in done.stdout
    assert (home / ".local" / "share" / "roost" / "jobs").is_dir()  # the records live in that HOME


# ---------------------------------------------------------------------------------------------- slurm


@pytest.mark.service("slurm")
@pytest.mark.parametrize(
    "directory_name", ["plain", DIRECTORY_NAMES[0], DIRECTORY_NAMES[3]], ids=["plain", "newline", "not-utf8"]
)
def test_real_sbatch_reads_the_values_back_exactly(
    directory_name: str, clean_environ: Dict[str, str], tmp_path: Path
) -> None:
    from roost.jobs import api
    from roost.jobs.store import Store

    directory = tmp_path / directory_name
    directory.mkdir()
    values = {
        "job_name": f"a'b\\c #d $(touch {CANARY})",
        "output": f"o u\\t'%j\"`touch {RELATIVE_CANARY}`.out",
        "error": f"e;touch {RELATIVE_CANARY};'.err",
        "account": f"x' ; touch {CANARY} #",
    }
    os.chdir(directory)
    try:
        spec = JobSpec.create(["pwd", "-P"], **values)
        job = api.submit_spec(spec, backend="slurm", store=Store(tmp_path / "jobs.sqlite"))
    finally:
        os.chdir(tmp_path)
    queued = subprocess.run(["squeue", "--json"], capture_output=True, check=True)
    jobs = json.loads(queued.stdout.decode("utf-8", "surrogateescape"))["jobs"]
    entry = next(j for j in jobs if str(j["job_id"]) == job.id)
    assert entry["name"] == values["job_name"]
    assert entry["current_working_directory"].encode("utf-8", "surrogateescape") == os.fsencode(str(directory))
    assert entry["standard_output"] == entry["current_working_directory"] + "/" + values["output"]
    assert entry["standard_error"] == entry["current_working_directory"] + "/" + values["error"]
    record = job.wait(timeout=60)
    assert record.state.value == "COMPLETED"
    # Slurm takes a pattern with a backslash literally (no %j), without its backslashes; roost knows
    assert api.log_file(record).read_bytes() == os.fsencode(str(directory)) + b"\n"
    assert (directory / "o ut'%j\"`touch roost-hostile-canary`.out").exists()
    assert not list(tmp_path.rglob(RELATIVE_CANARY))
