#!/usr/bin/env python3
"""This working tree as a module of a local ThingsDB node, re-installed on every save.

    python tools/dev.py                        # the node in a container (docker or podman)
    python tools/dev.py --server PATH          # or a ThingsDB server binary of this machine
    python tools/dev.py test [-- PYTEST ARGS]  # integration/ against such a node, then stop

ThingsDB installs a module from GitHub only, so the node is given a stand-in for
api.github.com in this process as its HTTPS proxy: it answers for github.com/OWNER/REPO with
the files of this folder as they are on disk (uncommitted changes included, any ref; no git
needed), and tunnels every other host untouched (pip reaches the package index through it).
The node trusts the stand-in through a throwaway CA (trustme) added to a copy of the system's
trust bundle, which is mounted over the system's for the node alone: in a user namespace of
its own (``unshare``, no root) or as a container volume.

ThingsDB skips a re-install whose version equals the installed one, so each re-install serves
module.json with the last number of its version raised once more (0.1.0, then 0.1.1, 0.1.2...);
nothing else of it changes, and the file on disk is never written.

The node (a fresh temporary home, user admin, password pass, client port on 127.0.0.1) and
everything else it starts end with Ctrl-C. Needs Python 3.10+ (python-thingsdb, the client)
and requirements-dev.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import hashlib
import json
import logging
import os
import re
import selectors
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import manifest  # ThingsDB's version rule, value syntax and main.py's description

{% if cookiecutter.module_name | py_string | length > 88 -%}
MODULE = {{ cookiecutter.module_name | py_string }}  # noqa: E501 (the module's name in ThingsDB)
{%- else -%}
MODULE = {{ cookiecutter.module_name | py_string }}
{%- endif %}
OWNER = {{ cookiecutter.github_owner | py_string }}
{% if cookiecutter.repo_name | py_string | length > 91 -%}
REPO = {{ cookiecutter.repo_name | py_string }}  # noqa: E501
{%- else -%}
REPO = {{ cookiecutter.repo_name | py_string }}
{%- endif %}
# The release the generated CI tests on first; the `full` image has Python for the modules.
IMAGE = "ghcr.io/thingsdb/node:full-v{{ thingsdb_releases[0] }}"
# new_module's configuration: the one the integration tests give.
CONFIGURATION: Any = {% if cookiecutter.needs_config %}{"prefix": ""}{% else %}None{% endif %}
{%- raw %}

ROOT = Path(__file__).resolve().parent.parent
SOURCE = f"github.com/{OWNER}/{REPO}@dev"
USER, PASSWORD = "admin", "pass"  # what `thingsdb --init` creates
SCOPE = "@:stuff"  # where the integration tests call the functions
API_HOST = "api.github.com"
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # what Debian's libcurl verifies with
INSTALL_TIMEOUT = 300  # a first install runs pip
START_TIMEOUT = 120
POLL = 0.1  # seconds between looks at the files
# While installing or starting these come and go; any other status is a failure.
PASSING_STATUSES = {"installing module...", "module not loaded", "stopping module...", "running"}
# What a call gets while the module is not running or not configured (operation_err), or
# when it exits before answering (cancelled_err).
NOT_ANSWERING = {-63, -64}
# Settings from outside that would take the node's downloads elsewhere or change its setup.
LEAKING = re.compile(r"(?i)(https?|ftp|all|no)_proxy|THINGSDB_.*|PYTHONPATH|PYTHONHOME")
LOG_LINE = re.compile(r"\[[DIWEC] \d{4}-")  # a line of ThingsDB's own log
# What the node logs when the stand-in leaves out an unchanged requirements.txt (StandIn).
REQUIREMENTS_LEFT_OUT = re.compile(r"failed downloading \S+/requirements\.txt\S* \(404\)")


class DevError(Exception):
    """A reason to stop, printed as one line; status is the exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def say(message: str) -> None:
    print(f"dev: {message}", flush=True)


def warn(message: str) -> None:
    print(f"dev: {message}", file=sys.stderr, flush=True)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


# --- the command line ------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise DevError(f"{message} (see --help)", 2)


def parse_args(argv: list[str]) -> argparse.Namespace:
    test = bool(argv) and argv[0] == "test"
    argv = argv[1:] if test else argv
    # Everything after `--` goes to pytest untouched.
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = _Parser(
        prog="python tools/dev.py" + (" test" if test else ""),
        description=(
            "Run integration/ against this working tree installed in a local ThingsDB node."
            if test
            else "Install this working tree in a local ThingsDB node; re-install on each save."
        ),
        epilog=None if test else "`python tools/dev.py test [-- pytest args]` runs integration/.",
    )
    parser.add_argument(
        "--server", metavar="PATH", help="a ThingsDB server binary, run on this machine"
    )
    parser.add_argument("--image", default=IMAGE, help=f"the container's image (default {IMAGE})")
    parser.add_argument("--port", type=int, default=9200, help="client port on 127.0.0.1 (9200)")
    parser.add_argument(
        "--python",
        metavar="PATH",
        help="with --server, the interpreter the node runs the module with (default: a fresh "
        "virtual environment; ThingsDB pip-installs requirements.txt into it)",
    )
    options = parser.parse_args(argv)
    options.test, options.pytest_args = test, extra
    if not 0 < options.port < 65536:
        raise DevError(f"--port {options.port} is not a port number", 2)
    return options


def needs() -> None:
    """What dev needs beyond the standard library, each missing one said in a line."""
    if sys.version_info < (3, 10):
        version = ".".join(map(str, sys.version_info[:3]))
        raise DevError(
            f"needs Python 3.10 or newer (python-thingsdb, its ThingsDB client); this is {version}"
        )
    for name, package in (("thingsdb", "python-thingsdb"), ("trustme", "trustme")):
        try:
            __import__(name)
        except ImportError:
            raise DevError(f"{package} is missing: pip install -r requirements-dev.txt") from None


# --- the stand-in for GitHub -----------------------------------------------------------------


def with_version(text: str, version: str) -> str:
    """module.json's text with its top-level version replaced, everything else as it is."""
    decoder = json.JSONDecoder()
    stack: list[str] = []
    expect_key = False
    i = 0
    try:
        while i < len(text):
            char = text[i]
            if char == '"':
                value, end = decoder.raw_decode(text, i)
                if len(stack) == 1 and expect_key and value == "version":
                    start = text.index(":", end) + 1
                    while text[start] in " \t\r\n":
                        start += 1
                    _, stop = decoder.raw_decode(text, start)
                    return text[:start] + json.dumps(version) + text[stop:]
                expect_key, i = False, end
                continue
            if char in "{[":
                stack.append(char)
                expect_key = char == "{"
            elif char in "}]":
                if stack:
                    stack.pop()
            elif char == ",":
                expect_key = stack[-1:] == ["{"]
            i += 1
    except (ValueError, IndexError):
        pass  # not JSON: served as it is, and ThingsDB says what is wrong with it
    return text


def raised(version: str, by: int) -> str:
    """version with its last number raised by ``by`` (0.1.0 by 2: 0.1.2)."""
    head, _, last = version.rpartition(".")
    return f"{head}{'.' if head else ''}{int(last) + by}"


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 (git's)


class StandIn:
    """api.github.com for github.com/OWNER/REPO, from the working tree, behind an HTTPS proxy."""

    def __init__(self, root: Path) -> None:
        import trustme

        self.root = root.resolve()
        self.version: str | None = None  # module.json's version as served; None: as on disk
        # requirements.txt as the node last pip-installed it. A re-install is not given it
        # again while it has not changed: ThingsDB then skips pip (seconds of each re-install),
        # and the interpreter keeps what the file gave it.
        self.requirements: bytes | None = None
        self.authority = trustme.CA(organization_name=f"timod dev {MODULE}")
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.set_alpn_protocols(["http/1.1"])  # what the handler speaks
        self.authority.issue_cert(API_HOST).configure_cert(self._tls)
        self._blobs: dict[str, Path] = {}  # sha -> file, from the folder listings served
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 120

            def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
                stand_in._get(self)

            def do_CONNECT(self) -> None:  # noqa: N802
                stand_in._connect(self)

            def log_message(self, *args: Any) -> None:
                pass  # the node logs what failed

        self._handler = Handler
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.address = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()

    def trust_bundle(self, path: Path) -> Path:
        """The system's trust bundle plus this stand-in's CA, written to path."""
        try:
            system = Path(SYSTEM_CA_BUNDLE).read_bytes()
        except OSError as exc:
            raise DevError(
                f"cannot read {SYSTEM_CA_BUNDLE} ({exc.strerror}), the trust bundle the node "
                "verifies TLS with (Debian package ca-certificates)"
            ) from None
        path.write_bytes(system.rstrip(b"\n") + b"\n" + self.authority.cert_pem.bytes())
        return path

    # --- the proxy ---

    def _connect(self, handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True  # what follows is no longer HTTP to this server
        host, _, port = handler.path.rpartition(":")
        if not host or not port.isdigit():
            handler.send_error(400, "CONNECT takes HOST:PORT")
            return
        if (host.lower(), port) == (API_HOST, "443"):
            self._answer_over_tls(handler)
            return
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=30)
        except OSError as exc:
            handler.send_error(502, f"cannot reach {host}:{port} ({exc})")
            return
        self._established(handler)
        self._relay(handler.connection, upstream)

    def _established(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response_only(200, "Connection established")
        handler.end_headers()
        handler.wfile.flush()

    def _answer_over_tls(self, handler: BaseHTTPRequestHandler) -> None:
        self._established(handler)
        try:
            connection = self._tls.wrap_socket(handler.connection, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that does not trust the CA; the node logs why
        with self._lock:
            self._sockets.add(connection)
        try:
            # The same handler, over TLS, until the client closes.
            self._handler(connection, handler.client_address, self._server)
        except (ssl.SSLError, OSError):
            pass
        finally:
            with self._lock:
                self._sockets.discard(connection)
            with contextlib.suppress(OSError):
                connection.close()

    def _relay(self, one: socket.socket, other: socket.socket) -> None:
        """Bytes both ways until both sides are done (or nothing moves for 5 minutes)."""
        with self._lock:
            self._sockets.update((one, other))
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(one, selectors.EVENT_READ, other)
                selector.register(other, selectors.EVENT_READ, one)
                open_sides = 2
                while open_sides:
                    events = selector.select(300)
                    if not events:
                        return
                    for key, _ in events:
                        try:
                            data = key.fileobj.recv(65536)
                            if data:
                                key.data.sendall(data)
                                continue
                        except OSError:
                            return
                        selector.unregister(key.fileobj)
                        open_sides -= 1
                        with contextlib.suppress(OSError):
                            key.data.shutdown(socket.SHUT_WR)
        finally:
            with self._lock:
                self._sockets.difference_update((one, other))
            for sock in (one, other):
                with contextlib.suppress(OSError):
                    sock.close()

    # --- the two GitHub endpoints ThingsDB downloads through ---

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(handler.path)
        raw = handler.headers.get("Accept") == "application/vnd.github.v3.raw"
        try:
            status, body = self._answer(urllib.parse.unquote(url.path), raw)
        except OSError:
            status, body = 404, None
        if body is None:
            body = json.dumps({"message": "Not Found"}).encode()
        elif not isinstance(body, bytes):
            body = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/octet-stream" if raw else "text/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _answer(self, path: str, raw: bool) -> tuple[int, Any]:
        parts = path.split("/")  # ['', 'repos', OWNER, REPO, 'contents', *PATH]
        if len(parts) < 6 or parts[1] != "repos":
            return 404, None
        if (parts[2].lower(), parts[3].lower()) != (OWNER.lower(), REPO.lower()):
            return 404, None
        if parts[4] == "contents":
            return self._contents([p for p in parts[5:] if p], raw)
        if parts[4:6] == ["git", "blobs"] and len(parts) == 7:
            with self._lock:
                file = self._blobs.get(parts[6])
            return (404, None) if file is None else (200, self._file(file, raw))
        return 404, None

    def _path(self, parts: list[str]) -> Path | None:
        if not parts or any(p in ("", ".", "..", ".git") for p in parts):
            return None
        path = self.root.joinpath(*parts)
        resolved = path.resolve()
        return path if resolved == self.root or self.root in resolved.parents else None

    def _contents(self, parts: list[str], raw: bool) -> tuple[int, Any]:
        path = self._path(parts)
        if path is None or not path.exists():
            return 404, None
        if path.is_file():
            if parts == ["requirements.txt"]:
                data = path.read_bytes()
                if self.version is not None and data == self.requirements:
                    return 404, None
                self.requirements = data
            return 200, self._file(path, raw)
        listing = []
        for entry in sorted(path.iterdir()):
            relative = entry.relative_to(self.root).as_posix()
            if entry.is_file():
                data = entry.read_bytes()
                sha = git_blob_sha(data)
                with self._lock:
                    self._blobs[sha] = entry
                listing.append(
                    {
                        "type": "file",
                        "name": entry.name,
                        "path": relative,
                        "sha": sha,
                        "size": len(data),
                    }
                )
            elif entry.is_dir() and entry.name != ".git":
                listing.append({"type": "dir", "name": entry.name, "path": relative, "size": 0})
        return 200, listing

    def _file(self, path: Path, raw: bool) -> Any:
        data = path.read_bytes()
        if path == self.root / "module.json" and self.version is not None:
            data = with_version(data.decode("utf-8", "replace"), self.version).encode()
        if raw:
            return data
        relative = path.relative_to(self.root).as_posix()
        return {
            "type": "file",
            "encoding": "base64",
            "name": path.name,
            "path": relative,
            "sha": git_blob_sha(data),
            "size": len(data),
            "content": base64.encodebytes(data).decode(),
        }


# --- the node --------------------------------------------------------------------------------

# In the node's user and mount namespace: the trust bundle over the system's, then the server.
BIND_AND_EXEC = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_port(port: int) -> None:
    with socket.socket() as sock:
        # As the server binds: a port left in TIME_WAIT is free, one listened on is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise DevError(
                f"port {port} on 127.0.0.1 is taken; choose another with --port N"
            ) from None


def about_module(line: str) -> bool:
    """Whether a line of the node's output is about this module: the server's lines naming it
    or its downloads, and the module's own (its logging, a traceback)."""
    if REQUIREMENTS_LEFT_OUT.search(line):
        return False
    return (
        f"`{MODULE}`" in line
        or f"/{OWNER}/{REPO}/" in line
        or not LOG_LINE.match(line)  # not the server's own log: a module's stderr
    )


class Node:
    """What both kinds of node share: their output, followed in a thread."""

    where = ""

    def __init__(self, port: int) -> None:
        self.port = port
        self.recent: collections.deque[str] = collections.deque(maxlen=100)
        self.show = False  # print the lines about the module as they come
        self._follower: threading.Thread | None = None

    def _follow(self, stream: Any) -> None:
        def follow() -> None:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip()
                if not line:
                    continue
                self.recent.append(line)
                if self.show and about_module(line):
                    print(f"node: {line}", flush=True)

        self._follower = threading.Thread(target=follow, daemon=True)
        self._follower.start()

    def _stopped_following(self) -> None:
        self.show = False
        if self._follower is not None:
            self._follower.join(5)

    def alive(self) -> bool:
        raise NotImplementedError

    def ready(self) -> None:
        """Wait for what the module's install needs besides the node."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def failure(self) -> str:
        """Why the node stopped, in a line, from its last words."""
        lines = list(self.recent)
        if any("already in use" in line for line in lines):
            return f"port {self.port} on 127.0.0.1 is taken; choose another with --port N"
        errors = [line for line in lines if line.startswith(("[E", "[C"))] or lines
        return "the node stopped: " + (one_line(errors[-1]) if errors else "without a word")


class LocalNode(Node):
    """The server binary, in a user and mount namespace of its own where the trust bundle
    with the stand-in's CA is the system's (no root needed, nothing changes outside)."""

    def __init__(
        self, binary: Path, port: int, python: str | None, home: Path, bundle: Path, proxy: str
    ) -> None:
        super().__init__(port)
        self.binary, self.home, self.bundle, self.proxy = binary, home, bundle, proxy
        self.python = python or str(home / "venv" / "bin" / "python")
        self.process: subprocess.Popen | None = None
        self.venv: subprocess.Popen | None = None
        self.fresh_python = python is None
        self.where = f"{binary} (on this machine)"

    def ready(self) -> None:
        if self.venv is None:
            return
        _, errors = self.venv.communicate()
        if self.venv.returncode != 0:
            lines = [line for line in errors.splitlines() if line.strip()]
            raise DevError(
                "cannot make a virtual environment for the node's Python ("
                + one_line(lines[-1] if lines else self.venv.returncode)
                + "); give one with --python"
            )

    def _isolated(self, command: list[str]) -> list[str]:
        return [
            *("unshare", "--map-root-user", "--mount"),
            *("sh", "-c", BIND_AND_EXEC, "sh", str(self.bundle), SYSTEM_CA_BUNDLE),
            *command,
        ]

    def check_isolation(self) -> None:
        if shutil.which("unshare") is None:
            raise DevError("unshare is missing (util-linux); or leave out --server (a container)")
        probe = subprocess.run(
            self._isolated(["true"]), capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        if probe.returncode != 0:
            raise DevError(
                "this machine refuses an unprivileged user namespace "
                f"({one_line(probe.stderr) or probe.returncode}), where the node would trust the "
                "stand-in for GitHub: allow them (sysctl "
                "kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu, "
                "user.max_user_namespaces above 0), or leave out --server (a container)"
            )

    def start(self) -> None:
        (self.home / "storage").mkdir(parents=True)
        (self.home / "modules").mkdir()
        if self.fresh_python:
            # Made while the node starts: ThingsDB pip-installs requirements.txt into the
            # interpreter it runs the module with, and the author's must stay untouched.
            self.venv = subprocess.Popen(
                [sys.executable, "-m", "venv", str(self.home / "venv")],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        config = self.home / "thingsdb.conf"
        config.write_text(
            "[thingsdb]\n"
            f"listen_client_port = {self.port}\n"
            "bind_client_addr = 127.0.0.1\n"
            f"listen_node_port = {free_port()}\n"
            "bind_node_addr = 127.0.0.1\n"
            "node_name = 127.0.0.1\n"
            "ip_support = IPV4ONLY\n"
            f"storage_path = {self.home / 'storage'}/\n"
            f"modules_path = {self.home / 'modules'}/\n"
            f"python_interpreter = {self.python}\n"
            # Nothing else of this machine is bound, and a stop waits for nothing.
            "http_status_port = 0\n"
            "http_api_port = 0\n"
            "ws_port = 0\n"
            "shutdown_period = 0\n",
            encoding="utf-8",
        )
        env = {name: value for name, value in os.environ.items() if not LEAKING.fullmatch(name)}
        env.update(https_proxy=self.proxy, PIP_DISABLE_PIP_VERSION_CHECK="1")
        command = [str(self.binary), "--init", "--config", str(config), "--log-level", "info"]
        self.process = subprocess.Popen(
            self._isolated(command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.home,
            # Its own process group, the modules and pip included: Ctrl-C reaches them only
            # through stop(), which ends the whole group.
            start_new_session=True,
        )
        self._follow(self.process.stdout)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.venv is not None and self.venv.poll() is None:
            self.venv.kill()
            self.venv.wait()
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(15)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever of the group is left
        self.process.wait()
        self._stopped_following()
        self.process.stdout.close()


class ContainerNode(Node):
    """The official image in a container on the host's network, the trust bundle a volume."""

    def __init__(self, engine: str, image: str, port: int, bundle: Path, proxy: str) -> None:
        super().__init__(port)
        self.engine, self.image, self.bundle, self.proxy = engine, image, bundle, proxy
        self.name = f"timod-dev-{MODULE}-{os.getpid()}"
        self.engine_name = Path(engine).name
        self.where = f"{image} in {self.engine_name} container {self.name}"
        self.created = False
        self.logs: subprocess.Popen | None = None

    def run_command(self) -> list[str]:
        variables = {
            "THINGSDB_LISTEN_CLIENT_PORT": str(self.port),
            "THINGSDB_BIND_CLIENT_ADDR": "127.0.0.1",
            # The image's other ports: the node port moved to a free one on 127.0.0.1, the
            # HTTP API, WebSocket and status ports off.
            "THINGSDB_LISTEN_NODE_PORT": str(free_port()),
            "THINGSDB_BIND_NODE_ADDR": "127.0.0.1",
            "THINGSDB_NODE_NAME": "127.0.0.1",
            "THINGSDB_IP_SUPPORT": "IPV4ONLY",
            "THINGSDB_HTTP_API_PORT": "0",
            "THINGSDB_WS_PORT": "0",
            "THINGSDB_HTTP_STATUS_PORT": "0",
            "THINGSDB_SHUTDOWN_PERIOD": "0",
            "https_proxy": self.proxy,
            # The image's Python is externally managed (PEP 668): without it ThingsDB's pip
            # install of requirements.txt is refused.
            "PIP_BREAK_SYSTEM_PACKAGES": "1",
        }
        return [
            *(self.engine, "run", "--rm", "-d", "--name", self.name, "--network", "host"),
            *(part for name, value in variables.items() for part in ("-e", f"{name}={value}")),
            *("-v", f"{self.bundle}:{SYSTEM_CA_BUNDLE}:ro"),
            *(self.image, "--init", "--log-level", "info"),
        ]

    def start(self) -> None:
        say(f"starting {self.image} with {self.engine_name} (the first time pulls it)")
        self.created = True  # from here on, stop() removes it, even if run is interrupted
        started = subprocess.run(
            self.run_command(), capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        if started.returncode != 0:
            # Its reason, without the engine's name and its closing pointer to --help.
            lines = [
                line.strip().removeprefix(f"{self.engine_name}: ")
                for line in started.stderr.splitlines()
                if line.strip() and "--help" not in line
            ]
            raise DevError(
                f"{self.engine_name} run failed: "
                + one_line(lines[-1] if lines else f"exit status {started.returncode}")
            )
        self.logs = subprocess.Popen(
            [self.engine, "logs", "-f", self.name],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._follow(self.logs.stdout)

    def alive(self) -> bool:
        # The log ends when the container does (--rm then removes it).
        return self.logs is not None and self.logs.poll() is None

    def stop(self) -> None:
        if self.created:
            stopped = subprocess.run(
                [self.engine, "stop", "-t", "10", self.name],
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=120,
            )
            if stopped.returncode != 0:
                subprocess.run(
                    [self.engine, "rm", "-f", self.name],
                    capture_output=True,
                    stdin=subprocess.DEVNULL,
                    timeout=120,
                )
        if self.logs is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.logs.wait(10)
            if self.logs.poll() is None:
                self.logs.kill()
                self.logs.wait()
            self._stopped_following()
            self.logs.stdout.close()


# --- talking to the node ---------------------------------------------------------------------


class ThingsDB:
    """python-thingsdb driven synchronously, on an event loop of its own."""

    def __init__(self, port: int) -> None:
        from thingsdb.client import Client

        self.loop = asyncio.new_event_loop()
        self.client = Client(auto_reconnect=False, loop=self.loop)
        try:
            self.run(self.client.connect("127.0.0.1", port, timeout=5), 10)
            self.run(self.client.authenticate(USER, PASSWORD, timeout=5), 10)
        except BaseException:
            self.close()
            raise

    def run(self, awaitable: Any, timeout: float = 60) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(awaitable, timeout))

    def query(self, code: str, scope: str = "@thingsdb", **variables: Any) -> Any:
        return self.run(self.client.query(code, scope=scope, **variables))

    def close(self) -> None:
        if self.loop.is_closed():
            return
        with contextlib.suppress(Exception):
            self.client.close()
            self.run(self.client.wait_closed(), 5)
        self.loop.close()


def connect(node: Node) -> ThingsDB:
    """A client of the node, once it answers."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if not node.alive():
            time.sleep(0.3)  # its last lines
            raise DevError(node.failure())
        try:
            return ThingsDB(node.port)
        except Exception:  # still starting
            if time.monotonic() > deadline:
                raise DevError(f"the node did not answer in {START_TIMEOUT} s") from None
        time.sleep(0.2)


def answers(db: ThingsDB) -> bool:
    """Whether the module answers a call (one naming no function gets its lookup_err)."""
    from thingsdb.exceptions import ThingsDBError

    try:
        db.query("future({module: name}).then(|reply| nil);", scope=SCOPE, name=MODULE)
    except ThingsDBError as error:
        return error.error_code not in NOT_ANSWERING
    return True


def wait_module(db: ThingsDB, version: str | None) -> str | None:
    """None once the module runs (at version, if given) and takes calls, else what went wrong."""
    deadline = time.monotonic() + INSTALL_TIMEOUT
    while True:
        info = db.query("module_info(name);", name=MODULE)
        status = info.get("status")
        if status == "running" and version in (None, str(info.get("version"))):
            if answers(db):
                return None
        elif status not in PASSING_STATUSES:
            return f"module {MODULE} is {status!r}"
        if time.monotonic() > deadline:
            return f"module {MODULE} is still {status!r} after {INSTALL_TIMEOUT} s"
        time.sleep(0.05)


# --- the working tree ------------------------------------------------------------------------


def read_manifest() -> dict[str, Any]:
    try:
        data = json.loads((ROOT / "module.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def watched_files(before: list[str]) -> list[str]:
    """What makes the module: module.json, main, includes and requirements.txt (those named
    before while module.json cannot be read)."""
    data = read_manifest()
    if not data:
        return before
    names = ["module.json"]
    main = data.get("main")
    names += [main] if isinstance(main, str) else []
    names += [v for v in main.values() if isinstance(v, str)] if isinstance(main, dict) else []
    includes = data.get("includes")
    names += [i for i in includes if isinstance(i, str)] if isinstance(includes, list) else []
    names.append("requirements.txt")
    return list(dict.fromkeys(names))


def snapshot(names: list[str]) -> dict[str, tuple[int, int] | None]:
    found: dict[str, tuple[int, int] | None] = {}
    for name in names:
        try:
            stat = (ROOT / name).stat()
            found[name] = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            found[name] = None
    return found


def ready_queries() -> list[str]:
    """A call of each function with its first example's arguments (one that answers, if any)."""
    try:
        described = manifest.describe_code(str(ROOT))
    except Exception as exc:  # a main.py that does not import: the install says more
        return [f"(main.py's examples cannot be read: {one_line(exc)})"]
    queries = []
    for function in described.get("functions", []):
        examples = function.get("examples") or []
        answering = [e for e in examples if e.get("error") is None] or examples
        args = answering[0]["args"] if answering else []
        call = ", ".join(manifest.thingsdb_value(a) for a in args)
        queries.append(f"{MODULE}.{function['name']}({call}).then(|r| r);")
    return queries


# --- dev -------------------------------------------------------------------------------------


def interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def make_node(options: argparse.Namespace, temp: Path, stand_in: StandIn) -> Node:
    bundle = stand_in.trust_bundle(temp / "ca-certificates.crt")
    if not options.server:
        if options.python:
            raise DevError("--python goes with --server (in a container, the image's runs it)", 2)
        engine = shutil.which("docker") or shutil.which("podman")
        if engine is None:
            raise DevError(
                "neither docker nor podman is on PATH: install one (the node runs in a "
                f"container of {options.image}), or give a ThingsDB server binary with "
                "--server PATH"
            )
        return ContainerNode(engine, options.image, options.port, bundle, stand_in.address)
    binary = Path(options.server).expanduser().absolute()
    if not binary.is_file():
        raise DevError(f"--server {options.server}: no such file")
    if not os.access(binary, os.X_OK):
        raise DevError(f"--server {options.server}: not executable")
    python = options.python
    if python:
        found = shutil.which(python)
        if found is None:
            raise DevError(f"--python {python}: no such interpreter")
        python = str(Path(found).absolute())
    node = LocalNode(binary, options.port, python, temp / "node", bundle, stand_in.address)
    node.check_isolation()
    return node


def dev(options: argparse.Namespace, cleanup: contextlib.ExitStack) -> int:
    needs()
    check_port(options.port)
    temp = Path(tempfile.mkdtemp(prefix="timod-dev-"))
    cleanup.callback(shutil.rmtree, temp, ignore_errors=True)
    stand_in = StandIn(ROOT)
    cleanup.callback(stand_in.close)
    node = make_node(options, temp, stand_in)
    cleanup.callback(node.stop)
    node.start()
    db = connect(node)
    cleanup.callback(db.close)
    say(f"ThingsDB at 127.0.0.1:{options.port}, user {USER}, password {PASSWORD}")
    say(f"running {node.where}")
    say(f"serving this folder as github.com/{OWNER}/{REPO} (any ref: the files on disk)")
    node.ready()
    if options.test:
        db.close()
        return run_tests(options)
    return watch(db, node, stand_in)


def run_tests(options: argparse.Namespace) -> int:
    env = {
        **os.environ,
        "TIMOD_ADDRESS": f"127.0.0.1:{options.port}",
        "TIMOD_SOURCE": SOURCE,
        "TIMOD_USER": USER,
        "TIMOD_PASSWORD": PASSWORD,
    }
    command = [sys.executable, "-m", "pytest", "integration", *options.pytest_args]
    say(f"TIMOD_SOURCE={SOURCE} {' '.join(command[2:])}")
    return subprocess.run(command, cwd=ROOT, env=env).returncode


def install(db: ThingsDB, node: Node) -> None:
    node.show = True
    say(f"installing {MODULE} from {SOURCE} (its requirements take a while the first time)")
    started = time.monotonic()
    if CONFIGURATION is None:
        db.query("new_module(name, source);", name=MODULE, source=SOURCE)
    else:
        db.query("new_module(name, source, conf);", name=MODULE, source=SOURCE, conf=CONFIGURATION)
    problem = wait_module(db, None)
    if problem is not None:
        time.sleep(0.3)  # the node's last lines about it come first
        raise DevError(f"the install failed: {problem} (the node's lines about it are above)")
    version = db.query("module_info(name);", name=MODULE).get("version")
    say(f"installed {MODULE} {version} in {time.monotonic() - started:.1f} s")


def watch(db: ThingsDB, node: Node, stand_in: StandIn) -> int:
    install(db, node)
    for query in ready_queries():
        say(f"try in {SCOPE}: {query}")
    names = watched_files(["module.json", "requirements.txt"])
    say(f"watching {', '.join(names)}: a save re-installs; Ctrl-C stops")
    installed = str(db.query("module_info(name);", name=MODULE).get("version"))
    last = snapshot(names)
    reinstalls = 0
    while True:
        time.sleep(POLL)
        if not node.alive():
            time.sleep(0.3)
            raise DevError(node.failure())
        names = watched_files(names)
        now = snapshot(names)
        if now == last:
            continue
        while True:  # until the files hold still: an editor may write in steps
            time.sleep(POLL)
            names = watched_files(names)
            again = snapshot(names)
            if again == now:
                break
            now = again
        changed = sorted(name for name in set(now) | set(last) if now.get(name) != last.get(name))
        last = now
        what = ", ".join(changed)
        try:
            text = (ROOT / "module.json").read_text(encoding="utf-8")
            problem = manifest.check_manifest(text, manifest.host_platform_key())
        except (OSError, ValueError) as exc:
            problem = str(exc)
        if problem is not None:
            # ThingsDB would keep the module.json it has and restart the module as it was.
            warn(f"{what} changed: module.json is refused ({problem}); still watching")
            continue
        on_disk = str(read_manifest().get("version", ""))
        version = None
        if manifest.VERSION.fullmatch(on_disk):
            reinstalls += 1
            version = raised(on_disk, reinstalls)
            while version == installed:
                reinstalls += 1
                version = raised(on_disk, reinstalls)
        stand_in.version = version
        started = time.monotonic()
        problem = refresh(db, version)
        if problem is None:
            installed = version or installed
            say(f"{what} changed: re-installed in {time.monotonic() - started:.1f} s")
        else:
            stand_in.requirements = None  # the next install pip-installs it again
            time.sleep(0.3)  # the node's last lines about it come first
            warn(f"{what} changed: the install failed: {problem}; still watching")


def refresh(db: ThingsDB, version: str | None) -> str | None:
    from thingsdb.exceptions import ThingsDBError

    try:
        db.query("refresh_module(name);", name=MODULE)
    except ThingsDBError as error:
        return one_line(error)
    return wait_module(db, version)


def main(argv: list[str] | None = None) -> int:
    # python-thingsdb logs a lost connection on the root logger: at the end, that is expected.
    logging.getLogger().addHandler(logging.NullHandler())
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    test = False
    try:
        with contextlib.ExitStack() as cleanup:
            try:
                options = parse_args(sys.argv[1:] if argv is None else argv)
                test = options.test
                return dev(options, cleanup)
            finally:
                # Nothing interrupts the cleanup: every process started here is ended.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
    except KeyboardInterrupt:
        say("stopped")
        return 130 if test else 0
    except DevError as exc:
        warn(str(exc))
        return exc.status
    except Exception as exc:  # a lost node, a bug: one line, not a traceback
        warn(f"{type(exc).__name__}: {one_line(exc)}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
{%- endraw %}
