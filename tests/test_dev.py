"""`dev`, both flavours: the working tree of a baked project in a local ThingsDB node.

Python: ``python tools/dev.py``, Go: ``go run ./tools/dev``; the same cases for each. The node
is the suite's server build (the release, unmodified) run with ``--server``, or, for the
container path, tests/data/docker/docker: a stub of the docker command that records its
arguments and runs that same server as the image would run (its settings, the ``-e``
variables, the volume mounted over the trust bundle). Every case checks that nothing it
started is left running.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pexpect
import pytest
from thingsdb_server import Client, cache_root, free_port, process_alive

from hooks.template.facts import THINGSDB_RELEASES

pytestmark = pytest.mark.thingsdb

FLAVOURS = ("python", "go")
# How each flavour's dev is started, from the project's folder.
COMMANDS = {
    "python": [sys.executable, "tools/dev.py"],
    "go": [shutil.which("go") or "go", "run", "./tools/dev"],
}
STUB = Path(__file__).resolve().parent / "data" / "docker" / "docker"
IMAGE = f"ghcr.io/thingsdb/node:full-v{THINGSDB_RELEASES[0]}"
# An uncommitted edit of the default `echo`: it then answers [value, "edited"], which breaks its
# example (echo('anything') answers 'anything').
EDITS = {
    "python": ("main.py", "    return value\n", '    return [value, "edited"]\n'),
    "go": (
        "handlers.go",
        "\treturn args.Value, nil\n",
        '\treturn []any{args.Value, "edited"}, nil\n',
    ),
}
# What each flavour's integration run prints when it passes, and when echo's example fails.
PASSED = {"python": r"\b\d+ passed\b", "go": r"(?m)^ok\s"}
FAILED = {"python": r"FAILED \S*test_example\[echo-1\]", "go": r"--- FAIL: \S*echo"}
TIMEOUT = 600  # a Go flavour compiles first, a Python one pip-installs into a fresh venv
# The exit status after Ctrl-C: dev's own is 0, but `go run` exits 1 after an interrupt
# whatever its program's status (measured with a program that catches SIGINT and exits 0).
CTRL_C_STATUS = {"python": 0, "go": 1}


def dev_env(**extra: str) -> dict[str, str]:
    """The environment dev runs in: the suite's pip cache for the pip the node runs, and
    THINGSDB_* settings that would break the node if dev let them through to it."""
    return {
        **os.environ,
        "PIP_CACHE_DIR": str(cache_root() / "pip"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "THINGSDB_LISTEN_CLIENT_PORT": "1",
        "THINGSDB_STORAGE_PATH": "/nonexistent/",
        **extra,
    }


# --- processes ---


def _start_time(pid: int) -> str | None:
    with contextlib.suppress(OSError, IndexError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    return None


def _descendants(root: int) -> set[tuple[int, str]]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            start = _start_time(child)
            if start is not None:
                found.add((child, start))
                todo.append(child)
    return found


@dataclass
class Descendants:
    """Every process started under root (with its start time, against reused pids), sampled
    until stop()."""

    root: int
    seen: set[tuple[int, str]] = field(default_factory=set)
    _done: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(0.2):
            self.seen |= _descendants(self.root)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def left_running(self) -> list[str]:
        """The ones still running: their command lines."""
        deadline = time.monotonic() + 5  # the last ones may be exiting
        while True:
            alive = [pid for pid, start in self.seen if _start_time(pid) == start]
            alive = [pid for pid in alive if process_alive(pid)]
            if not alive or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        lines = []
        for pid in alive:
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                lines.append(f"{pid}: {cmdline.decode(errors='replace')}")
        return lines


@dataclass
class Finished:
    status: int
    stdout: str
    stderr: str
    processes: Descendants

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_dev(
    language: str, project: Path, args: list[str], env: dict[str, str] | None = None
) -> Finished:
    """dev run to its end; its output, and the processes it started."""
    process = subprocess.Popen(
        [*COMMANDS[language], *args],
        cwd=project,
        env=env or dev_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a group of its own, as at a terminal: see below
    )
    processes = Descendants(process.pid)
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:  # a test that failed: Ctrl-C, so that dev ends what it started
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
        processes.stop()
    return Finished(process.returncode, stdout, stderr, processes)


def edit(project: Path, language: str) -> None:
    name, old, new = EDITS[language]
    path = project / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{name} no longer holds {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def report(capsys, text: str) -> None:
    """A figure for the README, shown in the test run's output."""
    with capsys.disabled():
        print(f"\n{text}")


# --- dev test ---


@pytest.mark.parametrize("language", FLAVOURS)
def test_dev_test_passes_on_the_working_tree_and_fails_on_an_uncommitted_edit(
    language, bake, server_binary
):
    project = bake(language=language).path
    assert not (project / ".git").exists()  # no git repository: the files on disk are served
    args = ["test", "--server", str(server_binary), "--port", str(free_port())]

    clean = run_dev(language, project, args)
    assert clean.status == 0, clean.output
    assert re.search(PASSED[language], clean.stdout), clean.output
    assert not clean.processes.left_running(), clean.processes.left_running()

    edit(project, language)
    broken = run_dev(language, project, args)
    assert broken.status != 0, broken.output
    assert re.search(FAILED[language], broken.stdout), broken.output
    assert not broken.processes.left_running(), broken.processes.left_running()


# --- dev, interactive ---


@pytest.mark.parametrize("language", FLAVOURS)
def test_dev_reinstalls_a_saved_handler_and_ctrl_c_ends_everything(
    language, bake, server_binary, capsys
):
    project = bake(language=language).path
    command = [*COMMANDS[language], "--server", str(server_binary), "--port", str(free_port())]
    transcript = io.StringIO()
    child = pexpect.spawn(
        command[0],
        command[1:],
        cwd=str(project),
        env=dev_env(),
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(50, 250),
    )
    child.logfile_read = transcript
    processes = Descendants(child.pid)
    client = None
    try:
        child.expect(r"dev: ThingsDB at 127\.0\.0\.1:(\d+), user admin, password pass")
        port = int(child.match.group(1))
        child.expect(r"dev: installed demo 0\.1\.0 in ([0-9.]+) s")
        installed_in = float(child.match.group(1))
        ready = "dev: try in @:stuff: demo.echo('anything').then(|r| r);"
        child.expect_exact(ready)
        child.expect("dev: watching")
        client = Client(port)
        # The printed query, as a user pastes it.
        assert client.query(ready.split("@:stuff: ", 1)[1]) == "anything"
        assert client.query("demo.echo('hi').then(|r| r);") == "hi"

        saved = time.monotonic()
        edit(project, language)
        deadline = saved + 120
        while True:
            with contextlib.suppress(Exception):  # calls fail while the module restarts
                if client.query("demo.echo('hi').then(|r| r);", timeout=10) == ["hi", "edited"]:
                    break
            assert time.monotonic() < deadline, transcript.getvalue()
            time.sleep(0.02)
        answered_in = time.monotonic() - saved
        name = EDITS[language][0]
        child.expect(rf"dev: {re.escape(name)} changed: re-installed in [0-9.]+ s")
        info = client.query("module_info('demo');", scope="@thingsdb")
        assert info["version"] == "0.1.1"  # raised for ThingsDB; the file is not
        assert json.loads((project / "module.json").read_text())["version"] == "0.1.0"
        report(
            capsys,
            f"dev ({language}): first install {installed_in:.1f} s; "
            f"saving {name} to the new code answering: {answered_in:.2f} s",
        )

        # A save that does not build or start: one line, and dev goes on watching; the next
        # good save is installed.
        path = project / name
        edited = path.read_text(encoding="utf-8")
        path.write_text(edited + "\nthis line is not code\n", encoding="utf-8")
        child.expect(rf"dev: {re.escape(name)} changed: [^\r\n]*; still watching")
        path.write_text(edited, encoding="utf-8")
        child.expect(rf"dev: {re.escape(name)} changed: re-installed in [0-9.]+ s")
        assert client.query("demo.echo('hi').then(|r| r);") == ["hi", "edited"]
        version = client.query("module_info('demo');", scope="@thingsdb")["version"]
        assert version not in ("0.1.0", "0.1.1"), version

        if language == "python":  # a changed requirements.txt is pip-installed again
            pip_runs = transcript.getvalue().count("successfully installed Python requirements")
            requirements = project / "requirements.txt"
            requirements.write_text(requirements.read_text() + "# changed\n")
            child.expect(r"dev: requirements\.txt changed: re-installed in [0-9.]+ s")
            done = transcript.getvalue().count("successfully installed Python requirements")
            assert done == pip_runs + 1, transcript.getvalue()
        client.close()
        client = None

        child.sendintr()  # Ctrl-C at the terminal
        child.expect_exact("dev: stopped")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == CTRL_C_STATUS[language], transcript.getvalue()
    finally:
        if client is not None:
            client.close()
        if child.isalive():  # a failed test: Ctrl-C first, so that dev ends what it started
            child.sendintr()
            with contextlib.suppress(pexpect.ExceptionPexpect):
                child.expect(pexpect.EOF, timeout=60)
            child.terminate(force=True)
        processes.stop()
    assert len(processes.seen) >= 2, processes.seen  # at least the server and the module
    assert not processes.left_running(), processes.left_running()
    assert "Traceback" not in transcript.getvalue()


# --- the container path ---


@pytest.fixture
def docker_stub(tmp_path, server_binary) -> dict[str, str]:
    """PATH with the docker stub first (copied, so that it is executable whatever the checkout
    kept), and its settings; its records are in DEV_STUB_STATE."""
    folder = tmp_path / "stub-bin"
    folder.mkdir()
    shutil.copy(STUB, folder / "docker")
    (folder / "docker").chmod(0o755)
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "image-python")], check=True)
    return {
        "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}",
        "DEV_STUB_STATE": str(tmp_path / "stub-state"),
        "DEV_STUB_SERVER": str(server_binary),
        # The image's python3; a Go module does not use it.
        "DEV_STUB_PYTHON": str(tmp_path / "image-python" / "bin" / "python"),
    }


def stub_calls(stub: dict[str, str]) -> list[list[str]]:
    calls = Path(stub["DEV_STUB_STATE"], "calls.jsonl").read_text().splitlines()
    return [json.loads(line) for line in calls]


@pytest.mark.parametrize("language", FLAVOURS)
def test_dev_runs_the_image_with_docker_and_removes_the_container(
    language, bake, docker_stub, tmp_path
):
    project = bake(language=language).path
    port = free_port()
    done = run_dev(language, project, ["test", "--port", str(port)], dev_env(**docker_stub))
    assert done.status == 0, done.output
    assert re.search(PASSED[language], done.stdout), done.output

    calls = stub_calls(docker_stub)
    runs = [call for call in calls if call[1] == "run"]
    assert len(runs) == 1, calls
    run = runs[0]
    assert run[:5] == ["docker", "run", "--rm", "-d", "--name"], run
    name = run[5]
    assert re.fullmatch(r"timod-dev-demo-\d+", name), run
    assert run[6:8] == ["--network", "host"], run
    assert run[-4:] == [IMAGE, "--init", "--log-level", "info"], run
    options = run[8:-4]
    variables = dict(
        value.split("=", 1) for flag, value in zip(options[::2], options[1::2]) if flag == "-e"
    )
    volumes = [value for flag, value in zip(options[::2], options[1::2]) if flag == "-v"]
    assert set(options[::2]) == {"-e", "-v"} and len(options) % 2 == 0, run
    proxy = variables.pop("https_proxy")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", proxy), run
    node_port = variables.pop("THINGSDB_LISTEN_NODE_PORT")
    assert node_port.isdigit() and int(node_port) not in (0, port, 9220), run
    expected = {
        "THINGSDB_LISTEN_CLIENT_PORT": str(port),
        "THINGSDB_BIND_CLIENT_ADDR": "127.0.0.1",
        "THINGSDB_BIND_NODE_ADDR": "127.0.0.1",
        "THINGSDB_NODE_NAME": "127.0.0.1",
        "THINGSDB_IP_SUPPORT": "IPV4ONLY",
        "THINGSDB_HTTP_API_PORT": "0",
        "THINGSDB_WS_PORT": "0",
        "THINGSDB_HTTP_STATUS_PORT": "0",
        "THINGSDB_SHUTDOWN_PERIOD": "0",
    }
    if language == "python":  # the image's Python is externally managed (PEP 668)
        expected["PIP_BREAK_SYSTEM_PACKAGES"] = "1"
    assert variables == expected, run
    assert len(volumes) == 1 and volumes[0].endswith(":/etc/ssl/certs/ca-certificates.crt:ro")
    bundle = Path(volumes[0].split(":", 1)[0])
    assert not bundle.exists()  # in dev's temporary folder, removed at the end

    # Stopped (and so removed: --rm) after the tests, or removed outright.
    ends = [c for c in calls if c[1] in ("stop", "rm") and c[-1] == name]
    assert ends and calls.index(ends[0]) > calls.index(run), calls
    assert not list(Path(docker_stub["DEV_STUB_STATE"], "containers").iterdir())
    pids = Path(docker_stub["DEV_STUB_STATE"], "pids.jsonl").read_text().splitlines()
    for pid in (json.loads(line)["pid"] for line in pids):
        assert not process_alive(pid), pid
    assert not done.processes.left_running(), done.processes.left_running()


# --- the one-line errors ---


def listening(port: int) -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


ERROR_CASES = [
    "no-engine",
    "port-taken",
    "server-missing",
    "server-not-executable",
    "user-namespaces-refused",
]
# unshare as it fails where unprivileged user namespaces are not allowed.
REFUSING_UNSHARE = "#!/bin/sh\necho 'unshare failed: Operation not permitted' >&2; exit 1\n"


@pytest.mark.parametrize("case", ERROR_CASES)
@pytest.mark.parametrize("language", FLAVOURS)
def test_dev_says_what_is_wrong_in_one_line(language, case, baked, server_binary, tmp_path):
    project = baked(language=language).path
    port = free_port()
    env = dev_env()
    holder = None
    if case == "no-engine":
        empty = tmp_path / "bin"
        empty.mkdir()
        env["PATH"] = str(empty)  # neither docker nor podman (the commands are absolute)
        args, words = ["--port", str(port)], ["docker", "podman", "--server"]
    elif case == "port-taken":
        holder = listening(port)
        args = ["--server", str(server_binary), "--port", str(port)]
        words = [str(port), "--port"]
    elif case == "user-namespaces-refused":
        refusing = tmp_path / "bin"
        refusing.mkdir()
        (refusing / "unshare").write_text(REFUSING_UNSHARE)
        (refusing / "unshare").chmod(0o755)
        env["PATH"] = f"{refusing}{os.pathsep}{env['PATH']}"
        args = ["--server", str(server_binary), "--port", str(port)]
        words = ["namespace", "sysctl", "Operation not permitted"]  # what unshare said
    elif case == "server-missing":
        missing = tmp_path / "no-such-thingsdb"
        args, words = ["--server", str(missing), "--port", str(port)], [str(missing)]
    else:
        plain = tmp_path / "thingsdb"
        plain.write_text("not a program")
        args, words = ["--server", str(plain), "--port", str(port)], [str(plain)]
    try:
        done = run_dev(language, project, args, env)
    finally:
        if holder is not None:
            holder.close()
    assert done.status in (1, 2), done.output
    lines = done.stderr.splitlines()
    if language == "go":  # what `go run` adds after a program that exits non-zero
        lines = [line for line in lines if not re.fullmatch(r"exit status \d+", line)]
    assert len(lines) == 1 and lines[0].startswith("dev: "), done.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "Traceback" not in done.output and "panic" not in done.output
    assert not done.processes.left_running(), done.processes.left_running()
