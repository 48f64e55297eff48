"""The release flow of generated projects in real git repositories: `python tools/release.py`
in the Python flavour, `go run ./tools/release` in the Go flavour.

Each test copies a baked project into a temporary directory, commits it (the Go flavour with
its bin/ built, unless the test is about a tree without one) and tags it v0.1.0, as the
generated next steps do, then releases with --no-push or to a local bare repository: no network.
The Go cases run the release command built once per test session (one test proves that
`go run ./tools/release` itself works), and share one build of bin/: the builds are
reproducible, so a copy is what `go run ./tools/build` would write.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GIT_ENV

# Outside GitHub Actions, where the tools write annotations instead of plain messages.
RELEASE_ENV = {**GIT_ENV, "GITHUB_ACTIONS": "false"}
# Two platforms keep the Go builds short; one is linux/arm64 for its two main keys.
GO_ANSWERS = {"language": "go", "platforms": "linux/amd64, linux/arm64"}
BINARIES = ["bin/demo_linux_amd64", "bin/demo_linux_arm64"]
FLAVOURS = ["python", "go"]
# How each flavour's messages name its release command.
COMMAND = {"python": "python tools/release.py", "go": "go run ./tools/release"}


class Repo:
    """A generated project under git, and the release command that runs in it."""

    def __init__(self, path: Path, flavour: str, tool: list[str]):
        self.path = path
        self.flavour = flavour
        self.tool = tool

    def run(self, *command: str, env: dict | None = None, check: bool = True):
        result = subprocess.run(
            command,
            cwd=self.path,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, **RELEASE_ENV, **(env or {})},
        )
        if check:
            assert result.returncode == 0, (
                f"{' '.join(command)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result

    def git(self, *args: str) -> str:
        return self.run("git", *args).stdout.strip()

    def release(
        self, *args: str, env: dict | None = None, check: bool = True, checks: bool = False
    ):
        """Run the release command; a release skips the project's checks unless ``checks``."""
        if args[:1] == ("release",) and not checks:
            args = (*args, "--skip-checks")
        return self.run(*self.tool, *args, env=env, check=check)

    def fails(self, *args: str, env: dict | None = None, checks: bool = False) -> str:
        """Run a command that must fail with one line on stderr; return that line."""
        result = self.release(*args, env=env, check=False, checks=checks)
        assert result.returncode == 1, f"{args}: exit {result.returncode}\n{result.stderr}"
        if not checks and args[0] != "check":  # else the output of a failed check comes first
            assert_no_trace(result)
        line = result.stderr.strip().splitlines()[-1]
        assert line.startswith("release: error: "), result.stderr
        return line

    def read(self, name: str) -> str:
        return (self.path / name).read_text(encoding="utf-8")

    def write(self, name: str, text: str) -> None:
        (self.path / name).write_text(text, encoding="utf-8")

    def commit_all(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    @property
    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    @property
    def version(self) -> str:
        return json.loads(self.read("module.json"))["version"]

    def state(self) -> tuple[str, str, str, str, str]:
        """What a refused release must leave as it was."""
        return (
            self.head,
            self.read("module.json"),
            self.read("README.md"),
            self.git("tag"),
            self.git("status", "-s", "--untracked-files=all"),
        )


def assert_no_trace(result: subprocess.CompletedProcess) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "panic:" not in output and "goroutine " not in output


def make_repo(path: Path, flavour: str, tool: list[str], bin_dir: Path | None = None) -> Repo:
    """Commit the project at path (with a copy of bin_dir as its bin/) and tag it v0.1.0."""
    repo = Repo(path, flavour, tool)
    if bin_dir is not None:
        shutil.copytree(bin_dir, path / "bin")
    repo.git("init", "-q", "-b", "main")
    repo.commit_all("Initial version")
    repo.git("tag", "-a", "v0.1.0", "-m", "Release v0.1.0")
    return repo


def copy_project(project, tmp_path: Path) -> Path:
    path = tmp_path / project.path.name
    shutil.copytree(project.path, path, symlinks=True)
    return path


@pytest.fixture(scope="session")
def go_project(baked):
    if shutil.which("go") is None:
        pytest.skip("Go is not installed")
    return baked(**GO_ANSWERS)


@pytest.fixture(scope="session")
def go_release_tool(go_project, tmp_path_factory) -> Path:
    """go run ./tools/release, built once."""
    tool = tmp_path_factory.mktemp("release-tool") / "release"
    subprocess.run(
        ["go", "build", "-o", str(tool), "./tools/release"],
        cwd=go_project.path,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return tool


@pytest.fixture(scope="session")
def go_bin(go_project, tmp_path_factory) -> Path:
    """The Go project's bin/, built once with go run ./tools/build."""
    path = copy_project(go_project, tmp_path_factory.mktemp("go-bin"))
    built = subprocess.run(
        ["go", "run", "./tools/build"], cwd=path, capture_output=True, text=True, timeout=600
    )
    assert built.returncode == 0, built.stderr
    return path / "bin"


@pytest.fixture
def python_repo(baked, tmp_path) -> Repo:
    path = copy_project(baked(language="python"), tmp_path)
    return make_repo(path, "python", [sys.executable, "tools/release.py"])


@pytest.fixture
def go_repo(go_project, go_release_tool, go_bin, tmp_path) -> Repo:
    return make_repo(copy_project(go_project, tmp_path), "go", [str(go_release_tool)], go_bin)


@pytest.fixture
def go_repo_without_bin(go_project, go_release_tool, tmp_path) -> Repo:
    return make_repo(copy_project(go_project, tmp_path), "go", [str(go_release_tool)])


@pytest.fixture(params=FLAVOURS)
def repo(request) -> Repo:
    return request.getfixturevalue(f"{request.param}_repo")


def add_remote(repo: Repo, tmp_path: Path) -> Path:
    """A bare repository as origin, holding main as pushed so far."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "-u", "origin", "main", "v0.1.0")
    return remote


def install_line(readme: str) -> str:
    """The README's line that installs a release with new_module."""
    (line,) = [line for line in readme.splitlines() if "new_module(" in line and "@v" in line]
    return line


# --- releasing (both flavours) ------------------------------------------------------------------


def test_release_bumps_the_version_and_the_readme_install_line_commits_and_tags(repo):
    before = repo.read("module.json")
    readme = repo.read("README.md")
    assert "@v0.1.0'" in install_line(readme)
    result = repo.release("release", "0.2.0", "--no-push")
    assert "git push --atomic origin main v0.2.0" in result.stdout
    # only the version changed, the formatting stayed
    assert repo.read("module.json") == before.replace('"version": "0.1.0"', '"version": "0.2.0"')
    # the install line names the new tag; the rest of the README (a deploy_module example at
    # v0.2.0 among it) stayed
    assert "@v0.2.0'" in install_line(repo.read("README.md"))
    assert repo.read("README.md") == readme.replace(
        install_line(readme), install_line(readme).replace("@v0.1.0'", "@v0.2.0'")
    )
    assert repo.git("log", "-1", "--format=%s") == "Release v0.2.0"
    # Go: bin/ was rebuilt, to the same bytes
    assert repo.git("diff", "--name-only", "HEAD~1", "HEAD").splitlines() == [
        "README.md",
        "module.json",
    ]
    assert repo.git("cat-file", "-t", "v0.2.0") == "tag"  # annotated
    assert repo.git("rev-parse", "v0.2.0^{commit}") == repo.head
    assert repo.git("status", "--porcelain") == ""
    assert "v0.2.0 matches module.json's version" in repo.release("check-tag", "v0.2.0").stdout
    repo.release("check-tag", "refs/tags/v0.2.0")  # as GITHUB_REF gives it


def test_release_pushes_the_branch_and_the_tag(repo, tmp_path):
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True, env=GIT_ENV)
    repo.git("remote", "add", "origin", str(remote))
    result = repo.release("release", "0.2.0")
    assert "Pushed main and v0.2.0 to origin" in result.stdout
    remote_refs = Repo(remote, repo.flavour, repo.tool).git("show-ref")
    assert f"{repo.head} refs/heads/main" in remote_refs
    assert "refs/tags/v0.2.0" in remote_refs


@pytest.mark.parametrize(
    "version, message",
    [
        ("v0.2.0", "without the v, like 0.2.0"),
        ("0.2.0-rc1", "is not a ThingsDB version"),
        ("1.2.3.4", "is not a ThingsDB version"),
        ("123456", "is not a ThingsDB version"),
        ("0.2.x", "is not a ThingsDB version"),
        ("", "is not a ThingsDB version"),
        ("0.1.0", "must be greater than the current 0.1.0"),
        ("0.1", "must be greater than the current 0.1.0"),
        ("0.0.9", "must be greater than the current 0.1.0"),
    ],
)
def test_release_refuses_a_bad_version_and_changes_nothing(repo, version, message):
    before = repo.state()
    assert message in repo.fails("release", version, "--no-push")
    assert repo.state() == before


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "release: error: "),
        (["publish", "0.2.0"], "publish"),
        (["release"], "version"),
        (["release", "0.2.0", "0.3.0"], "0.3.0"),
        (["release", "0.2.0", "--push"], "--push"),
        (["check-tag"], "tag"),
        (["check-bump", "now"], "now"),
        (["check", "--no-push"], "--no-push"),
    ],
    ids=["none", "unknown", "no-version", "two-versions", "bad-flag", "no-tag", "extra", "flag"],
)
def test_a_bad_command_line_is_one_line_and_exit_status_2(repo, args, message):
    result = repo.run(*repo.tool, *args, check=False)
    assert result.returncode == 2, result.stderr
    assert_no_trace(result)
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("release: error: ") and message in line, line
    assert result.stdout == ""


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"version": "0.1.0"', "module.json is not valid JSON ("),
        (
            '{"version": "0.1.0", "defaults": {"x": ' + "[" * 20000 + "]" * 20000 + "}}",
            "too deeply",
        ),
        (None, "cannot read module.json: Is a directory"),
    ],
    ids=["truncated", "nested-20000-deep", "a-directory"],
)
def test_a_module_json_that_cannot_be_read_is_one_line(repo, text, message):
    path = repo.path / "module.json"
    path.unlink()
    if text is not None:
        path.write_text(text)
    repo.commit_all("Break module.json")  # a clean work tree: every command gets to read it
    repo.git("tag", "v0.1.1")  # check-tag wants its tag checked out
    if text is None:
        path.mkdir()  # an empty directory, which git does not see
    for command in (["release", "0.2.0", "--no-push"], ["check-tag", "v0.1.1"], ["check-bump"]):
        assert message in repo.fails(*command)


def test_check_bump_reads_a_module_json_at_the_tag_that_is_not_utf8(repo):
    good = repo.read("module.json")
    latin1 = good.replace('"doc": "', '"doc": "\xe9', 1).encode("latin-1")
    (repo.path / "module.json").write_bytes(latin1)
    repo.commit_all("A Latin-1 doc")
    repo.git("tag", "v0.1.1")
    repo.write("module.json", good)
    repo.commit_all("UTF-8 again")
    assert_no_trace(repo.release("check-bump"))


def test_release_refuses_a_dirty_work_tree(repo):
    repo.write("README.md", repo.read("README.md") + "\nmore\n")
    before = repo.state()
    assert "uncommitted changes (README.md)" in repo.fails("release", "0.2.0", "--no-push")
    assert repo.state() == before
    repo.git("checkout", "--", "README.md")
    repo.write("notes.txt", "untracked\n")
    assert "uncommitted changes (notes.txt)" in repo.fails("release", "0.2.0", "--no-push")


def test_release_refuses_an_existing_tag_and_a_missing_remote(repo):
    repo.git("tag", "v0.2.0")
    assert "the tag v0.2.0 exists already" in repo.fails("release", "0.2.0", "--no-push")
    before = repo.state()
    assert "no git remote 'origin'" in repo.fails("release", "0.3.0")
    assert repo.state() == before


def test_release_refuses_a_branch_other_than_the_default_one(repo, tmp_path):
    add_remote(repo, tmp_path)
    repo.git("switch", "-q", "-c", "feature")
    before = repo.state()
    line = repo.fails("release", "0.2.0", "--no-push")
    assert "releases are made from the default branch main, not feature" in line
    assert repo.state() == before


def test_release_refuses_a_branch_behind_its_remote(repo, tmp_path):
    remote = add_remote(repo, tmp_path)
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(remote), str(other)], check=True, env=GIT_ENV)
    (other / "NOTES.md").write_text("ahead\n")
    Repo(other, repo.flavour, repo.tool).commit_all("Ahead of the release")
    Repo(other, repo.flavour, repo.tool).git("push", "-q", "origin", "main")
    before = repo.state()
    line = repo.fails("release", "0.2.0")
    assert "main is 1 commit(s) behind origin/main: pull" in line
    assert repo.state() == before


def test_a_rejected_push_undoes_the_release_commit_and_tag(repo, tmp_path):
    remote = add_remote(repo, tmp_path)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = repo.state()
    line = repo.fails("release", "0.2.0")
    assert "the push to origin failed, so the release commit and the tag v0.2.0 were undone" in line
    assert repo.state() == before
    assert "v0.2.0" not in Repo(remote, repo.flavour, repo.tool).git("tag")


def test_a_failing_tag_undoes_the_release_commit(repo):
    repo.git("config", "tag.gpgSign", "true")  # signing without a key: git tag fails
    repo.git("config", "gpg.program", "false")
    before = repo.state()
    assert "git tag -a v0.2.0" in repo.fails("release", "0.2.0", "--no-push")
    assert repo.state() == before


def test_release_rewrites_only_the_top_level_version(repo):
    manifest = json.loads(repo.read("module.json"))
    manifest["defaults"]["version"] = "0.1.0"  # a default argument that happens to be called so
    text = json.dumps(manifest, indent="\t", ensure_ascii=False).replace(
        '"version": "0.1.0",', '"version"  :  "0.1.0" ,', 1
    )
    repo.write("module.json", text)
    repo.commit_all("Tabs")
    repo.release("release", "0.1.1", "--no-push")
    expected = text.replace('"version"  :  "0.1.0" ,', '"version"  :  "0.1.1" ,', 1)
    assert repo.read("module.json") == expected
    assert json.loads(repo.read("module.json"))["defaults"]["version"] == "0.1.0"


def test_errors_are_annotations_in_github_actions(repo):
    result = repo.release("release", "0.0.1", env={"GITHUB_ACTIONS": "true"}, check=False)
    assert result.returncode == 1
    assert result.stdout.startswith("::error title=Release::the new version 0.0.1 must be greater")


def test_check_bump_without_tags(repo):
    repo.git("tag", "-d", "v0.1.0")
    assert "No release tag yet" in repo.release("check-bump").stdout


# --- the tag check (both flavours; Go also rebuilds bin/) -------------------------------------


def test_the_tag_check_rejects_a_version_that_does_not_match(repo):
    repo.git("tag", "v0.3.0")  # on the commit whose module.json says 0.1.0
    line = repo.fails("check-tag", "v0.3.0")
    assert "v0.3.0 does not match module.json's version '0.1.0'" in line
    assert f"({COMMAND[repo.flavour]} release 0.3.0)" in line
    assert "is not a release tag" in repo.fails("check-tag", "0.1.0")
    assert "is not a ThingsDB version" in repo.fails("check-tag", "v1.2.3.4")
    checked = repo.release("check-tag", "v0.1.0").stdout
    if repo.flavour == "go":
        assert "bin/ rebuilds bit for bit" in checked


def test_the_tag_check_wants_the_tag_checked_out(repo):
    repo.release("release", "0.2.0", "--no-push")
    assert "is not the checked-out commit" in repo.fails("check-tag", "v0.1.0")


def test_go_tag_check_rejects_a_tampered_binary(go_repo):
    repo = go_repo
    repo.write("module.json", repo.read("module.json").replace('"0.1.0"', '"0.2.0"'))
    binary = repo.path / "bin" / "demo_linux_arm64"
    data = bytearray(binary.read_bytes())
    data[len(data) // 2] ^= 0x01
    binary.write_bytes(bytes(data))
    repo.commit_all("Release v0.2.0 by hand, with a tampered binary")
    repo.git("tag", "-a", "v0.2.0", "-m", "Release v0.2.0")
    result = repo.release("check-tag", "v0.2.0", check=False)
    assert result.returncode == 1
    assert "differs:  bin/demo_linux_arm64" in result.stderr  # tools/build -check
    assert "bin/demo_linux_amd64" not in result.stderr
    assert "do not rebuild bit for bit" in result.stderr.strip().splitlines()[-1]
    assert_no_trace(result)


# --- the checks: one list, run by a release first and by CI as `check` ------------------------

# A file that fails each flavour's tests, and the name a refusal must give it.
FAILING_TEST = {
    "python": (
        "tests/test_broken.py",
        "def test_broken():\n    assert 1 == 2\n",
        "failing tests: tests/test_broken.py::test_broken",
    ),
    "go": (
        "broken_test.go",
        'package main\n\nimport "testing"\n\nfunc TestBroken(t *testing.T) {\n'
        '\tt.Run("empty", func(t *testing.T) { t.Fatal("boom") })\n}\n',
        "failing tests: TestBroken/empty",
    ),
}
# Each check of each flavour, in the order they run.
CHECKS = {
    "python": [
        "ruff check .",
        "ruff format --check .",
        "python -m pytest",
        "python tools/manifest.py",
    ],
    "go": [
        "gofmt -l .",
        "go vet -tags integration ./...",
        "go test ./...",
        "go run ./tools/manifest",
    ],
}


def checked(output: str) -> list[str]:
    return re.findall(r"^Checking: (.+)$", output, re.MULTILINE)


def test_check_runs_the_checks_of_a_release_and_a_new_project_passes_them(repo):
    result = repo.release("check")
    assert checked(result.stdout) == CHECKS[repo.flavour]
    assert "All checks passed." in result.stdout
    assert repo.git("status", "--porcelain", "--untracked-files=all") == ""


def test_release_runs_the_checks_first_and_names_a_failing_test(repo):
    name, text, named = FAILING_TEST[repo.flavour]
    repo.write(name, text)
    repo.commit_all("A failing test")
    before = repo.state()
    line = repo.fails("release", "0.2.0", "--no-push", checks=True)
    assert f"({named}); nothing was changed" in line
    assert repo.state() == before
    # CI runs the same list, and names the same test
    assert f"({named})" in repo.fails("check")
    (repo.path / name).unlink()
    repo.commit_all("Fixed")
    result = repo.release("release", "0.2.0", "--no-push", checks=True)
    assert checked(result.stdout) == CHECKS[repo.flavour]
    assert repo.git("describe", "--tags") == "v0.2.0"


def test_release_checks_the_bumped_module_json_even_when_skipping_the_other_checks(repo):
    manifest = json.loads(repo.read("module.json"))
    manifest["includes"] = ["missing.txt"]
    repo.write("module.json", json.dumps(manifest, indent=2) + "\n")
    repo.commit_all("Include a file that is not there")
    before = repo.state()
    result = repo.release("release", "0.2.0", "--no-push", check=False)
    assert checked(result.stdout) == CHECKS[repo.flavour][-1:]
    line = result.stderr.strip().splitlines()[-1]
    assert f"`{CHECKS[repo.flavour][-1]}` failed (module.json: include file `missing.txt`" in line
    assert line.endswith("; nothing was changed")
    assert repo.state() == before


def test_release_refuses_a_gofmt_dirty_file_and_names_it(go_repo):
    repo = go_repo
    repo.write("ugly.go", "package main\n\nfunc  ugly()  {}\n")
    repo.commit_all("Not formatted")
    before = repo.state()
    line = repo.fails("release", "0.2.0", "--no-push", checks=True)
    assert "`gofmt -l .` failed (not gofmt-formatted: ugly.go; run gofmt -w .)" in line
    assert repo.state() == before


def test_release_refuses_an_unused_go_import_and_names_what_go_vet_says(go_repo):
    repo = go_repo
    repo.write("unused.go", 'package main\n\nimport "strings"\n')
    repo.commit_all("An unused import")
    line = repo.fails("release", "0.2.0", "--no-push", checks=True)
    assert "`go vet -tags integration ./...` failed (" in line
    assert 'unused.go:3:8: "strings" imported and not used' in line


def test_release_refuses_an_unused_python_import_and_names_what_ruff_says(python_repo):
    repo = python_repo
    repo.write("tests/test_extra.py", "import os\n\n\ndef test_nothing():\n    pass\n")
    repo.commit_all("An unused import")
    before = repo.state()
    line = repo.fails("release", "0.2.0", "--no-push", checks=True)
    assert "`ruff check .` failed (" in line
    assert "tests/test_extra.py:1:8: F401" in line and "`os` imported but unused" in line
    assert repo.state() == before


def test_release_refuses_python_code_ruff_would_reformat_and_names_the_file(python_repo):
    repo = python_repo
    repo.write("tests/test_extra.py", "def test_nothing():\n    assert len('a') == 1\n")
    repo.commit_all("Not formatted")
    line = repo.fails("check")
    assert "`ruff format --check .` failed (not ruff-formatted: tests/test_extra.py;" in line


# --- Go: bin/ -------------------------------------------------------------------------------


def test_go_release_rebuilds_a_stale_bin_and_commits_it(go_repo):
    repo = go_repo
    # a stale binary in the last commit: the release must rebuild it
    stale = repo.path / BINARIES[0]
    fresh = stale.read_bytes()
    stale.write_bytes(fresh[:-1] + bytes([fresh[-1] ^ 0xFF]))
    repo.commit_all("A stale binary")
    repo.release("release", "0.2.0", "--no-push")
    assert stale.read_bytes() == fresh
    assert repo.version == "0.2.0"
    assert repo.git("ls-files", "bin").splitlines() == BINARIES
    changed = repo.git("diff", "--name-only", "HEAD~1", "HEAD").splitlines()
    assert changed == ["README.md", BINARIES[0], "module.json"]
    assert repo.git("status", "--porcelain") == ""
    assert "bin/ rebuilds bit for bit" in repo.release("check-tag", "v0.2.0").stdout


def test_go_release_of_a_tree_without_bin_builds_and_commits_it(go_repo_without_bin):
    repo = go_repo_without_bin
    assert not (repo.path / "bin").exists()
    result = repo.release("release", "0.2.0", "--no-push", checks=True)
    assert checked(result.stdout) == CHECKS["go"]
    assert repo.git("ls-files", "bin").splitlines() == BINARIES
    changed = repo.git("diff", "--name-only", "HEAD~1", "HEAD").splitlines()
    assert changed == ["README.md", *BINARIES, "module.json"]
    assert repo.git("status", "--porcelain") == ""
    assert "bin/ rebuilds bit for bit" in repo.release("check-tag", "v0.2.0").stdout


def test_go_check_builds_a_missing_bin_for_the_module_json_check_and_removes_it(
    go_repo_without_bin,
):
    repo = go_repo_without_bin
    result = repo.release("check")
    assert "bin/ lacks bin/demo_linux_amd64, bin/demo_linux_arm64: building it" in result.stdout
    assert "All checks passed." in result.stdout
    assert not (repo.path / "bin").exists()
    assert repo.git("status", "--porcelain", "--untracked-files=all") == ""


def test_go_release_that_fails_to_build_changes_nothing(go_repo):
    repo = go_repo
    repo.write("broken.go", "package main\n\nfunc broken() {\n")
    repo.commit_all("Does not compile")
    before = repo.state()
    assert "go run ./tools/build" in repo.fails("release", "0.2.0", "--no-push")
    assert repo.state() == before


def test_go_run_tools_release_releases_a_baked_project(go_repo_without_bin):
    repo = go_repo_without_bin
    result = repo.run("go", "run", "./tools/release", "release", "0.2.0", "--no-push")
    assert checked(result.stdout) == CHECKS["go"]
    assert "Committed and tagged v0.2.0" in result.stdout
    assert repo.git("ls-files", "bin").splitlines() == BINARIES
    refused = repo.run("go", "run", "./tools/release", "release", "0.2.0", check=False)
    assert refused.returncode == 1
    assert "release: error: the new version 0.2.0 must be greater" in refused.stderr


# --- check-bump -------------------------------------------------------------------------------


def test_check_bump_warns_when_python_module_code_changed_but_the_version_did_not(python_repo):
    repo = python_repo
    actions = {"GITHUB_ACTIONS": "true"}

    def warned() -> bool:
        output = repo.release("check-bump", env=actions).stdout
        return "::warning title=Version not bumped::" in output

    assert not warned()  # HEAD is v0.1.0
    repo.write("README.md", repo.read("README.md") + "\nmore docs\n")
    repo.write("tests/test_extra.py", "def test_nothing():\n    pass\n")
    repo.commit_all("Docs and tests")
    assert not warned()  # neither is installed by ThingsDB
    repo.write("main.py", repo.read("main.py") + "\n# changed\n")
    repo.commit_all("Change the module")
    output = repo.release("check-bump", env=actions).stdout
    assert "module code changed since v0.1.0 (main.py)" in output
    assert "python tools/release.py release 0.1.1" in output
    # outside GitHub Actions: a plain warning on stderr
    assert "release: warning: module code changed" in repo.release("check-bump").stderr
    repo.release("release", "0.1.1", "--no-push")
    assert not warned()
    repo.write("requirements.txt", repo.read("requirements.txt") + "# changed\n")
    repo.commit_all("Change the requirements ThingsDB installs")
    assert warned()
    repo.write("module.json", repo.read("module.json").replace('"0.1.1"', '"0.1.2"'))
    repo.commit_all("Bump without a tag yet")
    assert not warned()


def test_check_bump_warns_when_go_sources_changed_but_not_for_tests_or_tools(go_repo):
    repo = go_repo
    actions = {"GITHUB_ACTIONS": "true"}
    test_file = next(p.name for p in repo.path.glob("*_test.go"))
    repo.write(test_file, repo.read(test_file) + "\n// more tests\n")
    repo.write("tools/build/main.go", repo.read("tools/build/main.go") + "\n// a tool\n")
    repo.commit_all("Tests and tools only")
    assert "::warning" not in repo.release("check-bump", env=actions).stdout
    internal = next(p for p in (repo.path / "internal").rglob("*.go") if "_test" not in p.name)
    name = internal.relative_to(repo.path).as_posix()
    repo.write(name, repo.read(name) + "\n// changed\n")
    repo.write("main.go", repo.read("main.go") + "\n// changed\n")
    repo.commit_all("Change the module")
    output = repo.release("check-bump", env=actions).stdout
    warning = "::warning title=Version not bumped::module code changed since v0.1.0 ("
    assert warning in output
    assert name in output and "main.go" in output
    assert "go run ./tools/release release 0.1.1" in output
