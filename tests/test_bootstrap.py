"""The "Use this template" button: hooks/bootstrap.py in a repository laid out as GitHub creates
one from the template, with the environment the Bootstrap workflow gives it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GIT_ENV, TEMPLATE_DIR
from test_workflows import load_yaml


def template_files() -> list[str]:
    """The files GitHub copies: what the template repository holds (tracked, or new here)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=TEMPLATE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [name for name in listed.split("\0") if name and (TEMPLATE_DIR / name).is_file()]


class NewRepository:
    """A repository created from the template: the template's files in one initial commit."""

    def __init__(self, path: Path):
        self.path = path
        for name in template_files():
            target = path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE_DIR / name, target)
        self.git("init", "-q", "-b", "main")
        self.git("add", "--all")
        self.git("commit", "-q", "-m", "Initial commit")

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=self.path,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **GIT_ENV},
        ).stdout.strip()

    def state(self) -> tuple[str, str]:
        return self.git("rev-parse", "HEAD"), self.git("status", "--porcelain")

    def bootstrap(self, repository: str, event: dict) -> subprocess.CompletedProcess:
        event_path = self.path.parent / "event.json"
        event_path.write_text(json.dumps(event), encoding="utf-8")
        env = {
            **os.environ,
            **GIT_ENV,
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": repository,
            "GITHUB_EVENT_PATH": str(event_path),
        }
        return subprocess.run(
            [sys.executable, "hooks/bootstrap.py"],
            cwd=self.path,
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts[:1]
    }


@pytest.fixture
def new_repository(tmp_path) -> NewRepository:
    path = tmp_path / "repository"
    path.mkdir()
    return NewRepository(path)


@pytest.mark.parametrize(
    "repository, answers_file, answers",
    [
        pytest.param(
            "acme/module-go-weather-report",
            None,
            {
                "language": "go",
                "module_name": "weather_report",
                "github_owner": "acme",
                "repo_name": "module-go-weather-report",
                "go_module_path": "github.com/acme/module-go-weather-report",
                "description": "Weather reports in ThingsDB",
            },
            id="go-from-the-name",
        ),
        pytest.param(
            "Acme/tdb-sms",
            {
                "language": "python",
                "module_name": "sms",
                "functions": "send(to: str, text: str), status(id: int)",
                "needs_config": "yes",
            },
            {
                "language": "python",
                "module_name": "sms",
                "github_owner": "Acme",
                "repo_name": "tdb-sms",
                "description": "Weather reports in ThingsDB",
                "functions": "send(to: str, text: str), status(id: int)",
                "needs_config": "yes",
            },
            id="python-from-an-answers-file",
        ),
    ],
)
def test_bootstrap_commits_exactly_what_cookiecutter_bakes(
    new_repository, tmp_path, repository, answers_file, answers
):
    repo = new_repository
    if answers_file:
        (repo.path / "module-answers.json").write_text(json.dumps(answers_file))
        repo.git("add", "module-answers.json")
        repo.git("commit", "-q", "-m", "Answers")
    event = {"repository": {"is_template": False, "description": answers["description"]}}
    result = repo.bootstrap(repository, event)
    assert result.returncode == 0, result.stdout + result.stderr
    assert repo.git("status", "--porcelain") == ""
    assert repo.git("log", "-1", "--format=%s") == (
        f"Generate the ThingsDB module {answers['module_name']}"
    )

    baked = tmp_path / "baked"
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(baked)]
    command += [str(TEMPLATE_DIR), *(f"{key}={value}" for key, value in answers.items())]
    subprocess.run(command, check=True, capture_output=True)
    expected = tree(baked / answers["module_name"])
    assert tree(repo.path) == expected
    assert set(repo.git("ls-files").splitlines()) == set(expected)
    assert not (repo.path / ".github/workflows/bootstrap.yml").exists()


@pytest.mark.parametrize(
    "repository, line",
    [
        ("acme/weather", "repo_name='weather': name the repository module-<python|go>-"),
        ("acme/module-python-9lives", "module_name='9lives': a ThingsDB name starts"),
        ("acme/module-rust-x", "repo_name='module-rust-x': name the repository"),
    ],
)
def test_a_name_that_gives_invalid_answers_changes_nothing(new_repository, repository, line):
    repo = new_repository
    before = repo.state()
    result = repo.bootstrap(repository, {"repository": {"is_template": False}})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Invalid answers, nothing was changed:" in result.stderr
    assert f"  {line}" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert repo.state() == before


def test_in_the_template_repository_itself_it_does_nothing(new_repository):
    repo = new_repository
    before = repo.state()
    result = repo.bootstrap("acme/module-python-demo", {"repository": {"is_template": True}})
    assert result.returncode == 0, result.stderr
    assert "nothing to do" in result.stdout
    assert repo.state() == before


def test_the_bootstrap_workflow_runs_only_outside_the_template_and_pushes_with_its_own_token():
    workflow = load_yaml(TEMPLATE_DIR / ".github/workflows/bootstrap.yml")
    job = workflow["jobs"]["bootstrap"]
    assert job["if"] == "${{ !github.event.repository.is_template }}"
    assert workflow["permissions"] == {} and job["permissions"] == {"contents": "read"}
    steps = job["steps"]
    assert steps[0]["with"]["persist-credentials"] is False
    runs = [step.get("run", "") for step in steps]
    assert any("python hooks/bootstrap.py" in run for run in runs)
    secret_steps = [s for s in steps if "BOOTSTRAP_TOKEN" in json.dumps(s.get("env", {}))]
    assert [s["name"] for s in secret_steps] == ["Push"]


HOSTILE_ANSWERS = [
    pytest.param(
        {"--output-dir": "/elsewhere"}, "'--output-dir' is not an answer", id="option-as-key"
    ),
    pytest.param({"--debug-file": "log.txt"}, "'--debug-file' is not an answer", id="debug-file"),
    pytest.param({"_extensions": "x"}, "'_extensions' is not an answer", id="private-key"),
    pytest.param({"description": "a\0b"}, "description: holds a NUL character", id="nul"),
    pytest.param({"description": "x" * 200_000}, "200000 bytes, more than", id="200-kb"),
    pytest.param({"functions": ["echo"]}, "functions: must be a string", id="not-a-string"),
    pytest.param("[" * 100_000 + "]" * 100_000, "not JSON (nested too deeply)", id="deep-nesting"),
]


@pytest.mark.parametrize("given, line", HOSTILE_ANSWERS)
def test_answers_file_keys_are_answers_only_and_bad_input_is_one_line(
    new_repository, tmp_path, given, line
):
    """No key of module-answers.json becomes a cookiecutter option (--output-dir, --debug-file
    would write outside the repository); bad input changes nothing, in one line."""
    repo = new_repository
    text = given if isinstance(given, str) else json.dumps(given)
    (repo.path / "module-answers.json").write_text(text, encoding="utf-8")
    repo.git("add", "--all")
    repo.git("commit", "-q", "-m", "Answers")
    before = repo.state()
    result = repo.bootstrap("acme/module-python-demo", {"repository": {"is_template": False}})
    assert result.returncode == 1, result.stdout
    assert line in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 2  # the heading and the one problem
    assert repo.state() == before
    assert not (tmp_path / "elsewhere").exists() and not (repo.path / "log.txt").exists()


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({"repository": "acme/module-python-demo"}, id="repository-not-an-object"),
        pytest.param(["not", "an", "object"], id="event-not-an-object"),
    ],
)
def test_an_event_of_another_shape_is_read_as_saying_nothing(new_repository, event):
    result = new_repository.bootstrap("acme/module-python-demo", event)
    assert result.returncode == 0, result.stderr
    assert "Generated the module demo (python)." in result.stdout


def test_a_description_with_a_nul_changes_nothing(new_repository):
    repo = new_repository
    before = repo.state()
    event = {"repository": {"is_template": False, "description": "bad\0byte"}}
    result = repo.bootstrap("acme/module-python-demo", event)
    assert result.returncode == 1
    assert "the repository's description: holds a NUL character" in result.stderr
    assert "Traceback" not in result.stderr and repo.state() == before


def test_a_description_equal_to_a_template_string_is_data(new_repository):
    repo = new_repository
    event = {"repository": {"is_template": False, "description": "{{cookiecutter.module_name}}"}}
    result = repo.bootstrap("acme/module-python-demo", event)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((repo.path / "module.json").read_text(encoding="utf-8"))
    assert manifest["doc"] == "{{cookiecutter.module_name}}"
