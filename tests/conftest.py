"""Fixtures for the template's tests: baking projects and looking inside them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
PROJECT_TEMPLATE_DIR = TEMPLATE_DIR / "{{cookiecutter.module_name}}"

# The tools generated projects ship (the ThingsDB peer, the module.json validator) are copied
# verbatim from the template, so the tests import those very files; without writing
# __pycache__ into the template, which cookiecutter would copy into every project.
sys.dont_write_bytecode = True
# Nor into baked projects, whose file lists the tests compare after running their own suites.
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
sys.path.insert(0, str(PROJECT_TEMPLATE_DIR / "tools"))

# git on its own, for tests that commit: no user or system configuration, a fixed identity.
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Template Test",
    "GIT_AUTHOR_EMAIL": "template@example.com",
    "GIT_COMMITTER_NAME": "Template Test",
    "GIT_COMMITTER_EMAIL": "template@example.com",
}

# Every shape of signature the `functions` answer takes: typed arguments, none at all, defaults
# of each type, a trailing `*`, a bare name and a closure. Both flavours bake it.
SIGNATURE_SHAPES = ", ".join(
    [
        "get(url: str, *)",
        "add(a: int, b: int)",
        'ping(message: str = "ping")',
        "echo",
        "say_hello = |this| this.ping()",
        "nothing()",
        "mixed(t: thing, l: list = [1], f: float = 0.5, b: bool = false, by: bytes = null, "
        "s: str = null, x: any = null)",
        "scale(x: float, factor: int = 2)",
    ]
)
# What `mixed` of SIGNATURE_SHAPES gets for the arguments a call leaves out: its defaults.
# Its placeholder answers the thing of its arguments.
MIXED_DEFAULTS = {"l": [1], "f": 0.5, "b": False, "by": None, "s": None, "x": None}

# cookiecutter and cruft, also as commands the tests run, keep replay files and cloned
# templates under the user's home unless told otherwise: the suite keeps them in a temporary
# folder of its own.
_COOKIECUTTER_HOME = Path(tempfile.mkdtemp(prefix="template-tests-cookiecutter-"))
(_COOKIECUTTER_HOME / "config.yaml").write_text(
    f"replay_dir: {json.dumps(str(_COOKIECUTTER_HOME / 'replay'))}\n"
    f"cookiecutters_dir: {json.dumps(str(_COOKIECUTTER_HOME / 'templates'))}\n",
    encoding="utf-8",
)
os.environ["COOKIECUTTER_CONFIG"] = str(_COOKIECUTTER_HOME / "config.yaml")

DEFAULT_ANSWERS = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))


@dataclass
class BakedProject:
    """A generated project and the answers (context) it was generated from."""

    path: Path
    context: dict[str, Any]

    def file(self, name: str) -> Path:
        return self.path / name

    def read(self, name: str) -> str:
        return self.file(name).read_text(encoding="utf-8")

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads(self.read("module.json"))

    def files(self) -> set[str]:
        """Every file, relative to the project, as posix paths."""
        return {p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()}

    def run(self, *command: str, timeout: float = 900, **kwargs: Any) -> CompletedProcess:
        """Run a command in the project; fail the test with its output when it fails."""
        result = subprocess.run(
            command,
            cwd=self.path,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **kwargs.pop("env", {})},
            **kwargs,
        )
        assert result.returncode == 0, (
            f"{' '.join(command)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
        return result

    def pytest(
        self, *args: str, python: str = sys.executable, env: dict[str, str] | None = None
    ) -> CompletedProcess:
        """Run the project's own tests (or those named in args); they must all pass."""
        result = self.run(
            python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, env=env or {}
        )
        assert " passed" in result.stdout and "failed" not in result.stdout, result.stdout
        return result

    def failed_tests(self, *args: str) -> list[str]:
        """Run the project's own pytest, which must fail; the ids of the tests that failed."""
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", *args],
            cwd=self.path,
            capture_output=True,
            text=True,
            timeout=900,
        )
        failed = re.findall(r"^FAILED (\S+)", result.stdout, re.MULTILINE)
        assert result.returncode == 1 and failed, result.stdout
        return failed


def _bake(cookies, answers: dict[str, Any]) -> BakedProject:
    unknown = set(answers) - set(DEFAULT_ANSWERS)
    # cookiecutter silently ignores unknown answers: a typo would quietly test the defaults.
    assert not unknown, f"not answers of this template: {unknown}"
    result = cookies.bake(extra_context=answers)
    assert result.exit_code == 0, result.exception
    return BakedProject(Path(result.project_path), dict(result.context))


@pytest.fixture
def bake(cookies):
    """Bake a fresh project from answers given as keyword arguments."""
    return lambda **answers: _bake(cookies, answers)


@pytest.fixture(scope="session")
def baked(cookies_session):
    """Bake once per distinct set of answers and share the project across tests (read-only)."""
    cache: dict[str, BakedProject] = {}

    def get(**answers: Any) -> BakedProject:
        key = json.dumps(answers, sort_keys=True)
        if key not in cache:
            cache[key] = _bake(cookies_session, answers)
        return cache[key]

    return get


def pytest_collection_finish(session):
    """Start building ThingsDB's servers while the other tests run, when a test will need them."""
    if any(item.get_closest_marker("thingsdb") for item in session.items):
        import thingsdb_server

        thingsdb_server.start_background_build()


# The thingsdb tests that run on every ThingsDB release under test (THINGSDB_VERSIONS, see
# thingsdb_server.py): where the server's own code takes part (installing, calling, configuring,
# refreshing a module); the others run on the first release only.
EVERY_THINGSDB_VERSION = {
    "test_default_module_installs_from_a_tag_and_answers_through_thingsdb",
    "test_configuration_given_changed_and_refused",
    "test_version_bump_is_installed_by_refresh_module",
}


def pytest_generate_tests(metafunc):
    """Those tests get the session's server_binary fixture once per release (its parameter)."""
    if (
        metafunc.function.__name__ in EVERY_THINGSDB_VERSION
        and "server_binary" in metafunc.fixturenames
    ):
        import thingsdb_server

        versions = thingsdb_server.versions()
        if len(versions) > 1:
            metafunc.parametrize(
                "server_binary", versions, indirect=True, scope="session", ids=_thingsdb_id
            )


def _thingsdb_id(version: str) -> str:
    return f"thingsdb-{version}"


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """server_binary set up for a release: require_server() and build_server() mean that one."""
    version = getattr(request, "param", None) if fixturedef.argname == "server_binary" else None
    if version is None:
        return (yield)
    import thingsdb_server

    with thingsdb_server.selecting(version):
        return (yield)


@pytest.fixture(scope="session")
def server_binary() -> Path:
    """ThingsDB's server as released, built once per machine (tests/thingsdb_server.py)."""
    import thingsdb_server

    return thingsdb_server.require_server().binary


@pytest.fixture
def github():
    """A loopback stand-in for GitHub's API, for this test (tests/fake_github.py)."""
    from fake_github import FakeGitHub

    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def start_node(server_binary, github, tmp_path):
    """Start nodes pointed at this test's fake GitHub; every one is stopped when the test ends."""
    from thingsdb_server import Node, cache_root

    nodes: list[Node] = []

    def start(python_interpreter: str = sys.executable) -> Node:
        node = Node(
            binary=server_binary,
            home=tmp_path / f"node{len(nodes)}",
            python_interpreter=python_interpreter,
            github_api=github.api,
            # pip, run by the server, keeps its cache with the server builds, not in the home.
            extra_env={
                "PIP_CACHE_DIR": str(cache_root() / "pip"),
                "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            },
        )
        nodes.append(node)
        node.start()
        return node

    yield start
    for node in nodes:
        node.stop()


@pytest.fixture
def thingsdb_version(request) -> str:
    """The ThingsDB release the test runs on (the first under test unless it runs on each)."""
    import thingsdb_server

    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and "server_binary" in callspec.params:
        return callspec.params["server_binary"]
    return thingsdb_server.versions()[0]
