"""A loopback stand-in for the two GitHub REST endpoints ThingsDB installs modules through.

ThingsDB (src/ti/mod/github.c) downloads every module file with

- ``GET /repos/OWNER/REPO/contents/PATH[?ref=REF]``: ``Accept: application/vnd.github.v3.raw``
  for a file's bytes, ``application/vnd.github.v3+json`` for a folder's listing (it lists
  ``bin/`` to find a binary's blob sha);
- ``GET /repos/OWNER/REPO/git/blobs/SHA[?ref=REF]`` (raw) for files under ``bin/``, ``blob/``
  and ``blobs/``;

with ``Authorization: token TOKEN`` when the source names a token. This fake serves real git
repositories, so a ref is whatever git resolves (a tag, a branch, a commit) and the default
branch is HEAD, as on GitHub. A repository registered with a token answers 404 to a request
without it, as GitHub does for a private repository. Every request is recorded for the tests.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from conftest import GIT_ENV as TEST_GIT_ENV

# git on its own: no user or system configuration, a fixed identity (the suite's own).
GIT_ENV = {**os.environ, **TEST_GIT_ENV}

RAW = "application/vnd.github.v3.raw"


def git(repository: Path, *args: str, binary: bool = False) -> str | bytes:
    result = subprocess.run(
        ["git", *args], cwd=repository, env=GIT_ENV, capture_output=True, check=True
    )
    return result.stdout if binary else result.stdout.decode()


def commit_all(repository: Path, message: str, *, branch: str = "main") -> str:
    """Commit the folder's files (a git repository on ``branch`` is made the first time)."""
    if not (repository / ".git").exists():
        git(repository, "init", "-q", "-b", branch)
    git(repository, "add", "-A")
    git(repository, "commit", "-q", "--allow-empty", "-m", message)
    return git(repository, "rev-parse", "HEAD").strip()


def release(project: Path, version: str) -> str:
    """Commit a baked project as its release command would and tag v<version>; a Go project
    (one with go.mod) gets its bin/ built first. Returns the commit."""
    if (project / "go.mod").is_file():
        built = subprocess.run(
            ["go", "run", "./tools/build"], cwd=project, capture_output=True, text=True, timeout=600
        )
        if built.returncode != 0:
            raise RuntimeError(f"go run ./tools/build failed:\n{built.stdout}{built.stderr}")
    commit = commit_all(project, f"Release {version}")
    git(project, "tag", f"v{version}")
    return commit


@dataclass
class Recorded:
    """One request as the fake received it."""

    path: str
    query: dict[str, list[str]]
    authorization: str | None
    accept: str | None
    status: int = 0


@dataclass
class _Repository:
    path: Path
    token: str | None


class FakeGitHub:
    """``with FakeGitHub() as github: github.serve('owner', 'repo', path)``; ``github.api`` is the
    base URL to give the server."""

    def __init__(self) -> None:
        self._repositories: dict[tuple[str, str], _Repository] = {}
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
                fake._handle(self)

            def log_message(self, *args: object) -> None:  # the recorded requests suffice
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.api = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def serve(self, owner: str, repo: str, repository: Path, token: str | None = None) -> None:
        """Serve a git repository as github.com/OWNER/REPO (private when a token is given)."""
        self._repositories[(owner, repo)] = _Repository(repository, token)

    def requests_for(self, owner: str, repo: str) -> list[Recorded]:
        prefix = f"/repos/{owner}/{repo}/"
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    # --- answering ---

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(handler.path)
        recorded = Recorded(
            path=urllib.parse.unquote(url.path),
            query=urllib.parse.parse_qs(url.query),
            authorization=handler.headers.get("Authorization"),
            accept=handler.headers.get("Accept"),
        )
        status, content_type, body = self._answer(recorded)
        recorded.status = status
        with self._lock:
            self.requests.append(recorded)
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _answer(self, request: Recorded) -> tuple[int, str, bytes]:
        parts = request.path.split("/")
        # ['', 'repos', OWNER, REPO, 'contents', *PATH] or [..., 'git', 'blobs', SHA]
        if len(parts) < 6 or parts[1] != "repos":
            return _not_found()
        repository = self._repositories.get((parts[2], parts[3]))
        if repository is None:
            return _not_found()
        if repository.token is not None and request.authorization != f"token {repository.token}":
            return _not_found()  # GitHub does not reveal that a private repository exists
        refs = request.query.get("ref", ["HEAD"])
        commit = _resolve(repository.path, refs[0])
        if commit is None:
            return (
                404,
                "application/json",
                _json({"message": f"No commit found for the ref {refs[0]}"}),
            )
        raw = request.accept == RAW
        if parts[4] == "contents":
            return _contents(repository.path, commit, "/".join(parts[5:]), raw)
        if parts[4:6] == ["git", "blobs"] and len(parts) == 7:
            return _blob(repository.path, parts[6], raw)
        return _not_found()


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def _not_found() -> tuple[int, str, bytes]:
    return 404, "application/json", _json({"message": "Not Found"})


def _resolve(repository: Path, ref: str) -> str | None:
    try:
        out = git(
            repository, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"
        )
    except subprocess.CalledProcessError:
        return None
    return out.strip()


def _tree_entries(repository: Path, commit: str, path: str) -> list[tuple[str, str, str, str]]:
    """``git ls-tree`` rows as (type, sha, size, path)."""
    out = git(repository, "ls-tree", "-l", "-z", commit, "--", path)
    rows = []
    for line in filter(None, out.split("\0")):
        meta, name = line.split("\t", 1)
        _mode, kind, sha, size = meta.split()
        rows.append((kind, sha, size, name))
    return rows


def _contents(repository: Path, commit: str, path: str, raw: bool) -> tuple[int, str, bytes]:
    path = path.strip("/")
    entries = _tree_entries(repository, commit, path) if path else []
    if len(entries) != 1 or entries[0][3] != path:
        return _not_found()
    kind, sha, _size, _name = entries[0]
    if kind == "tree":
        listing = [
            {
                "type": "file" if row_kind == "blob" else "dir",
                "name": row_path.rsplit("/", 1)[-1],
                "path": row_path,
                "sha": row_sha,
                "size": int(row_size) if row_size.isdigit() else 0,
            }
            for row_kind, row_sha, row_size, row_path in _tree_entries(
                repository, commit, path + "/"
            )
        ]
        return 200, "application/json", _json(listing)
    data = git(repository, "cat-file", "blob", sha, binary=True)
    if raw:
        return 200, RAW, data
    return (
        200,
        "application/json",
        _json(
            {
                "type": "file",
                "encoding": "base64",
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "sha": sha,
                "size": len(data),
                "content": base64.encodebytes(data).decode(),
            }
        ),
    )


def _blob(repository: Path, sha: str, raw: bool) -> tuple[int, str, bytes]:
    if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", sha):  # an object name, never an option
        return _not_found()
    try:
        if git(repository, "cat-file", "-t", sha).strip() != "blob":
            return _not_found()
        data = git(repository, "cat-file", "blob", sha, binary=True)
    except subprocess.CalledProcessError:
        return _not_found()
    if raw:
        return 200, RAW, data
    content = base64.encodebytes(data).decode()
    return (
        200,
        "application/json",
        _json({"sha": sha, "size": len(data), "encoding": "base64", "content": content}),
    )
