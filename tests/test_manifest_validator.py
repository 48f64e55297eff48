"""Tests for the module.json validator that generated projects ship: tools/manifest.py in the
Python flavour, its Go port (internal/manifest, run as `go run ./tools/manifest`) in the Go one.

The Python validator is loaded straight from the template directory: it is copied verbatim into
every generated project, so what is tested here is exactly what users get. The Go one is built
once per session from a baked Go project, and both command lines must answer every case here
alike: same lines, same exit status.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import manifest  # tools/manifest.py of the project template (on sys.path through conftest)
import pytest
from conftest import PROJECT_TEMPLATE_DIR

VALIDATOR = PROJECT_TEMPLATE_DIR / "tools" / "manifest.py"
VECTORS_FILE = Path(__file__).parent / "data" / "manifest-vectors.jsonl"
VECTORS = [json.loads(line) for line in VECTORS_FILE.read_text("utf-8").splitlines() if line]


def _json(**fields) -> str:
    return json.dumps(fields, indent=2) + "\n"


def _lint(repo_dir: Path | None = None, **fields) -> list[str]:
    return manifest.lint_manifest(_json(**fields), None if repo_dir is None else str(repo_dir))


def _has(problems: list[str], fragment: str) -> bool:
    return any(fragment in problem for problem in problems)


# --- the file itself --------------------------------------------------------------------------


def test_validator_source_has_no_jinja_syntax():
    source = VALIDATOR.read_text("utf-8")
    for marker in ("{{", "{%", "{#"):
        assert marker not in source


def test_validator_parses_as_python_3_9():
    ast.parse(VALIDATOR.read_text("utf-8"), feature_version=(3, 9))


# --- check_manifest: the server's own verdicts ------------------------------------------------


def test_vectors_file_holds_all_79_cases():
    assert len(VECTORS) == 79
    assert len({v["id"] for v in VECTORS}) == 79


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_check_manifest_gives_the_server_verdict(vector):
    error = manifest.check_manifest(vector["module_json"])
    assert (error is None) == vector["accepted"]
    assert error == vector["error"]


def _vector(vector_id: str) -> str:
    return next(v["module_json"] for v in VECTORS if v["id"] == vector_id)


def test_main_map_is_read_with_the_given_platform_key():
    text = _vector("main-map-no-match")  # keys linux/arm64 and darwin/amd64
    assert manifest.check_manifest(text) == "missing required `main` in module.json"
    assert manifest.check_manifest(text, "linux/arm64") is None
    assert manifest.check_manifest(text, "darwin/amd64") is None


def test_includes_map_fails_only_on_the_platform_it_names():
    text = _vector("includes-map-other-platform")  # a map with darwin/arm64 only
    assert manifest.check_manifest(text) is None
    assert manifest.check_manifest(text, "darwin/arm64") == "unexpected error in module.json"


def test_first_top_level_value_wins_but_every_value_is_type_checked():
    first_wins = '{"version": "1.0", "version": "1.0.0.0", "main": "demo.py"}'
    assert manifest.check_manifest(first_wins) is None
    second_bad = '{"version": "1.0", "main": "demo.py", "main": 5}'
    assert manifest.check_manifest(second_bad) == (
        "expecting a string or map as `main` in module.json, not a number"
    )


def test_text_after_a_complete_root_only_fails_when_it_forms_a_token():
    base = '{"version": "1", "main": "demo.py"}'
    assert manifest.check_manifest(base + "\n\n") is None
    assert manifest.check_manifest(base + ' "x"') == manifest.ALLOC_ERROR


def test_a_number_cut_off_by_the_end_of_the_text_is_never_read():
    # yajl needs the character after a number to finish it
    assert manifest.check_manifest('{"main": "demo.py", "version": 1') == (
        "missing required `version` in module.json"
    )


@pytest.mark.parametrize(
    ("closure", "error"),
    [
        ("|this| this.msg('Hello')", None),
        ("|a, b| a + b", None),
        ("||nil", None),
        ("", "closure is expecting exactly one statement"),
        ("|x| x; 1", "closure is expecting exactly one statement"),
        ("x + 1", "node is not a closure"),
        ("|x|", "invalid syntax in closure"),
        ("|x| 'open", "invalid syntax in closure"),
    ],
)
def test_exposed_string_must_be_a_single_closure(closure, error):
    text = _json(version="1.0.0", main="demo.py", exposes={"f": closure})
    expected = None if error is None else f"exposing string is not a closure: {error}"
    assert manifest.check_manifest(text) == expected


# --- lint_manifest ----------------------------------------------------------------------------


def test_lint_accepts_a_clean_python_manifest(tmp_path):
    (tmp_path / "main.py").write_text("")
    (tmp_path / "timod_loop.py").write_text("")
    (tmp_path / "requirements.txt").write_text("msgpack\n")
    fields = {"version": "0.1.0", "main": "main.py", "includes": ["timod_loop.py"]}
    assert _lint(tmp_path, **fields) == []


def test_lint_reports_a_parser_rejection():
    assert _lint(version="v1", main="demo.py") == ["invalid `version` format in module.json"]


def test_lint_reports_a_rejection_on_one_claimed_platform_with_its_key():
    main = {"linux/amd64": "bin/demo_linux_amd64", "darwin/arm64": "demo.py"}
    problems = _lint(version="1.0.0", main=main, requirements=[])
    assert problems == [
        "requirements in module.json are only allowed with Python modules (on linux/amd64)"
    ]


def test_lint_checks_every_claimed_platform_not_only_linux_amd64():
    main = {"darwin/arm64": "bin/demo_darwin_arm64", "freebsd/amd64": "bin/demo_freebsd_amd64"}
    assert _lint(version="1.0.0", main=main) == []


def test_lint_flags_a_non_empty_requirements_list():
    assert _has(_lint(version="1.0.0", main="demo.py", requirements=["msgpack"]), "first install")
    assert not _has(_lint(version="1.0.0", main="demo.py", requirements=[]), "first install")


def test_lint_flags_a_nul_in_doc():
    assert _has(_lint(version="1", main="demo.py", doc="a\u0000b"), "`doc` holds a NUL")
    assert _lint(version="1", main="demo.py", doc="a\r\nb") == []


def test_lint_flags_a_version_given_as_a_number():
    assert _has(_lint(version=1.0, main="demo.py"), "`version` is the number")
    assert _has(_lint(version=11, main="demo.py"), "`version` is the number")
    assert not _has(_lint(version="1.0", main="demo.py"), "`version` is the number")


def test_lint_flags_linux_arm64_without_linux_aarch64():
    go_keys = {"linux/arm64": "bin/demo_linux_arm64"}
    assert _has(_lint(version="1.0.0", main=go_keys), "`linux/aarch64`")
    both = {"linux/aarch64": "bin/demo_linux_arm64", "linux/arm64": "bin/demo_linux_arm64"}
    assert _lint(version="1.0.0", main=both) == []


def test_lint_flags_linux_arm_without_armv7l_or_armv6l():
    go_keys = {"linux/arm": "bin/demo_linux_armv6"}
    assert _has(_lint(version="1.0.0", main=go_keys), "`linux/armv7l`, `linux/armv6l`")
    with_machine = {"linux/arm": "bin/demo_linux_armv6", "linux/armv6l": "bin/demo_linux_armv6"}
    assert _lint(version="1.0.0", main=with_machine) == []


def test_lint_flags_main_keys_thingsdb_never_computes():
    main = {"linux/amd64": "bin/a", "linux/x86_64": "bin/a", "Darwin/arm64": "bin/b"}
    problems = _lint(version="1.0.0", main=main)
    assert _has(problems, "`linux/x86_64` never matches: ThingsDB computes `linux/amd64`")
    assert _has(problems, "`Darwin/arm64` never matches")


def test_lint_flags_files_in_a_bin_subfolder():
    nested = _lint(version="1.0.0", main={"linux/amd64": "bin/linux/demo"})
    assert _has(nested, "`main` file `bin/linux/demo` is in a subfolder of bin/")
    nested_include = _lint(version="1.0.0", main="demo.py", includes=["bin/data/x.txt"])
    assert _has(nested_include, "include file `bin/data/x.txt` is in a subfolder of bin/")
    assert _lint(version="1.0.0", main={"linux/amd64": "bin/demo"}) == []


def test_lint_flags_includes_given_as_maps():
    as_map = _lint(version="1.0.0", main="demo.py", includes=[{"darwin/arm64": "x.txt"}])
    assert _has(as_map, "`includes` holds a map")
    assert _lint(version="1.0.0", main="demo.py", includes=["x.txt"]) == []


def test_lint_flags_files_missing_from_the_repository(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "demo_linux_amd64").write_text("")
    main = {"linux/amd64": "bin/demo_linux_amd64", "darwin/arm64": "bin/demo_darwin_arm64"}
    problems = _lint(tmp_path, version="1.0.0", main=main, includes=["extra/data.txt"])
    assert problems == [
        "`main` file `bin/demo_darwin_arm64` does not exist in the repository",
        "include file `extra/data.txt` does not exist in the repository",
    ]
    (tmp_path / "bin" / "demo_darwin_arm64").write_text("")
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "data.txt").write_text("")
    assert _lint(tmp_path, version="1.0.0", main=main, includes=["extra/data.txt"]) == []


def test_lint_wants_requirements_txt_for_a_python_main_without_requirements_key(tmp_path):
    (tmp_path / "demo.py").write_text("")
    assert _has(_lint(tmp_path, version="1.0.0", main="demo.py"), "requirements.txt")
    assert _lint(tmp_path, version="1.0.0", main="demo.py", requirements=[]) == []
    (tmp_path / "requirements.txt").write_text("msgpack\n")
    assert _lint(tmp_path, version="1.0.0", main="demo.py") == []


def test_lint_flags_a_handled_function_the_module_cannot_tell_apart():
    taken = {"add": {"defaults": {"function": "add"}, "argmap": ["a", "function"]}}
    assert _has(_lint(version="1", main="demo.py", exposes=taken), "`function` in its argmap")
    unnamed = {"add": {"argmap": ["a"]}, "sub": {"defaults": {"function": "add"}}}
    problems = _lint(version="1", main="demo.py", exposes=unnamed)
    assert _has(problems, 'function `add` needs the default {"function": "add"}')
    assert _has(problems, 'function `sub` needs the default {"function": "sub"}')
    closure = {"hi": "|this| this.add(1)", "add": {"defaults": {"function": "add"}}}
    assert _lint(version="1", main="demo.py", exposes=closure) == []


@pytest.mark.parametrize(
    "statement", ["import helpers", "from helpers import x", "import helpers.sub as s"]
)
def test_lint_flags_a_local_import_that_includes_does_not_list(tmp_path, statement):
    (tmp_path / "requirements.txt").write_text("")
    (tmp_path / "main.py").write_text(f"import json\n{statement}\nimport timod_loop\n")
    (tmp_path / "timod_loop.py").write_text("import msgpack\n")
    (tmp_path / "helpers.py").write_text("")
    problems = _lint(tmp_path, version="1", main="main.py", includes=["timod_loop.py"])
    assert problems == [
        "`main.py` imports `helpers`, but `includes` does not list `helpers.py`: ThingsDB "
        "downloads only module.json, main and includes, so the module would fail at import "
        "once installed"
    ]
    listed = ["timod_loop.py", "helpers.py"]
    assert _lint(tmp_path, version="1", main="main.py", includes=listed) == []


def test_lint_follows_imports_of_included_files(tmp_path):
    (tmp_path / "requirements.txt").write_text("")
    (tmp_path / "main.py").write_text("import lib\n")
    (tmp_path / "lib.py").write_text("from util import x\n")
    (tmp_path / "util").mkdir()
    (tmp_path / "util" / "__init__.py").write_text("x = 1\n")
    problems = _lint(tmp_path, version="1", main="main.py", includes=["lib.py"])
    assert [p.split(":")[0] for p in problems] == [
        "`lib.py` imports `util`, but `includes` does not list `util/__init__.py`"
    ]


def test_lint_skips_repository_checks_without_repo_dir():
    assert _lint(version="1.0.0", main="missing.py", includes=["missing.txt"]) == []


# --- command line -----------------------------------------------------------------------------


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(VALIDATOR), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,  # the exit code is what the tests look at
    )


def test_cli_prints_ok_and_exits_0_for_a_good_manifest(tmp_path):
    (tmp_path / "module.json").write_text(_json(version="1.0.0", main="demo.py", requirements=[]))
    (tmp_path / "demo.py").write_text("")
    result = _run(tmp_path)
    assert result.returncode == 0
    assert result.stdout == "module.json: ok\n"


def test_cli_prints_one_line_per_problem_and_exits_1(tmp_path):
    (tmp_path / "module.json").write_text(_json(version=1.0, main="demo.py"))
    result = _run(tmp_path, "module.json")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 3  # version as number, demo.py missing, requirements.txt missing
    assert all(line.startswith("module.json: ") for line in lines)


def test_cli_reports_a_rejected_manifest_with_the_server_message(tmp_path):
    (tmp_path / "module.json").write_text('{"version": "1.0.0", "main": "demo.py",}')
    result = _run(tmp_path)
    assert result.returncode == 1
    assert result.stdout == "module.json: allocation error while parsing module.json\n"


def test_cli_treats_bytes_that_are_not_utf8_as_a_parse_error(tmp_path):
    (tmp_path / "module.json").write_bytes(b'{"version": "1", "main": "d\xe9mo.py"}')
    result = _run(tmp_path)
    assert result.returncode == 1
    assert result.stdout == "module.json: allocation error while parsing module.json\n"


@pytest.mark.parametrize("name", ["missing.json", "."], ids=["missing-file", "directory"])
def test_cli_exits_2_with_one_line_and_no_traceback_for_an_unreadable_path(tmp_path, name):
    result = _run(tmp_path, name)
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert len(output.splitlines()) == 1
    assert output.startswith(f"{name}: cannot read the file")


# --- the Go port: internal/manifest and go run ./tools/manifest -------------------------------

GO_SOURCES = ("internal/manifest", "tools/manifest")
# The one piece of Jinja the Go sources hold: the import paths of the project's own packages
# (the package itself; the value writer and the describe types it shares with the module).
GO_IMPORT = '"{{ cookiecutter.go_module_path }}/internal/manifest"'
OWN_IMPORT = re.compile(r'"\{\{ cookiecutter\.go_module_path \}\}/internal/[a-z]+"')
DEFAULT = manifest.DEFAULT_PLATFORM


def test_go_sources_hold_no_jinja_but_the_import_path():
    paths = [p for folder in GO_SOURCES for p in (PROJECT_TEMPLATE_DIR / folder).glob("*.go")]
    assert len(paths) > 5
    assert GO_IMPORT in (PROJECT_TEMPLATE_DIR / "tools/manifest/main.go").read_text("utf-8")
    for path in paths:
        source = OWN_IMPORT.sub("", path.read_text("utf-8"))
        for marker in ("{{", "{%", "{#"):
            assert marker not in source, f"{path.name} holds {marker}"


@dataclass(frozen=True)
class Outcome:
    """What one run of a checker's command line gave."""

    status: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def go_checker(baked, tmp_path_factory) -> Path:
    """The Go checker's command, built once from a baked Go project."""
    if shutil.which("go") is None:
        pytest.skip("needs the go command")
    binary = tmp_path_factory.mktemp("go-checker") / "manifest"
    baked(language="go").run("go", "build", "-o", str(binary), "./tools/manifest")
    return binary


def _go(binary: Path, cwd: Path, *args: str | bytes) -> Outcome:
    result = subprocess.run([binary, *args], cwd=cwd, capture_output=True, timeout=60, check=False)
    return Outcome(result.returncode, _text(result.stdout), _text(result.stderr))


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _python(capsys, cwd: Path, *args: str) -> Outcome:
    """tools/manifest.py's command line, its main() run in this process: a process per case
    would cost a hundred times the Go binary's run. Output goes to capsys's UTF-8 streams."""
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        status = manifest.main(list(args))
    out, err = capsys.readouterr()
    return Outcome(status, out, err)


def _write(folder: Path, files: dict[str | bytes, str | bytes]) -> Path:
    for name, content in files.items():
        path = folder / (os.fsdecode(name) if isinstance(name, bytes) else name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return folder


# The repository the vectors were recorded with (MANIFEST-VECTORS.md), without requirements.txt.
VECTOR_REPO = {
    "demo.py": "import json\n",
    "run.sh": "#!/bin/sh\n",
    "bin/run": "#!/bin/sh\n",
    "extra/data.txt": "data\n",
}


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_go_and_python_give_the_server_verdict_on_each_vector(vector, go_checker, capsys, tmp_path):
    _write(tmp_path, {"module.json": vector["module_json"]})
    args = ("--platform", DEFAULT)
    python = _python(capsys, tmp_path, *args)
    server = f"module.json: {vector['error'] or 'ok'}\n"
    assert python == Outcome(0 if vector["accepted"] else 1, server, "")
    assert _go(go_checker, tmp_path, *args) == python


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_go_and_python_lint_each_vector_alike(vector, go_checker, capsys, tmp_path):
    _write(tmp_path, {**VECTOR_REPO, "module.json": vector["module_json"]})
    assert _go(go_checker, tmp_path) == _python(capsys, tmp_path)


def _map_keys(vector: dict) -> list[str]:
    """The platform keys of the vector's `main` and `includes` maps."""
    try:
        data = json.loads(vector["module_json"])
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    includes = data.get("includes")
    values = [data.get("main"), *(includes if isinstance(includes, list) else [])]
    return [key for value in values if isinstance(value, dict) for key in value]


# Each key a vector's maps name, other than linux/amd64, and one that none names.
PLATFORM_CASES = [
    pytest.param(vector["module_json"], key, id=f"{vector['id']}-on-{key}")
    for vector in VECTORS
    if _map_keys(vector)
    for key in dict.fromkeys([*_map_keys(vector), "freebsd/arm"])
    if key != DEFAULT
]


def test_platform_cases_cover_main_and_includes_maps():
    assert len(PLATFORM_CASES) >= 6


@pytest.mark.parametrize(("text", "platform"), PLATFORM_CASES)
def test_go_and_python_agree_on_other_platform_keys(text, platform, go_checker, capsys, tmp_path):
    _write(tmp_path, {"module.json": text})
    args = ("--platform", platform)
    assert _go(go_checker, tmp_path, *args) == _python(capsys, tmp_path, *args)


# The start of a manifest that the server accepts, for cases about what follows.
HEAD = '{"version": "1", "main": "demo.py", '


def _check(case_id: str, text: str, platform: str = DEFAULT):
    return pytest.param(text, platform, id=case_id)


def _head(case_id: str, rest: str, platform: str = DEFAULT):
    return _check(case_id, HEAD + rest, platform)


CLOSURES = [
    "|this| this.msg('Hello')",
    "|a, b| a + b",
    "||nil",
    "",
    "|x| x; 1",
    "x + 1",
    "|x|",
    "|x| 'open",
    "|x| 'it''s' /* c */ // d",
    "\u3000|x| x",
    "\x1c|x| x",
    "|x| 'a''",
    "|a,| a",
    "|x| (x",
    "|x| x)",
    "|1| x",
    "hello world",
    "|x| x;",
]

# check_manifest's cases above, and the parser's corners: module.json and a platform key.
CHECK_CASES = [
    _check("first-value-wins", '{"version": "1.0", "version": "1.0.0.0", "main": "demo.py"}'),
    _head("every-value-type-checked", '"main": 5}'),
    _check("white-space-after-the-root", HEAD[:-2] + "}\n\n"),
    _check("token-after-the-root", HEAD[:-2] + '} "x"'),
    _check("literal-cut-after-the-root", HEAD[:-2] + "} tru"),
    _check("number-cut-by-the-end", '{"main": "demo.py", "version": 1'),
    *(
        _head(f"closure-{i}", f'"exposes": {{"f": {json.dumps(c)}}}}}')
        for i, c in enumerate(CLOSURES)
    ),
    _check("lone-low-surrogate-in-a-key", '{"\\udc00": 1}'),
    _check("surrogate-pair-in-a-key", '{"\\ud83d\\ude00": 1}'),
    _check("high-surrogate-with-any-escape", '{"\\ud800\\u0041": 1}'),
    _check("high-surrogate-skips-a-character", '{"x\\ud800\u00e9y": 1}'),
    _check("high-surrogate-skips-a-backslash", '{"\\ud800\\\\n": 1}'),
    _check("key-shown-up-to-a-nul", '{"a\\u0000b": 1}'),
    _check("every-escape-in-a-key", '{"\\"\\\\\\/\\b\\f\\n\\r\\t": 1}'),
    _check("version-in-exponent-form", '{"main": "demo.py", "version": 1e16}'),
    _check("version-double-rounded", '{"main": "demo.py", "version": 1.23456789}'),
    _check("largest-integer", '{"main": "demo.py", "version": 9223372036854775807}'),
    _check("smallest-integer", '{"main": "demo.py", "version": -9223372036854775808}'),
    _check("double-overflow", '{"main": "demo.py", "version": 1e400}'),
    _check("double-underflow", '{"main": "demo.py", "version": 1e-400}'),
    _check("integer-of-4000-digits", '{"main": "demo.py", "version": 1' + "0" * 4000 + "}"),
    _head("deep-double-shown-whole", '"defaults": {"deep": 1e300}}'),
    _head("deep-tiny-negative", '"defaults": {"deep": -1e-7}}'),
    _head("deep-double-over", '"defaults": {"deep": 127.5}}'),
    _head("default-key-repeated-past-a-nul", '"defaults": {"x\\u0000y": 1, "x\\u0000y": 2}}'),
    _head("default-repeated-across-maps", '"defaults": {"x": 1}, "defaults": {"x": 2}}'),
    _head("string-main-before-a-map", '"main": {"linux/amd64": "/x"}}'),
    _check("map-main-before-a-string", '{"main": {"linux/amd64": "/x"}, "main": "demo.py"}'),
    _check(
        "first-map-entry-wins", '{"version": "1", "main": {"linux/amd64": "a", "linux/amd64": "/"}}'
    ),
    _check(
        "requirements-by-the-platform-main",
        '{"version": "1", "main": {"a": "demo.py", "b": "run.sh"}, "requirements": []}',
        "b",
    ),
    _check("empty-platform-key", '{"version": "1", "main": {"": "demo.py"}}', ""),
    _head("includes-map-naming-the-key-at-the-cut", '"includes": [{"linux/amd64": "/x"'),
    _head("includes-map-naming-the-key-then-bad-json", '"includes": [{"linux/amd64": "x" ]'),
    _head(
        "includes-map-naming-the-key-then-a-type-error",
        '"includes": [{"linux/amd64": "x"}], "doc": 1}',
    ),
    _check(
        "python-main-by-the-bytes-past-a-nul",
        '{"version": "1", "main": "a\\u0000.py", "requirements": []}',
    ),
    _head("name-of-256-characters", '"exposes": {"' + "f" * 256 + '": {}}}'),
    _head(
        "argmap-item-repeated-past-a-nul", '"exposes": {"f": {"argmap": ["a\\u0000", "a\\u0000"]}}}'
    ),
]


@pytest.mark.parametrize(("text", "platform"), CHECK_CASES)
def test_go_and_python_check_alike(text, platform, go_checker, capsys, tmp_path):
    _write(tmp_path, {"module.json": text})
    args = (f"--platform={platform}",)
    assert _go(go_checker, tmp_path, *args) == _python(capsys, tmp_path, *args)


def _lint_case(case_id: str, files: list[str], **fields):
    return pytest.param(_json(**fields), files, id=case_id)


ARM64 = {"linux/aarch64": "bin/a", "linux/arm64": "bin/a"}
TWO_BINARIES = {"linux/amd64": "bin/a", "darwin/arm64": "bin/b"}
DISPATCH_TAKEN = {"add": {"defaults": {"function": "add"}, "argmap": ["a", "function"]}}
DISPATCH_MISSING = {"add": {"argmap": ["a"]}, "sub": {"defaults": {"function": "add"}}}
DISPATCH_CLOSURE = {"hi": "|this| this.add(1)", "add": {"defaults": {"function": "add"}}}
DISPATCH_NAMES = {'\u00e9"': {}, "\U0001f600": {"defaults": {"function": 1}}}

# _lint's cases above, and more of the lint rules: module.json and the files beside it.
LINT_CASES = [
    _lint_case(
        "clean-python-manifest",
        ["main.py", "timod_loop.py", "requirements.txt"],
        version="0.1.0",
        main="main.py",
        includes=["timod_loop.py"],
    ),
    _lint_case("parser-rejection", [], version="v1", main="demo.py"),
    _lint_case(
        "rejected-on-one-claimed-platform",
        [],
        version="1",
        main={"linux/amd64": "bin/a", "darwin/arm64": "demo.py"},
        requirements=[],
    ),
    _lint_case("every-claimed-platform", ["bin/a", "bin/b"], version="1", main=TWO_BINARIES),
    _lint_case("rejected-alike-on-every-platform", [], version="v1", main=TWO_BINARIES),
    _lint_case(
        "rejected-differently-per-platform",
        [],
        version="1",
        main={"linux/amd64": "run.sh", "darwin/arm64": "demo.py"},
        requirements=[],
        includes=[{"darwin/arm64": "x"}],
    ),
    _lint_case("requirements-list", ["demo.py"], version="1", main="demo.py", requirements=["a"]),
    _lint_case("requirements-empty", ["demo.py"], version="1", main="demo.py", requirements=[]),
    _lint_case("requirements-map", [], version="1", main="demo.py", requirements={"a": 1}),
    _lint_case("requirements-null", ["demo.py"], version="1", main="demo.py", requirements=None),
    _lint_case("nul-in-doc", [], version="1", main="demo.py", doc="a\u0000b"),
    _lint_case("crlf-in-doc", [], version="1", main="demo.py", doc="a\r\nb"),
    _lint_case("version-double", [], version=1.0, main="demo.py"),
    _lint_case("version-integer", [], version=11, main="demo.py"),
    _lint_case("version-string", [], version="1.0", main="demo.py"),
    _lint_case("version-in-exponent-form", [], version=1e16, main="demo.py"),
    _lint_case("version-small-double", [], version=1e-05, main="demo.py"),
    _lint_case("version-double-of-16-digits", [], version=1234567890123456.0, main="demo.py"),
    _lint_case("linux-arm64-alone", [], version="1", main={"linux/arm64": "bin/a"}),
    _lint_case("linux-arm64-with-aarch64", [], version="1", main=ARM64),
    _lint_case("linux-arm-alone", [], version="1", main={"linux/arm": "bin/a"}),
    _lint_case(
        "linux-arm-with-armv6l", [], version="1", main={"linux/arm": "a", "linux/armv6l": "a"}
    ),
    _lint_case(
        "keys-thingsdb-never-computes",
        [],
        version="1",
        main={"linux/amd64": "bin/a", "linux/x86_64": "bin/a", "Darwin/arm64": "bin/b"},
    ),
    _lint_case(
        "non-ascii-uppercase-key-and-i686",
        [],
        version="1",
        main={"\u00c9/x": "bin/a", "freebsd/i686": "bin/b"},
    ),
    _lint_case("bin-subfolder", [], version="1", main={"linux/amd64": "bin/linux/demo"}),
    _lint_case(
        "includes-in-blob-subfolders",
        [],
        version="1",
        main="demo.py",
        includes=["bin/data/x.txt", "blobs/a/b"],
    ),
    _lint_case("flat-bin", ["bin/demo"], version="1", main={"linux/amd64": "bin/demo"}),
    _lint_case("includes-map", [], version="1", main="demo.py", includes=[{"darwin/arm64": "x"}]),
    _lint_case(
        "includes-plain",
        ["demo.py", "x.txt", "requirements.txt"],
        version="1",
        main="demo.py",
        includes=["x.txt"],
    ),
    _lint_case("files-missing", ["bin/a"], version="1", main=TWO_BINARIES, includes=["x/y.txt"]),
    _lint_case(
        "files-there",
        ["bin/a", "bin/b", "x/y.txt"],
        version="1",
        main=TWO_BINARIES,
        includes=["x/y.txt"],
    ),
    _lint_case(
        "files-that-are-not-files",
        ["demo.py", "extra/x"],
        version="1",
        main="demo.py/.",
        includes=["extra"],
    ),
    _lint_case("requirements-txt-missing", ["demo.py"], version="1", main="demo.py"),
    _lint_case(
        "requirements-txt-there", ["demo.py", "requirements.txt"], version="1", main="demo.py"
    ),
    _lint_case("dispatch-key-taken", [], version="1", main="demo.py", exposes=DISPATCH_TAKEN),
    _lint_case(
        "dispatch-key-missing-or-wrong", [], version="1", main="demo.py", exposes=DISPATCH_MISSING
    ),
    _lint_case(
        "dispatch-with-a-closure", [], version="1", main="demo.py", exposes=DISPATCH_CLOSURE
    ),
    _lint_case(
        "dispatch-message-in-ascii-json", [], version="1", main="demo.py", exposes=DISPATCH_NAMES
    ),
    _lint_case("repository-without-the-files", [], version="1", main="a.py", includes=["b.txt"]),
    pytest.param('{"version": "1", "main": {"linux/amd64": "bin/a"', ["bin/a"], id="cut-short-map"),
    pytest.param('"demo.py"', [], id="root-not-a-map"),
    pytest.param("", [], id="empty-file"),
]


@pytest.mark.parametrize(("text", "files"), LINT_CASES)
def test_go_and_python_lint_alike(text, files, go_checker, capsys, tmp_path):
    _write(tmp_path, {**dict.fromkeys(files, ""), "module.json": text})
    assert _go(go_checker, tmp_path) == _python(capsys, tmp_path)


# The Python checker does not close `{}`: _json_events pushes "map" at its opening brace but
# does not pop it at the closing one, as yajl does. So it rejects an empty map in an array as
# invalid JSON, where the server accepts it, and reads one brace too many after one. The Go
# port follows yajl.
EMPTY_MAPS = [
    pytest.param('{"version": "1", "main": "demo.py", "includes": [{}]}', "ok", id="in-an-array"),
    pytest.param(
        '{"version": "1", "main": "demo.py", "defaults": {"x": [{}, {}]}}', "ok", id="in-a-default"
    ),
    pytest.param(
        '{"version": "1", "main": "demo.py", "exposes": {}} }',
        manifest.ALLOC_ERROR,
        id="brace-after",
    ),
]


@pytest.mark.parametrize(("text", "verdict"), EMPTY_MAPS)
def test_go_checker_closes_an_empty_map_as_yajl_does(text, verdict, go_checker, tmp_path):
    _write(tmp_path, {"module.json": text})
    assert _go(go_checker, tmp_path, "--platform", DEFAULT) == Outcome(
        0 if verdict == "ok" else 1, f"module.json: {verdict}\n", ""
    )


@pytest.mark.parametrize(("text", "verdict"), EMPTY_MAPS)
def test_python_checker_closes_an_empty_map_as_yajl_does(
    text, verdict, go_checker, capsys, tmp_path
):
    _write(tmp_path, {"module.json": text})
    args = ("--platform", DEFAULT)
    assert _python(capsys, tmp_path, *args) == _go(go_checker, tmp_path, *args)


# Texts on which the Python checker once raised instead of answering: int() refuses more than
# 4300 digits, and _decode() read a half escape after the character a lone high surrogate skips.
PYTHON_RAISES = [
    pytest.param(
        '{"main": "demo.py", "version": 1' + "0" * 100000 + "}",
        manifest.ALLOC_ERROR,
        id="integer-of-100000-digits",
    ),
    pytest.param('{"\\ud800\\\\x": 1}', "unsupported key `??` in module.json", id="then-escape"),
    pytest.param('{"\\ud800\\\\": 1}', "unsupported key `??` in module.json", id="then-backslash"),
]


@pytest.mark.parametrize(("text", "message"), PYTHON_RAISES)
def test_go_checker_answers_where_the_python_one_raises(text, message, go_checker, tmp_path):
    _write(tmp_path, {"module.json": text})
    assert _go(go_checker, tmp_path, "--platform", DEFAULT) == Outcome(
        1, f"module.json: {message}\n", ""
    )


@pytest.mark.parametrize(("text", "message"), PYTHON_RAISES)
def test_python_checker_answers_where_it_raises(text, message, capsys, tmp_path):
    _write(tmp_path, {"module.json": text})
    assert _python(capsys, tmp_path, "--platform", DEFAULT) == Outcome(
        1, f"module.json: {message}\n", ""
    )


IMPORTS = [
    *(
        pytest.param({"main.py": f"import json\n{s}\n"}, ["helpers.py"], id=s.replace(" ", "-"))
        for s in ["import helpers", "from helpers import x", "import helpers.sub as s"]
    ),
    pytest.param(
        {"main.py": "import lib\n", "lib.py": "from util import x\n"},
        ["util/__init__.py"],
        id="import-of-an-include",
    ),
]


@pytest.mark.parametrize(("sources", "local"), IMPORTS)
def test_go_lint_leaves_out_only_the_python_import_check(
    sources, local, go_checker, capsys, tmp_path
):
    """A Go module's main entries are binaries: the Go checker does not read Python imports."""
    includes = [name for name in sources if name != "main.py"]
    text = _json(version="1", main="main.py", includes=includes)
    _write(
        tmp_path,
        {**sources, **dict.fromkeys([*local, "requirements.txt"], ""), "module.json": text},
    )
    python = _python(capsys, tmp_path)
    lines = python.stdout.splitlines(keepends=True)
    rest = [line for line in lines if "` imports `" not in line]
    assert len(rest) < len(lines)  # the Python checker flags the import
    assert _go(go_checker, tmp_path) == Outcome(
        1 if rest else 0, "".join(rest) or "module.json: ok\n", ""
    )


# The command lines as processes: exit status, stderr, and what reaches a terminal.
GOOD = _json(version="1.0.0", main="demo.py", requirements=[])
TWO_PROBLEMS = _json(version=1.0, main="demo.py")
SURROGATES = '{"\\udc00": 1, "\\ud83d\\ude00": 2}'
MAIN_MAP = _json(version=1.0, main={"linux/aarch64": "bin/x"})
CLI_CASES = [
    pytest.param({"module.json": GOOD, "demo.py": ""}, [], id="ok-exits-0"),
    pytest.param({"module.json": TWO_PROBLEMS}, ["module.json"], id="problems-exit-1"),
    pytest.param({"module.json": HEAD + "}"}, [], id="invalid-json"),
    pytest.param({"module.json": b'{"main": "d\xe9mo.py"}'}, [], id="bytes-not-utf8"),
    pytest.param({"module.json": SURROGATES}, [], id="surrogates-escaped-on-output"),
    pytest.param({}, ["missing.json"], id="missing-file-exits-2"),
    pytest.param({}, ["."], id="directory-exits-2"),
    pytest.param({}, [""], id="empty-path-exits-2"),
    pytest.param({}, ["nope/../module.json"], id="path-not-cleaned"),
    pytest.param(
        {"a/module.json": GOOD, "a/demo.py": ""}, ["a//module.json"], id="files-beside-it"
    ),
    pytest.param({b"m\xffodule.json": GOOD}, [b"m\xffodule.json"], id="file-name-not-utf8"),
    pytest.param({}, ["a", "b"], id="two-paths-print-usage"),
    pytest.param({}, ["-h"], id="h-prints-usage"),
    pytest.param({}, ["--help"], id="help-prints-usage"),
    pytest.param({}, ["--platform"], id="platform-without-a-key-prints-usage"),
    pytest.param({}, ["--platform", "a", "--platform=b"], id="platform-twice-prints-usage"),
    pytest.param({"module.json": MAIN_MAP}, ["--platform", "linux/aarch64"], id="platform-given"),
    pytest.param({"module.json": MAIN_MAP}, ["module.json", "--platform=x"], id="platform-last"),
]


def _python_process(cwd: Path, *args: str | bytes) -> Outcome:
    result = subprocess.run(
        [sys.executable, str(VALIDATOR), *args],
        cwd=cwd,
        capture_output=True,
        timeout=60,
        check=False,
        # the Go command writes UTF-8 whatever the locale
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    return Outcome(result.returncode, _text(result.stdout), _text(result.stderr))


def _same_command(outcome: Outcome) -> Outcome:
    """The usage line names the command, which is all that differs."""
    stderr = re.sub(
        r"^usage: (python tools/manifest\.py|go run \./tools/manifest) ", "usage: ", outcome.stderr
    )
    return Outcome(outcome.status, outcome.stdout, stderr)


@pytest.mark.parametrize(("files", "args"), CLI_CASES)
def test_go_and_python_command_lines_answer_alike(files, args, go_checker, tmp_path):
    _write(tmp_path, files)
    go = _go(go_checker, tmp_path, *args)
    python = _python_process(tmp_path, *args)
    assert "Traceback" not in python.stderr
    assert _same_command(go) == _same_command(python)
    assert len((go.stdout + go.stderr).splitlines()) >= 1


@pytest.mark.parametrize("count", [1, 2_000])
def test_python_check_reads_the_text_twice_however_many_keys_main_lists(count, monkeypatch):
    """Every key `main` lists gets the server's verdict from one reading (plus the lint's tree),
    so the check stays linear in the manifest's size (it once read the text per key: 144 s for
    5,000 keys)."""
    readings = []
    events = manifest._json_events
    monkeypatch.setattr(manifest, "_json_events", lambda text: readings.append(1) or events(text))
    text = json.dumps(
        {
            "version": "0.1.0",
            "main": {f"linux/k{i}": "main.py" for i in range(count)},
            "includes": [f"f{i}.py" for i in range(count)],
        }
    )
    assert manifest.lint_manifest(text) == []
    assert len(readings) == 2
