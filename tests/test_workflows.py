"""GitHub workflows and Dependabot: generated ones for every option combination, and the
template repository's own. actionlint and zizmor (offline) must find nothing above low."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import GIT_ENV, PROJECT_TEMPLATE_DIR, TEMPLATE_DIR

ACTIONLINT_VERSION = "v1.7.12"  # the version the actionlint fixture builds
IN_CI = os.environ.get("CI") == "true"

COMBINATIONS = [
    pytest.param(
        {"language": language, "template_updates": updates, "needs_config": config},
        id=f"{language}-updates-{updates}-config-{config}",
    )
    for language in ("python", "go")
    for updates in ("yes", "no")
    for config in ("yes", "no")
]

# The commands each flavour's workflows and README run its tools with.
TOOLS = {
    "python": {
        "manifest": "python3 tools/manifest.py",
        "release": "tools/release.py",
        "integration": "python -m pytest integration",
    },
    "go": {
        "manifest": "go run ./tools/manifest",
        "release": "go run ./tools/release",
        "integration": "go test -tags integration -run InThingsDB",
    },
}
PINNED_USES = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+\.\d+\.\d+\b")


def find_tool(name: str, hint: str) -> str:
    """A linter's path; skipped when it is missing on a developer's machine, failed in CI."""
    candidates = [shutil.which(name), str(Path(sys.executable).parent / name)]
    if name == "actionlint" and shutil.which("go"):
        gopath = subprocess.run(
            ["go", "env", "GOBIN", "GOPATH"], capture_output=True, text=True, check=False
        ).stdout.splitlines()
        candidates += [str(Path(d) / name) for d in gopath[:1] if d]
        candidates += [str(Path(d) / "bin" / name) for d in gopath[1:2] if d]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    message = f"{name} is not installed ({hint})"
    if IN_CI:
        pytest.fail(f"{message}; CI must run it")
    pytest.skip(message)


@pytest.fixture(scope="session")
def actionlint() -> str:
    """actionlint, built through the Go module proxy when it is not installed yet.

    Its PyPI wrapper downloads a prebuilt binary at install time; `go install` needs only Go.
    """
    package = f"github.com/rhysd/actionlint/cmd/actionlint@{ACTIONLINT_VERSION}"
    if shutil.which("go"):
        subprocess.run(["go", "install", package], capture_output=True, timeout=600, check=False)
    return find_tool("actionlint", f"go install {package}")


@pytest.fixture(scope="session")
def zizmor() -> str:
    return find_tool("zizmor", "pip install -r tests/requirements.txt")


def run_actionlint(actionlint: str, files: list[Path]) -> None:
    result = subprocess.run(
        [actionlint, "-no-color", "-oneline", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"actionlint:\n{result.stdout}{result.stderr}"


def run_zizmor(zizmor: str, path: Path) -> None:
    """zizmor offline (no GitHub token): every finding above low fails."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN")
    }
    result = subprocess.run(
        [zizmor, "--offline", "--no-progress", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    # 0: nothing found; 10-14: findings, the number is the highest severity (11 = low, 12 = medium)
    assert result.returncode in (0, 10, 11, 12, 13, 14), f"zizmor failed:\n{result.stderr}"
    findings = json.loads(result.stdout or "[]")
    serious = [
        f"{f['ident']} ({f['determinations']['severity']}): {f['desc']}; "
        + "; ".join(_where(loc) for loc in f["locations"])
        for f in findings
        if f["determinations"]["severity"] not in ("Unknown", "Informational", "Low")
    ]
    assert not serious, "zizmor findings above low:\n" + "\n".join(serious)


def _where(location: dict) -> str:
    key = location["symbolic"]["key"]
    path = next(iter(key.values()))["verbatim_path"] if isinstance(key, dict) else key
    row = location["concrete"]["location"]["start_point"]["row"] + 1
    feature = (location["concrete"]["feature"].strip().splitlines() or [""])[0]
    return f"{path}:{row}: {feature}"


def load_yaml(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def workflow_files(root: Path) -> list[Path]:
    return sorted((root / ".github" / "workflows").glob("*.yml"))


def steps(workflow: dict):
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


# --- generated projects, every combination -------------------------------------------------


@pytest.mark.parametrize("answers", COMBINATIONS)
class TestGeneratedWorkflows:
    def test_has_ci_release_and_dependabot(self, baked, answers):
        project = baked(**answers)
        assert {".github/workflows/ci.yml", ".github/workflows/release.yml"} <= project.files()
        assert ".github/dependabot.yml" in project.files()

    def test_actionlint(self, baked, answers, actionlint):
        run_actionlint(actionlint, workflow_files(baked(**answers).path))

    def test_zizmor(self, baked, answers, zizmor):
        run_zizmor(zizmor, baked(**answers).path)

    def test_least_privilege_and_pinned_actions(self, baked, answers):
        project = baked(**answers)
        for path in workflow_files(project.path):
            text = path.read_text(encoding="utf-8")
            workflow = load_yaml(path)
            assert workflow["permissions"] == {"contents": "read"}, path.name
            assert "concurrency" in workflow, path.name
            writers = {
                job_id
                for job_id, job in workflow["jobs"].items()
                if (job.get("permissions") or {}).get("contents") == "write"
            }
            assert writers == {"release"}, f"{path.name}: only the release job may write"
            for job_id, step in steps(workflow):
                if "uses" in step:
                    assert PINNED_USES.match(step["uses"]), step["uses"]
                    line = next(ln for ln in text.splitlines() if step["uses"] in ln)
                    assert VERSION_COMMENT.search(line), f"no version comment: {line}"
                if step.get("uses", "").startswith("actions/checkout@"):
                    # No job keeps a token in .git/config while it installs and runs code.
                    assert step["with"]["persist-credentials"] is False, (path.name, job_id)
                if "GH_TOKEN" in step.get("env", {}):
                    # The write token reaches only the steps that push or publish.
                    assert "pytest" not in step["run"] and "pip" not in step["run"], step
                # no template injection: GitHub expressions reach scripts only through env
                assert "${{" not in step.get("run", ""), (path.name, job_id, step["run"])

    def test_ci_jobs(self, baked, answers):
        project = baked(**answers)
        ci = load_yaml(project.file(".github/workflows/ci.yml"))
        assert set(ci["on"]) == {"push", "pull_request"}
        expected = {"lint", "test", "manifest", "tag", "version", "release", "integration"}
        if answers["language"] == "go":
            expected.add("build")
        if answers["template_updates"] == "yes":
            expected.add("template")
        assert set(ci["jobs"]) == expected
        runs = {
            job_id: " ".join(s.get("run", "") for s in job["steps"])
            for job_id, job in ci["jobs"].items()
        }
        tools = TOOLS[answers["language"]]
        assert tools["manifest"] in runs["manifest"]
        assert f'{tools["release"]} check-tag "$GITHUB_REF_NAME"' in runs["tag"]
        assert f"{tools['release']} check-bump" in runs["version"]
        assert "gh release create" in runs["release"]
        assert "tag" in ci["jobs"]["release"]["needs"]
        # The module in ThingsDB's pinned image, from the commit under test, before a release.
        integration = ci["jobs"]["integration"]
        assert "integration" in ci["jobs"]["release"]["needs"]
        assert integration["permissions"] == {"contents": "read"}
        assert "docker run" in runs["integration"]
        assert '"ghcr.io/thingsdb/node:full-v$RELEASE" --init' in runs["integration"]
        releases = integration["strategy"]["matrix"]["thingsdb"]
        assert [str(r) for r in releases] == ["1.9.2", "1.8.8"]
        assert "on ThingsDB 1.9.2 and 1.8.8" in project.read("README.md")
        assert "github.com/$GITHUB_REPOSITORY:$TOKEN@$GITHUB_SHA" in runs["integration"]
        assert tools["integration"] in runs["integration"]
        (tested,) = [s for s in integration["steps"] if tools["integration"] in s.get("run", "")]
        assert tested["env"]["TOKEN"] == "${{ github.token }}"
        assert ("PIP_BREAK_SYSTEM_PACKAGES=1" in runs["integration"]) == (
            answers["language"] == "python"
        )
        version_checkout = ci["jobs"]["version"]["steps"][0]
        assert version_checkout["with"]["fetch-depth"] == 0  # the tags, to compare with
        assert "default_branch" in ci["jobs"]["version"]["if"]
        if answers["language"] == "go":
            assert "gofmt -l" in runs["lint"] and "go vet" in runs["lint"]
            assert "go test" in runs["test"]
            assert "go run ./tools/build" in runs["build"]
            assert "build" in ci["jobs"]["release"]["needs"]
            # bin/ is tested where it is the commit's build: after the tag check at v* tags,
            # elsewhere when it rebuilds to the same bytes (else the steps are skipped).
            assert integration["needs"] == ["tag"]
            assert "needs.tag.result != 'failure'" in integration["if"]
            assert "go run ./tools/build -check" in runs["integration"]
            assert all(
                "steps.bin.outputs.current == 'true'" in s["if"] for s in integration["steps"][3:]
            )
        else:
            assert "ruff check" in runs["lint"] and "ruff format --check" in runs["lint"]
            assert "python -m pytest" in runs["test"]
        if answers["template_updates"] == "yes":
            # copier's record checked by copier itself, in both flavours: pipx runs the version
            # the template's tests use, alone, and its exit status 2 names copier update.
            requirements = (TEMPLATE_DIR / "tests" / "requirements.txt").read_text()
            pin = re.search(r"^copier==\S+", requirements, re.MULTILINE).group(0)
            assert "if [ -f .copier-answers.yml ]" in runs["template"]
            assert f"pipx run --spec {pin} copier check-update --quiet" in runs["template"]
            assert '[ "$status" -eq 2 ]' in runs["template"]
            assert "run copier update" in runs["template"]
            assert ci["jobs"]["template"]["runs-on"] == "ubuntu-latest"  # which has pipx
        if answers["template_updates"] == "yes" and answers["language"] == "go":
            # What cruft check compares, without installing Python: the recorded commit
            # against the template's newest.
            assert "git ls-remote" in runs["template"] and ".cruft.json" in runs["template"]
        elif answers["template_updates"] == "yes":
            assert "cruft check" in runs["template"]
            requirements = (TEMPLATE_DIR / "tests" / "requirements.txt").read_text()
            pin = re.search(r"^cruft==\S+", requirements, re.MULTILINE).group(0)
            assert pin in runs["template"]  # the version the template's tests use
            # Python and cruft are set up for cruft's record only
            for step in ci["jobs"]["template"]["steps"][1:-1]:
                assert step["if"] == "hashFiles('.copier-answers.yml') == ''", step
        else:
            assert "cruft" not in project.read(".github/workflows/ci.yml")

    def test_caching(self, baked, answers):
        ci = load_yaml(baked(**answers).file(".github/workflows/ci.yml"))
        setups = [s for _, s in steps(ci) if s.get("uses", "").startswith("actions/setup-")]
        if answers["language"] == "go":
            # setup-go caches modules and builds by default
            assert all(s["with"].get("cache", True) for s in setups)
        else:
            assert any(s["with"].get("cache") == "pip" for s in setups)

    def test_release_workflow(self, baked, answers):
        project = baked(**answers)
        release = load_yaml(project.file(".github/workflows/release.yml"))
        assert set(release["on"]) == {"workflow_dispatch"}
        version = release["on"]["workflow_dispatch"]["inputs"]["version"]
        assert version["required"] is True
        job = release["jobs"]["release"]
        assert job["env"]["VERSION"] == "${{ inputs.version }}"
        script = "\n".join(s.get("run", "") for s in job["steps"])
        # the tag is checked before anything is pushed
        release_command = TOOLS[answers["language"]]["release"]
        order = [
            f'{release_command} release "$VERSION" --no-push',
            f'{release_command} check-tag "v$VERSION"',
            "git push --atomic origin",
            'gh release create "v$VERSION"',
        ]
        positions = [script.index(part) for part in order]
        assert positions == sorted(positions)
        # Go: every file of bin/ attested once pushed, with only the permissions that takes.
        attests = [s for s in job["steps"] if s.get("uses", "").startswith("actions/attest@")]
        pushed = next(i for i, s in enumerate(job["steps"]) if "git push" in s.get("run", ""))
        ci = load_yaml(project.file(".github/workflows/ci.yml"))
        ci_attests = [
            s
            for s in ci["jobs"]["release"]["steps"]
            if s.get("uses", "").startswith("actions/attest@")
        ]
        if answers["language"] == "go":
            assert [s["with"] for s in attests + ci_attests] == [{"subject-path": "bin/*"}] * 2
            assert job["steps"].index(attests[0]) > pushed
            for permissions in (job["permissions"], ci["jobs"]["release"]["permissions"]):
                assert permissions == {
                    "contents": "write",
                    "id-token": "write",
                    "attestations": "write",
                }
            assert "gh attestation verify bin/" in project.read("README.md")
        else:
            assert not attests and not ci_attests
            assert job["permissions"] == {"contents": "write"}
        setups = [s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-")]
        # no shared cache in a workflow that publishes (cache poisoning); setup-go caches
        # unless told not to, setup-python only when asked
        assert setups
        for step in setups:
            default = step["uses"].startswith("actions/setup-go@")
            assert step.get("with", {}).get("cache", default) in (False, ""), step

    def test_dependabot(self, baked, answers):
        config = load_yaml(baked(**answers).file(".github/dependabot.yml"))
        ecosystems = {update["package-ecosystem"] for update in config["updates"]}
        expected = {"github-actions", "gomod" if answers["language"] == "go" else "pip"}
        assert ecosystems == expected

    def test_readme_says_how_to_release(self, baked, answers):
        readme = baked(**answers).read("README.md")
        assert "## Releasing" in readme
        assert f"{TOOLS[answers['language']]['release']} release 0.2.0" in readme
        assert "--no-push" in readme and "check-tag" in readme and "check-bump" in readme
        if answers["template_updates"] == "yes":
            assert "## Template updates" in readme and "cruft update" in readme
            assert "copier update --trust --defaults" in readme
            assert ".copier-answers.yml" in readme
            # copier with what the template's extension needs, at the versions the tests use
            requirements = (TEMPLATE_DIR / "tests" / "requirements.txt").read_text()
            for package in ("copier", "copier-template-extensions", "cookiecutter"):
                pin = re.search(rf"^{package}==\S+", requirements, re.MULTILINE).group(0)
                assert pin in readme, pin
        else:
            assert "cruft" not in readme


def test_template_updates_is_a_yes_no_answer(bake):
    assert bake(template_updates="Y").context["template_updates"] is True
    assert bake(template_updates="off").context["template_updates"] is False


def test_the_release_script_is_copied_verbatim_and_executable(baked):
    project = baked(language="python")
    script = project.file("tools/release.py")
    assert script.read_bytes() == (PROJECT_TEMPLATE_DIR / "tools" / "release.py").read_bytes()
    assert script.stat().st_mode & stat.S_IXUSR


def test_the_release_script_is_committed_executable():
    listing = subprocess.run(
        ["git", "ls-files", "-s", "--", "{{cookiecutter.module_name}}/tools/release.py"],
        cwd=TEMPLATE_DIR,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    if not listing:
        pytest.skip("tools/release.py is not committed yet")
    assert listing.startswith("100755 ")


# --- the template repository itself --------------------------------------------------------


def test_template_repository_workflows_pass_actionlint(actionlint):
    files = workflow_files(TEMPLATE_DIR)
    assert files, "the template repository has no workflow"
    run_actionlint(actionlint, files)


def test_template_repository_workflows_pass_zizmor(zizmor):
    run_zizmor(zizmor, TEMPLATE_DIR / ".github")


def test_template_repository_runs_the_test_suite():
    workflow = load_yaml(TEMPLATE_DIR / ".github" / "workflows" / "test.yml")
    assert set(workflow["on"]) == {"push", "pull_request"}
    assert workflow["permissions"] == {"contents": "read"}
    script = " ".join(s.get("run", "") for _, s in steps(workflow))
    assert "bash .ci/run" in script
    ci_run = (TEMPLATE_DIR / ".ci" / "run").read_text(encoding="utf-8")
    assert ci_run.rstrip().splitlines()[-1] == "python3 -m pytest"


def test_pre_commit_configuration_pins_every_hook():
    config = load_yaml(TEMPLATE_DIR / ".pre-commit-config.yaml")
    hooks = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff-check", "ruff-format", "check-github-workflows", "zizmor"} <= hooks
    for repo in config["repos"]:
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", repo["rev"]), repo
    requirements = (TEMPLATE_DIR / "tests" / "requirements.txt").read_text(encoding="utf-8")
    ruff_pin = re.search(r"^ruff==(\S+)", requirements, re.MULTILINE).group(1)
    zizmor_pin = re.search(r"^zizmor==(\S+)", requirements, re.MULTILINE).group(1)
    revs = {repo["repo"].rsplit("/", 1)[-1]: repo["rev"] for repo in config["repos"]}
    assert revs["ruff-pre-commit"] == f"v{ruff_pin}"  # the same ruff as the tests
    assert revs["zizmor-pre-commit"] == f"v{zizmor_pin}"


# --- the template as a git repository: `cookiecutter gh:OWNER/REPO`, `cruft create` ----------


def template_repository(tmp_path: Path) -> tuple[Path, dict]:
    """The template's files committed in a fresh git repository (what gh:OWNER/REPO clones),
    and an environment whose cookiecutter clones stay in tmp_path."""
    env = {**os.environ, **GIT_ENV}
    config = tmp_path / "cookiecutterrc.yaml"
    config.write_text(
        f"cookiecutters_dir: {tmp_path / 'clones'}\nreplay_dir: {tmp_path / 'replay'}\n",
        encoding="utf-8",
    )
    env["COOKIECUTTER_CONFIG"] = str(config)
    repo = tmp_path / "template"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=TEMPLATE_DIR,
        capture_output=True,
        check=False,
    )
    if listed.returncode == 0:  # what would be committed, also before the commit
        for name in filter(None, listed.stdout.decode("utf-8").split("\0")):
            source = TEMPLATE_DIR / name
            if source.is_file():
                (repo / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, repo / name)
    else:
        shutil.copytree(
            TEMPLATE_DIR,
            repo,
            ignore=shutil.ignore_patterns(".git", "__pycache__", ".*_cache"),
        )
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "T"]):
        subprocess.run(["git", *command], cwd=repo, env=env, check=True, capture_output=True)
    return repo, env


def run_ok(command: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result


def test_the_template_generates_from_a_git_clone(tmp_path):
    template, env = template_repository(tmp_path)
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(tmp_path / "out")]
    # git+file:// is cloned with git like gh:OWNER/REPO (https://github.com/OWNER/REPO.git)
    run_ok([*command, f"git+file://{template}", "language=go"], tmp_path, env)
    project = tmp_path / "out" / "demo"
    assert (project / "go.mod").is_file() and (project / ".github/workflows/release.yml").is_file()
    assert (project / "tools" / "release" / "main.go").is_file()


def test_cruft_create_records_the_template_and_cruft_check_follows_it(tmp_path):
    pytest.importorskip(
        "cruft", reason="cruft is not installed (pip install -r tests/requirements.txt)"
    )
    template, env = template_repository(tmp_path)
    cruft = [sys.executable, "-m", "cruft"]
    answers = json.dumps({"template_updates": "yes", "module_name": "weather"})
    run_ok(
        [*cruft, "create", "--no-input", "--output-dir", str(tmp_path / "out")]
        + ["--extra-context", answers, f"file://{template}"],
        tmp_path,
        env,
    )
    project = tmp_path / "out" / "weather"
    recorded = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    head = run_ok(["git", "rev-parse", "HEAD"], template, env).stdout.strip()
    assert recorded["commit"] == head
    assert recorded["context"]["cookiecutter"]["template_updates"] is True
    assert "cruft check" in (project / ".github" / "workflows" / "ci.yml").read_text()
    run_ok([*cruft, "check"], project, env)
    # a newer template commit: the CI job's `cruft check` fails
    (template / "CHANGELOG.md").write_text("A change.\n", encoding="utf-8")
    run_ok(["git", "add", "-A"], template, env)
    run_ok(["git", "commit", "-q", "-m", "Change"], template, env)
    behind = subprocess.run(
        [*cruft, "check"], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )
    assert behind.returncode == 1, behind.stdout + behind.stderr


def test_go_ci_template_job_follows_the_template_without_python(tmp_path):
    """The Go project's Template updates job compares commits with git alone: it passes at the
    template's newest commit and fails, naming cruft update, once the template moves on."""
    pytest.importorskip(
        "cruft", reason="cruft is not installed (pip install -r tests/requirements.txt)"
    )
    template, env = template_repository(tmp_path)
    answers = json.dumps({"template_updates": "yes", "language": "go"})
    run_ok(
        [sys.executable, "-m", "cruft", "create", "--no-input"]
        + ["--output-dir", str(tmp_path / "out"), "--extra-context", answers, f"file://{template}"],
        tmp_path,
        env,
    )
    project = tmp_path / "out" / "demo"
    ci = load_yaml(project / ".github" / "workflows" / "ci.yml")
    (script,) = [s["run"] for s in ci["jobs"]["template"]["steps"] if "run" in s]
    cruft_branch = script.split("if [ ! -f .cruft.json ]")[1]  # (copier's runs with pipx)
    assert "python" not in cruft_branch and "pip" not in cruft_branch
    current = subprocess.run(
        ["bash", "-e", "-c", script], cwd=project, env=env, capture_output=True, text=True
    )
    assert current.returncode == 0, current.stdout + current.stderr
    (template / "CHANGELOG.md").write_text("A change.\n", encoding="utf-8")
    run_ok(["git", "add", "-A"], template, env)
    run_ok(["git", "commit", "-q", "-m", "Change"], template, env)
    behind = subprocess.run(
        ["bash", "-e", "-c", script], cwd=project, env=env, capture_output=True, text=True
    )
    assert behind.returncode == 1
    assert "run cruft update" in behind.stdout
