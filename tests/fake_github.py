"""A local stand-in for api.github.com, the host ThingsDB installs modules from.

The server is the one users run, unmodified, so the stand-in is reached as any server can be
made to reach it: it is the server's HTTPS proxy (``https_proxy``, which libcurl honours).
A ``CONNECT api.github.com:443`` is answered with TLS under a certificate from a throwaway CA
of this process (trustme), which the server trusts through the bundle thingsdb_server.py
mounts over the system's; behind it, the two GitHub REST endpoints ThingsDB downloads through
(src/ti/mod/github.c):

- ``GET /repos/OWNER/REPO/contents/PATH[?ref=REF]``: ``Accept: application/vnd.github.v3.raw``
  for a file's bytes, ``application/vnd.github.v3+json`` for a folder's listing (it lists
  ``bin/`` to find a binary's blob sha);
- ``GET /repos/OWNER/REPO/git/blobs/SHA[?ref=REF]`` (raw) for files under ``bin/``, ``blob/``
  and ``blobs/``;

with ``Authorization: token TOKEN`` when the source names a token. Every other ``CONNECT`` is
tunnelled to its host untouched: the server's children inherit the proxy (the pip that installs
a Python module's requirements goes through it to the package index). The same endpoints also
answer plain HTTP requests to the stand-in's own address.

This stand-in serves real git repositories, so a ref is whatever git resolves (a tag, a branch,
a commit) and the default branch is HEAD, as on GitHub. A repository registered with a token
answers 404 to a request without it, as GitHub does for a private repository. Every request is
recorded for the tests, and every host tunnelled to.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import selectors
import socket
import ssl
import subprocess
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme
from conftest import GIT_ENV as TEST_GIT_ENV

# git on its own: no user or system configuration, a fixed identity (the suite's own).
GIT_ENV = {**os.environ, **TEST_GIT_ENV}

RAW = "application/vnd.github.v3.raw"
API_HOST = "api.github.com"

_trust_lock = threading.Lock()
_authority: list[trustme.CA] = []
_api_tls: list[ssl.SSLContext] = []


def certificate_authority() -> trustme.CA:
    """This process's throwaway CA: it signs the stand-in's certificate for api.github.com."""
    with _trust_lock:
        if not _authority:
            _authority.append(trustme.CA(organization_name="ThingsDB module template tests"))
        return _authority[0]


def _api_tls_context() -> ssl.SSLContext:
    authority = certificate_authority()
    with _trust_lock:
        if not _api_tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            # HTTP/1.1 only (no h2): what the handler speaks.
            context.set_alpn_protocols(["http/1.1"])
            authority.issue_cert(API_HOST).configure_cert(context)
            _api_tls.append(context)
        return _api_tls[0]


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
    """One request as the stand-in received it."""

    path: str
    query: dict[str, list[str]]
    authorization: str | None
    accept: str | None
    status: int = 0
    secure: bool = False  # over TLS, as api.github.com (else plain HTTP to the stand-in)


@dataclass
class _Repository:
    path: Path
    token: str | None


class FakeGitHub:
    """``with FakeGitHub() as github: github.serve('owner', 'repo', path)``; ``github.api`` is the
    stand-in's address, to give the server as its HTTPS proxy (``Node(github_api=github.api)``)."""

    def __init__(self) -> None:
        self._repositories: dict[tuple[str, str], _Repository] = {}
        self.requests: list[Recorded] = []
        self.tunnels: list[str] = []  # HOST:PORT of every CONNECT tunnelled untouched
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()  # open connections, closed at the end
        self._tls = _api_tls_context()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # every answer has a length: connections are kept
            timeout = 120  # an idle connection ends

            def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
                fake._handle(self)

            def do_CONNECT(self) -> None:  # noqa: N802
                fake._connect(self)

            def log_message(self, *args: object) -> None:  # the recorded requests suffice
                pass

        self._handler = Handler
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
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()
            self._sockets.clear()

    def serve(self, owner: str, repo: str, repository: Path, token: str | None = None) -> None:
        """Serve a git repository as github.com/OWNER/REPO (private when a token is given)."""
        self._repositories[(owner, repo)] = _Repository(repository, token)

    def requests_for(self, owner: str, repo: str) -> list[Recorded]:
        prefix = f"/repos/{owner}/{repo}/"
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    # --- the proxy ---

    def _connect(self, handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True  # what follows the CONNECT is no longer HTTP to us
        host, _, port = handler.path.rpartition(":")
        if not host or not port.isdigit():
            handler.send_error(400, "CONNECT takes HOST:PORT")
            return
        if (host.lower(), port) == (API_HOST, "443"):
            self._answer_as_github(handler)
        else:
            self._tunnel(handler, host.strip("[]"), int(port))

    def _established(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response_only(200, "Connection established")
        handler.end_headers()
        handler.wfile.flush()

    def _answer_as_github(self, handler: BaseHTTPRequestHandler) -> None:
        self._established(handler)
        try:
            connection = self._tls.wrap_socket(handler.connection, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that does not trust the CA gives up here; it says why
        with self._lock:
            self._sockets.add(connection)
        try:
            # The same handler, over TLS: it serves the client's requests until it closes.
            self._handler(connection, handler.client_address, self._server)
        except (ssl.SSLError, OSError):
            pass
        finally:
            with self._lock:
                self._sockets.discard(connection)
            with contextlib.suppress(OSError):
                connection.close()

    def _tunnel(self, handler: BaseHTTPRequestHandler, host: str, port: int) -> None:
        try:
            upstream = socket.create_connection((host, port), timeout=30)
        except OSError as exc:
            handler.send_error(502, f"cannot reach {host}:{port} ({exc})")
            return
        with self._lock:
            self.tunnels.append(f"{host}:{port}")
            self._sockets.update((upstream, handler.connection))
        try:
            self._established(handler)
            _relay(handler.connection, upstream)
        finally:
            with self._lock:
                self._sockets.difference_update((upstream, handler.connection))
            upstream.close()

    # --- answering ---

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(handler.path)
        recorded = Recorded(
            path=urllib.parse.unquote(url.path),
            query=urllib.parse.parse_qs(url.query),
            authorization=handler.headers.get("Authorization"),
            accept=handler.headers.get("Accept"),
            secure=isinstance(handler.connection, ssl.SSLSocket),
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


def _relay(one: socket.socket, other: socket.socket, idle: float = 300) -> None:
    """Pass bytes both ways until both sides have finished sending (or nothing moves for idle
    seconds); a side that finishes has its peer's sending half shut, as TCP would."""
    for sock in (one, other):
        sock.settimeout(60)  # for sendall: the select below says when there is something to read
    with selectors.DefaultSelector() as selector:
        selector.register(one, selectors.EVENT_READ, other)
        selector.register(other, selectors.EVENT_READ, one)
        sending = 2
        while sending:
            events = selector.select(idle)
            if not events:
                return
            for key, _ in events:
                source, target = key.fileobj, key.data
                try:
                    data = source.recv(1 << 16)
                    if data:
                        target.sendall(data)
                        continue
                except OSError:
                    return
                selector.unregister(source)
                sending -= 1
                with contextlib.suppress(OSError):
                    target.shutdown(socket.SHUT_WR)


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
