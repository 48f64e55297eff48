"""Tests for the module.json validator that generated projects ship as tools/manifest.py.

The validator is loaded straight from the template directory: it is copied verbatim into every
generated project, so what is tested here is exactly what users get.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
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
