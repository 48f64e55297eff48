"""copier from the same declaration: copier.yml follows from cookiecutter.json, and `copier copy`
gives the project cookiecutter gives, file for file (modes too), for the answer sets the suite
bakes; bad answers are refused with cookiecutter's lines; `copier update` merges template
changes into a project made with copier.

Both generators run as commands, from one committed snapshot of the working tree.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

# Pinned in tests/requirements.txt: a missing copier fails here rather than skipping.
import copier_template_extensions  # noqa: F401
import pytest
from conftest import GIT_ENV, SIGNATURE_SHAPES, TEMPLATE_DIR
from test_go_flavour import GO_MATRIX
from test_python_flavour import PYTHON_MATRIX, WEIRD_TEXT

COPIER = [sys.executable, "-m", "copier"]
COOKIECUTTER = [sys.executable, "-m", "cookiecutter"]
# Each generator's record of the answers; everything else must be the same.
ANSWERS_FILES = {".cruft.json", ".copier-answers.yml"}


def _param(language: str, param) -> pytest.param:
    return pytest.param({"language": language, **param.values[0]}, id=f"{language}-{param.id}")


# The flavours' matrices (every license, config yes/no, every signature shape, Go platform
# sets), both languages' defaults and template_updates=yes, and free text that stays literal
# (Jinja and GitHub expressions, line breaks, non-ASCII; two of test_python_flavour's kinds
# per language).
ANSWER_SETS = [
    pytest.param({}, id="defaults"),
    pytest.param({"language": "go"}, id="go-defaults"),
    *(_param("python", p) for p in PYTHON_MATRIX),
    *(_param("go", p) for p in GO_MATRIX),
    *(
        pytest.param(
            {
                "language": language,
                "needs_config": "yes",
                "functions": SIGNATURE_SHAPES,
                "template_updates": "yes",
            },
            id=f"{language}-config-every-shape-template-updates",
        )
        for language in ("python", "go")
    ),
    *(
        pytest.param(
            {
                "language": language,
                "description": p.values[0],
                "author_name": " ".join(p.values[0].split()),  # a name is one line
            },
            id=f"{language}-text-{p.id}",
        )
        for language, ids in [
            ("python", ("jinja", "newline-and-tab")),
            ("go", ("github-expression", "non-ascii")),
        ]
        for p in WEIRD_TEXT
        if p.id in ids
    ),
]

# Answers refused, each set with several problems at once where it can.
BAD_ANSWERS = [
    pytest.param(
        {"module_name": "1x", "language": "rust", "version": "v1", "author_email": "me"},
        id="several-answers",
    ),
    pytest.param(
        {"language": "go", "platforms": "plan9/amd64", "go_module_path": "example"},
        id="go-only-answers",
    ),
    pytest.param(
        {"functions": "add(a: int, a: str), load(x: int), 2bad", "needs_config": "maybe"},
        id="functions-and-yes-no",
    ),
    pytest.param({"description": "bell \x07 here", "repo_name": "x.git"}, id="text-and-repo"),
]


def run(command: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **GIT_ENV},
    )
    if check:
        assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
    return result


def git(*args: str, cwd: Path) -> str:
    return run(["git", *args], cwd).stdout.strip()


def commit_snapshot(source: Path, repository: Path) -> Path:
    """A repository whose one commit holds the files git would track in ``source`` now."""
    listed = run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], source
    ).stdout
    for name in filter(None, listed.split("\0")):
        if (source / name).is_file():
            (repository / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, repository / name)
    git("init", "-q", "-b", "main", cwd=repository)
    git("add", "-A", cwd=repository)
    git("commit", "-q", "-m", "The template", cwd=repository)
    return repository


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The working tree, committed: cookiecutter reads it, copier clones it (both its HEAD)."""
    return commit_snapshot(TEMPLATE_DIR, tmp_path_factory.mktemp("template"))


def data(answers: dict[str, str]) -> list[str]:
    return [f"--data={key}={value}" for key, value in answers.items()]


def copier_copy(template: Path, answers: dict[str, str], dst: Path, check: bool = True):
    command = [*COPIER, "copy", "--trust", "--defaults", *data(answers), str(template), str(dst)]
    return run(command, dst.parent, check)


def cookiecutter(template: Path, answers: dict[str, str], out: Path, check: bool = True):
    pairs = [f"{key}={value}" for key, value in answers.items()]
    command = [*COOKIECUTTER, "--no-input", "-o", str(out), str(template), *pairs]
    return run(command, out.parent, check)


def tree(project: Path) -> dict[str, tuple[str, bytes]]:
    """Every file but git's and the answers files, with its mode and content."""
    return {
        path.relative_to(project).as_posix(): (
            stat.filemode(path.stat().st_mode),
            path.read_bytes(),
        )
        for path in sorted(project.rglob("*"))
        if path.is_file()
        and ".git" not in path.relative_to(project).parts
        and path.name not in ANSWERS_FILES
    }


def refusal(stderr: str) -> list[str]:
    """The refusal: its heading and the problems, one line each."""
    lines = stderr.splitlines()
    start = lines.index("Invalid answers, nothing was generated:")
    problems = [line for line in lines[start + 1 :] if line.startswith("  ")]
    return [lines[start], *problems]


def test_copier_yml_is_what_hooks_copier_yml_writes_from_cookiecutter_json():
    run([sys.executable, "hooks/copier_yml.py", "--check"], TEMPLATE_DIR)


@pytest.mark.parametrize("answers", ANSWER_SETS)
def test_copier_copy_gives_the_project_cookiecutter_gives(template, tmp_path, answers):
    cookiecutter(template, answers, tmp_path / "cookiecutter")
    baked = tmp_path / "cookiecutter" / answers.get("module_name", "demo")
    copier_copy(template, answers, tmp_path / "copier")
    copied = tree(tmp_path / "copier")
    expected = tree(baked)
    assert sorted(copied) == sorted(expected)
    differing = [name for name in expected if copied[name] != expected[name]]
    assert not differing, f"copier and cookiecutter differ in {differing}"
    assert (tmp_path / "copier" / ".copier-answers.yml").is_file()
    assert not (baked / ".copier-answers.yml").exists()


@pytest.mark.parametrize("answers", BAD_ANSWERS)
def test_bad_answers_are_refused_with_cookiecutters_lines_leaving_nothing(
    template, tmp_path, answers
):
    baked = cookiecutter(template, answers, tmp_path / "cookiecutter", check=False)
    copied = copier_copy(template, answers, tmp_path / "copier", check=False)
    assert baked.returncode == copied.returncode == 1, copied.stderr
    assert len(refusal(baked.stderr)) > 2  # more than one problem, one line each
    assert refusal(copied.stderr) == refusal(baked.stderr)
    assert "Traceback" not in copied.stderr, copied.stderr
    assert not (tmp_path / "copier").exists()
    assert not (tmp_path / "cookiecutter").exists() or not any(
        (tmp_path / "cookiecutter").iterdir()
    )


# The prompts after `language` for a Python module, in order (defaults taken): no Go question.
PYTHON_QUESTIONS_LEFT = [
    "One-line description",
    "Author name",
    "Author e-mail",
    "GitHub user",
    "GitHub repository name",
    "First version",
    "License",
    "Exposed functions",
    "take a configuration",
    "Check in CI",
]


def test_a_bad_typed_answer_is_reported_and_asked_again_and_go_questions_skipped(
    template, tmp_path
):
    import pexpect  # pinned in tests/requirements.txt

    # No cursor-position request, which pexpect's terminal would never answer.
    env = {**os.environ, **GIT_ENV, "PROMPT_TOOLKIT_NO_CPR": "1"}
    command = [*COPIER, "copy", "--trust", str(template), str(tmp_path / "copier")]
    child = pexpect.spawn(
        command[0], command[1:], env=env, encoding="utf-8", timeout=60, dimensions=(40, 250)
    )
    transcript = io.StringIO()
    child.logfile_read = transcript
    child.expect("Module name")
    child.send("\x15" + "1x\r")  # Ctrl-U clears the default
    child.expect("module_name='1x': a ThingsDB name starts with a letter")
    child.send("\x15" + "weather\r")
    child.expect("Language of the module")
    child.send("\x15" + "rust\r")
    child.expect("language='rust': must be one of python, go")
    child.send("\x15" + "python\r")
    for question in PYTHON_QUESTIONS_LEFT:
        child.expect(question)
        child.send("\r")
    child.expect(pexpect.EOF, timeout=120)
    child.close()
    assert child.exitstatus == 0, child.before
    assert "Go only" not in transcript.getvalue()
    recorded = (tmp_path / "copier" / ".copier-answers.yml").read_text(encoding="utf-8")
    assert "module_name: weather" in recorded and "language: python" in recorded


@pytest.mark.parametrize("language", ["python", "go"])
def test_copier_update_merges_a_template_change_and_keeps_the_authors_edits(
    template, tmp_path, language
):
    repository = tmp_path / "template"
    git("clone", "-q", str(template), str(repository), cwd=tmp_path)
    answers = {"language": language, "module_name": "weather", "needs_config": "yes"}
    project = tmp_path / "weather"
    copier_copy(repository, answers, project)
    git("init", "-q", "-b", "main", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "Generated", cwd=project)
    with (project / "README.md").open("a", encoding="utf-8") as readme:
        readme.write("\n## Changelog\n\n- 0.1.0: the first release.\n")
    git("commit", "-q", "-am", "A changelog", cwd=project)

    # The template changes a rendered file and adds one.
    editorconfig = repository / "{{cookiecutter.module_name}}" / ".editorconfig"
    editorconfig.write_text(
        editorconfig.read_text(encoding="utf-8") + "\n# {{ cookiecutter.module_name }}\n",
        encoding="utf-8",
    )
    (editorconfig.parent / "NOTICE").write_text("{{ cookiecutter.author_name }}\n")
    git("add", "-A", cwd=repository)
    git("commit", "-q", "-m", "A template change", cwd=repository)

    result = run([*COPIER, "update", "--trust", "--defaults"], project)
    assert "Created the ThingsDB module" not in result.stdout  # no next steps on an update
    fresh = tmp_path / "fresh"
    copier_copy(repository, answers, fresh)
    updated, expected = tree(project), tree(fresh)
    readme = updated.pop("README.md")[1].decode()
    assert readme == expected.pop("README.md")[1].decode() + (
        "\n## Changelog\n\n- 0.1.0: the first release.\n"
    )
    assert updated == expected
    assert updated[".editorconfig"][1].decode().endswith("\n# weather\n")
    head = git("rev-parse", "--short", "HEAD", cwd=repository)
    recorded = (project / ".copier-answers.yml").read_text(encoding="utf-8")
    assert f"_commit: {head}" in recorded and "module_name: weather" in recorded


# --- CI's Template updates job (template_updates=yes) in a project made with copier ----------


def template_job_step(project: Path) -> str:
    """The script of the Template updates job's check, its last step."""
    import yaml

    ci = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text("utf-8"))
    return ci["jobs"]["template"]["steps"][-1]["run"]


# What the job runs copier with: pipx, at the version tests/requirements.txt and README.md pin.
CHECK_UPDATE = "run --spec copier==9.19.1 copier check-update --quiet"
# pipx's environment holds copier alone: the stub's copier cannot import what copier's renders
# need beside it (the template's Jinja extensions), so check-update must do without.
COPIER_ALONE = (
    "import runpy, sys\n"
    "sys.modules.update(dict.fromkeys(['copier_template_extensions', 'cookiecutter']))\n"
    "runpy.run_module('copier', run_name='__main__', alter_sys=True)\n"
)


def pipx_stub(directory: Path) -> Path:
    """A `pipx` that logs its arguments and, for the job's exact command, runs the tests'
    copier as `python -m copier check-update --quiet` (copier alone), so copier decides."""
    directory.mkdir(exist_ok=True)
    stub = directory / "pipx"
    stub.write_text(
        "#!/bin/sh\n"
        'printf \'%s\\n\' "$*" >> "$PIPX_STUB_LOG"\n'
        f'if [ "$*" != "{CHECK_UPDATE}" ]; then\n'
        '  echo "pipx stub: unexpected arguments: $*" >&2\n'
        "  exit 97\n"
        "fi\n"
        f'exec "$PIPX_STUB_PYTHON" -c "$PIPX_STUB_CODE" check-update --quiet\n',
        encoding="utf-8",
    )
    stub.chmod(0o755)
    return directory


def run_template_job(script: str, project: Path) -> subprocess.CompletedProcess:
    """The step as GitHub runs a `shell: bash` step (stricter than its default `bash -e`), with
    the pipx stub first on PATH; it must have run copier exactly once, as the job says."""
    stubs = pipx_stub(project.parent / "stubs")
    log = stubs / "pipx.log"
    log.unlink(missing_ok=True)
    env = {
        **os.environ,
        **GIT_ENV,
        "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}",
        "PIPX_STUB_LOG": str(log),
        "PIPX_STUB_PYTHON": sys.executable,
        "PIPX_STUB_CODE": COPIER_ALONE,
    }
    command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script]
    result = subprocess.run(command, cwd=project, capture_output=True, text=True, env=env)
    assert log.read_text(encoding="utf-8") == f"{CHECK_UPDATE}\n", result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def copied_with_template_updates(template: Path, tmp_path: Path, language: str):
    """A clone of the template, and a committed project copied from it with template_updates."""
    repository = tmp_path / "template"
    git("clone", "-q", str(template), str(repository), cwd=tmp_path)
    project = tmp_path / "weather"
    answers = {"language": language, "module_name": "weather", "template_updates": "yes"}
    copier_copy(repository, answers, project)
    git("init", "-q", "-b", "main", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "Generated", cwd=project)
    return repository, project


def change_the_template(repository: Path, text: str) -> None:
    with (repository / "CHANGELOG.md").open("a", encoding="utf-8") as changelog:
        changelog.write(f"{text}\n")
    git("add", "-A", cwd=repository)
    git("commit", "-q", "-m", text, cwd=repository)


def assert_up_to_date(script: str, project: Path) -> None:
    """copier check-update exits 0: the job passes, silently."""
    result = run_template_job(script, project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "::error" not in result.stdout


def assert_behind(script: str, project: Path) -> None:
    """copier check-update exits 2: the job fails with the one line naming copier update."""
    result = run_template_job(script, project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "::error title=Template updated::the template has changes this repository lacks: "
        "run copier update (see README.md)"
    ]


@pytest.mark.parametrize("language", ["python", "go"])
def test_ci_template_job_follows_the_template_in_a_copier_project(template, tmp_path, language):
    """With .copier-answers.yml the job runs copier check-update (pipx, copier alone, at the
    pinned version; no .cruft.json): it passes at the template's newest commit, fails naming
    copier update once the template moves on, and says so when copier cannot check."""
    repository, project = copied_with_template_updates(template, tmp_path, language)
    assert not (project / ".cruft.json").exists()
    script = template_job_step(project)
    assert_up_to_date(script, project)
    change_the_template(repository, "A change.")
    assert_behind(script, project)

    # Any other failure of copier's (here the template is gone) is an error of its own.
    repository.rename(tmp_path / "moved")
    result = run_template_job(script, project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Template updated" not in result.stdout
    assert result.stdout.startswith(
        "::error file=.copier-answers.yml::copier check-update failed (exit status 1,"
    ), result.stdout

    copier_branch = script.split("if [ ! -f .cruft.json ]")[0]
    assert f"pipx {CHECK_UPDATE}" in copier_branch
    requirements = (TEMPLATE_DIR / "tests" / "requirements.txt").read_text(encoding="utf-8")
    assert "\ncopier==9.19.1\n" in requirements  # the version the tests run
    assert "git ls-remote" not in copier_branch and "sort" not in copier_branch
    if language == "python":
        # cruft's steps are skipped in a project made with copier
        ci = (project / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
        assert ci.count("if: hashFiles('.copier-answers.yml') == ''") == 2


def test_ci_template_job_follows_copiers_newest_version_tag(template, tmp_path):
    """Once the template has version tags, copier update takes the newest final one (not its
    branch's head, not a prerelease), and the job, copier's own check, follows the same."""
    repository, project = copied_with_template_updates(template, tmp_path, "go")
    script = template_job_step(project)
    git("tag", "v0.1.0", cwd=repository)  # on the commit the project was made from
    assert_up_to_date(script, project)
    change_the_template(repository, "A change.")
    git("tag", "-a", "-m", "0.2.0", "v0.2.0", cwd=repository)
    git("tag", "v0.3.0rc1", cwd=repository)  # a prerelease: copier update leaves it out
    assert_behind(script, project)

    run([*COPIER, "update", "--trust", "--defaults"], project)
    recorded = (project / ".copier-answers.yml").read_text(encoding="utf-8")
    assert "_commit: v0.2.0\n" in recorded
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "Updated", cwd=project)
    assert_up_to_date(script, project)
    change_the_template(repository, "A change past the tag.")  # not what copier update takes
    assert_up_to_date(script, project)


def test_each_copier_render_loads_the_answers_py_of_its_own_template(tmp_path, capfd, monkeypatch):
    """Two templates rendered in one process (as `copier update` renders two commits): each
    loads its own folder's hooks/answers.py, through the one loader (hooks/extension.py's),
    under a module name no other copy has."""
    import jinja2.environment
    from copier import run_copy

    # copier_template_extensions patches Jinja's extension import for the process
    monkeypatch.setattr(jinja2.environment, "import_string", jinja2.environment.import_string)
    copies = []
    for name in ("first", "second"):
        copy = tmp_path / name
        shutil.copytree(
            TEMPLATE_DIR, copy, ignore=shutil.ignore_patterns(".git", "__pycache__", ".*_cache")
        )
        with (copy / "hooks" / "answers.py").open("a", encoding="utf-8") as answers:
            answers.write('\nprint(f"answers.py {__name__} {__file__}")\n')
        copies.append(copy)
    names = []
    try:
        for copy in copies:
            project = tmp_path / f"{copy.name}-project"
            run_copy(str(copy), str(project), defaults=True, unsafe=True)
            lines = capfd.readouterr().out.splitlines()
            # the extension's loads (the task, hooks/finish.py, imports `answers` by name in a
            # process of its own)
            loads = [line.split()[1:] for line in lines if line.startswith("answers.py thingsdb_")]
            assert loads and all(Path(file).parent.parent == copy for _, file in loads), loads
            names += [name for name, _ in loads]
            assert (project / "main.py").is_file()
        assert len(set(names)) == len(names), names  # no name twice
        assert "thingsdb_template_copier_extension" in sys.modules  # one loader per process
    finally:
        sys.modules.pop("thingsdb_template_copier_extension", None)
