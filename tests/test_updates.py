"""Projects made at earlier commits of this template, updated to the newest with `cruft update`.

The template's own git history is the test data: a project is created at an older commit,
committed, edited by its author, then updated. The update must leave exactly what a project
made today would hold, plus the author's edits, and the project's own checks must pass.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GIT_ENV, TEMPLATE_DIR, BakedProject

pytest.importorskip(
    "cruft", reason="cruft is not installed (pip install -r tests/requirements.txt)"
)

pytestmark = pytest.mark.slow

PROJECT = "{{cookiecutter.module_name}}"
CRUFT = [sys.executable, "-m", "cruft"]

# What an author typically changes on day 2 besides code: ignores, a changelog, a test (in the
# project's language: a Go project has no Python since the Go tools are Go).
AUTHOR_TESTS = {
    "python": (
        "tests/test_author.py",
        """import json


def test_the_module_keeps_its_name():
    with open("module.json", encoding="utf-8") as manifest:
        assert json.load(manifest)["doc"]
""",
    ),
    "go": (
        "author_test.go",
        """package main

import (
	"os"
	"strings"
	"testing"
)

func TestTheModuleKeepsItsDoc(t *testing.T) {
	data, err := os.ReadFile("module.json")
	if err != nil || !strings.Contains(string(data), `"doc"`) {
		t.Fatalf("module.json without its doc: %v", err)
	}
}
""",
    ),
}


def make_author_edits(project: Path, language: str) -> None:
    if language == "python":
        # At the end, after the line every commit's .gitignore ends with. (Since the first Go
        # commit a Go project's .gitignore changed at both ends: any edit there conflicts.)
        ignores = project / ".gitignore"
        ignores.write_text(ignores.read_text(encoding="utf-8") + "/scratch/\n", encoding="utf-8")
    with (project / "README.md").open("a", encoding="utf-8") as readme:
        readme.write("\n## Changelog\n\n- 0.1.0: the first release.\n")
    name, text = AUTHOR_TESTS[language]
    (project / name).parent.mkdir(exist_ok=True)
    (project / name).write_text(text, encoding="utf-8")


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def cruft(*args: str, cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        [*CRUFT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"cruft {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """A clone of the template's repository whose newest commit holds the working tree."""
    if git("rev-parse", "--is-shallow-repository", cwd=TEMPLATE_DIR) == "true":
        pytest.skip("the template's history is missing (a shallow clone): git fetch --unshallow")
    clone = tmp_path_factory.mktemp("history") / "template"
    git("clone", "-q", "--no-hardlinks", str(TEMPLATE_DIR), str(clone), cwd=TEMPLATE_DIR)
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=TEMPLATE_DIR)
    git("rm", "-r", "-q", ".", cwd=clone)
    for name in filter(None, listed.split("\0")):
        if (TEMPLATE_DIR / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE_DIR / name, clone / name)
    git("add", "-A", cwd=clone)
    if git("status", "--porcelain", cwd=clone):
        git("commit", "-q", "-m", "The working tree", cwd=clone)
    return clone


def earlier_commits(history: Path) -> dict[str, str]:
    """The commits a project is updated from, by what makes each one worth trying."""
    first_go = git(
        "log", "--diff-filter=A", "--format=%H", "--", f"{PROJECT}/go.mod", cwd=history
    ).split()[-1]
    loader = git(
        "log", "--diff-filter=A", "--format=%H", "--", "hooks/extension.py", cwd=history
    ).split()[-1]
    return {
        "first-commit": git("rev-list", "--max-parents=0", "HEAD", cwd=history),
        "first-go-commit": first_go,
        # Every commit up to this one loaded the answers by module name, once per process.
        "last-commit-before-the-loader": git("rev-parse", f"{loader}~1", cwd=history),
        "previous-commit": git("rev-parse", "HEAD~1", cwd=history),
    }


CASES = [
    ("python", "first-commit"),
    ("python", "last-commit-before-the-loader"),
    ("python", "previous-commit"),
    ("go", "first-go-commit"),
    ("go", "last-commit-before-the-loader"),
    ("go", "previous-commit"),
]


def create(history: Path, commit: str | None, language: str, out: Path, env) -> Path:
    checkout = ["--checkout", commit] if commit else []
    # Answers every commit understood: a configuration and two functions (bare names).
    answers = json.dumps(
        {
            "language": language,
            "module_name": "weather",
            "needs_config": "yes",
            "functions": "forecast, echo",
        }
    )
    cruft(
        "create",
        "--no-input",
        *checkout,
        "--output-dir",
        str(out),
        "--extra-context",
        answers,
        f"file://{history}",
        cwd=out.parent,
        env=env,
    )
    return out / "weather"


def tree(project: Path) -> dict[str, bytes]:
    """Every file but git's and cruft's own records, with its content."""
    return {
        path.relative_to(project).as_posix(): path.read_bytes()
        for path in sorted(project.rglob("*"))
        if path.is_file()
        and ".git" not in path.relative_to(project).parts
        and path.name != ".cruft.json"
    }


@pytest.mark.parametrize(
    ("language", "made_at"), CASES, ids=[f"{language}-from-{commit}" for language, commit in CASES]
)
def test_update_gives_todays_project_with_the_authors_edits(history, tmp_path, language, made_at):
    env = {**os.environ, **GIT_ENV, "COOKIECUTTER_CONFIG": str(tmp_path / "config.yaml")}
    (tmp_path / "config.yaml").write_text(
        f"cookiecutters_dir: {tmp_path / 'clones'}\nreplay_dir: {tmp_path / 'replay'}\n",
        encoding="utf-8",
    )
    commit = earlier_commits(history)[made_at]
    (tmp_path / "old").mkdir()
    project = create(history, commit, language, tmp_path / "old", env)
    git("init", "-q", "-b", "main", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "Made with the template", cwd=project)
    make_author_edits(project, language)
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "The author's edits", cwd=project)

    cruft("update", "--skip-apply-ask", cwd=project, env=env)

    recorded = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert recorded["commit"] == git("rev-parse", "HEAD", cwd=history)
    (tmp_path / "new").mkdir()
    today = create(history, None, language, tmp_path / "new", env)
    make_author_edits(today, language)
    updated, expected = tree(project), tree(today)
    differing = sorted(
        p for p in updated.keys() | expected.keys() if updated.get(p) != expected.get(p)
    )
    assert not differing  # e.g. conflict leftovers (*.rej), lost edits, files not updated

    checked = BakedProject(project, {"language": language})
    if language == "go":
        assert not [name for name in updated if name.endswith(".py")]
        checked.run("go", "vet", "./...")
        result = checked.run("go", "test", "-count=1", "-v", "-run", "TheModuleKeepsItsDoc", ".")
        assert "--- PASS: TestTheModuleKeepsItsDoc" in result.stdout
        checked.run("go", "test", "-count=1", "./...")
    else:
        checked.run(sys.executable, "-m", "ruff", "check", "--no-cache", ".")
        checked.pytest()
        checked.pytest("tests/test_author.py")


def test_each_render_uses_the_answers_module_of_the_template_it_renders(tmp_path):
    """Two templates rendered in one process (as cruft does with two commits): the second is
    rendered with its own hooks/template/, not the one the first render imported."""
    from cookiecutter.main import cookiecutter

    first = Path(cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(tmp_path / "a")))
    copy = tmp_path / "template"
    shutil.copytree(
        TEMPLATE_DIR, copy, ignore=shutil.ignore_patterns(".git", "__pycache__", ".*_cache")
    )
    facts = copy / "hooks" / "template" / "facts.py"
    source = facts.read_text(encoding="utf-8")
    assert "MAX_ERROR_MESSAGE = 16383" in source
    facts.write_text(source.replace("MAX_ERROR_MESSAGE = 16383", "MAX_ERROR_MESSAGE = 12345"))
    second = Path(cookiecutter(str(copy), no_input=True, output_dir=str(tmp_path / "b")))
    assert "12345" in (second / "timod_loop.py").read_text(encoding="utf-8")
    assert "12345" not in (first / "timod_loop.py").read_text(encoding="utf-8")
