"""The generated integration tests, run as a generated repository's CI runs them: against the
real ThingsDB server, with the fake GitHub standing in for github.com, the module installed from
the commit under test with a token in the source. A Python project runs integration/ with
pytest; a Go project runs integration_test.go with `go test -tags integration`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import SIGNATURE_SHAPES, BakedProject
from test_thingsdb import OWNER, fresh_venv, publish

from hooks.template.signatures import parse_functions, placeholder_examples

pytestmark = pytest.mark.thingsdb


TOKEN = "ci-t0ken"

PYTHON_ANSWER_SETS = [
    pytest.param({}, id="defaults"),
    pytest.param({"functions": SIGNATURE_SHAPES, "needs_config": "yes"}, id="shapes-config"),
]
GO_ANSWER_SETS = [
    pytest.param({"functions": SIGNATURE_SHAPES, "needs_config": "yes"}, id="shapes-config"),
    pytest.param({"functions": SIGNATURE_SHAPES, "needs_config": "no"}, id="shapes"),
]


def install_and_run(project: BakedProject, language: str, start_node, github, tmp_path, run):
    """Publish the project, start a node, run its integration tests (run(env)) with the settings
    CI gives; then check the module was installed from that commit and removed afterwards."""
    repo = f"module-{language}-demo"
    commit = publish(github, project.path, repo, "0.1.0", token=TOKEN)
    python = fresh_venv(tmp_path / "venv") if language == "python" else sys.executable
    node = start_node(python)
    env = {
        "TIMOD_ADDRESS": f"127.0.0.1:{node.client_port}",
        "TIMOD_SOURCE": f"github.com/{OWNER}/{repo}:{TOKEN}@{commit}",
        "TIMOD_USER": "admin",
        "TIMOD_PASSWORD": "pass",
    }
    run(env)
    called = {request.query.get("ref", [None])[0] for request in github.requests_for(OWNER, repo)}
    assert called == {commit}
    assert node.client().query("modules_info();", scope="@thingsdb") == []


@pytest.mark.parametrize("answers", PYTHON_ANSWER_SETS)
def test_generated_python_integration_tests_pass_in_thingsdb(
    answers, bake, start_node, github, tmp_path
):
    project = bake(language="python", **answers)

    def run(env: dict[str, str]) -> None:
        result = project.pytest("integration", "-p", "no:xdist", "-rs", env=env)
        assert "skipped" not in result.stdout, result.stdout

    install_and_run(project, "python", start_node, github, tmp_path, run)


def go_test_results(output: str) -> dict[str, str]:
    """`go test -v` output: each test and subtest with its verdict (PASS, FAIL or SKIP)."""
    found = re.findall(r"^\s*--- (PASS|FAIL|SKIP): (\S+)", output, re.MULTILINE)
    return {name: verdict for verdict, name in found}


def expected_go_tests(answers: dict, extra_examples: dict[str, int] | None = None) -> set[str]:
    """The subtests integration_test.go runs for these answers: each example of each function
    (the placeholders' examples, and extra_examples: function -> count), then the
    configuration."""
    counts = {
        s.name: len(placeholder_examples(s.as_dict(), float_answers=True))
        for s in parse_functions(answers["functions"])
        if s.closure is None
    }
    counts.update(extra_examples or {})
    configuration = (
        ["configuration-accepted-and-applied", "bad-configuration-refused"]
        if answers["needs_config"] == "yes"
        else ["configuration-refused"]
    )
    return {
        "TestInThingsDB",
        "TestInThingsDBEveryExposedFunctionIsCalled",
        "TestInThingsDB/installed-module-is-this-checkout",
        "TestInThingsDB/examples",
        *(
            f"TestInThingsDB/examples/{name}/{n}"
            for name, c in counts.items()
            for n in range(1, c + 1)
        ),
        *(f"TestInThingsDB/{name}" for name in configuration),
    }


def run_go_integration(project: BakedProject, expected: set[str], env: dict[str, str]) -> None:
    command = "go test -tags integration -run InThingsDB -count=1 -v ."
    result = project.run(*command.split(), env=env)
    results = go_test_results(result.stdout)
    assert "SKIP" not in result.stdout, result.stdout
    assert set(results.values()) == {"PASS"}, result.stdout
    missing = expected - set(results)
    assert not missing, f"did not run: {sorted(missing)}\n{result.stdout}"
    # And no subtest that started ended without a verdict (a panic, a timeout).
    started = set(re.findall(r"^=== RUN\s+(\S+)", result.stdout, re.MULTILINE))
    assert started == set(results), result.stdout


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the go command")
@pytest.mark.parametrize("answers", GO_ANSWER_SETS)
def test_generated_go_integration_tests_pass_in_thingsdb(
    answers, bake, start_node, github, tmp_path
):
    project = bake(language="go", **answers)
    assert not [name for name in project.files() if name.endswith(".py")]
    assert project.read("integration_test.go").startswith("//go:build integration\n")

    def run(env: dict[str, str]) -> None:
        run_go_integration(project, expected_go_tests(answers), env)

    install_and_run(project, "go", start_node, github, tmp_path, run)


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the go command")
def test_go_function_added_only_in_code_is_installed_and_answers_its_examples(
    bake, start_node, github, tmp_path
):
    """An author adds a function in handlers.go with its examples, runs sync, and nothing
    else: the project's own checks pass, and a real ThingsDB installs it and answers them."""
    from test_code_is_the_source import GO_UPPER_EXAMPLES, add_go_upper

    answers = {
        "functions": "lookup(key: str, *), scale(x: float, factor: int = 2)",
        "needs_config": "yes",
    }
    project = bake(language="go", **answers)
    add_go_upper(project)
    project.run("go", "run", "./tools/manifest", "sync")
    project.run("go", "test", "-count=1", "./...")

    def run(env: dict[str, str]) -> None:
        run_go_integration(project, expected_go_tests(answers, {"upper": GO_UPPER_EXAMPLES}), env)

    install_and_run(project, "go", start_node, github, tmp_path, run)


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the go command")
def test_generated_go_integration_tests_say_which_setting_is_missing(baked):
    """Without TIMOD_* settings the tests skip, naming what to set; in CI (CI=true) they fail
    instead, as a skip would pass unnoticed there."""
    project = baked(language="go", functions=SIGNATURE_SHAPES)
    command = ["go", "test", "-tags", "integration", "-run", "^TestInThingsDB$", "-count=1", "-v"]

    def go_test(**settings: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIMOD_") and k != "CI"}
        return subprocess.run(
            [*command, "."],
            cwd=project.path,
            env={**env, **settings},
            capture_output=True,
            text=True,
            timeout=600,
        )

    result = go_test()
    assert result.returncode == 0 and "--- SKIP: TestInThingsDB " in result.stdout, result.stdout
    assert "set TIMOD_ADDRESS=host:port and TIMOD_SOURCE=" in result.stdout, result.stdout
    result = go_test(TIMOD_ADDRESS="127.0.0.1:9200")
    assert "--- SKIP: TestInThingsDB " in result.stdout, result.stdout
    assert "set TIMOD_SOURCE=github.com/OWNER/REPO[:TOKEN]@REF (and" in result.stdout
    result = go_test(CI="true")
    assert result.returncode == 1 and "--- FAIL: TestInThingsDB " in result.stdout, result.stdout
