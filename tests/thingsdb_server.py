"""The real ThingsDB server for the template's tests: built from source as released, started
on loopback.

Settings (environment variables):

- ``THINGSDB_VERSIONS``: the releases to test, comma-separated (``1.9.2,1.8.8``); the first is
  the one every test runs on, the others run the tests where the release matters (conftest.py).
  Each one's source is ``ThingsDB-<version>.tar.gz`` in ``THINGSDB_SOURCE_DIR``, else GitHub's
  archive of its tag. Default: every ``ThingsDB-<version>.tar.gz`` in ``THINGSDB_SOURCE_DIR``
  (newest first), else the pinned release from GitHub.
- ``THINGSDB_SOURCE_DIR``: a folder of source archives named as GitHub names them. Default:
  ``shared/thingsdb/server/`` beside the checkout, when it is there.
- ``THINGSDB_SOURCE``: one source archive (a path or URL; GitHub's layout: one top-level
  folder) instead of the above; not together with ``THINGSDB_VERSIONS``.
- ``THINGSDB_BUILD_CACHE``: where built servers are kept. Default: a folder per user in the
  system's temporary directory. Not the home directory (the suite writes nothing there) and not
  the pytest cache (that lives in the checkout, and a clean clone must not rebuild what the
  machine already built). The temporary directory belongs to this machine, which is what
  ``-march=native`` (upstream's compiler flag) requires of a cached binary; the cache key also
  holds the CPU's identity in case the folder is set to something shared.

When no archive is at hand, no setting names a release and GitHub's archive cannot be
downloaded (no network), the tests that need the server are skipped with the reason; otherwise
any failure to get or build a server fails them. On a machine without unprivileged user
namespaces (below) they are skipped, saying so.

The server is built exactly as released: not one source file is changed (the build checks the
tree it compiled against the archive). It reaches the stand-in for GitHub (fake_github.py) the
way any unmodified server can be made to: libcurl honours ``https_proxy``, and the stand-in's
throwaway CA is added to the trust bundle libcurl reads, bind-mounted over the system's in a
user namespace of the server's own (``unshare -rm``: no root needed, nothing changes outside).

start_cluster() makes several such nodes one cluster on loopback, as an operator would: the
first with ``--init``, the others with ``--secret``, joined with ``new_node()``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import fcntl
import hashlib
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

THINGSDB_VERSION = "1.9.2"  # the pinned release: fetched from GitHub when no archive is at hand
GITHUB_ARCHIVE = "https://github.com/thingsdb/ThingsDB/archive/refs/tags/v{version}.tar.gz"
DEFAULT_SOURCE = GITHUB_ARCHIVE.format(version=THINGSDB_VERSION)
# Where the archives are kept beside a checkout (this repository's machines have no GitHub).
SHARED_SOURCE_DIR = Path(__file__).resolve().parents[2] / "shared" / "thingsdb" / "server"
ARCHIVE_NAME = re.compile(r"ThingsDB-(\d+(?:\.\d+)+)\.tar\.gz")
# What the build needs on Debian (.ci/run installs them).
BUILD_PACKAGES = (
    "build-essential cmake libuv1-dev libpcre2-dev libyajl-dev libcurl4-openssl-dev libssl-dev"
)
ADMIN_USER = ("admin", "pass")  # what `thingsdb --init` creates
# The bundle Debian's libcurl verifies TLS with (curl-config --ca); the stand-in's CA is added
# over it for the server's processes only.
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

# Changes to how the server is built must change the cache key: bump this.
BUILD_RECIPE = "as-released-1"


class ServerUnavailable(Exception):
    """The server cannot be had here, for a reason that allows skipping (see module doc)."""


def cache_root() -> Path:
    configured = os.environ.get("THINGSDB_BUILD_CACHE")
    if configured:
        return Path(configured).expanduser().resolve()
    return Path(tempfile.gettempdir()) / f"thingsdb-module-template-{os.getuid()}"


def _machine_identity() -> str:
    """What a ``-march=native`` binary depends on: the architecture and the CPU's features."""
    parts = [platform.system(), platform.machine()]
    with contextlib.suppress(OSError):
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        parts += sorted(
            {line for line in cpuinfo.splitlines() if line.startswith(("flags", "model name"))}
        )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock between processes (parallel test workers build only once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# --- which servers ---


@dataclass(frozen=True)
class Source:
    """Where one release's source comes from."""

    version: str  # as named by the settings or the archive's file name ("source" if neither)
    location: str  # a path or URL
    named: bool  # by a setting: a failure to get it fails the tests instead of skipping them


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def sources() -> list[Source]:
    """The releases under test, the first being the one every test runs on (module doc)."""
    single = os.environ.get("THINGSDB_SOURCE", "")
    listed = [v.strip().lstrip("v") for v in os.environ.get("THINGSDB_VERSIONS", "").split(",")]
    listed = [v for v in listed if v]
    folder_setting = os.environ.get("THINGSDB_SOURCE_DIR", "")
    folder = Path(folder_setting).expanduser().resolve() if folder_setting else SHARED_SOURCE_DIR
    if single:
        if listed:
            raise ValueError("set THINGSDB_SOURCE or THINGSDB_VERSIONS, not both")
        named = ARCHIVE_NAME.search(single) or re.search(r"/v(\d+(?:\.\d+)+)\.tar\.gz$", single)
        return [Source(named.group(1) if named else "source", single, True)]
    if folder_setting and not folder.is_dir():
        raise ValueError(f"THINGSDB_SOURCE_DIR={folder_setting!r}: no such folder")
    if listed:
        found = []
        for version in dict.fromkeys(listed):
            archive = folder / f"ThingsDB-{version}.tar.gz"
            if archive.is_file():
                found.append(Source(version, str(archive), True))
            elif folder_setting:
                raise ValueError(f"THINGSDB_VERSIONS names {version}: {archive} is missing")
            else:
                found.append(Source(version, GITHUB_ARCHIVE.format(version=version), True))
        return found
    archives = {
        match.group(1): path
        for path in (folder.glob("ThingsDB-*.tar.gz") if folder.is_dir() else [])
        if (match := ARCHIVE_NAME.fullmatch(path.name))
    }
    if not archives:
        if folder_setting:
            raise ValueError(f"THINGSDB_SOURCE_DIR={folder_setting!r} holds no ThingsDB-*.tar.gz")
        return [Source(THINGSDB_VERSION, DEFAULT_SOURCE, False)]
    return [
        Source(version, str(archives[version]), True)
        for version in sorted(archives, key=_version_key, reverse=True)
    ]


def versions() -> list[str]:
    """The releases under test, as the ids of the tests that run on each."""
    return [source.version for source in sources()]


_selected: list[str] = []  # the release a fixture is being set up for (conftest.py)


@contextlib.contextmanager
def selecting(version: str) -> Iterator[None]:
    """Within it, build_server() and require_server() without a version mean this one."""
    _selected.append(version)
    try:
        yield
    finally:
        _selected.pop()


def _source_for(version: str | None) -> Source:
    known = sources()
    version = version or (_selected[-1] if _selected else known[0].version)
    for source in known:
        if source.version == version:
            return source
    raise ValueError(f"ThingsDB {version} is not among the releases under test: {versions()}")


def source_archive(version: str | None = None) -> Path:
    """A release's source archive (downloaded once into the cache if a URL)."""
    source = _source_for(version)
    if "://" not in source.location:
        path = Path(source.location).expanduser().resolve()
        if not path.is_file():
            raise FileNotFoundError(f"{source.location!r}: no such file ({path})")
        return path
    downloads = cache_root() / "downloads"
    target = downloads / (hashlib.sha256(source.location.encode()).hexdigest()[:24] + ".tar.gz")
    with _locked(downloads / ".lock"):
        if not target.is_file():
            partial = target.with_suffix(f".partial-{os.getpid()}")
            try:
                with (
                    urllib.request.urlopen(source.location, timeout=60) as response,
                    partial.open("wb") as out,
                ):
                    shutil.copyfileobj(response, out)
            except (urllib.error.URLError, OSError) as exc:
                partial.unlink(missing_ok=True)
                if not source.named:
                    raise ServerUnavailable(
                        f"no ThingsDB source is set and {source.location} cannot be downloaded "
                        f"({exc}); set THINGSDB_SOURCE_DIR (a folder of ThingsDB-<version>.tar.gz) "
                        "or THINGSDB_SOURCE (one archive, a path or URL)"
                    ) from exc
                raise
            partial.replace(target)
    return target


# --- building ---


def _archive_files(archive: Path) -> Iterator[tuple[str, bytes]]:
    """(path below the top folder, content or link target) of every file of the archive."""
    with tarfile.open(archive) as tar:
        for member in tar:
            name = member.name.split("/", 1)[1] if "/" in member.name else ""
            if not name:
                continue
            if member.issym():
                yield name, b"-> " + member.linkname.encode()
            elif member.isfile():
                yield name, tar.extractfile(member).read()


def _tree_digest(files: Iterator[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    for name, content in sorted(
        (name, hashlib.sha256(content).hexdigest()) for name, content in files
    ):
        digest.update(f"{content}  {name}\n".encode())
    return digest.hexdigest()


def archive_tree_digest(archive: Path) -> str:
    """The digest of the source files as the archive holds them."""
    return _tree_digest(_archive_files(archive))


def _directory_files(root: Path, names: list[str]) -> Iterator[tuple[str, bytes]]:
    for name in names:
        path = root / name
        yield (
            name,
            (b"-> " + os.readlink(path).encode()) if path.is_symlink() else path.read_bytes(),
        )


def _extract(archive: Path, into: Path) -> Path:
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(into, filter="data")
        else:  # Python without extraction filters; the archive is the one the user named
            tar.extractall(into)  # noqa: S202
    top = [p for p in into.iterdir() if p.is_dir()]
    if len(top) != 1 or not (top[0] / "CMakeLists.txt").is_file():
        raise RuntimeError(
            f"{archive} is not a ThingsDB source archive (one folder with CMakeLists.txt)"
        )
    return top[0]


def _source_version(source_dir: Path) -> str:
    header = (source_dir / "inc" / "ti" / "version.h").read_text(encoding="utf-8")
    parts = [
        re.search(rf"#define TI_VERSION_{part} (\d+)", header)
        for part in ("MAJOR", "MINOR", "PATCH")
    ]
    return ".".join(match.group(1) for match in parts) if all(parts) else "unknown"


@dataclass
class ServerBuild:
    binary: Path
    seconds: float  # 0 when the cached build was reused
    cache_dir: Path
    version: str = ""  # as the source's inc/ti/version.h gives it
    archive_sha256: str = ""
    source_tree: str = ""  # archive_tree_digest() of the tree that was compiled


_build_steps: set[subprocess.Popen] = set()  # running cmake/make, ended if the run ends first


def _run_build_step(command: list[str], cwd: Path, out: Any, background: bool) -> Any:
    # In the background the build yields the CPU to the tests running meanwhile.
    niceness = (lambda: os.nice(10)) if background else None
    step = subprocess.Popen(
        command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, preexec_fn=niceness
    )
    _build_steps.add(step)
    try:
        step.wait()
    finally:
        _build_steps.discard(step)
    return step


@atexit.register
def _end_build_steps() -> None:
    for step in list(_build_steps):
        step.kill()


def start_background_build() -> None:
    """Build the servers in a thread while other tests run (conftest calls this when tests
    marked thingsdb are selected); build_server() then waits for it through the cache lock."""
    global _background_build
    if _background_build is None:

        def build() -> None:
            # Failures are reported (or skips decided) by the fixtures' own build_server().
            with contextlib.suppress(Exception):
                for version in versions():  # the one every test needs first
                    build_server(version, background=True)

        _background_build = threading.Thread(target=build, name="thingsdb-build", daemon=True)
        _background_build.start()


_background_build: threading.Thread | None = None


def _read_build(entry: Path, seconds: float) -> ServerBuild:
    fields = dict(
        line.split("=", 1)
        for line in (entry / "source.txt").read_text(encoding="utf-8").splitlines()
        if "=" in line
    )
    return ServerBuild(
        entry / "thingsdb",
        seconds,
        entry,
        fields.get("version", ""),
        fields.get("archive_sha256", ""),
        fields.get("source_tree", ""),
    )


def build_server(version: str | None = None, *, background: bool = False) -> ServerBuild:
    """Build a release (default: the one selected, else the first under test) on this machine
    exactly as released, or reuse the cached build."""
    archive = source_archive(version)
    archive_sha256 = _sha256(archive)
    key = hashlib.sha256(
        f"{archive_sha256} {BUILD_RECIPE} {_machine_identity()}".encode()
    ).hexdigest()[:20]
    entry = cache_root() / "builds" / key
    with _locked(cache_root() / "builds" / f"{key}.lock"):
        if (entry / "thingsdb").is_file():
            return _read_build(entry, 0.0)
        for stale in entry.parent.glob(f"{key}.building-*"):  # a build that was interrupted
            shutil.rmtree(stale, ignore_errors=True)
        started = time.monotonic()
        work = Path(tempfile.mkdtemp(prefix=f"{key}.building-", dir=entry.parent))
        try:
            source_dir = _extract(archive, work)
            names = [name for name, _ in _archive_files(archive)]
            source_tree = archive_tree_digest(archive)
            log = work / "build.log"
            jobs = str(os.cpu_count() or 2)
            with log.open("w") as out:
                for command in (
                    ["cmake", "-DCMAKE_BUILD_TYPE=Release", "."],
                    # The server alone: not the test programs of the bundled libwebsockets.
                    ["make", f"-j{jobs}", "thingsdb"],
                ):
                    try:
                        done = _run_build_step(command, source_dir, out, background)
                    except FileNotFoundError as exc:
                        raise RuntimeError(
                            f"{command[0]} is missing; building ThingsDB needs {BUILD_PACKAGES}"
                        ) from exc
                    if done.returncode != 0:
                        tail = log.read_text(errors="replace")[-4000:]
                        raise RuntimeError(f"{' '.join(command)} failed building ThingsDB:\n{tail}")
            # What was compiled is the release, file for file (nothing patched it on the way).
            if _tree_digest(_directory_files(source_dir, names)) != source_tree:
                raise RuntimeError(f"the source tree of {archive} changed while it was built")
            staged = work / "result"
            staged.mkdir()
            shutil.copy2(source_dir / "thingsdb", staged / "thingsdb")
            (staged / "source.txt").write_text(
                f"archive={archive}\n"
                f"archive_sha256={archive_sha256}\n"
                f"version={_source_version(source_dir)}\n"
                f"source_tree={source_tree}\n"
                f"build={BUILD_RECIPE}\n",
                encoding="utf-8",
            )
            staged.replace(entry)
            return _read_build(entry, time.monotonic() - started)
        finally:
            shutil.rmtree(work, ignore_errors=True)


# --- a node ---


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is pid (ThingsDB's modules are its children)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # The command name (2nd field) may hold spaces and parentheses: split after it.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                children.append(int(stat.parent.name))
    return children


def process_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --- how the server sees GitHub ---

# Proxy settings from outside would take the server's downloads elsewhere (no_proxy around the
# stand-in): the server gets only its own.
_PROXY_VARIABLE = re.compile(r"(?i)(https?|ftp|all|no)_proxy")
_BIND_AND_EXEC = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
_isolation_problem: list[str | None] = []


def isolation_problem() -> str | None:
    """Why this machine cannot give the server a trust bundle of its own, or None when it can."""
    if not _isolation_problem:
        # The bundle over itself: the same mount the server's start makes, with nothing added.
        probe = isolated_command(["true"], Path(SYSTEM_CA_BUNDLE))
        if not Path(SYSTEM_CA_BUNDLE).is_file():
            problem = f"{SYSTEM_CA_BUNDLE} is missing (Debian package ca-certificates)"
        elif shutil.which("unshare") is None:
            problem = "unshare is missing (Debian package util-linux)"
        else:
            done = subprocess.run(probe, capture_output=True, text=True, check=False)
            problem = (
                None
                if done.returncode == 0
                else (
                    "the ThingsDB server runs in a user namespace of its own (unshare -rm) to "
                    "trust the GitHub stand-in's CA, and this machine refuses one "
                    f"({done.stderr.strip() or done.returncode}); allow unprivileged user "
                    "namespaces (sysctl kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu, "
                    "user.max_user_namespaces > 0)"
                )
            )
        _isolation_problem.append(problem)
    return _isolation_problem[0]


def isolated_command(command: list[str], ca_bundle: Path) -> list[str]:
    """command in a user and mount namespace of its own, where ca_bundle is mounted over the
    system's trust bundle: that process and its children trust what the bundle holds, nothing
    else on the machine changes, and no root is needed (the namespace's root is the user)."""
    return [
        "unshare",
        "--map-root-user",
        "--mount",
        *("sh", "-c", _BIND_AND_EXEC, "sh", str(ca_bundle), SYSTEM_CA_BUNDLE),
        *command,
    ]


_ca_bundle: list[Path] = []


def stand_in_ca_bundle() -> Path:
    """The system's trust bundle plus this process's CA of the GitHub stand-in (fake_github.py),
    written once per process (removed when it ends)."""
    # Imported late: fake_github needs the tests' conftest, and only a started node needs it.
    from fake_github import certificate_authority

    if not _ca_bundle:
        folder = Path(tempfile.mkdtemp(prefix="thingsdb-stand-in-ca-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        bundle = folder / "ca-certificates.crt"
        system = Path(SYSTEM_CA_BUNDLE).read_bytes()
        bundle.write_bytes(system.rstrip(b"\n") + b"\n" + certificate_authority().cert_pem.bytes())
        _ca_bundle.append(bundle)
    return _ca_bundle[0]


def server_env(github_api: str, extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a server runs with: every download through the stand-in at github_api,
    which answers for api.github.com and tunnels other hosts (pip's) untouched."""
    env = {
        name: value
        for name, value in os.environ.items()
        # THINGSDB_* variables override the configuration file: none may leak in from outside.
        if not name.startswith("THINGSDB_") and not _PROXY_VARIABLE.fullmatch(name)
    }
    if github_api:
        env["https_proxy"] = github_api
    env.update(extra_env or {})
    return env


class Client:
    """python-thingsdb driven synchronously, one event loop per client."""

    def __init__(self, port: int):
        from thingsdb.client import Client as AsyncClient  # imported late: optional elsewhere

        self._loop = asyncio.new_event_loop()
        self._client = AsyncClient(auto_reconnect=False, loop=self._loop)
        self._run(self._client.connect("127.0.0.1", port, timeout=10))
        self._run(self._client.authenticate(*ADMIN_USER, timeout=10))

    def _run(self, awaitable: Any, timeout: float = 60) -> Any:
        return self._loop.run_until_complete(asyncio.wait_for(awaitable, timeout))

    def query(
        self, code: str, scope: str = "@:stuff", timeout: float = 60, **variables: Any
    ) -> Any:
        return self._run(self._client.query(code, scope=scope, **variables), timeout)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._client.close()
            self._run(self._client.wait_closed(), 10)
        self._loop.close()


@dataclass
class Node:
    """One ThingsDB node on 127.0.0.1 with its own storage, modules folder and log."""

    binary: Path
    home: Path
    python_interpreter: str
    # The GitHub stand-in's address (FakeGitHub.api): the server's https_proxy.
    github_api: str
    extra_env: dict[str, str] = field(default_factory=dict)
    log_level: str = "debug"  # the tests wait for lines of the debug log
    process: subprocess.Popen | None = None
    client_port: int = 0
    _clients: list[Client] = field(default_factory=list)
    survivors: list[int] = field(default_factory=list)  # modules still running after stop()
    # The trust bundle the server's processes see; default: the system's plus the stand-in's CA.
    ca_bundle: Path | None = None
    # Set: the node starts empty with this one-time secret and waits to be joined to a cluster
    # (``--secret``) instead of starting one of its own (``--init``); see start_cluster().
    secret: str = ""
    node_port: int = 0  # where other nodes reach it (chosen at start, like client_port)

    @property
    def modules_path(self) -> Path:
        return self.home / "modules"

    @property
    def log_path(self) -> Path:
        return self.home / "thingsdb.log"

    def log(self) -> str:
        return (
            self.log_path.read_text(encoding="utf-8", errors="replace")
            if self.log_path.exists()
            else ""
        )

    def _write_config(self) -> Path:
        self.client_port, node_port = free_port(), free_port()
        self.node_port = node_port
        config = self.home / "thingsdb.conf"
        config.write_text(
            "[thingsdb]\n"
            f"listen_client_port = {self.client_port}\n"
            "bind_client_addr = 127.0.0.1\n"
            f"listen_node_port = {node_port}\n"
            "bind_node_addr = 127.0.0.1\n"
            "node_name = 127.0.0.1\n"
            "ip_support = IPV4ONLY\n"
            f"storage_path = {self.home / 'storage'}/\n"
            f"modules_path = {self.modules_path}/\n"
            f"python_interpreter = {self.python_interpreter}\n"
            # Nothing to wait for: the tests stop a node when they are done with it.
            "shutdown_period = 0\n",
            encoding="utf-8",
        )
        return config

    def start(self, timeout: float = 30) -> None:
        (self.home / "storage").mkdir(parents=True, exist_ok=True)
        self.modules_path.mkdir(exist_ok=True)
        env = server_env(self.github_api, self.extra_env)
        ca_bundle = self.ca_bundle or stand_in_ca_bundle()
        for attempt in range(3):  # a port taken between choosing and binding: choose again
            config = self._write_config()
            log = self.log_path.open("a")
            # unshare and sh exec: the process is the server itself (its pid, its children).
            self.process = subprocess.Popen(
                isolated_command(
                    [
                        str(self.binary),
                        *(("--secret", self.secret) if self.secret else ("--init",)),
                        "--config",
                        str(config),
                        "--log-level",
                        self.log_level,
                    ],
                    ca_bundle,
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.home,
                start_new_session=True,  # a Ctrl-C of the test run reaches it only through stop()
            )
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.process.poll() is None:
                if self._listening() in self.log():
                    break
                time.sleep(0.05)
            else:
                if (
                    self.process.poll() is not None
                    and attempt < 2
                    and "already in use" in self.log()
                ):
                    shutil.rmtree(self.home / "storage")
                    (self.home / "storage").mkdir()
                    continue
                self.stop()
                raise RuntimeError(f"ThingsDB did not start; its log:\n{self.log()[-6000:]}")
            return

    def _listening(self) -> str:
        """The log line that says the node has started: one waiting to join a cluster listens
        only for nodes until it has been joined (then for clients too)."""
        if self.secret:
            return f"start listening for node connections on TCP port {self.node_port}"
        return f"start listening for client connections on TCP port {self.client_port}"

    def client(self) -> Client:
        deadline = time.monotonic() + 20
        while True:
            try:
                client = Client(self.client_port)
                break
            except Exception:  # noqa: BLE001 (the node may still be loading; its log says why)
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self._clients.append(client)
        return client

    def module_pids(self) -> list[int]:
        return child_pids(self.process.pid) if self.process else []

    def module_pid(self, name: str, wait: float = 0) -> int:
        """The pid of a module's process (the node's child that runs from the module's folder)."""
        folder = str(self.modules_path / name)
        deadline = time.monotonic() + wait
        while True:
            for pid in self.module_pids():
                with contextlib.suppress(OSError):  # a process that just ended
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                    if any(part.decode(errors="replace").startswith(folder) for part in cmdline):
                        return pid
            if time.monotonic() > deadline:
                raise AssertionError(f"no process of module {name} among {self.module_pids()}")
            time.sleep(0.1)

    def stop(self, timeout: float = 20) -> int | None:
        """Stop the node as an operator does (SIGTERM); kill it if it hangs. Returns its status."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        if self.process is None:
            return None
        if self.process.poll() is None:
            modules = self.module_pids()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            # A module ThingsDB left behind would outlive the test run: note it, then end it.
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and any(map(process_alive, modules)):
                time.sleep(0.05)
            self.survivors = [pid for pid in modules if process_alive(pid)]
            for pid in self.survivors:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        return self.process.returncode


def require_server(version: str | None = None) -> ServerBuild:
    """The server build (as build_server()), or a skip when it cannot be had or run here and
    that is allowed."""
    problem = isolation_problem()
    if problem:
        pytest.skip(problem)
    try:
        return build_server(version)
    except ServerUnavailable as exc:
        pytest.skip(str(exc))


# --- a cluster ---

CLUSTER_SECRET = "template-tests-join"  # the one-time secret the joining nodes start with


def nodes_info(client: Client) -> list[dict[str, Any]]:
    """Every node of the cluster as the node behind client knows it (``nodes_info()``)."""
    return client.query("nodes_info();", scope="@node")


def wait_cluster_ready(client: Client, count: int, timeout: float = 120) -> None:
    """Wait until the node behind client knows count nodes and sees each one READY."""
    deadline = time.monotonic() + timeout
    while True:
        info = nodes_info(client)
        if len(info) == count and all(node.get("status") == "READY" for node in info):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the cluster is not ready: {info}")
        time.sleep(0.2)


def start_cluster(nodes: list[Node], timeout: float = 120) -> None:
    """Start unstarted nodes as one cluster on loopback, as an operator grows one: the first
    starts a ThingsDB of its own (``--init``), each other one starts empty with a one-time
    secret (``--secret``) and is joined with ``new_node(secret, address, port)`` in @thingsdb.
    A node is joined only when every node before it is READY: ThingsDB refuses to add one while
    another is still connecting or synchronising. Stopping them stays with the caller."""
    first, *others = nodes
    first.start()
    client = first.client()
    wait_cluster_ready(client, 1, timeout)
    for count, node in enumerate(others, start=2):
        node.secret = node.secret or CLUSTER_SECRET
        node.start()
        client.query(
            f"new_node({node.secret!r}, '127.0.0.1', {node.node_port});", scope="@thingsdb"
        )
        # Joined, it takes the cluster's data, then listens for clients.
        deadline = time.monotonic() + timeout
        listening = f"start listening for client connections on TCP port {node.client_port}"
        while listening not in node.log():
            if node.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"node {count} did not join; its log:\n{node.log()[-6000:]}")
            time.sleep(0.1)
        wait_cluster_ready(client, count, timeout)
    for node in others:  # each node sees the whole cluster, not only the first
        wait_cluster_ready(node.client(), len(nodes), timeout)
