"""The real ThingsDB server for the template's tests: built from source, started on loopback.

Settings (environment variables):

- ``THINGSDB_SOURCE``: a path or URL of ThingsDB's source archive (GitHub's layout: one
  top-level folder). Default: GitHub's archive of the pinned release tag. When it is unset and
  that archive cannot be downloaded (no network), the tests that need the server are skipped
  with the reason; when it is set, any failure to get or build it fails them.
- ``THINGSDB_BUILD_CACHE``: where built servers are kept. Default: a folder per user in the
  system's temporary directory. Not the home directory (the suite writes nothing there) and not
  the pytest cache (that lives in the checkout, and a clean clone must not rebuild what the
  machine already built). The temporary directory belongs to this machine, which is what
  ``-march=native`` (upstream's compiler flag) requires of a cached binary; the cache key also
  holds the CPU's identity in case the folder is set to something shared.

The test build differs from the stock server in one place: ``src/ti/mod/github.c`` takes the
GitHub API base from the environment variable ``TI_TEST_GITHUB_API`` (stock
``https://api.github.com`` when unset), so each server can be pointed at a loopback fake whose
port is chosen when it starts (a fixed port would collide between parallel test workers).
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

THINGSDB_VERSION = "1.9.2"
DEFAULT_SOURCE = (
    f"https://github.com/thingsdb/ThingsDB/archive/refs/tags/v{THINGSDB_VERSION}.tar.gz"
)
GITHUB_API_VARIABLE = "TI_TEST_GITHUB_API"
# What the build needs on Debian (.ci/run installs them).
BUILD_PACKAGES = (
    "build-essential cmake libuv1-dev libpcre2-dev libyajl-dev libcurl4-openssl-dev libssl-dev"
)
ADMIN_USER = ("admin", "pass")  # what `thingsdb --init` creates

# Changes to the patch below must change the cache key: bump this.
PATCH_REVISION = "github-api-from-env-1"
_GITHUB_API_BASE_FUNCTION = f"""
/* Test build: the GitHub API base is read from ${GITHUB_API_VARIABLE} (loopback fakes). */
static const char * gh__api_base(void)
{{
    const char * base = getenv("{GITHUB_API_VARIABLE}");
    return base && *base ? base : "https://api.github.com";
}}
"""


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


def source_archive() -> Path:
    """The source archive named by THINGSDB_SOURCE (downloaded once into the cache if a URL)."""
    setting = os.environ.get("THINGSDB_SOURCE", "")
    source = setting or DEFAULT_SOURCE
    if "://" not in source:
        path = Path(source).expanduser().resolve()
        if not path.is_file():
            raise FileNotFoundError(f"THINGSDB_SOURCE={setting!r}: no such file ({path})")
        return path
    downloads = cache_root() / "downloads"
    target = downloads / (hashlib.sha256(source.encode()).hexdigest()[:24] + ".tar.gz")
    with _locked(downloads / ".lock"):
        if not target.is_file():
            partial = target.with_suffix(f".partial-{os.getpid()}")
            try:
                with (
                    urllib.request.urlopen(source, timeout=60) as response,
                    partial.open("wb") as out,
                ):
                    shutil.copyfileobj(response, out)
            except (urllib.error.URLError, OSError) as exc:
                partial.unlink(missing_ok=True)
                if not setting:
                    raise ServerUnavailable(
                        f"THINGSDB_SOURCE is not set and {source} cannot be downloaded ({exc}); "
                        "set THINGSDB_SOURCE to a ThingsDB source archive (path or URL)"
                    ) from exc
                raise
            partial.replace(target)
    return target


def _patch_github_api_base(source_dir: Path) -> None:
    """Make the two GitHub URL formats take their base from the environment."""
    github_c = source_dir / "src" / "ti" / "mod" / "github.c"
    text = github_c.read_text(encoding="utf-8")
    for macro in ("GH__API", "GH__API_BLOB"):
        pattern = rf'(#define {macro} )"https://api\.github\.com(/repos/)'
        text, count = re.subn(pattern, r'\1"%s\2', text)
        if count != 1:
            raise RuntimeError(
                f"{github_c}: cannot patch {macro} (this source is laid out differently)"
            )
    # Every asprintf with those formats gets the base as its first value.
    text, count = re.subn(
        r"(GH__API(?:_BLOB)?(?:_REF)?,)(\s*)(gh->owner)", r"\1\2gh__api_base(), \3", text
    )
    if count != 4:
        raise RuntimeError(f"{github_c}: expected 4 URL formats in use, found {count}")
    anchor = "static const char * gh__str"
    if anchor not in text:
        raise RuntimeError(f"{github_c}: cannot place the base function")
    text = text.replace(anchor, _GITHUB_API_BASE_FUNCTION + "\n" + anchor, 1)
    github_c.write_text(text, encoding="utf-8")


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


@dataclass
class ServerBuild:
    binary: Path
    seconds: float  # 0 when the cached build was reused
    cache_dir: Path


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
    """Build the server in a thread while other tests run (conftest calls this when tests
    marked thingsdb are selected); build_server() then waits for it through the cache lock."""
    global _background_build
    if _background_build is None:

        def build() -> None:
            # Failures are reported (or skips decided) by the fixture's own build_server().
            with contextlib.suppress(Exception):
                build_server(background=True)

        _background_build = threading.Thread(target=build, name="thingsdb-build", daemon=True)
        _background_build.start()


_background_build: threading.Thread | None = None


def build_server(*, background: bool = False) -> ServerBuild:
    """Build the test server for THINGSDB_SOURCE on this machine, or reuse the cached build."""
    archive = source_archive()
    key = hashlib.sha256(
        f"{_sha256(archive)} {PATCH_REVISION} {_machine_identity()}".encode()
    ).hexdigest()[:20]
    entry = cache_root() / "builds" / key
    binary = entry / "thingsdb"
    with _locked(cache_root() / "builds" / f"{key}.lock"):
        if binary.is_file():
            return ServerBuild(binary, 0.0, entry)
        for stale in entry.parent.glob(f"{key}.building-*"):  # a build that was interrupted
            shutil.rmtree(stale, ignore_errors=True)
        started = time.monotonic()
        work = Path(tempfile.mkdtemp(prefix=f"{key}.building-", dir=entry.parent))
        try:
            source_dir = _extract(archive, work)
            _patch_github_api_base(source_dir)
            log = work / "build.log"
            jobs = str(os.cpu_count() or 2)
            with log.open("w") as out:
                for command in (
                    ["cmake", "-DCMAKE_BUILD_TYPE=Release", "."],
                    ["make", f"-j{jobs}"],
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
            staged = work / "result"
            staged.mkdir()
            shutil.copy2(source_dir / "thingsdb", staged / "thingsdb")
            (staged / "source.txt").write_text(f"{archive}\n{PATCH_REVISION}\n", encoding="utf-8")
            staged.replace(entry)
            return ServerBuild(binary, time.monotonic() - started, entry)
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
    github_api: str
    extra_env: dict[str, str] = field(default_factory=dict)
    log_level: str = "debug"  # the tests wait for lines of the debug log
    process: subprocess.Popen | None = None
    client_port: int = 0
    _clients: list[Client] = field(default_factory=list)
    survivors: list[int] = field(default_factory=list)  # modules still running after stop()

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
        # THINGSDB_* variables override the configuration file: none may leak in from outside.
        env = {k: v for k, v in os.environ.items() if not k.startswith("THINGSDB_")}
        env.update({GITHUB_API_VARIABLE: self.github_api, **self.extra_env})
        for attempt in range(3):  # a port taken between choosing and binding: choose again
            config = self._write_config()
            log = self.log_path.open("a")
            self.process = subprocess.Popen(
                [
                    str(self.binary),
                    "--init",
                    "--config",
                    str(config),
                    "--log-level",
                    self.log_level,
                ],
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
                if (
                    f"start listening for client connections on TCP port {self.client_port}"
                    in self.log()
                ):
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


def require_server() -> ServerBuild:
    """The server build, or a skip when it cannot be had here and that is allowed."""
    try:
        return build_server()
    except ServerUnavailable as exc:
        pytest.skip(str(exc))
