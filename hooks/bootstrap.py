"""Turn a repository made with GitHub's "Use this template" button into a module repository.

GitHub copies the template itself into the new repository. The Bootstrap workflow
(.github/workflows/bootstrap.yml) then runs this script there, once: it takes the answers from
the repository (owner; a name ``module-<language>-<name>`` gives the language and the module
name; its description) and from an optional ``module-answers.json`` the user may commit first,
generates the module with this very template, and replaces the repository's files with it in
one commit. In the template's own repository (a template repository) it does nothing.

    python hooks/bootstrap.py [--dry-run]

Reads GITHUB_REPOSITORY and the event payload at GITHUB_EVENT_PATH, as GitHub Actions sets
them. Bad answers are reported one line each, as cookiecutter reports them, and change nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent.parent
ANSWERS_FILE = "module-answers.json"
# module-python-weather -> python, weather; module-go-my-thing -> go, my_thing
REPO_NAME = re.compile(r"module-(?P<language>python|go)-(?P<name>.+)")
# The answers a user may give: cookiecutter.json's keys, without the template's private ones.
ANSWER_NAMES = [
    key
    for key in json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    if not key.startswith("_")
]
# An answer reaches cookiecutter as one command-line argument, which Linux caps at 128 KiB.
MAX_ANSWER_BYTES = 100_000


class BootstrapError(Exception):
    """A reason to stop without changing anything; one line per problem."""


def event_payload() -> dict:
    """The event GitHub Actions describes in GITHUB_EVENT_PATH; {} where it says nothing."""
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as file:
            event = json.load(file)
    except (OSError, ValueError, RecursionError) as exc:
        raise BootstrapError(f"GITHUB_EVENT_PATH: not a readable JSON event ({exc})") from None
    return event if isinstance(event, dict) else {}


def repository_of(event: dict) -> dict:
    repository = event.get("repository")
    return repository if isinstance(repository, dict) else {}


def answer_problem(key: str, value: object) -> str | None:
    """Why an answer cannot be passed to cookiecutter as one, or None."""
    if key not in ANSWER_NAMES:
        return f"{key!r} is not an answer of this template (answers: {', '.join(ANSWER_NAMES)})"
    if not isinstance(value, str):
        return f"{key}: must be a string"
    if "\0" in value:
        return f"{key}: holds a NUL character"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return f"{key}: not valid Unicode text"
    if size > MAX_ANSWER_BYTES:
        return f"{key}: {size} bytes, more than {MAX_ANSWER_BYTES}"
    return None


def answers_from_repository(repository: str, event: dict, repo_dir: Path) -> dict[str, str]:
    """The answers this repository gives: its owner, name, description and answers file."""
    owner, _, name = repository.partition("/")
    answers = {"github_owner": owner, "repo_name": name}
    match = REPO_NAME.fullmatch(name)
    if match:
        answers["language"] = match["language"]
        answers["module_name"] = match["name"].replace("-", "_")
        answers["go_module_path"] = f"github.com/{owner}/{name}".lower()
    description = repository_of(event).get("description")
    if description:
        problem = answer_problem("description", description)
        if problem:
            raise BootstrapError(f"the repository's {problem}")
        answers["description"] = description
    answers_file = repo_dir / ANSWERS_FILE
    if answers_file.is_file():
        try:
            given = json.loads(answers_file.read_text(encoding="utf-8"))
        except (ValueError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
            raise BootstrapError(f"{ANSWERS_FILE}: not JSON ({reason})") from None
        if not isinstance(given, dict):
            raise BootstrapError(f"{ANSWERS_FILE}: must be a JSON object of strings")
        problems = [answer_problem(key, value) for key, value in given.items()]
        if any(problems):
            raise BootstrapError("\n".join(f"{ANSWERS_FILE}: {p}" for p in problems if p))
        answers.update(given)
    if "language" not in answers or "module_name" not in answers:
        raise BootstrapError(
            f"repo_name={name!r}: name the repository module-<python|go>-<module name> "
            f"(like module-python-weather), or give language and module_name in {ANSWERS_FILE}"
        )
    return answers


def generate(answers: dict[str, str], output_dir: Path) -> Path:
    """Run cookiecutter on this template, as a user would; return the project folder."""
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output_dir)]
    command += [str(TEMPLATE_DIR), *(f"{key}={value}" for key, value in answers.items())]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if "=" in line]
        raise BootstrapError("\n".join(lines) or result.stderr.strip() or "cookiecutter failed")
    (project,) = output_dir.iterdir()
    return project


def replace_content(repo_dir: Path, project: Path) -> None:
    """Make the work tree exactly the generated project (git's own folder stays)."""
    for entry in repo_dir.iterdir():
        if entry.name == ".git":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for entry in project.iterdir():
        shutil.move(str(entry), str(repo_dir / entry.name))


def git(repo_dir: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo_dir, check=True, capture_output=True, text=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    repo_dir = Path.cwd()
    repository = os.environ.get("GITHUB_REPOSITORY", "")
    try:
        event = event_payload()
        if repository_of(event).get("is_template") is True:
            print("This is the template repository itself: nothing to do.")
            return 0
        if "/" not in repository:
            raise BootstrapError("GITHUB_REPOSITORY is not set (run inside GitHub Actions)")
        answers = answers_from_repository(repository, event, repo_dir)
        with tempfile.TemporaryDirectory(prefix="bootstrap-") as output:
            project = generate(answers, Path(output))
            if "--dry-run" in args:
                print(f"Would generate {project.name} with {json.dumps(answers)}")
                return 0
            replace_content(repo_dir, project)
    except BootstrapError as exc:
        print("Invalid answers, nothing was changed:", file=sys.stderr)
        for line in str(exc).splitlines():
            print(f"  {line}", file=sys.stderr)
        return 1
    git(repo_dir, "add", "--all")
    git(repo_dir, "commit", "-q", "-m", f"Generate the ThingsDB module {answers['module_name']}")
    print(f"Generated the module {answers['module_name']} ({answers['language']}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
