"""The release flow of generated projects: tools/release.py in a real git repository.

Each test copies a baked project into a temporary directory, commits it (the Go flavour with
its binaries built) and tags it v0.1.0, as the generated next steps do, then releases with
--no-push or to a local bare repository: no network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GIT_ENV

# Outside GitHub Actions, where the script writes annotations instead of plain messages.
RELEASE_ENV = {**GIT_ENV, "GITHUB_ACTIONS": "false"}
# Two platforms keep the Go builds short; one is linux/arm64 for its two main keys.
GO_ANSWERS = {"language": "go", "platforms": "linux/amd64, linux/arm64"}


class Repo:
    """A generated project under git."""

    def __init__(self, path: Path):
        self.path = path

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
        """Run tools/release.py; a release skips the project's checks unless ``checks``."""
        if args[:1] == ("release",) and not checks:
            args = (*args, "--skip-checks")
        return self.run(sys.executable, "tools/release.py", *args, env=env, check=check)

    def fails(self, *args: str, env: dict | None = None, checks: bool = False) -> str:
        """Run a command that must fail with one line on stderr; return that line."""
        result = self.release(*args, env=env, check=False, checks=checks)
        assert result.returncode == 1, f"{args}: exit {result.returncode}\n{result.stderr}"
        assert "Traceback" not in result.stderr + result.stdout
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

    def state(self) -> tuple[str, str, str, str]:
        """What a refused release must leave as it was."""
        return (self.head, self.read("module.json"), self.git("tag"), self.git("status", "-s"))


def make_repo(project, tmp_path: Path) -> Repo:
    path = tmp_path / project.path.name
    shutil.copytree(project.path, path, symlinks=True)
    repo = Repo(path)
    repo.git("init", "-q", "-b", "main")
    if isinstance(json.loads(repo.read("module.json"))["main"], dict):
        repo.run("go", "run", "./tools/build")
    repo.commit_all("Initial version")
    repo.git("tag", "-a", "v0.1.0", "-m", "Release v0.1.0")
    return repo


@pytest.fixture
def python_repo(baked, tmp_path) -> Repo:
    return make_repo(baked(language="python"), tmp_path)


@pytest.fixture
def go_repo(baked, tmp_path) -> Repo:
    if shutil.which("go") is None:
        pytest.skip("Go is not installed")
    return make_repo(baked(**GO_ANSWERS), tmp_path)


# --- the Python flavour (and what both share) ----------------------------------------------


def test_release_bumps_commits_and_tags(python_repo):
    repo = python_repo
    before = repo.read("module.json")
    result = repo.release("release", "0.2.0", "--no-push")
    assert "git push --atomic origin main v0.2.0" in result.stdout
    # only the version changed, the formatting stayed
    assert repo.read("module.json") == before.replace('"version": "0.1.0"', '"version": "0.2.0"')
    assert repo.git("log", "-1", "--format=%s") == "Release v0.2.0"
    assert repo.git("diff", "--name-only", "HEAD~1", "HEAD") == "module.json"
    assert repo.git("cat-file", "-t", "v0.2.0") == "tag"  # annotated
    assert repo.git("rev-parse", "v0.2.0^{commit}") == repo.head
    assert repo.git("status", "--porcelain") == ""
    assert "v0.2.0 matches" in repo.release("check-tag", "v0.2.0").stdout
    repo.release("check-tag", "refs/tags/v0.2.0")  # as GITHUB_REF gives it


def test_release_pushes_the_branch_and_the_tag(python_repo, tmp_path):
    repo = python_repo
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True, env=GIT_ENV)
    repo.git("remote", "add", "origin", str(remote))
    result = repo.release("release", "0.2.0")
    assert "Pushed main and v0.2.0 to origin" in result.stdout
    remote_refs = Repo(remote).git("show-ref")
    assert f"{repo.head} refs/heads/main" in remote_refs
    assert "refs/tags/v0.2.0" in remote_refs


def test_the_tag_check_rejects_a_version_that_does_not_match(python_repo):
    repo = python_repo
    repo.git("tag", "v0.3.0")  # on the commit whose module.json says 0.1.0
    line = repo.fails("check-tag", "v0.3.0")
    assert "v0.3.0 does not match module.json's version '0.1.0'" in line
    assert "is not a release tag" in repo.fails("check-tag", "0.1.0")
    assert "is not a ThingsDB version" in repo.fails("check-tag", "v1.2.3.4")


def test_the_tag_check_wants_the_tag_checked_out(python_repo):
    repo = python_repo
    repo.release("release", "0.2.0", "--no-push")
    assert "is not the checked-out commit" in repo.fails("check-tag", "v0.1.0")


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
def test_release_refuses_a_bad_version_and_changes_nothing(python_repo, version, message):
    repo = python_repo
    before = repo.state()
    assert message in repo.fails("release", version, "--no-push")
    assert repo.state() == before


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"version": "0.1.0"', "module.json is not valid JSON ("),
        ('{"version": "0.1.0", "defaults": {"x": ' + "[" * 5000 + "]" * 5000 + "}}", "too deeply"),
        (None, "cannot read module.json: Is a directory"),
    ],
    ids=["truncated", "nested-5000-deep", "a-directory"],
)
def test_a_module_json_that_cannot_be_read_is_one_line(python_repo, text, message):
    repo = python_repo
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


def test_check_bump_reads_a_module_json_at_the_tag_that_is_not_utf8(python_repo):
    repo = python_repo
    good = repo.read("module.json")
    latin1 = good.replace('"doc": "', '"doc": "\xe9', 1).encode("latin-1")
    (repo.path / "module.json").write_bytes(latin1)
    repo.commit_all("A Latin-1 doc")
    repo.git("tag", "v0.1.1")
    repo.write("module.json", good)
    repo.commit_all("UTF-8 again")
    result = repo.release("check-bump")
    assert "Traceback" not in result.stderr + result.stdout


def test_release_refuses_a_dirty_work_tree(python_repo):
    repo = python_repo
    repo.write("README.md", repo.read("README.md") + "\nmore\n")
    before = repo.state()
    assert "uncommitted changes (README.md)" in repo.fails("release", "0.2.0", "--no-push")
    assert repo.state() == before
    repo.git("checkout", "--", "README.md")
    repo.write("notes.txt", "untracked\n")
    assert "uncommitted changes (notes.txt)" in repo.fails("release", "0.2.0", "--no-push")


def test_release_refuses_an_existing_tag_and_a_missing_remote(python_repo):
    repo = python_repo
    repo.git("tag", "v0.2.0")
    assert "the tag v0.2.0 exists already" in repo.fails("release", "0.2.0", "--no-push")
    before = repo.state()
    assert "no git remote 'origin'" in repo.fails("release", "0.3.0")
    assert repo.state() == before


def add_remote(repo: Repo, tmp_path: Path) -> Path:
    """A bare repository as origin, holding main as pushed so far."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "-u", "origin", "main", "v0.1.0")
    return remote


def test_release_runs_the_project_checks_first_and_stops_at_a_failure(python_repo):
    repo = python_repo
    repo.write("tests/test_broken.py", "def test_broken():\n    assert 1 == 2\n")
    repo.commit_all("A failing test")
    before = repo.state()
    line = repo.fails("release", "0.2.0", "--no-push", checks=True)
    assert "`python -m pytest -q -p no:cacheprovider` failed (" in line
    assert "nothing was changed" in line
    assert repo.state() == before
    (repo.path / "tests/test_broken.py").unlink()
    repo.commit_all("Fixed")
    result = repo.release("release", "0.2.0", "--no-push", checks=True)
    assert "Checking: python tools/manifest.py" in result.stdout
    assert repo.git("describe", "--tags") == "v0.2.0"


def test_release_refuses_a_branch_other_than_the_default_one(python_repo, tmp_path):
    repo = python_repo
    add_remote(repo, tmp_path)
    repo.git("switch", "-q", "-c", "feature")
    before = repo.state()
    line = repo.fails("release", "0.2.0", "--no-push")
    assert "releases are made from the default branch main, not feature" in line
    assert repo.state() == before


def test_release_refuses_when_the_remote_is_ahead(python_repo, tmp_path):
    repo = python_repo
    remote = add_remote(repo, tmp_path)
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(remote), str(other)], check=True, env=GIT_ENV)
    (other / "NOTES.md").write_text("ahead\n")
    Repo(other).commit_all("Ahead of the release")
    Repo(other).git("push", "-q", "origin", "main")
    before = repo.state()
    line = repo.fails("release", "0.2.0")
    assert "main is 1 commit(s) behind origin/main: pull" in line
    assert repo.state() == before


def test_a_rejected_push_undoes_the_release_commit_and_tag(python_repo, tmp_path):
    repo = python_repo
    remote = add_remote(repo, tmp_path)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = repo.state()
    line = repo.fails("release", "0.2.0")
    assert "the push to origin failed, so the release commit and the tag v0.2.0 were undone" in line
    assert repo.state() == before
    assert "v0.2.0" not in Repo(remote).git("tag")


def test_a_failing_tag_undoes_the_release_commit(python_repo):
    repo = python_repo
    repo.git("config", "tag.gpgSign", "true")  # signing without a key: git tag fails
    repo.git("config", "gpg.program", "false")
    before = repo.state()
    assert "git tag -a v0.2.0" in repo.fails("release", "0.2.0", "--no-push")
    assert repo.state() == before


def test_release_rewrites_only_the_top_level_version(python_repo):
    repo = python_repo
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


def test_errors_are_annotations_in_github_actions(python_repo):
    result = python_repo.release("release", "0.0.1", env={"GITHUB_ACTIONS": "true"}, check=False)
    assert result.returncode == 1
    assert result.stdout.startswith("::error title=Release::the new version 0.0.1 must be greater")


def test_check_bump_warns_when_module_code_changed_but_the_version_did_not(python_repo):
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


def test_check_bump_without_tags(python_repo):
    repo = python_repo
    repo.git("tag", "-d", "v0.1.0")
    assert "No release tag yet" in repo.release("check-bump").stdout


# --- the Go flavour: binaries -----------------------------------------------------------------


def test_go_release_rebuilds_and_commits_bin(go_repo):
    repo = go_repo
    binaries = sorted(set(json.loads(repo.read("module.json"))["main"].values()))
    assert binaries == ["bin/demo_linux_amd64", "bin/demo_linux_arm64"]
    # a stale binary in the last commit: the release must rebuild it
    stale = repo.path / binaries[0]
    fresh = stale.read_bytes()
    stale.write_bytes(fresh[:-1] + bytes([fresh[-1] ^ 0xFF]))
    repo.commit_all("A stale binary")
    repo.release("release", "0.2.0", "--no-push")
    assert stale.read_bytes() == fresh
    assert repo.version == "0.2.0"
    assert repo.git("ls-files", "bin").splitlines() == binaries
    changed = repo.git("diff", "--name-only", "HEAD~1", "HEAD").splitlines()
    assert changed == [binaries[0], "module.json"]
    assert repo.git("rev-parse", "v0.2.0^{commit}") == repo.head
    assert repo.git("status", "--porcelain") == ""
    checked = repo.release("check-tag", "v0.2.0")
    assert "bin/ rebuilds bit for bit" in checked.stdout


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
    assert "Traceback" not in result.stderr


def test_go_tag_check_rejects_a_version_that_does_not_match(go_repo):
    repo = go_repo
    repo.git("tag", "v0.1.1")
    assert "v0.1.1 does not match module.json's version '0.1.0'" in repo.fails(
        "check-tag", "v0.1.1"
    )
    assert "bit for bit" in repo.release("check-tag", "v0.1.0").stdout


def test_go_release_that_fails_to_build_changes_nothing(go_repo):
    repo = go_repo
    repo.write("broken.go", "package main\n\nfunc broken() {\n")
    repo.commit_all("Does not compile")
    before = repo.state()
    assert "go run ./tools/build" in repo.fails("release", "0.2.0", "--no-push")
    assert repo.state() == before


def test_go_check_bump_counts_sources_not_tests(go_repo):
    repo = go_repo
    actions = {"GITHUB_ACTIONS": "true"}
    test_file = next(p.name for p in repo.path.glob("*_test.go"))
    repo.write(test_file, repo.read(test_file) + "\n// more tests\n")
    repo.commit_all("Tests only")
    assert "::warning" not in repo.release("check-bump", env=actions).stdout
    repo.write("main.go", repo.read("main.go") + "\n// changed\n")
    repo.commit_all("Change the module")
    output = repo.release("check-bump", env=actions).stdout
    assert (
        "::warning title=Version not bumped::module code changed since v0.1.0 (main.go)" in output
    )
