"""The ``#SBATCH`` lines of a batch script, read as sbatch reads them, and mapped onto JobSpec fields.

sbatch's rules (Slurm 22.05, ``man sbatch`` and its behaviour on a real cluster):

* A directive is a line that *starts* with ``#SBATCH`` (an indented one is a plain comment).
* Directives are read only until the first line that is neither blank nor a comment: ``#SBATCH`` after the
  first command, in a heredoc or a function, is not a directive.
* The rest of a directive line splits into words as a shell would for quotes ('' and "") and backslashes;
  an unquoted ``#`` ends the words (a trailing comment).  Several options may share a line.
* The words are options as on sbatch's command line: ``--time=10``, ``--time 10``, ``-t10``, ``-t 10``.
* Precedence: sbatch's command line over its ``SBATCH_*`` input variables over the script; a later
  occurrence in one source replaces an earlier one.

Options roost knows become JobSpec keywords (strings, parsed by :meth:`JobSpec.create`); any other option is
kept verbatim, so Slurm still sees it and the local backend can say that it ignores it.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from roost.errors import JobError

PREFIX = "#SBATCH"

# sbatch options roost maps onto JobSpec: long name -> (short letter or "", JobSpec keyword, takes a value)
KNOWN_OPTIONS: Dict[str, Tuple[str, str, bool]] = {
    "account": ("A", "account", True),
    "array": ("a", "array", True),
    "chdir": ("D", "workdir", True),
    "constraint": ("C", "constraint", True),
    "cpus-per-task": ("c", "cpus_per_task", True),
    "dependency": ("d", "dependency", True),
    "error": ("e", "error", True),
    "exclusive": ("", "exclusive", False),
    "gpus": ("G", "gpus", True),
    "gres": ("", "gres", True),
    "job-name": ("J", "job_name", True),
    "mail-type": ("", "mail_type", True),
    "mail-user": ("", "mail_user", True),
    "mem": ("", "mem", True),
    "mem-per-cpu": ("", "mem_per_cpu", True),
    "nodes": ("N", "nodes", True),
    "ntasks": ("n", "ntasks", True),
    "ntasks-per-node": ("", "ntasks_per_node", True),
    "output": ("o", "output", True),
    "partition": ("p", "partition", True),
    "qos": ("q", "qos", True),
    "time": ("t", "time", True),
}
_BY_SHORT = {short: long for long, (short, _, _) in KNOWN_OPTIONS.items() if short}

# Other sbatch options that take no value (so the word after them is not theirs).  Long options whose value
# is optional (--exclusive[=user], --no-kill[=off]) take one only after "=", as with getopt.
_FLAGS_LONG = frozenset(
    [
        "contiguous", "exclusive", "get-user-env", "hold", "ignore-pbs", "no-kill", "no-requeue", "overcommit",
        "oversubscribe", "parsable", "quiet", "requeue", "spread-job", "test-only", "use-min-nodes", "verbose",
        "wait", "wait-all-nodes", "kill-on-invalid-dep", "nice", "help", "usage", "version",
    ]
)
_FLAGS_SHORT = frozenset("bhHIkOQsuvVW")

# sbatch's input variables for the options roost maps (Slurm 22.05 has none for -n, -c, -N or --chdir).
INPUT_VARIABLES: Dict[str, str] = {
    "SBATCH_ACCOUNT": "account",
    "SBATCH_ARRAY_INX": "array",
    "SBATCH_CONSTRAINT": "constraint",
    "SBATCH_ERROR": "error",
    "SBATCH_EXCLUSIVE": "exclusive",
    "SBATCH_GPUS": "gpus",
    "SBATCH_GRES": "gres",
    "SBATCH_JOB_NAME": "job-name",
    "SBATCH_MEM_PER_CPU": "mem-per-cpu",
    "SBATCH_MEM_PER_NODE": "mem",
    "SBATCH_OUTPUT": "output",
    "SBATCH_PARTITION": "partition",
    "SBATCH_QOS": "qos",
    "SBATCH_TIMELIMIT": "time",
}

# Options of which sbatch keeps one: a source that sets one of a group drops the others lower down.
_EXCLUSIVE_GROUPS = (("mem", "mem_per_cpu"),)


class Option:
    """One option as written: its canonical long name (if roost knows it), value, and the words it came from."""

    __slots__ = ("keyword", "name", "value", "words")

    def __init__(self, name: str, value: Optional[str], words: Tuple[str, ...], keyword: Optional[str]) -> None:
        self.name = name  # the long name without dashes ("time"), or the word itself for a bare unknown word
        self.value = value
        self.words = words  # verbatim, e.g. ("-t", "10") or ("--time=10",)
        self.keyword = keyword  # the JobSpec keyword, or None for an option roost does not map

    def __repr__(self) -> str:
        return f"Option({self.name!r}, {self.value!r}, {self.words!r})"

    @property
    def text(self) -> str:
        """The option as one ``--name=value`` word (how it is passed on, and reported)."""
        dashes = "--" if len(self.name) > 1 else "-"
        if self.value is None:
            return f"{dashes}{self.name}" if self.keyword is not None else self.words[0]
        return f"--{self.name}={self.value}" if dashes == "--" else f"-{self.name}{self.value}"


# ---------------------------------------------------------------------------------------- the header


def is_command_line(line: str) -> bool:
    """True for a line that ends sbatch's directives: anything but blanks or a comment."""
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def header_end(lines: Sequence[str]) -> int:
    """Index of the first command line (``len(lines)`` when there is none): where directives stop."""
    for index, line in enumerate(lines):
        if not line.startswith(PREFIX) and is_command_line(line):
            return index
    return len(lines)


def directive_lines(text: str) -> List[Tuple[int, List[str]]]:
    """(line number, words) of each ``#SBATCH`` line sbatch reads from a script's text, in order.  As in
    sbatch, the prefix is matched as such: ``#SBATCHX`` is a directive line whose first word is ``X``."""
    lines = text.split("\n")
    return [
        (number, split_words(line[len(PREFIX) :]))
        for number, line in enumerate(lines[: header_end(lines)], start=1)
        if line.startswith(PREFIX)
    ]


def directive_words(text: str) -> List[List[str]]:
    """The words of each ``#SBATCH`` line sbatch reads from a script's text, in order."""
    return [words for _, words in directive_lines(text)]


def split_words(text: str) -> List[str]:
    """A directive line's words: quotes group, a backslash escapes the next character, an unquoted ``#`` ends
    the line."""
    words: List[str] = []
    current: List[str] = []
    in_word = False
    quote = ""
    index = 0
    while index < len(text):
        char = text[index]
        index += 1
        if quote:
            if char == quote:
                quote = ""
            elif char == "\\" and index < len(text):
                current.append(text[index])
                index += 1
            else:
                current.append(char)
            continue
        if char == "\\" and index < len(text):
            current.append(text[index])
            index += 1
            in_word = True
        elif char in "\"'":
            quote = char
            in_word = True
        elif char == "#":
            break
        elif char.isspace():
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            current.append(char)
            in_word = True
    if in_word:
        words.append("".join(current))
    return words


# ------------------------------------------------------------------------------------------- options


def parse_options(words: Sequence[str]) -> List[Option]:
    """Options from sbatch-style words, in order.  Unknown options keep their words (and the value that
    follows them when they take one); a word that is not an option is kept as it is."""
    options: List[Option] = []
    index = 0
    while index < len(words):
        option, index = _take_option(words, index, frozenset())
        options.append(option)
    return options


def parse_command_line(words: Sequence[str], flags: Sequence[str] = ()) -> Tuple[List[Option], List[str]]:
    """(options, the command and its arguments) of ``sbatch``/``srun``-style words: options end at the first
    word that is not one, or after ``--``.  ``flags`` names more options that take no value (srun's -l)."""
    options: List[Option] = []
    index = 0
    extra = frozenset(flags)
    while index < len(words) and words[index].startswith("-") and words[index] != "-":
        if words[index] == "--":
            return options, list(words[index + 1 :])
        option, index = _take_option(words, index, extra)
        options.append(option)
    return options, list(words[index:])


def _take_option(words: Sequence[str], index: int, extra_flags: frozenset) -> Tuple[Option, int]:
    """The option starting at ``words[index]`` and the index after it (and its value)."""
    word = words[index]
    index += 1
    if word.startswith("--") and len(word) > 2:
        name, equals, inline = word[2:].partition("=")
        known = KNOWN_OPTIONS.get(name)
        takes_value = known[2] if known else name not in _FLAGS_LONG and name not in extra_flags
        if equals or not takes_value or index >= len(words):
            return Option(name, inline if equals else None, (word,), known[1] if known else None), index
        return Option(name, words[index], (word, words[index]), known[1] if known else None), index + 1
    if word.startswith("-") and len(word) > 1 and word[1] != "-":
        letter, rest = word[1], word[2:]
        long = _BY_SHORT.get(letter)
        keyword = KNOWN_OPTIONS[long][1] if long else None
        if letter in _FLAGS_SHORT or letter in extra_flags:  # no short flag maps onto JobSpec
            return Option(letter, None, (word,), None), index
        if rest:
            return Option(long or letter, rest, (word,), keyword), index
        if index < len(words):
            return Option(long or letter, words[index], (word, words[index]), keyword), index + 1
        return Option(long or letter, None, (word,), keyword), index
    return Option(word, None, (word,), None), index


def options_from_environ(environ: Mapping[str, str]) -> List[Option]:
    """sbatch's ``SBATCH_*`` input variables that roost maps, as options."""
    options: List[Option] = []
    for variable, name in INPUT_VARIABLES.items():
        if variable not in environ:
            continue
        value: Optional[str] = environ[variable]
        keyword = KNOWN_OPTIONS[name][1]
        if not KNOWN_OPTIONS[name][2]:  # a flag: set when empty, "yes" or a non-zero number (man sbatch)
            text = (value or "").strip().lower()
            if not (text in ("", "yes") or (text.isdigit() and int(text) != 0)):
                continue
            value = None
        options.append(Option(name, value, (f"{variable}={environ[variable]}",), keyword))
    return options


def spec_options(options: Sequence[Option], *, source: str) -> Tuple[Dict[str, Any], List[str]]:
    """(JobSpec keywords, verbatim unknown options) from one source; a later option replaces an earlier one."""
    values: Dict[str, Any] = {}
    unknown: List[str] = []
    for option in options:
        if option.keyword is None:
            unknown.append(option.text)
            continue
        if option.keyword == "exclusive":
            if option.value is None:
                values["exclusive"] = True
            else:  # --exclusive=user|mcs: a sharing mode roost does not model
                unknown.append(option.text)
            continue
        if option.value is None or not option.value.strip():
            raise JobError(f"{source}: --{option.name} needs a value", f"write it as --{option.name}=VALUE")
        value = option.value
        if option.keyword == "nodes":
            value = _minimum_nodes(value, source)
        if option.keyword == "mem" and value.strip() in ("0", "0M", "0G"):
            unknown.append(option.text)  # all of a node's memory: Slurm's business, no limit locally
            continue
        values[option.keyword] = value
    return values, unknown


def _minimum_nodes(value: str, source: str) -> str:
    """``-N 2`` or ``-N 2-4`` (minimum-maximum): JobSpec keeps the minimum."""
    low = value.split("-", 1)[0].strip()
    if not low.isdigit():
        raise JobError(f"{source}: --nodes {value!r} is not a node count", "use N or MIN-MAX, e.g. --nodes 1")
    return low


def merge(layers: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """JobSpec keywords from sources listed lowest first (script, then input variables, then command line)."""
    merged: Dict[str, Any] = {}
    for layer in layers:
        for group in _EXCLUSIVE_GROUPS:
            if any(layer.get(name) is not None for name in group):
                for name in group:
                    merged.pop(name, None)
        merged.update({name: value for name, value in layer.items() if value is not None})
    return merged


def script_options(text: str, *, source: str) -> Tuple[Dict[str, Any], List[str]]:
    """(JobSpec keywords, unknown options) from a script's ``#SBATCH`` lines."""
    options: List[Option] = []
    for number, words in directive_lines(text):
        parsed = parse_options(words)
        stray = next((o.words[0] for o in parsed if not o.words[0].startswith("-")), None)
        if stray is not None:  # sbatch: "Invalid directive found in batch script"
            raise JobError(
                f"{source}: #SBATCH line {number} has {stray!r}, which is not an option",
                "write options as #SBATCH --option=value (a comment line starts with '# ', not '#SBATCH')",
            )
        options += parsed
    return spec_options(options, source=source)


def gpus_in(directives: Sequence[str], ntasks: int) -> int:
    """GPUs asked for by verbatim options roost does not map (``--gpus-per-node=4``, ``--gpus-per-task=1``)."""
    total = 0
    for option in parse_options(list(directives)):
        per = {"gpus-per-node": 1, "gpus-per-task": ntasks}.get(option.name)
        if per is None or option.value is None:
            continue
        count = option.value.rsplit(":", 1)[-1]
        if not count.isdigit():
            raise JobError(f"--{option.name} {option.value!r} is not a GPU count", "use N or TYPE:N")
        total += int(count) * per
    return total
