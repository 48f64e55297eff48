"""Finish the generated repository: keep one language's files, set modes, say what is next."""

import json
import shutil
import stat
import sys
from pathlib import Path

sys.path.insert(0, {{ answers_module_dir | py_string }})

from answers import parse_bool  # noqa: E402

ANSWERS = json.loads({{ cookiecutter | tojson | py_string }})

# Files only one flavour uses; the other flavour's are removed.
# Both keep tests/conftest.py and tests/test_protocol.py: one wire-protocol battery for both.
PYTHON_ONLY = [
    "main.py",
    "timod_loop.py",
    "requirements.txt",
    "tests/test_config.py",
    "tests/test_handlers.py",
    "tests/test_loop.py",
    "tests/test_manifest.py",
]
GO_ONLY = ["go.mod", "go.sum", "tools/build", "bin", "internal", "*.go"]

# Scripts a module author runs directly.
EXECUTABLES = ["tools/manifest.py", "tools/thingsdb_peer.py", "tools/release.py"]


def remove(paths: list[str]) -> None:
    for pattern in paths:
        for path in Path.cwd().glob(pattern):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()


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


def main() -> int:
    remove(GO_ONLY if ANSWERS["language"] == "python" else PYTHON_ONLY)
    make_executable(EXECUTABLES)
    print(next_steps(ANSWERS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
