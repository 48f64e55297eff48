#!/usr/bin/env python3
"""Release the module: module.json's ``version`` is its one version.

ThingsDB installs a module from a tag (``new_module(name, 'github.com/OWNER/REPO@vX.Y.Z')``)
and re-installs it only when the ``version`` in module.json changes. A release is therefore:
run the checks, bump that version (and the README's install lines), commit, tag ``v<version>``
and push. CI checks the pushed tag and creates the GitHub release; the Release workflow
(Actions tab) runs this same script and creates the release itself.

Commands (run from anywhere in the repository):

  python tools/release.py release 0.2.0             check, bump, commit, tag v0.2.0 and push,
                                                    from the default branch only
  python tools/release.py release 0.2.0 --no-push   the same, without pushing
  python tools/release.py check                     the checks a release runs first (CI runs
                                                    these: one list, so they cannot disagree)
  python tools/release.py check-tag v0.2.0          does the checked-out tag match module.json?
  python tools/release.py check-bump                warn when module code changed since the
                                                    last tag but the version did not

Errors are one line on stderr and a non-zero exit status (2 for a bad command line); inside
GitHub Actions, errors and warnings are workflow annotations instead. Standard library only;
Python 3.9+.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from manifest import VERSION  # ThingsDB's version rule, kept in one place

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "module.json"
README = "README.md"
TAG_PREFIX = "v"
# A module source on GitHub pinned to a tag, as new_module takes it (the version is checked
# apart, and may not run on into more digits or dots).
PINNED_SOURCE = re.compile(r"(github\.com/[\w.-]+/[\w.-]+@v)([0-9][0-9.]*)")


class ReleaseError(Exception):
    """A reason to stop; printed as one line."""


# --- output ----------------------------------------------------------------------------------


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def error(message: str) -> None:
    if in_github_actions():  # an annotation, shown in the log as well
        print(f"::error title=Release::{one_line(message)}", flush=True)
    else:
        print(f"release: error: {one_line(message)}", file=sys.stderr, flush=True)


def warning(title: str, message: str) -> None:
    if in_github_actions():
        print(f"::warning title={title}::{one_line(message)}", flush=True)
    else:
        print(f"release: warning: {one_line(message)}", file=sys.stderr, flush=True)


def say(message: str) -> None:
    print(message, flush=True)


# --- running commands ------------------------------------------------------------------------


def run(*command: str, capture: bool = True, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command in the repository root; a failure becomes a one-line ReleaseError."""
    try:
        result = subprocess.run(
            command,
            cwd=ROOT,
            text=True,
            # git prints files as they are (a module.json at an old tag need not be UTF-8)
            encoding="utf-8",
            errors="replace",
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.PIPE if capture else None,
            check=False,
        )
    except FileNotFoundError:
        raise ReleaseError(f"`{command[0]}` is not installed (or not on PATH)") from None
    if check and result.returncode != 0:
        detail = ""
        if capture:
            lines = [line for line in (result.stderr or result.stdout or "").splitlines() if line]
            detail = f": {lines[-1].strip()}" if lines else ""
        raise ReleaseError(f"`{' '.join(command)}` failed (exit {result.returncode}){detail}")
    return result


def git(*args: str, check: bool = True) -> str:
    return run("git", *args, check=check).stdout.strip()


def git_ok(*args: str) -> bool:
    return run("git", *args, check=False).returncode == 0


def ensure_repository() -> None:
    top = run("git", "rev-parse", "--show-toplevel", check=False)
    if top.returncode != 0:
        raise ReleaseError(f"{ROOT} is not a git repository (git init, commit, then release)")
    if Path(top.stdout.strip()).resolve() != ROOT:
        raise ReleaseError(f"{ROOT} is not the root of its git repository")
    if not git_ok("rev-parse", "-q", "--verify", "HEAD^{commit}"):
        raise ReleaseError("the repository has no commit yet; commit the module first")


def dirty_files(include_untracked: bool = True) -> list[str]:
    args = ["status", "--porcelain"]
    if not include_untracked:
        args.append("--untracked-files=no")
    output = run("git", *args).stdout  # not stripped: the status columns matter
    return [line[3:] for line in output.splitlines() if line.strip()]


def ensure_clean(include_untracked: bool = True) -> None:
    dirty = dirty_files(include_untracked)
    if dirty:
        shown = ", ".join(dirty[:3]) + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else "")
        raise ReleaseError(
            f"the work tree has uncommitted changes ({shown}); commit or stash them first"
        )


# --- versions and module.json ----------------------------------------------------------------


def parse_version(text: str, what: str = "version") -> tuple[int, int, int]:
    """A ThingsDB version as a comparable triple ("1.2" is 1.2.0)."""
    if text.startswith(TAG_PREFIX) and VERSION.fullmatch(text[len(TAG_PREFIX) :]):
        raise ReleaseError(f"{what} {text!r}: give the version without the v, like {text[1:]}")
    if not VERSION.fullmatch(text):
        raise ReleaseError(
            f"{what} {text!r} is not a ThingsDB version: 1 to 3 dot-separated groups of "
            "1 to 5 digits, like 0.2.0 (no v, no suffix)"
        )
    groups = [int(group) for group in text.split(".")]
    return tuple(groups + [0] * (3 - len(groups)))  # type: ignore[return-value]


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\n\r":
        pos += 1
    return pos


def find_version(text: str, name: str = MANIFEST) -> tuple[int, int, str]:
    """Where module.json's top-level ``version`` value is: (start, end, version text).

    Only that value is ever rewritten, so the file keeps its formatting, and a ``version``
    key nested elsewhere (say, a default argument) is left alone.
    """
    decoder = json.JSONDecoder()
    found: tuple[int, int, str] | None = None
    try:
        pos = _skip_space(text, 0)
        if text[pos] != "{":
            raise ValueError("not an object")
        pos = _skip_space(text, pos + 1)
        while text[pos] != "}":
            if text[pos] != '"':
                raise ValueError("expected a key")
            key, pos = json.decoder.scanstring(text, pos + 1)  # type: ignore[attr-defined]
            pos = _skip_space(text, pos)
            if text[pos] != ":":
                raise ValueError("expected ':'")
            start = _skip_space(text, pos + 1)
            value, pos = decoder.raw_decode(text, start)
            if key == "version":
                if found is not None:
                    raise ReleaseError(f"{name} has the key `version` twice; keep one")
                if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                    raise ReleaseError(f'{name}: `version` must be a string like "0.1.0"')
                found = (start, pos, value if isinstance(value, str) else text[start:pos])
            pos = _skip_space(text, pos)
            if text[pos] == ",":
                pos = _skip_space(text, pos + 1)
            elif text[pos] != "}":
                raise ValueError("expected ',' or '}'")
    except IndexError:
        raise ReleaseError(f"{name} is not valid JSON (it ends too early); fix it first") from None
    except ValueError as exc:
        raise ReleaseError(f"{name} is not valid JSON ({exc}); fix it first") from None
    except RecursionError:
        raise ReleaseError(f"{name} nests values too deeply to read; fix it first") from None
    if found is None:
        raise ReleaseError(f"{name} has no top-level `version`")
    return found


def read_manifest(text: str, name: str = MANIFEST) -> dict[str, Any]:
    try:
        manifest = json.loads(text)
    except ValueError as exc:
        raise ReleaseError(f"{name} is not valid JSON ({exc}); fix it first") from None
    except RecursionError:
        raise ReleaseError(f"{name} nests values too deeply to read; fix it first") from None
    if not isinstance(manifest, dict):
        raise ReleaseError(f"{name} must hold a JSON object")
    return manifest


def manifest_text() -> str:
    path = ROOT / MANIFEST
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ReleaseError(f"no {MANIFEST} in {ROOT}") from None
    except OSError as exc:
        raise ReleaseError(f"cannot read {MANIFEST}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ReleaseError(f"{MANIFEST} is not UTF-8") from None


def with_version(text: str, version: str) -> str:
    """module.json's text with only the top-level version value replaced."""
    start, end, _ = find_version(text)
    updated = text[:start] + json.dumps(version) + text[end:]
    expected = dict(read_manifest(text), version=version)
    if read_manifest(updated) != expected:  # never write anything but the version
        raise ReleaseError(f"could not change only the version in {MANIFEST}; edit it by hand")
    return updated


def with_install_lines(text: str, version: str) -> str:
    """The README with the sources pinned in its install lines (lines that call new_module)
    moved to the tag of ``version``. Other lines, such as a deploy_module example, stay."""

    def moved(match: re.Match) -> str:
        old = match.group(2).rstrip(".")  # a full stop ending a sentence
        if not VERSION.fullmatch(old):
            return match.group(0)
        return match.group(1) + version + match.group(2)[len(old) :]

    lines = text.splitlines(keepends=True)
    return "".join(
        PINNED_SOURCE.sub(moved, line) if "new_module(" in line else line for line in lines
    )


def write_version(text: str, version: str) -> None:
    """Write the new version into module.json and the README's install lines."""
    (ROOT / MANIFEST).write_bytes(with_version(text, version).encode("utf-8"))
    readme = ROOT / README
    try:
        old = readme.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError) as exc:
        raise ReleaseError(f"cannot read {README}: {exc}") from None
    new = with_install_lines(old, version)
    if new != old:
        readme.write_bytes(new.encode("utf-8"))


# --- release ---------------------------------------------------------------------------------


def current_branch() -> str | None:
    result = run("git", "symbolic-ref", "-q", "--short", "HEAD", check=False)
    return result.stdout.strip() or None


@dataclass
class Check:
    """One of the project's checks: what is typed, what runs, and what names a failure."""

    command: str  # as it is typed, and as messages name it
    argv: list[str]  # what runs: output that names failures more reliably
    judge: Callable[[subprocess.CompletedProcess], tuple[str, str]]  # (problem, log)
    # Reads module.json: a release runs it on the bumped one, even with --skip-checks.
    after_bump: bool = False


def first_lines(result: subprocess.CompletedProcess) -> tuple[str, str]:
    """A failure by exit status, named by the first lines of its output."""
    if result.returncode == 0:
        return "", ""
    output = (result.stdout + "\n" + result.stderr).strip()
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    missing = re.search(r"No module named '?([\w.]+)", output)
    if missing:
        return (
            f"{missing.group(1)} is not installed: python -m pip install -r requirements-dev.txt",
            output,
        )
    if not lines:
        return f"exit {result.returncode}", ""
    return listed_lines(lines, 3), output


def ruff_findings(result: subprocess.CompletedProcess) -> tuple[str, str]:
    """ruff check: the lines it reports (path:line:column: code message)."""
    if result.returncode == 0:
        return "", ""
    found = [line for line in result.stdout.splitlines() if re.match(r"\S.*:\d+:\d+: ", line)]
    if not found:
        return first_lines(result)
    return listed_lines(found, 3), result.stdout


def ruff_unformatted(result: subprocess.CompletedProcess) -> tuple[str, str]:
    """ruff format --check: the files it would reformat."""
    if result.returncode == 0:
        return "", ""
    # ruff 0.9 and newer point at each file (" --> main.py:3:1"); older ones list them
    files = re.findall(r"^ *--> (.+?):\d+:\d+$", result.stdout, re.MULTILINE)
    files += re.findall(r"^Would reformat: (.+)$", result.stdout, re.MULTILINE)
    if not files:
        return first_lines(result)
    return f"not ruff-formatted: {listed(files, 5)}; run ruff format .", ""


def failing_tests(result: subprocess.CompletedProcess) -> tuple[str, str]:
    """pytest (with -rfE): the tests that failed, and the files that did not even collect."""
    if result.returncode == 0:
        return "", ""
    failed = re.findall(r"^FAILED (\S+)", result.stdout, re.MULTILINE)
    errors = re.findall(r"^ERROR (\S+)", result.stdout, re.MULTILINE)
    problems = []
    if failed:
        problems.append(f"failing tests: {listed(failed, 5)}")
    if errors:
        problems.append(f"errors in: {listed(errors, 5)}")
    if not problems:
        return first_lines(result)
    return "; ".join(problems), result.stdout


def listed(items: list[str], limit: int) -> str:
    """Up to ``limit`` items, then how many more there are."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def listed_lines(lines: list[str], limit: int) -> str:
    shown = "; ".join(lines[:limit])
    return shown + (f"; and {len(lines) - limit} more lines" if len(lines) > limit else "")


def project_checks() -> list[Check]:
    """The project's checks, as CI runs them (``python tools/release.py check``): a release that
    fails one publishes nothing. Quick ones first; module.json's last, as a release bumps it."""
    python = sys.executable
    return [
        Check(
            "ruff check .",
            [python, "-m", "ruff", "check", "--no-cache", "--output-format=concise", "."],
            ruff_findings,
        ),
        Check(
            "ruff format --check .",
            [python, "-m", "ruff", "format", "--no-cache", "--check", "."],
            ruff_unformatted,
        ),
        Check(
            "python -m pytest",
            [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE"],
            failing_tests,
        ),
        Check(
            "python tools/manifest.py", [python, "tools/manifest.py"], first_lines, after_bump=True
        ),
    ]


class CheckFailed(ReleaseError):
    """A check failed; the message names what."""


def run_checks(checks: list[Check]) -> None:
    """Run the checks, stopping at the first failure after printing what it printed."""
    for check in checks:
        say(f"Checking: {check.command}")
        problem, log = check.judge(run(*check.argv, check=False))
        if problem:
            if log:
                print(log.rstrip("\n"), file=sys.stderr, flush=True)
            raise CheckFailed(f"`{check.command}` failed ({problem})")


def cmd_check() -> int:
    run_checks(project_checks())
    say("All checks passed.")
    return 0


def release_checks(checks: list[Check]) -> None:
    """Run checks for a release, which changes nothing (or undoes its changes) when one fails."""
    try:
        run_checks(checks)
    except CheckFailed as exc:
        raise ReleaseError(f"{exc}; nothing was changed") from None


def default_branch(remote: str | None) -> str:
    """The remote's default branch (its HEAD), else init.defaultBranch, else main."""
    if remote is not None:
        listed = run("git", "ls-remote", "--symref", remote, "HEAD", check=False)
        for line in listed.stdout.splitlines():
            if line.startswith("ref: refs/heads/") and line.endswith("\tHEAD"):
                return line[len("ref: refs/heads/") : -len("\tHEAD")]
        known = git("symbolic-ref", "-q", "--short", f"refs/remotes/{remote}/HEAD", check=False)
        if known:
            return known.partition("/")[2]
    return git("config", "init.defaultBranch", check=False) or "main"


def ensure_up_to_date(remote: str, branch: str) -> None:
    """Refuse when the remote branch has commits this one lacks (after fetching them)."""
    listed = run("git", "ls-remote", "--heads", remote, branch, check=False)
    if listed.returncode == 0 and not listed.stdout.strip():
        return  # the remote has no such branch yet: the release pushes it first
    fetched = run("git", "fetch", "-q", remote, branch, check=False)
    if fetched.returncode != 0:
        raise ReleaseError(f"cannot fetch {branch} from {remote}: {one_line(fetched.stderr)}")
    behind = git("rev-list", "--count", "HEAD..FETCH_HEAD")
    if behind != "0":
        raise ReleaseError(
            f"{branch} is {behind} commit(s) behind {remote}/{branch}: pull (and check) first"
        )


def cmd_release(version: str, push: bool, remote: str | None, checks: bool = True) -> int:
    ensure_repository()
    new = parse_version(version, "the new version")
    text = manifest_text()
    _, _, current = find_version(text)
    if not VERSION.fullmatch(current):
        raise ReleaseError(
            f"{MANIFEST}'s version {current!r} is not a ThingsDB version; fix it by hand first"
        )
    if new <= parse_version(current):
        raise ReleaseError(
            f"the new version {version} must be greater than the current {current} "
            "(ThingsDB re-installs a module only when the version changes)"
        )
    ensure_clean()
    tag = TAG_PREFIX + version
    if git_ok("rev-parse", "-q", "--verify", f"refs/tags/{tag}"):
        raise ReleaseError(f"the tag {tag} exists already")
    if not git_ok("var", "GIT_COMMITTER_IDENT"):
        raise ReleaseError("git does not know who you are: set user.name and user.email")
    branch = current_branch()
    if branch is None:
        raise ReleaseError("HEAD is detached: check out the default branch to release from")
    if remote is None:
        remote = git("config", f"branch.{branch}.remote", check=False) or "origin"
    has_remote = git_ok("remote", "get-url", remote)
    if push and not has_remote:
        raise ReleaseError(
            f"there is no git remote {remote!r} to push to (add one, or use --no-push)"
        )
    # ThingsDB installs from the tag itself: a tag on another branch is a release users get.
    main_branch = default_branch(remote if has_remote else None)
    if branch != main_branch:
        raise ReleaseError(
            f"releases are made from the default branch {main_branch}, not {branch}: "
            "merge it there first"
        )
    if has_remote:
        ensure_up_to_date(remote, branch)
    if checks:
        release_checks([check for check in project_checks() if not check.after_bump])

    before = git("rev-parse", "HEAD")
    try:
        write_version(text, version)
        release_checks([check for check in project_checks() if check.after_bump])
        git("add", "--", MANIFEST)
        if (ROOT / README).is_file():
            git("add", "--", README)
        git("commit", "-q", "-m", f"Release {tag}")
    except BaseException:
        restore_work_tree()
        raise
    try:
        git("tag", "-a", tag, "-m", f"Release {tag}")
    except BaseException:
        undo_release(before, tag)
        raise
    say(f"Committed and tagged {tag} ({git('rev-parse', '--short', 'HEAD')}).")

    if not push:
        say(f"Not pushed. To publish: git push --atomic {remote} {branch} {tag}")
        return 0
    refs = [f"HEAD:refs/heads/{branch}", f"refs/tags/{tag}"]
    result = run("git", "push", "--atomic", remote, *refs, check=False, capture=False)
    if result.returncode != 0:
        undo_release(before, tag)
        raise ReleaseError(
            f"the push to {remote} failed, so the release commit and the tag {tag} were undone "
            f"here; pull, check, and release again"
        )
    say(f"Pushed {branch} and {tag} to {remote}. CI checks the tag and creates the GitHub release.")
    return 0


def undo_release(before: str, tag: str) -> None:
    """Remove the release's tag and commit (the work tree was clean before the release)."""
    run("git", "tag", "-d", tag, check=False)
    run("git", "reset", "-q", "--hard", before, check=False)


def restore_work_tree() -> None:
    """Undo a release that stopped before its commit (the work tree was clean before)."""
    for path in (MANIFEST, README):
        run("git", "reset", "-q", "--", path, check=False)
        run("git", "checkout", "-q", "--", path, check=False)


# --- check-tag -------------------------------------------------------------------------------


def cmd_check_tag(tag: str) -> int:
    ensure_repository()
    tag = tag[len("refs/tags/") :] if tag.startswith("refs/tags/") else tag
    if not tag.startswith(TAG_PREFIX):
        raise ReleaseError(f"the tag {tag!r} is not a release tag: releases are tagged v<version>")
    version = tag[len(TAG_PREFIX) :]
    parse_version(version, f"the tag {tag}'s version")
    tagged = git("rev-parse", "-q", "--verify", f"refs/tags/{tag}^{{commit}}", check=False)
    if tagged and tagged != git("rev-parse", "HEAD"):
        raise ReleaseError(f"{tag} is not the checked-out commit: git checkout {tag} first")
    ensure_clean(include_untracked=False)
    text = manifest_text()
    _, _, current = find_version(text)
    if current != version:
        raise ReleaseError(
            f"the tag {tag} does not match {MANIFEST}'s version {current!r}: "
            f"tag the commit that sets the version to {version!r} (python tools/release.py "
            f"release {version})"
        )
    say(f"{tag} matches {MANIFEST}'s version.")
    return 0


# --- check-bump ------------------------------------------------------------------------------


def module_files(manifest: dict[str, Any], candidates: list[str]) -> list[str]:
    """The files among ``candidates`` that ThingsDB installs."""
    installed: set[str] = set()
    main = manifest.get("main")
    if isinstance(main, str):
        installed.add(main)
    elif isinstance(main, dict):
        installed.update(v for v in main.values() if isinstance(v, str))
    includes = manifest.get("includes")
    if isinstance(includes, list):
        installed.update(v for v in includes if isinstance(v, str))
    if isinstance(main, str) and main.endswith(".py") and "requirements" not in manifest:
        installed.add("requirements.txt")  # ThingsDB pip-installs it
    return [path for path in candidates if path in installed]


def last_tag() -> str | None:
    result = run(
        "git", "describe", "--tags", "--abbrev=0", "--match", "v[0-9]*", "HEAD", check=False
    )
    return result.stdout.strip() or None


def cmd_check_bump() -> int:
    ensure_repository()
    tag = last_tag()
    if tag is None:
        if git("rev-parse", "--is-shallow-repository") == "true":
            warning(
                "Version check",
                "a shallow clone has no tags to compare with: check out with fetch-depth: 0",
            )
        else:
            say("No release tag yet: nothing to compare the version with.")
        return 0
    text = manifest_text()
    manifest = read_manifest(text)
    _, _, current = find_version(text)
    old_text = run("git", "show", f"{tag}:{MANIFEST}", check=False).stdout
    old_manifest: dict[str, Any] = {}
    old_version = None
    if old_text:
        try:
            old_manifest = read_manifest(old_text, f"{MANIFEST} at {tag}")
            old_version = find_version(old_text, f"{MANIFEST} at {tag}")[2]
        except ReleaseError:
            old_manifest, old_version = {}, None
    if old_version is not None and current != old_version:
        say(f"{MANIFEST}'s version changed since {tag} ({old_version} -> {current}).")
        return 0
    changed = [p for p in git("diff", "--name-only", tag, "--").splitlines() if p]
    code = module_files(manifest, changed) + module_files(old_manifest, changed)
    code = sorted(set(code))
    if MANIFEST in changed and {k: v for k, v in manifest.items() if k != "version"} != {
        k: v for k, v in old_manifest.items() if k != "version"
    }:
        code.insert(0, MANIFEST)
    if not code:
        say(f"No module code changed since {tag}; the version {current} stays right.")
        return 0
    shown = ", ".join(code[:5]) + (f" and {len(code) - 5} more" if len(code) > 5 else "")
    warning(
        "Version not bumped",
        f"module code changed since {tag} ({shown}) but {MANIFEST}'s version is still "
        f"{current}: ThingsDB re-installs a module only when the version changes. Release "
        f"a new version (python tools/release.py release {suggest_next(current)}, or the "
        "Release workflow).",
    )
    return 0


def suggest_next(version: str) -> str:
    if not VERSION.fullmatch(version):
        return "X.Y.Z"
    groups = version.split(".")
    groups[-1] = str(min(int(groups[-1]) + 1, 99999))
    return ".".join(groups)


# --- command line ----------------------------------------------------------------------------


class ArgumentParser(argparse.ArgumentParser):
    """A bad command line is one line too (an annotation in GitHub Actions), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        error(f"{message} (python tools/release.py -h for help)")
        sys.exit(2)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(
        prog="python tools/release.py",
        description="Release the module: module.json's version is its one version.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    release = commands.add_parser(
        "release",
        help="run the checks, bump module.json's version (and the README's install lines), "
        "commit, tag v<version>, push",
    )
    release.add_argument("version", help="the new version, e.g. 0.2.0 (no v)")
    release.add_argument("--no-push", action="store_true", help="commit and tag, but do not push")
    release.add_argument(
        "--remote", help="the git remote to push to (default: the branch's remote, or origin)"
    )
    release.add_argument(
        "--skip-checks",
        action="store_true",
        help="run only the module.json check (for CI, which ran the others in an earlier step)",
    )
    commands.add_parser(
        "check",
        help="run the checks a release runs first: "
        + ", ".join(check.command for check in project_checks()),
    )
    check_tag = commands.add_parser(
        "check-tag", help="check that TAG matches module.json's version"
    )
    check_tag.add_argument("tag", help="the release tag, e.g. v0.2.0 (or refs/tags/v0.2.0)")
    commands.add_parser(
        "check-bump",
        help="warn when module code changed since the last tag but the version did not",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.command == "release":
            return cmd_release(
                args.version, push=not args.no_push, remote=args.remote, checks=not args.skip_checks
            )
        if args.command == "check":
            return cmd_check()
        if args.command == "check-tag":
            return cmd_check_tag(args.tag)
        return cmd_check_bump()
    except ReleaseError as exc:
        error(str(exc))
        return 1
    except KeyboardInterrupt:
        error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
