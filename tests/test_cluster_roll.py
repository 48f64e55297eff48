"""A new version rolling over a ThingsDB cluster while callers keep calling the module.

Three nodes on loopback (thingsdb_server.start_cluster), each downloading through this test's
GitHub stand-in, run a baked module installed from a branch, with a configuration (the worst
case: a new process gets no calls until it has acknowledged its configuration). Twelve callers,
spread over the nodes, call it back to back while the branch gets a new version whose function
answers otherwise, and `refresh_module` rolls it out. ThingsDB restarts the module on every
node at once, so for a moment no node answers: the test holds the README's promise about that
moment (every failed call fails with one of the errors its "When a new version rolls out"
section lists as retryable, a caller retrying with the section's example sees no error at all,
and afterwards every node answers the new way) and prints the figures the README quotes. The
figures are never asserted: this machine's load decides them.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fake_github import commit_all, git, release
from thingsdb.exceptions import ThingsDBError
from thingsdb_server import Node, cache_root, start_cluster

pytestmark = pytest.mark.thingsdb

OWNER = "template-tests"
FLAVOURS = ["python", "go"]
NODES = 3
CALLERS = 12  # spread over the nodes in turn
INSTALL_TIMEOUT = 300  # a Python module's first install runs pip against the package index
PLATFORM = "linux/amd64"  # the Go flavour builds for this machine only: the roll needs no other
CALL = "demo.echo('x').then(|reply| reply);"
OLD_ANSWER = "> x"  # echo with the configuration {prefix: '> '}
NEW_ANSWER = ["0.2.0", "> x"]  # what the bumped version's echo answers
# How each flavour's echo is changed for the new version: (file, its return, the new return).
NEW_ECHO = {
    "python": (
        "main.py",
        "return config.prefix + value",
        'return ["0.2.0", config.prefix + value]',
    ),
    "go": (
        "handlers.go",
        "return conf.WithPrefix(args.Value), nil",
        'return []any{"0.2.0", conf.WithPrefix(args.Value)}, nil',
    ),
}
ROLL_SECTION = "## When a new version rolls out"


@pytest.fixture
def cluster(server_binary, github, tmp_path) -> Iterator:
    """Start a cluster of NODES nodes (python: one interpreter per node); all stopped at the end."""
    nodes: list[Node] = []

    def start(interpreters: list[str]) -> list[Node]:
        nodes.extend(
            Node(
                binary=server_binary,
                home=tmp_path / f"node{index}",
                python_interpreter=interpreter,
                github_api=github.api,
                extra_env={
                    "PIP_CACHE_DIR": str(cache_root() / "pip"),
                    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                },
                # Tens of thousands of calls: the debug log's line per call would cost the
                # callers' CPU.
                log_level="info",
            )
            for index, interpreter in enumerate(interpreters)
        )
        start_cluster(nodes)
        return nodes

    yield start
    for node in nodes:
        node.stop()


def fresh_venv(path: Path) -> str:
    """An environment of the node's own, as on a machine of its own: ThingsDB's pip fills it."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
    return str(path / "bin" / "python")


# --- the callers ---


@dataclass
class Call:
    node: int
    started: float  # time.monotonic()
    ended: float
    answer: Any = None
    error: str = ""  # the error's message, when the call failed
    retrying: bool = False  # made with the README's query_retrying


class Callers:
    """CALLERS clients calling CALL back to back, in a thread of their own, each on one node;
    the first one calls through retrying (the README's query_retrying) instead."""

    def __init__(self, ports: list[int], retrying: Any) -> None:
        self.calls: list[Call] = []
        self._ports = ports
        self._retrying = retrying
        self._running = True
        self._connected = threading.Event()
        self._failure: list[BaseException] = []
        self._thread = threading.Thread(target=asyncio.run, args=(self._all(),), daemon=True)

    def __enter__(self) -> Callers:
        self._thread.start()
        self._connected.wait(60)
        assert not self._failure, f"a caller could not connect: {self._failure[0]!r}"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._running = False
        self._thread.join(60)

    async def _all(self) -> None:
        from thingsdb.client import Client

        clients = [Client(auto_reconnect=False) for _ in range(CALLERS)]
        try:
            for index, client in enumerate(clients):  # all connected before the first call
                await client.connect("127.0.0.1", self._ports[index % len(self._ports)], timeout=10)
                await client.authenticate("admin", "pass", timeout=10)
        except Exception as exc:
            self._failure.append(exc)
            raise
        finally:
            self._connected.set()
        await asyncio.gather(*(self._caller(index, client) for index, client in enumerate(clients)))

    async def _caller(self, index: int, client: Any) -> None:
        node = index % len(self._ports)
        retrying = index == 0
        try:
            while self._running:
                started = time.monotonic()
                try:
                    if retrying:
                        answer = await self._retrying(client, CALL, scope="@:stuff", timeout=30)
                    else:
                        answer = await client.query(CALL, scope="@:stuff", timeout=30)
                    error = ""
                except ThingsDBError as exc:
                    answer, error = None, str(exc)
                except Exception as exc:  # noqa: BLE001 (a lost connection: an error the README must not need)
                    answer, error = None, f"{type(exc).__name__}: {exc}"
                # Appended from the one event loop's thread: no lock needed.
                self.calls.append(Call(node, started, time.monotonic(), answer, error, retrying))
        finally:
            client.close()
            await client.wait_closed()

    def answered(self, node: int, answer: Any) -> list[Call]:
        return [
            c for c in list(self.calls) if c.node == node and not c.error and c.answer == answer
        ]


# --- what the README promises ---


def roll_section(readme: str) -> str:
    return readme.split(ROLL_SECTION, 1)[1].split("\n## ", 1)[0]


def retryable_errors(readme: str) -> set[str]:
    """The errors the README's roll section lists: its ``double-backtick`` spans."""
    return set(re.findall(r"``(.+?)``", roll_section(readme)))


def readme_retrying(readme: str) -> Any:
    """The query_retrying of the README's roll section, as a user would copy it."""
    code = re.search(r"```python\n(.*?)```", roll_section(readme), re.DOTALL)
    assert code, f"the README has no Python example under {ROLL_SECTION!r}"
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)  # the example as it is written
    return namespace["query_retrying"]


# --- the roll ---


def bump(project: Path, bumped: Path, language: str) -> None:
    """The new version, made ready beside the repository: version 0.2.0 and another answer."""
    file, old, new = NEW_ECHO[language]
    path = bumped / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{file} has no `{old}` to change"
    path.write_text(text.replace(old, new), encoding="utf-8")
    if language == "go":  # bin/ built now, so that the commit under load is only git's work
        subprocess.run(
            ["go", "run", "./tools/build"], cwd=bumped, check=True, capture_output=True, timeout=600
        )


def commit_bump(repository: Path, bumped: Path) -> None:
    """The branch moves to the new version: its files become bumped's, as a release commit."""
    for path in repository.iterdir():
        if path.name != ".git":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    shutil.copytree(bumped, repository, dirs_exist_ok=True)
    commit_all(repository, "Release 0.2.0")
    git(repository, "tag", "v0.2.0")


def wait_answering(nodes: list[Node], answer: Any) -> None:
    """Until a call through each node gets answer (the module installed and configured)."""
    deadline = time.monotonic() + INSTALL_TIMEOUT
    for node in nodes:
        client = node.client()
        while True:
            try:
                if client.query(CALL) == answer:
                    break
            except ThingsDBError:
                pass  # still installing
            assert time.monotonic() < deadline, node.log()[-6000:]
            time.sleep(0.2)


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def timeline(calls: list[Call], since: float) -> str:
    """The calls' outcomes in the order they started, a line per run of one outcome."""
    runs: list[list[Any]] = []
    for call in sorted(calls, key=lambda c: c.started):
        outcome = call.error or repr(call.answer)
        if runs and runs[-1][0] == outcome:
            runs[-1][2:] = [call.ended - since, runs[-1][3] + 1]
        else:
            runs.append([outcome, call.started - since, call.ended - since, 1])
    return "\n".join(
        f"{start:+8.3f}..{end:+8.3f} s {count:6} x {outcome}" for outcome, start, end, count in runs
    )


def figures(calls: list[Call], refreshed: float, first_new: list[float]) -> list[str]:
    """Per node, the window without answers and the errors met in it (seconds from
    refresh_module: when each error was first and last met); then the whole run's count."""
    lines = []
    for index, answered_anew in enumerate(first_new):
        mine = [c for c in calls if c.node == index]
        last_old = max(c.ended for c in mine if not c.error and c.answer == OLD_ANSWER)
        errors = Counter(c.error for c in mine if c.error)
        met = "; ".join(
            f"{count} x {message.split(' is ', 1)[-1][:40]!r} "
            f"{min(c.started for c in mine if c.error == message) - refreshed:+.2f}"
            f"..{max(c.ended for c in mine if c.error == message) - refreshed:+.2f}"
            for message, count in errors.items()
        )
        lines.append(
            f"through node {index}: no answer for {answered_anew - last_old:.3f} s "
            f"(last old answer {last_old - refreshed:+.3f}, first new "
            f"{answered_anew - refreshed:+.3f}); {sum(errors.values())} of {len(mine)} calls "
            f"failed: {met or '-'}"
        )
    failed = Counter(c.error for c in calls if c.error)
    lines.append(f"failed {sum(failed.values())} of {len(calls)} calls")
    lines += [f"{count:6} x {message}" for message, count in failed.items()]
    return lines


def report(capsys, text: str) -> None:
    """Figures for the README, shown in the test run's output with -s (the process's own stderr:
    a pytest-xdist worker's stdout goes nowhere)."""
    with capsys.disabled():
        print(f"\n{text}", file=sys.__stderr__, flush=True)


def time_pip(node: Node) -> float:
    """Seconds of the pip run ThingsDB makes on every install of a Python module (here with
    every requirement already met, as on a roll that changes none)."""
    started = time.monotonic()
    subprocess.run(
        [
            node.python_interpreter,
            *("-m", "pip", "install", "-r", str(node.modules_path / "demo" / "requirements.txt")),
        ],
        check=True,
        capture_output=True,
        env={**node.extra_env, "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    return time.monotonic() - started


@pytest.mark.parametrize("language", FLAVOURS)
def test_version_roll_fails_calls_only_with_the_retryable_errors_and_every_node_answers_anew(
    language, bake, cluster, github, tmp_path, capsys
):
    answers = {"language": language, "needs_config": "yes", "platforms": PLATFORM}
    project = bake(**answers).path
    repo = f"module-{language}-demo"
    release(project, "0.1.0")
    github.serve(OWNER, repo, project)
    bumped = bake(**answers, version="0.2.0").path
    bump(project, bumped, language)
    readme = (project / "README.md").read_text(encoding="utf-8")
    documented = retryable_errors(readme)
    assert documented, f"the README has no retryable errors under {ROLL_SECTION!r}"

    interpreters = (
        [fresh_venv(tmp_path / f"venv{index}") for index in range(NODES)]
        if language == "python"
        else [sys.executable] * NODES
    )
    nodes = cluster(interpreters)
    first = nodes[0].client()
    # From the branch, which refresh_module fetches again.
    first.query(
        f"new_module('demo', 'github.com/{OWNER}/{repo}@main', {{prefix: '> '}});",
        scope="@thingsdb",
    )
    wait_answering(nodes, OLD_ANSWER)

    with Callers([node.client_port for node in nodes], readme_retrying(readme)) as callers:
        wait_for(
            lambda: all(callers.answered(n, OLD_ANSWER) for n in range(NODES)),
            60,
            "a node did not answer the callers",
        )
        time.sleep(1)  # calls going on before the roll
        commit_bump(project, bumped)
        refreshed = time.monotonic()
        first.query("refresh_module('demo');", scope="@thingsdb")
        wait_for(
            lambda: all(callers.answered(n, NEW_ANSWER) for n in range(NODES)),
            INSTALL_TIMEOUT,
            f"not every node answers the new version; node 0's log:\n{nodes[0].log()[-6000:]}",
        )
        time.sleep(1)  # calls going on after the roll
    calls = [c for c in callers.calls if not c.retrying]
    retried = [c for c in callers.calls if c.retrying]

    # Retrying as the README says, a caller never sees the roll, only a slower answer.
    assert retried and not [c for c in retried if c.error], Counter(c.error for c in retried)
    failed = [c for c in calls if c.error]
    undocumented = Counter(c.error for c in failed if c.error not in documented)
    assert not undocumented, f"errors the README does not list as retryable: {undocumented}"
    for node in nodes:
        info = node.client().query("module_info('demo');", scope="@thingsdb")
        assert (info["version"], info["status"]) == ("0.2.0", "running"), info
    # A node away (storing, collecting garbage) passes its queries on to another one, so a call
    # through one node may meet another node's module: after the last node has answered anew,
    # every call through every node answers, and the new way.
    first_new = [
        min(c.ended for c in calls if c.node == index and c.answer == NEW_ANSWER and not c.error)
        for index in range(NODES)
    ]
    after = [c for c in calls if c.started > max(first_new)]
    assert after and all(not c.error and c.answer == NEW_ANSWER for c in after), "\n".join(
        f"through node {index}:\n{timeline([c for c in after if c.node == index], refreshed)}"
        for index in range(NODES)
    )

    lines = figures(calls, refreshed, first_new)
    if language == "python":
        lines.append(
            "pip as ThingsDB runs it on every install, each requirement met: "
            + ", ".join(f"{time_pip(node):.2f} s" for node in nodes)
        )
    lines.insert(0, f"{language}: a version roll over {NODES} nodes, {CALLERS} callers")
    lines.append(
        f"the caller retrying as the README says: no error in {len(retried)} calls, the longest "
        f"took {max(c.ended - c.started for c in retried):.3f} s"
    )
    report(capsys, "\n  ".join(lines))
