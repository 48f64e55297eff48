"""Finish a generated repository: keep one language's files, set modes, say what is next.

Both generators call this in the new project's folder with the answers: cookiecutter through
hooks/post_gen_project.py, copier as its task (copier.yml's ``_tasks``), which passes the
answers as JSON: ``python hooks/finish.py '{"language": "go", ...}' [copy|update]``.
"""

import json
import shutil
import stat
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from template.facts import load_project_files  # noqa: E402
from template.rules import parse_bool  # noqa: E402

# The table of every generated file: its language, whose it is, what it is.
PROJECT_FILES = load_project_files()

# copier's answers file. The project template holds it for copier, which writes the answers
# into it; cookiecutter renders it empty, and an empty one is removed.
COPIER_ANSWERS = ".copier-answers.yml"


def other_language_paths(language: str) -> list[str]:
    """The paths only the other language uses (a path may be listed for both, once each)."""
    kept = {p for e in PROJECT_FILES if e["language"] in (language, "both") for p in e["paths"]}
    return sorted(
        {p for e in PROJECT_FILES for p in e["paths"] if e["language"] not in (language, "both")}
        - kept
    )


def remove(paths: list[str]) -> None:
    for name in paths:
        path = Path(name)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    # Folders the other language's files leave empty (tests/ in a Go project).
    for folder in sorted(Path.cwd().rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def make_executable(paths: list[str]) -> None:
    for name in paths:
        path = Path(name)
        if path.exists():
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def next_steps(answers: dict) -> str:
    module, owner, repo = answers["module_name"], answers["github_owner"], answers["repo_name"]
    tag = f"v{answers['version']}"
    build = ["go run ./tools/build          # builds bin/ from module.json's main map"]
    steps = [
        f"cd {Path.cwd().name}",
        *(build if answers["language"] == "go" else []),
        "git init -b main && git add -A && git commit -m 'Initial version'",
        f"git remote add origin git@github.com:{owner}/{repo}.git",
        f"git tag {tag} && git push -u origin main {tag}",
    ]
    # A replay file may hold the yes/no answers as typed ("no"), not as booleans.
    conf = ", {prefix: '> '}" if parse_bool(answers["needs_config"]) else ""
    return "\n".join(
        [
            f"Created the ThingsDB module '{module}' in {Path.cwd()}",
            "",
            "Next steps:",
            *(f"  {step}" for step in steps),
            "",
            "Then install it in ThingsDB (in the @thingsdb scope):",
            f"  new_module('{module}', 'github.com/{owner}/{repo}@{tag}'{conf});",
        ]
    )


def main(answers: dict, operation: str = "copy") -> int:
    """Finish the project in the current folder, generated from ``answers``.

    ``copier update`` finishes the copies it renders to merge (in temporary folders), where
    the next steps would only mislead.
    """
    copier_answers = Path(COPIER_ANSWERS)
    if copier_answers.is_file() and not copier_answers.read_text(encoding="utf-8").strip():
        copier_answers.unlink()
    remove(other_language_paths(answers["language"]))
    # The Python tools are scripts an author runs directly.
    make_executable([str(p) for p in Path("tools").glob("*.py")])
    if operation != "update":
        print(next_steps(answers))
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(sys.argv[1]), *sys.argv[2:]))
