"""The code is the one source: module.json's exposes, the README's functions section and the
tests follow from the handlers and the examples next to them (`sync`, `sync --check`)."""

from __future__ import annotations

import json
import math
import random
import re
import shutil
import subprocess
import sys

import pytest
from conftest import SIGNATURE_SHAPES, BakedProject

# --- Go ---------------------------------------------------------------------------------------
# handlers.go is the one source: module.json's exposes and README.md's functions follow it
# through `go run ./tools/manifest sync`; the tests are loops over its examples.

GO_SYNC = ("go", "run", "./tools/manifest", "sync")
GO_ANSWER_SETS = [
    pytest.param({"functions": SIGNATURE_SHAPES, "needs_config": "yes"}, id="shapes-config"),
    pytest.param({"functions": SIGNATURE_SHAPES, "needs_config": "no"}, id="shapes"),
    pytest.param({}, id="defaults"),
    pytest.param(
        {"functions": "lookup(key: str, *), g(value: str, *), f(key1: int, *)"},
        id="options-keys-named-like-arguments",
    ),
    pytest.param(
        {
            "functions": 'f(n: float = 1, w: float = 2.0, q: str = "it\'s \\"q\\" | `x`", '
            't: thing = {"a": [1, 2.5], "b": "\u00e9"}, l: list = [], x: any = {}), echo, '
            "none_of_them()"
        },
        id="defaults-floats-quotes-unicode",
    ),
]
# The function an author adds in code only, with its examples.
GO_UPPER = """
// UpperArgs are the arguments of upper(text: str, sep: str = "-").
type UpperArgs struct {
	Text string `msgpack:"text"`
	Sep  string `msgpack:"sep,optional"`
}

// Defaults gives sep its default.
func (UpperArgs) Defaults() UpperArgs { return UpperArgs{Sep: "-"} }

// handleUpper serves upper: text in capitals, sep replaced by spaces.
func handleUpper(ctx context.Context, conf Config, args UpperArgs) (any, error) {
	return strings.ToUpper(strings.ReplaceAll(args.Text, args.Sep, " ")), nil
}
"""
GO_UPPER_FUNC = (
    '\tmodule.Func("upper", handleUpper,\n'
    '\t\tmodule.Example{Args: []any{"a-b"}, Answer: "A B"},\n'
    '\t\tmodule.Example{Args: []any{"a+b", "+"}, Answer: "A B"},\n'
    '\t\tmodule.Example{Args: []any{int64(1)}, Err: "type_err", Message: "function `upper` '
    'expects argument `text` to be of type `str` but got type `int` instead"},\n'
    "\t),\n"
)
GO_UPPER_EXAMPLES = 3


def add_go_upper(project: BakedProject) -> None:
    """Adds upper to handlers.go, the way an author does: the handler and its examples."""
    path = project.file("handlers.go")
    source = path.read_text(encoding="utf-8")
    source = source.replace("\n}\n", "\n" + GO_UPPER_FUNC + "}\n", 1) + GO_UPPER
    if '\t"strings"\n' not in source:
        source = source.replace(
            'import (\n\t"context"\n', 'import (\n\t"context"\n\t"strings"\n', 1
        )
    path.write_text(source, encoding="utf-8")
    assert 'module.Func("upper"' in path.read_text(encoding="utf-8")


def go_run(project: BakedProject, *command: str) -> subprocess.CompletedProcess:
    """A command in the project, whatever its exit status."""
    return subprocess.run(command, cwd=project.path, capture_output=True, text=True, timeout=900)


def git_in(project: BakedProject, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project.path, capture_output=True, text=True, check=True
    ).stdout


def commit_baked(project: BakedProject) -> None:
    git_in(project, "init", "-q")
    git_in(project, "add", "-A")
    git_in(project, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "baked")


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the go command")
@pytest.mark.parametrize("answers", GO_ANSWER_SETS)
def test_go_fresh_bake_is_in_sync_and_passes_its_own_checks(answers, bake):
    project = bake(language="go", **answers)
    before = {name: project.read(name) for name in ("module.json", "README.md")}
    check = go_run(project, *GO_SYNC, "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    project.run(*GO_SYNC)
    assert {name: project.read(name) for name in before} == before
    project.run("go", "vet", "./...")
    project.run("go", "vet", "-tags", "integration", "./...")
    assert project.run("gofmt", "-l", ".").stdout == ""
    project.run("go", "test", "-count=1", ".")


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the go command")
def test_go_refuses_argument_names_that_differ_only_in_case(cookies):
    result = cookies.bake(extra_context={"language": "go", "functions": "f(a: int, A: int)"})
    assert result.exit_code != 0


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the go command")
def test_go_function_added_only_in_code_then_sync(bake):
    project = bake(language="go", functions=SIGNATURE_SHAPES, needs_config="yes")
    commit_baked(project)
    add_go_upper(project)
    check = go_run(project, *GO_SYNC, "--check")
    assert check.returncode == 1
    assert check.stdout.splitlines() == [
        "handlers.go serves upper; module.json does not expose it; "
        "run go run ./tools/manifest sync",
        "README.md: its functions section or install lines do not follow handlers.go and "
        "module.json; run go run ./tools/manifest sync",
    ]
    project.run(*GO_SYNC)
    assert git_in(project, "diff", "--name-only").split() == [
        "README.md",
        "handlers.go",
        "module.json",
    ]
    upper = project.manifest["exposes"]["upper"]
    assert upper == {
        "doc": 'upper(text: str, sep: str = "-")',
        "defaults": {"function": "upper", "sep": "-"},
        "argmap": ["text", "sep"],
    }
    assert list(project.manifest["exposes"])[-1] == "upper"  # appended
    readme = project.read("README.md")
    assert '| `upper` | `text: str, sep: str = "-"` |' in readme
    assert "demo.upper('a+b', '+').then(|reply| reply);  // 'A B'" in readme
    assert go_run(project, *GO_SYNC, "--check").returncode == 0
    project.run("go", "vet", "./...")
    result = project.run("go", "test", "-count=1", "-v", "-run", "^TestEachExample", ".")
    for n in range(1, GO_UPPER_EXAMPLES + 1):
        assert f"--- PASS: TestEachExampleGetsItsAnswer/upper/{n} " in result.stdout
    assert "--- PASS: TestEachExampleOverTheWire/upper " in result.stdout
    project.run("go", "test", "-count=1", "./...")


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the go command")
def test_go_changed_type_without_sync_fails_naming_function_and_field(bake):
    project = bake(language="go", functions='add(a: int, b: int), ping(message: str = "ping")')
    path = project.file("handlers.go")
    source = path.read_text(encoding="utf-8")
    source = source.replace(
        'Message string `msgpack:"message,optional"`', 'Message int64 `msgpack:"message,optional"`'
    )
    source = source.replace(
        'return PingArgs{\n\t\tMessage: "ping",\n\t}', "return PingArgs{\n\t\tMessage: 7,\n\t}"
    )
    source = source.replace('B int64 `msgpack:"b"`', 'B string `msgpack:"b"`')
    path.write_text(source, encoding="utf-8")
    check = go_run(project, *GO_SYNC, "--check")
    assert check.returncode == 1, check.stdout + check.stderr
    wanted = [
        'module.json: exposes.add.doc is "add(a: int, b: int)"; handlers.go serves '
        "add(a: int, b: str); run go run ./tools/manifest sync",
        'module.json: exposes.ping.doc is "ping(message: str = \\"ping\\")"; handlers.go serves '
        "ping(message: int = 7); run go run ./tools/manifest sync",
        'module.json: exposes.ping.defaults is {"function": "ping", "message": "ping"}; '
        'handlers.go serves ping with the defaults {"function": "ping", "message": 7}; '
        "run go run ./tools/manifest sync",
    ]
    for line in wanted:
        assert line in check.stdout.splitlines(), check.stdout
    # The project's own tests run the same check.
    result = go_run(project, "go", "test", "-count=1", "-run", "^TestModuleJSON", ".")
    assert result.returncode == 1
    for line in wanted:
        assert line in result.stdout, result.stdout
    # An exposed function the code no longer serves, and a renamed one.
    manifest = json.loads(project.read("module.json"))
    manifest["exposes"]["pnig"] = manifest["exposes"].pop("ping")
    project.file("module.json").write_text(json.dumps(manifest, indent=2) + "\n")
    check = go_run(project, *GO_SYNC, "--check")
    assert (
        "module.json exposes pnig; handlers.go serves no such function; "
        "run go run ./tools/manifest sync" in check.stdout.splitlines()
    )
    assert (
        "handlers.go serves ping; module.json does not expose it; run go run ./tools/manifest sync"
        in check.stdout.splitlines()
    )


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the go command")
def test_go_sync_keeps_closures_author_defaults_and_order(bake):
    project = bake(
        language="go", functions="a(x: int = 1), say_hello = |this| this.a(), b(y: str, *)"
    )
    manifest = json.loads(project.read("module.json"))
    manifest["exposes"]["a"]["defaults"]["deep"] = 3
    manifest["exposes"]["a"]["defaults"]["x"] = 5  # the code says 1
    manifest["exposes"] = dict(reversed(list(manifest["exposes"].items())))
    project.file("module.json").write_text(json.dumps(manifest, indent=2) + "\n")
    project.run(*GO_SYNC)
    synced = json.loads(project.read("module.json"))
    assert list(synced["exposes"]) == ["b", "say_hello", "a"]
    assert synced["exposes"]["say_hello"] == "|this| this.a()"
    assert synced["exposes"]["a"]["defaults"] == {"function": "a", "x": 1, "deep": 3}
    assert go_run(project, *GO_SYNC, "--check").returncode == 0


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the go command")
@pytest.mark.parametrize("answers", GO_ANSWER_SETS)
def test_go_readme_functions_section_is_the_python_ones(answers, bake):
    """A Go and a Python bake of the same answers show the same functions section, and the Go
    sync writes that section byte for byte."""
    marker = re.compile(
        r"<!-- functions: written by `[^`]*` from the code -->\n(.*?)<!-- end of functions -->",
        re.DOTALL,
    )
    go = bake(language="go", **answers)
    python = bake(language="python", **answers)
    (go_section,) = marker.findall(go.read("README.md"))
    (python_section,) = marker.findall(python.read("README.md"))
    assert go_section == python_section
    project = go
    project.file("README.md").write_text(
        marker.sub(lambda m: m[0].replace(m[1], "\n"), go.read("README.md"))
    )
    project.run(*GO_SYNC)
    (synced,) = marker.findall(project.read("README.md"))
    assert synced == python_section


def go_literal(value) -> str:
    """A Go value of module.Example's kind for a Python value."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"int64({value})"
    if isinstance(value, float):
        return (
            f"float64({value!r})" if math.isfinite(value) else f"math.Inf({1 if value > 0 else -1})"
        )
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return '[]byte("' + "".join(f"\\x{b:02x}" for b in value) + '")'
    if isinstance(value, list):
        return "[]any{" + ", ".join(go_literal(v) for v in value) + "}"
    return (
        "map[string]any{"
        + ", ".join(f"{json.dumps(k)}: {go_literal(v)}" for k, v in value.items())
        + "}"
    )


def sample_values(count: int) -> list:
    rng = random.Random(17)
    texts = [
        "",
        "hello",
        "it's",
        "''",
        "é",
        "日本",
        "a\nb",
        "tab\t",
        '"q"',
        "\\",
        "`x`",
        "|",
        "\x1f",
        "😀",
    ]
    floats = [
        0.0,
        1.5,
        2.0,
        0.1 + 0.2,
        1e-5,
        1e-4,
        1e15,
        1e16,
        1.5e16,
        123456789012345680.0,
        5e-324,
        1.7976931348623157e308,
        -2.5e-7,
        100.0,
        1e22,
    ]

    def one(depth: int):
        kind = rng.randrange(9 if depth < 3 else 6)
        if kind == 0:
            return None
        if kind == 1:
            return rng.choice([True, False])
        if kind == 2:
            return rng.choice([0, -1, 42, 2**63 - 1, -(2**63), rng.randrange(-(10**12), 10**12)])
        if kind == 3:
            return rng.choice(
                floats + [rng.uniform(-1e6, 1e6), rng.random() * 10 ** rng.randrange(-30, 30)]
            )
        if kind == 4:
            return rng.choice(texts) + "".join(rng.choice(texts) for _ in range(rng.randrange(3)))
        if kind == 5:
            return bytes(rng.randrange(256) for _ in range(rng.randrange(6)))
        if kind in (6, 7):
            return [one(depth + 1) for _ in range(rng.randrange(4))]
        keys = sorted({rng.choice(["a", "b", "key", "z9", "_x"]) for _ in range(rng.randrange(4))})
        return {k: one(depth + 1) for k in keys}

    return [one(0) for _ in range(count)] + floats + texts


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the go command")
def test_go_thingsdb_value_and_json_writer_are_the_python_ones(baked):
    """module.Value (the README's and failures' ThingsDB code) is hooks/template/module_json.py's
    thingsdb_value, and module.PyJSON (module.json's defaults) is json.dumps, over many
    values."""
    from hooks.template.module_json import thingsdb_value

    project = baked(language="go")
    values = sample_values(400)
    program = project.path / "internal" / "module" / "zz_values_test.go"
    program.write_text(
        'package module\n\nimport (\n\t"encoding/json"\n\t"fmt"\n\t"math"\n\t"testing"\n)\n\n'
        "var _ = math.Inf\n\nfunc TestZZPrintValues(t *testing.T) {\n\tfor _, v := range []any{\n"
        + "".join(f"\t\t{go_literal(v)},\n" for v in values)
        + "\t} {\n\t\ta, _ := json.Marshal(Value(v))\n\t\tb, _ := json.Marshal(PyJSON(v))\n"
        '\t\tfmt.Printf("%s\\t%s\\n", a, b)\n\t}\n}\n',
        encoding="utf-8",
    )
    try:
        result = project.run(
            "go", "test", "-count=1", "-run", "^TestZZPrintValues$", "-v", "./internal/module"
        )
    finally:
        program.unlink()
    # Not splitlines(): a value's text may hold \x85 or \x1c, which it splits at.
    lines = [line for line in result.stdout.split("\n") if line.startswith('"')]
    assert len(lines) == len(values)
    for value, line in zip(values, lines):
        value_text, json_text = (json.loads(part) for part in line.split("\t"))
        assert value_text == thingsdb_value(value), value
        if not isinstance(value, bytes) and not _holds_bytes(value):
            assert json_text == json.dumps(value, ensure_ascii=False, sort_keys=True), value


def _holds_bytes(value) -> bool:
    if isinstance(value, bytes):
        return True
    if isinstance(value, list):
        return any(_holds_bytes(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_bytes(v) for v in value.values())
    return False


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the go command")
def test_go_sync_writes_the_version_into_the_install_lines(bake):
    project = bake(language="go", needs_config="yes")
    manifest = project.read("module.json")
    project.file("module.json").write_text(manifest.replace('"0.1.0"', '"0.2.0"', 1))
    check = go_run(project, *GO_SYNC, "--check")
    assert check.returncode == 1
    assert "README.md: its functions section or install lines" in check.stdout
    project.run(*GO_SYNC)
    lines = [line for line in project.read("README.md").splitlines() if "new_module(" in line]
    assert any("@v0.2.0'" in line for line in lines)
    assert not any("@v0.1.0" in line for line in lines)
    assert go_run(project, *GO_SYNC, "--check").returncode == 0


# --- Python -----------------------------------------------------------------------------------
# main.py is the one source: module.json's exposes and README.md's functions follow it through
# `python tools/manifest.py sync`; the tests are loops over its examples.


PYTHON_SYNC = (sys.executable, "tools/manifest.py", "sync")
PYTHON_FIX = "run python tools/manifest.py sync"
PYTHON_ANSWER_SETS = [
    pytest.param({"functions": SIGNATURE_SHAPES, "needs_config": "yes"}, id="shapes-config"),
    pytest.param({"functions": SIGNATURE_SHAPES, "needs_config": "no"}, id="shapes"),
    pytest.param({}, id="defaults"),
    pytest.param(
        {"functions": "lookup(key: str, *), g(value: str, *), h(key1: int, key: str, *)"},
        id="options-keys-named-like-arguments",
    ),
    pytest.param({"functions": "f(a: int, A: int), F"}, id="names-differ-only-in-case"),
    pytest.param(
        {
            "functions": 'f(n: float = 1, w: float = 2.0, q: str = "it\'s \\"q\\" | `x`", '
            't: thing = {"a": [1, 2.5], "b": "\u00e9"}, l: list = [], x: any = {}), echo, '
            "none_of_them()"
        },
        id="defaults-floats-quotes-unicode",
    ),
]
# The function an author adds in code only: the handler and its examples.
PYTHON_UPPER = '''

@module.function(
    examples=[
        Example(["a-b"], answer="A B"),
        Example(["a+b", "+"], answer="A B"),
        Example(
            [1],
            error="type_err",
            message=(
                "function `upper` expects argument `text` to be of type `str` "
                "but got type `int` instead"
            ),
        ),
    ],
)
async def upper(text: str, sep: str = "-") -> str:
    """Text in capitals, sep replaced by spaces."""
    return text.replace(sep, " ").upper()
'''
PYTHON_UPPER_EXAMPLES = 3


def add_python_upper(project: BakedProject) -> None:
    """Adds upper to main.py, the way an author does: the handler and its examples."""
    path = project.file("main.py")
    source = path.read_text(encoding="utf-8")
    end = '\n\nif __name__ == "__main__":'
    assert source.count(end) == 1
    path.write_text(source.replace(end, PYTHON_UPPER + end), encoding="utf-8")


def python_checks(project: BakedProject, *pytest_args: str) -> None:
    """What the project's CI checks: ruff, module.json, the tests (sync --check among them)."""
    project.run(sys.executable, "-m", "ruff", "check", "--no-cache", ".")
    project.run(sys.executable, "-m", "ruff", "format", "--check", "--no-cache", ".")
    project.run(sys.executable, "tools/manifest.py")
    project.pytest(*pytest_args)


@pytest.mark.parametrize("answers", PYTHON_ANSWER_SETS)
def test_python_fresh_bake_is_in_sync_and_passes_its_own_checks(answers, bake):
    project = bake(language="python", **answers)
    before = {name: project.read(name) for name in ("module.json", "README.md")}
    check = go_run(project, *PYTHON_SYNC, "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    project.run(*PYTHON_SYNC)
    assert {name: project.read(name) for name in before} == before
    python_checks(project)


def test_python_function_added_only_in_code_then_sync(bake):
    project = bake(language="python", functions=SIGNATURE_SHAPES, needs_config="yes")
    commit_baked(project)
    add_python_upper(project)
    check = go_run(project, *PYTHON_SYNC, "--check")
    assert check.returncode == 1
    assert check.stdout.splitlines() == [
        f"main.py serves upper; module.json does not expose it; {PYTHON_FIX}",
        "README.md: its functions section or install lines do not follow main.py and "
        f"module.json; {PYTHON_FIX}",
    ]
    # The project's own tests say the same.
    assert "tests/test_manifest.py::test_module_json_follows_the_code" in project.failed_tests()
    project.run(*PYTHON_SYNC)
    assert git_in(project, "diff", "--name-only").split() == ["README.md", "main.py", "module.json"]
    upper = project.manifest["exposes"]["upper"]
    assert upper == {
        "doc": 'upper(text: str, sep: str = "-")',
        "defaults": {"function": "upper", "sep": "-"},
        "argmap": ["text", "sep"],
    }
    assert list(project.manifest["exposes"])[-1] == "upper"  # appended
    readme = project.read("README.md")
    assert '| `upper` | `text: str, sep: str = "-"` |' in readme
    assert "demo.upper('a+b', '+').then(|reply| reply);  // 'A B'" in readme
    assert go_run(project, *PYTHON_SYNC, "--check").returncode == 0
    result = project.pytest("-rA", "-k", "upper")
    for n in range(1, PYTHON_UPPER_EXAMPLES + 1):
        assert f"PASSED tests/test_handlers.py::test_example[upper-{n}]" in result.stdout
        assert f"PASSED tests/test_functions.py::test_example[upper-{n}]" in result.stdout
    python_checks(project)


def test_python_failing_example_reads_as_thingsdb_shows_it(bake):
    project = bake(language="python", functions="ping(message: str)")
    path = project.file("main.py")
    source = path.read_text(encoding="utf-8")
    path.write_text(
        source.replace(
            'Example(["hello"], answer={"message": "hello"})',
            'Example(["hello"], answer={"message": "HELLO"})',
        )
    )
    result = go_run(project, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    want = "ping example 1, ping('hello'): want {message: 'HELLO'}; got {message: 'hello'}"
    assert f"AssertionError: {want}" in result.stdout, result.stdout
    # Directly and over the wire; and the README shows the example until sync writes it.
    assert "3 failed" in result.stdout, result.stdout


def test_python_changed_type_without_sync_fails_naming_function_and_field(bake):
    project = bake(language="python", functions='add(a: int, b: int), ping(message: str = "ping")')
    path = project.file("main.py")
    source = path.read_text(encoding="utf-8")
    source = source.replace("async def add(a: int, b: int)", "async def add(a: int, b: str)")
    source = source.replace(
        'async def ping(message: str = "ping")', "async def ping(message: int = 7)"
    )
    path.write_text(source, encoding="utf-8")
    check = go_run(project, *PYTHON_SYNC, "--check")
    assert check.returncode == 1, check.stdout + check.stderr
    wanted = [
        'module.json: exposes.add.doc is "add(a: int, b: int)"; main.py serves '
        f"add(a: int, b: str); {PYTHON_FIX}",
        'module.json: exposes.ping.doc is "ping(message: str = \\"ping\\")"; main.py serves '
        f"ping(message: int = 7); {PYTHON_FIX}",
        'module.json: exposes.ping.defaults is {"function": "ping", "message": "ping"}; '
        'main.py serves ping with the defaults {"function": "ping", "message": 7}; '
        f"{PYTHON_FIX}",
    ]
    for line in wanted:
        assert line in check.stdout.splitlines(), check.stdout
    # The project's own tests run the same check.
    result = go_run(
        project,
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/test_manifest.py",
    )
    assert result.returncode == 1
    for line in wanted:
        assert line in result.stdout, result.stdout
    # An argument renamed; an exposed function the code no longer serves, and a renamed one.
    source = source.replace("async def add(a: int, b: str)", "async def add(a: int, c: str)")
    path.write_text(source, encoding="utf-8")
    manifest = json.loads(project.read("module.json"))
    manifest["exposes"]["pnig"] = manifest["exposes"].pop("ping")
    project.file("module.json").write_text(json.dumps(manifest, indent=2) + "\n")
    lines = go_run(project, *PYTHON_SYNC, "--check").stdout.splitlines()
    assert (
        f'module.json: exposes.add.argmap is ["a", "b"]; main.py serves add(a, c); {PYTHON_FIX}'
        in lines
    )
    assert f"module.json exposes pnig; main.py serves no such function; {PYTHON_FIX}" in lines
    assert f"main.py serves ping; module.json does not expose it; {PYTHON_FIX}" in lines


def test_python_sync_keeps_closures_author_defaults_and_order(bake):
    project = bake(
        language="python", functions="a(x: int = 1), say_hello = |this| this.a(), b(y: str, *)"
    )
    manifest = json.loads(project.read("module.json"))
    manifest["exposes"]["a"]["defaults"]["deep"] = 3
    manifest["exposes"]["a"]["defaults"]["x"] = 5  # the code says 1
    manifest["exposes"] = dict(reversed(list(manifest["exposes"].items())))
    project.file("module.json").write_text(json.dumps(manifest, indent=2) + "\n")
    project.run(*PYTHON_SYNC)
    synced = json.loads(project.read("module.json"))
    assert list(synced["exposes"]) == ["b", "say_hello", "a"]
    assert synced["exposes"]["say_hello"] == "|this| this.a()"
    assert synced["exposes"]["a"]["defaults"] == {"function": "a", "x": 1, "deep": 3}
    assert go_run(project, *PYTHON_SYNC, "--check").returncode == 0


def test_python_sync_writes_the_released_version_into_the_install_lines(bake):
    project = bake(language="python")
    manifest = json.loads(project.read("module.json"))
    manifest["version"] = "0.2.0"
    project.file("module.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    assert go_run(project, *PYTHON_SYNC, "--check").returncode == 1
    project.run(*PYTHON_SYNC)
    readme = project.read("README.md")
    assert "@v0.2.0'" in readme and "@v0.1.0" not in readme


def test_thingsdb_value_has_one_renderer():
    """The README's values at bake time and sync's are tools/manifest.py's thingsdb_value."""
    from hooks.template import facts, module_json

    manifest = facts.project_tool("manifest")
    for value in sample_values(200):
        assert module_json.thingsdb_value(value) == manifest.thingsdb_value(value)


@pytest.mark.thingsdb
def test_python_function_added_only_in_code_is_installed_and_answers_its_examples(
    bake, start_node, github, tmp_path
):
    """An author adds a function in main.py with its examples, runs sync, and nothing else:
    the project's own checks pass, and a real ThingsDB installs it and answers them."""
    import test_integration

    answers = {"functions": "lookup(key: str, *), scale(x: float, factor: int = 2), echo"}
    project = bake(language="python", needs_config="yes", **answers)
    add_python_upper(project)
    project.run(*PYTHON_SYNC)
    python_checks(project)

    def run(env: dict[str, str]) -> None:
        result = project.pytest("integration", "-p", "no:xdist", "-rA", env=env)
        assert "skipped" not in result.stdout, result.stdout
        for n in range(1, PYTHON_UPPER_EXAMPLES + 1):
            assert f"PASSED integration/test_thingsdb.py::test_example[upper-{n}]" in result.stdout
        assert "PASSED integration/test_thingsdb.py::test_example[lookup-2]" in result.stdout

    test_integration.install_and_run(project, "python", start_node, github, tmp_path, run)
