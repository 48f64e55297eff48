"""Every `functions` answer the template accepts bakes a project that passes its own checks, in
both flavours; every other one is refused in one line naming the answer, with nothing left in
the output folder.

Hypothesis writes the answers from the grammar README.md's "Function signatures" gives (bare
names, signatures with typed, optional and nullable arguments and a trailing `*`, closures),
leaning on what broke before: long names, names like `__x__`, names of what the template
generates (`defaults`, `f` beside `f_defaults`), the extremes of int64 and float64, strings
with quotes, backslashes, `''`, U+FEFF and surrogates, things with odd keys, lists, answers of
closures only. Each answer goes through cookiecutter's command line as a user types it.

Baking and checking a project takes seconds, so the run is small and the same every time
(derandomize: CI sees the cases a developer saw) and never shrinks: a failure is reported as
the answer that failed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import TEMPLATE_DIR
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from hooks.template import facts

pytestmark = pytest.mark.slow

INT64_MAX = 2**63 - 1

# --- the strategies: the grammar of the `functions` answer ------------------------------------

# Names the template, Python or Go give a meaning of their own, and those of what it generates.
NOTABLE_NAMES = [
    "_",
    "__",
    "__x__",
    "__init__",
    "__name__",
    "__debug__",
    "__class__",
    "_private2",
    "defaults",
    "Defaults",
    "f_defaults",
    "options",
    "Options",
    "value",
    "function",
    "deep",
    "self",
    "module",
    "config",
    "Config",
    "conf",
    "ctx",
    "args",
    "main",
    "run",
    "print",
    "Example",
    "Module",
    "Any",
    "context",
    "handle",
    "functions",
    "string",
    "map",
    "func",
    "type",
    "go",
    "range",
    "nil",
    "x_",
    "a_b",
    "aB",
    "X1",
]
plain_names = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)
long_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{40,254}", fullmatch=True)


def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of the strategies, each as often as its weight says."""
    return st.one_of(*(strategy for weight, strategy in choices for _ in range(weight)))


names = weighted((9, plain_names), (2, st.sampled_from(NOTABLE_NAMES)), (1, long_names))

# Characters that every renderer of a string must escape or keep: quotes, backslashes, the
# byte order mark and other invisible or line-breaking ones, comment and template syntax.
ODD_CHARACTERS = [
    '"',
    "'",
    "''",
    "\\",
    "`",
    "\ufeff",
    "\u2028",
    "\u200b",
    "\x00",
    "\n",
    "\t",
    "\x7f",
    "\ud800",
    "\udfff",
    "é",
    "😀",
    "*/",
    "/*",
    "//",
    "#",
    "{{",
    "}}",
    "{%",
    "%[1]s",
    "$",
    " ",
    "a",
]
# Long ones too: a default longer than a line of the generated code.
long_strings = st.lists(
    st.sampled_from(["word", " ", "a" * 40, '"', "'", "\\"]), min_size=20, max_size=60
).map("".join)
odd_strings = weighted(
    (4, st.lists(st.sampled_from(ODD_CHARACTERS), max_size=6).map("".join)),
    (2, st.text(max_size=8)),
    (1, long_strings),
)
odd_keys = (
    st.sampled_from(['\\"', "\\", "''", "", "function", "*", "a b", "\ufeff", "k"]) | odd_strings
)

INT_EXTREMES = [0, -1, 1, INT64_MAX, -INT64_MAX, -(2**63), 2**63, 2**64, 10**30]
ints = weighted((1, st.sampled_from(INT_EXTREMES)), (3, st.integers(-INT64_MAX, INT64_MAX)))
floats = st.sampled_from(
    [0.0, -0.0, 0.5, 1e300, -1e300, 5e-324, 1.7976931348623157e308, 1e16, 1e22, 0.1, 2.0]
) | st.floats(allow_nan=False, allow_infinity=False)
# How a float may be written in the answer: JSON's forms, not only Python's repr.
FLOAT_TEXTS = ["1e+300", "1E300", "1e300", "-1e-300", "2e0", "1.0", "-0.0", "1e400", "1e-400"]
scalars = st.one_of(st.none(), st.booleans(), ints, floats, odd_strings)
things = st.dictionaries(odd_keys, scalars | st.lists(scalars, max_size=3), max_size=3)
lists = (
    st.lists(scalars | things, max_size=4)
    | st.lists(scalars, min_size=8, max_size=16)
    | st.recursive(
        st.lists(scalars, max_size=2), lambda inner: st.lists(inner, max_size=2), max_leaves=6
    )
)


def json_text(value, ensure_ascii: bool) -> str:
    try:
        return json.dumps(value, ensure_ascii=ensure_ascii)
    except ValueError:
        return json.dumps(value)


@st.composite
def default_text(draw, type_: str) -> str:
    """The text after `=`: mostly a JSON literal of the type, sometimes of another or none."""
    if type_ == "float" and draw(st.booleans()):
        return draw(st.sampled_from(FLOAT_TEXTS))
    values = {
        "str": odd_strings,
        "bytes": st.none(),
        "int": ints,
        "float": floats | ints,
        "bool": st.booleans(),
        "list": lists,
        "thing": things,
        "any": scalars | lists | things,
    }[type_]
    value = draw(st.none() | values | values | values)
    text = json_text(value, ensure_ascii=draw(st.booleans()))
    # Surrogates are refused; written raw they could not even reach the command line.
    if any("\ud800" <= c <= "\udfff" for c in text):
        text = json.dumps(value)
    # Now and then no JSON at all, which is refused.
    return draw(weighted((19, st.just(text)), (1, st.sampled_from(["NaN", "one", "'single'"]))))


@st.composite
def argument(draw) -> tuple[str, bool, str]:
    """(name, optional, text) of one argument: name, an optional type, an optional default."""
    name = draw(names)
    type_ = draw(st.sampled_from([*facts.ARGUMENT_TYPES, None]))
    text = name if type_ is None else f"{name}{draw(st.sampled_from([':', ': ', ' : ']))}{type_}"
    if not draw(st.booleans()):
        return name, False, text
    return name, True, f"{text} = {draw(default_text(type_ or 'any'))}"


CLOSURES = [
    "|this| this.ping()",
    "|a, b| a + b",
    "||nil",
    '|x| "it\'s"',
    "|x| '\"'",
    "|s| s.replace('a', 'b')",
]
closures = st.builds(lambda name, source: f"{name} = {source}", names, st.sampled_from(CLOSURES))


@st.composite
def signature(draw) -> str:
    name = draw(names)
    kind = draw(weighted((6, st.just("call")), (2, st.just("bare")), (1, st.just("closure"))))
    if kind == "bare":
        return name
    if kind == "closure":
        return draw(closures)
    # Mostly distinct names, required before optional, as the rules want.
    drawn = draw(st.lists(argument(), max_size=5, unique_by=lambda a: a[0]))
    if draw(st.integers(0, 9)):
        drawn.sort(key=lambda a: a[1])
    items = [text for _, _, text in drawn] + (["*"] if draw(st.booleans()) else [])
    return f"{name}({', '.join(items)})"


@st.composite
def functions_answers(draw) -> str:
    items = draw(
        weighted(
            (9, st.lists(signature(), min_size=1, max_size=4)),
            (1, st.lists(closures, min_size=1, max_size=2)),  # no handler at all
        )
    )
    # Names of what the template generates from a function's name, beside that function.
    if draw(st.integers(0, 3)) == 0:
        first = items[0].split("(")[0].split("=")[0].strip()
        suffix = draw(st.sampled_from(["_defaults", "_args", "Args", "_", "_1", "_prefix"]))
        items.append(first + suffix)
    return ", ".join(items)


# --- baking and the projects' own checks ---------------------------------------------------------

# The Go build cache shared across bakes: -trimpath keeps the baked folder out of the cache's
# keys, so each bake rebuilds only the package the answer changes (handlers.go).
GO_ENV = {"GOFLAGS": "-trimpath"}


def run(cwd: Path, *command: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


def python_checks(project: Path) -> None:
    """What the Python flavour's CI runs: ruff, the manifest check and sync, the tests."""
    run(project, sys.executable, "-m", "ruff", "check", "--no-cache", ".")
    run(project, sys.executable, "-m", "ruff", "format", "--check", "--no-cache", ".")
    run(project, sys.executable, "tools/manifest.py")
    run(project, sys.executable, "tools/manifest.py", "sync", "--check")
    # tests/test_loop.py is the one test file rendered from no answer (it serves functions of
    # its own): the same in every project, and run by the Python flavour's tests.
    output = run(
        project,
        *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/"),
        "--ignore=tests/test_loop.py",
    )
    assert " passed" in output and "failed" not in output, output


def go_checks(project: Path) -> None:
    """What the Go flavour's CI runs: gofmt, vet, the manifest check and sync, the tests."""
    assert run(project, "gofmt", "-l", ".") == "", run(project, "gofmt", "-d", ".")
    run(project, "go", "vet", "./...", env=GO_ENV)
    run(project, "go", "run", "./tools/build", env=GO_ENV)  # the binary module.json names
    run(project, "go", "run", "./tools/manifest", env=GO_ENV)
    run(project, "go", "run", "./tools/manifest", "sync", "--check", env=GO_ENV)
    run(project, "go", "test", "./...", env=GO_ENV)


def bake_and_check(language: str, functions: str, needs_config: str = "no") -> None:
    """Bake the answer as a user would; it is refused cleanly or its project passes its checks."""
    with tempfile.TemporaryDirectory(prefix="functions-property-") as tmp:
        out = Path(tmp)
        command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(out)]
        command += [str(TEMPLATE_DIR), f"language={language}", f"functions={functions}"]
        command.append(f"needs_config={needs_config}")  # a bare function then shows the prefix
        if language == "go":
            command.append("platforms=linux/amd64")
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        output = result.stdout + result.stderr
        if result.returncode != 0:
            assert result.returncode == 1, output
            assert "Traceback" not in output, output
            lines = result.stderr.splitlines()
            assert lines[0] == "Invalid answers, nothing was generated:", output
            assert lines[1:] and all(line.startswith("  functions=") for line in lines[1:]), output
            assert list(out.iterdir()) == [], output
            return
        project = out / "demo"
        assert project.is_dir(), output
        (python_checks if language == "python" else go_checks)(project)


# The cases of issue 21 by name, then what the property found; each in both flavours, with and
# without a configuration (which adds the tests of a bare function's prefix).
NAMED_CASES = [
    ("no", "f(s: str = \"''\")"),  # '' in a Go doc comment
    ("yes", 'f(s: str = "\ufeff")'),  # a raw U+FEFF in a string default
    ("no", "f(x: float = 1e+300)"),
    ("yes", 'f(t: thing = {"\\"": 1})'),  # a thing default with \" in a key
    ("no", "f = |this| this.ping()"),  # closures only
    ("yes", "f = |this| this.ping(), g = |a, b| a + b"),
    ("no", "f(a: int = 1), f_defaults"),
    ("yes", "f(a: int = 9223372036854775807, b: int = -9223372036854775807)"),
    ("no", "f(a: int = -9223372036854775808)"),
    ("no", "f(a: any = 9223372036854775808)"),
    ("no", "f(a: float = NaN)"),
    ("no", 'f(a: str = "\\ud800")'),
    ("no", "f(a: list = " + "[" * 250 + "]" * 250 + ")"),
    ("no", "__name__, __debug__, f(__class__: int)"),
    ("yes", "f(defaults: int = 1)"),
    ("no", "n" * 255 + "(" + "a" * 255 + ": str = null, *)"),
    # Found by the property: gofmt's alignment restarts after a long key; defaults longer than
    # a line of main.py; a number that reads as 0; a long bare name's prefix test.
    ("no", "n" * 255 + "(b: int, " + "a" * 43 + ": thing = null, *)"),
    ("no", 'f(s: str = "' + "word " * 30 + '", l: list = ' + json.dumps(["abcdefghij"] * 12) + ")"),
    ("no", "f(a: float = 1e-400)"),
    ("yes", "Q" * 88 + ", g(a: int)"),
]


def with_examples(test):
    for needs_config, functions in reversed(NAMED_CASES):
        test = example(functions=functions, needs_config=needs_config)(test)
    return test


@pytest.mark.parametrize("language", ["python", "go"])
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@with_examples
@given(functions=functions_answers(), needs_config=st.sampled_from(["no", "yes"]))
def test_every_accepted_functions_answer_bakes_a_project_that_passes_its_checks(
    language, functions, needs_config
):
    if language == "go" and shutil.which("go") is None:
        pytest.skip("needs the go command")
    bake_and_check(language, functions, needs_config)
