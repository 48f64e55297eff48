"""The Python flavour: every option baked, linted, and the generated project's own suite run."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import stat
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from conftest import MIXED_DEFAULTS, SIGNATURE_SHAPES, TEMPLATE_DIR
from manifest import check_manifest, lint_manifest
from packaging.requirements import Requirement
from packaging.version import Version
from thingsdb_peer import CONF_OK, ModuleProcess, build_request

from hooks.template.signatures import parse_functions

MiB = 1024 * 1024

# Function names as long as the answer rules allow change where lines break in main.py.
LONG_NAMES = "n" * 48 + ", " + "f" * 255
# ThingsDB names that Python or main.py already use, defaults that need escaping in Python,
# and signatures too long for one line: the handlers get other Python names, the code stays
# ruff-clean.
PYTHON_NAMES = ", ".join(
    [
        "class",
        "class_(a: int)",
        "print(l: list, O: int = 3, I: float = 2)",
        "config",
        "module(x: str = null)",
        'quotes(a: str = "say \\"hi\\" \\\\ it\'s", b: str = "\\"\\"\\"")',
        "g" * 70 + "(" + ", ".join(f"argument_{i}: thing = {{}}" for i in range(6)) + ", *)",
        "h" * 200 + "(some_long_argument_name: str, another_one: bytes = null)",
        "zz(" + ", ".join(f"a{i}: int" for i in range(20)) + ")",
    ]
)

# needs_config x function lists, with every license in the rotation.
PYTHON_MATRIX = [
    pytest.param(
        {"needs_config": "no", "functions": "echo", "license": "MIT"},
        id="no-config-echo-mit",
    ),
    pytest.param(
        {"needs_config": "yes", "functions": "echo", "license": "Apache-2.0"},
        id="config-echo-apache",
    ),
    pytest.param(
        {"needs_config": "no", "functions": "echo, get_user, _private2", "license": "BSD-3-Clause"},
        id="no-config-three-functions-bsd",
    ),
    pytest.param(
        {
            "needs_config": "yes",
            "functions": "echo, get_user, _private2",
            "license": "GPL-3.0-or-later",
        },
        id="config-three-functions-gpl",
    ),
    pytest.param(
        {"needs_config": "no", "functions": "a", "license": "Apache-2.0"},
        id="no-config-one-letter-function-apache",
    ),
    pytest.param(
        {"needs_config": "yes", "functions": "Fetch,store_2 ,X", "license": "MIT"},
        id="config-mixed-case-functions-mit",
    ),
    pytest.param(
        {"needs_config": "no", "functions": f"send_notification, {LONG_NAMES}", "license": "MIT"},
        id="no-config-long-function-names-mit",
    ),
    pytest.param(
        {"needs_config": "yes", "functions": SIGNATURE_SHAPES, "license": "MIT"},
        id="config-every-signature-shape-mit",
    ),
    pytest.param(
        {"needs_config": "no", "functions": SIGNATURE_SHAPES, "license": "Apache-2.0"},
        id="no-config-every-signature-shape-apache",
    ),
    pytest.param(
        {"needs_config": "yes", "functions": PYTHON_NAMES, "license": "MIT"},
        id="config-names-python-keeps-for-itself-mit",
    ),
]


def ruff(project, *args: str):
    return project.run(sys.executable, "-m", "ruff", *args, "--no-cache", ".")


@pytest.mark.parametrize("answers", PYTHON_MATRIX)
class TestPythonMatrix:
    def test_module_json_is_accepted_by_thingsdb_and_lists_each_function(self, baked, answers):
        project = baked(language="python", **answers)
        text = project.read("module.json")
        assert check_manifest(text) is None
        assert lint_manifest(text, str(project.path)) == []
        names = [signature.name for signature in parse_functions(answers["functions"])]
        assert list(project.manifest["exposes"]) == names
        assert "requirements" not in project.manifest  # not installed on a first install

    def test_code_is_ruff_clean(self, baked, answers):
        project = baked(language="python", **answers)
        ruff(project, "check")
        ruff(project, "format", "--check")

    def test_generated_test_suite_passes(self, baked, answers):
        project = baked(language="python", **answers)
        project.pytest()


@pytest.mark.parametrize(
    "license_id, first_line",
    [
        ("MIT", "MIT License"),
        ("Apache-2.0", "Apache License"),
        ("BSD-3-Clause", "BSD 3-Clause License"),
        ("GPL-3.0-or-later", "GNU GENERAL PUBLIC LICENSE"),
    ],
)
def test_license_file_is_the_full_text_of_the_chosen_license(baked, license_id, first_line):
    text = baked(license=license_id).read("LICENSE")
    assert text.strip().splitlines()[0].strip() == first_line
    assert len(text) > (5000 if license_id in ("Apache-2.0", "GPL-3.0-or-later") else 1000)
    if license_id in ("MIT", "BSD-3-Clause"):
        year = datetime.now(timezone.utc).year
        assert f"Copyright (c) {year} Your Name" in text


def test_tools_are_executable(baked):
    project = baked()
    for name in ("tools/manifest.py", "tools/thingsdb_peer.py"):
        assert project.file(name).stat().st_mode & stat.S_IXUSR, name


def requirements(text: str) -> dict[str, Requirement]:
    lines = (line.strip() for line in text.splitlines())
    found = [Requirement(line) for line in lines if line and not line.startswith(("#", "-r"))]
    return {requirement.name: requirement for requirement in found}


def test_requirements_are_ranges_that_exclude_broken_releases():
    # ThingsDB installs requirements.txt into the one Python all modules of a node share: an
    # exact pin would fight another module's. Each is a range closed above (a new major
    # release may break the module) that leaves out what is known broken.
    text = (TEMPLATE_DIR / "{{cookiecutter.module_name}}" / "requirements.txt").read_text()
    found = requirements(text)
    assert set(found) == {"py-timod", "msgpack", "uvloop"}
    for requirement in found.values():
        operators = {spec.operator for spec in requirement.specifier}
        assert operators == {">=", "<"}, requirement  # no ==, no ~= with one version
    timod = found["py-timod"].specifier
    # 1.0.0 fails at import on Python 3.10-3.13; 0.0.1-0.0.5 frame nothing the loop uses.
    assert "0.0.6" in timod and "1.0.0" not in timod and "0.0.5" not in timod
    assert "0.17.1" not in found["uvloop"].specifier  # uvloop.run() is new in 0.18


def test_development_requirements_pin_exactly_one_point_inside_the_ranges(baked):
    project = baked(language="python")
    runtime = requirements(project.read("requirements.txt"))
    lines = (line.strip() for line in project.read("requirements-dev.txt").splitlines())
    pins = [Requirement(line) for line in lines if line and not line.startswith(("#", "-r"))]
    # One pin per package for the Python running this (pytest's pin depends on the version).
    here = {pin.name: pin for pin in pins if pin.marker is None or pin.marker.evaluate()}
    assert len(here) == len([p for p in pins if p.marker is None or p.marker.evaluate()])
    # python-thingsdb: the client of the integration tests (integration/, Python 3.10+);
    # uv: CI's lowest-versions install; trustme: the throwaway CA of tools/dev.py's stand-in.
    assert set(here) == set(runtime) | {"pytest", "ruff", "python-thingsdb", "uv", "trustme"}
    for pin in pins:
        (spec,) = pin.specifier
        assert spec.operator == "==", pin
        if pin.name in runtime:
            assert spec.version in runtime[pin.name].specifier, (pin, runtime[pin.name])
            assert pin.marker == runtime[pin.name].marker, pin
    # What the tests run with here is what the development file pins.
    for name in ("msgpack", "py-timod", "pytest", "ruff", "python-thingsdb"):
        (spec,) = here[name].specifier
        assert importlib.metadata.version(name) == spec.version, name


# Where uvloop 0.23.0 publishes wheels: (sys_platform, platform_machine, pip's platform tag).
UVLOOP_WHEELS = [
    ("linux", "x86_64", "manylinux2014_x86_64"),
    ("linux", "aarch64", "manylinux2014_aarch64"),
    ("darwin", "x86_64", "macosx_11_0_x86_64"),
    ("darwin", "arm64", "macosx_11_0_arm64"),
]
UVLOOP_PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13", "3.14"]


def uvloop_requirement() -> Requirement:
    text = (TEMPLATE_DIR / "{{cookiecutter.module_name}}" / "requirements.txt").read_text()
    lines = [line for line in text.splitlines() if line.startswith("uvloop")]
    assert len(lines) == 1, text
    return Requirement(lines[0])


def wants_uvloop(sys_platform: str, machine: str, python: str, implementation="CPython") -> bool:
    return uvloop_requirement().marker.evaluate(
        {
            "sys_platform": sys_platform,
            "platform_machine": machine,
            "python_version": python,
            "python_full_version": f"{python}.0",
            "platform_python_implementation": implementation,
        }
    )


def test_uvloop_is_asked_for_where_it_has_wheels_and_nowhere_else():
    # pip installs requirements.txt as one: a uvloop that has to be built, and fails to,
    # would take py-timod down with it.
    for sys_platform, machine, _ in UVLOOP_WHEELS:
        for python in UVLOOP_PYTHONS:
            assert wants_uvloop(sys_platform, machine, python), (sys_platform, machine, python)
    assert not wants_uvloop("win32", "AMD64", "3.12")
    for machine in ("armv7l", "ppc64le", "s390x", "i686"):
        assert not wants_uvloop("linux", machine, "3.12"), machine
    assert not wants_uvloop("linux", "x86_64", "3.10", implementation="PyPy")
    assert not wants_uvloop("linux", "x86_64", "3.15")  # no uvloop wheels yet


@pytest.mark.slow
@pytest.mark.parametrize("platform_tag", [tag for _, _, tag in UVLOOP_WHEELS])
def test_pypi_has_a_uvloop_wheel_for_each_platform_that_asks_for_it(tmp_path, platform_tag):
    requirement = uvloop_requirement()
    for python in (UVLOOP_PYTHONS[0], UVLOOP_PYTHONS[-1]):
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        command += ["--platform", platform_tag, "--python-version", python]
        command += ["-d", str(tmp_path), f"{requirement.name}{requirement.specifier}"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr


def hide_uvloop(tmp_path: Path) -> dict[str, str]:
    """Environment in which ``import uvloop`` fails, as where uvloop has no build (Windows)."""
    stub = tmp_path / "no-uvloop"
    stub.mkdir()
    (stub / "uvloop.py").write_text('raise ImportError("no uvloop here")\n')
    return {"PYTHONPATH": str(stub)}


@pytest.mark.parametrize("event_loop", ["uvloop", "asyncio's event loop"])
def test_protocol_battery_passes_on_either_event_loop(baked, tmp_path, event_loop):
    project = baked(needs_config="yes", functions="echo, get_user")
    env = {} if event_loop == "uvloop" else hide_uvloop(tmp_path)
    command = [sys.executable, "main.py"]
    with ModuleProcess(command, cwd=project.path, env={**os.environ, **env}) as module:
        assert module.configure({"prefix": "> "}).type == CONF_OK, module.stderr_text()
        assert module.terminate() == 0
        assert f"starting module demo on {event_loop}" in module.stderr_text()
    project.pytest("tests/test_protocol.py", env=env)


def test_try_out_command_calls_a_function_as_thingsdb_does(baked):
    project = baked(needs_config="yes")
    peer = [sys.executable, "tools/thingsdb_peer.py"]
    assert project.run(*peer, "echo", '"hi"').stdout.strip() == '"hi"'
    configured = project.run(*peer, "--conf", '{"prefix": "> "}', "echo", '"hi"')
    assert configured.stdout.strip() == '"> hi"'
    # demo.echo(): ThingsDB sends the left-out argument as nil.
    assert project.run(*peer, "echo").stdout.strip() == "null"
    extra = project.run(*peer, "echo", '"hi"', "[1, 2]")
    assert extra.stdout.strip() == '"hi"'
    assert "not sent to the module: [[1, 2]]" in extra.stderr
    refused = subprocess.run(
        [*peer, "--conf", '{"prefx": "> "}', "echo", '"hi"'],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert "value_err (-60): configuration rejected: unknown configuration option" in (
        refused.stderr
    )


def test_next_steps_name_the_exact_new_module_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(tmp_path), str(TEMPLATE_DIR)]
        + ["github_owner=acme", "module_name=weather", "version=1.2.3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "new_module('weather', 'github.com/acme/module-python-weather@v1.2.3');" in (
        result.stdout
    )
    assert "git tag v1.2.3" in result.stdout


def ci_install_commands(project, versions: str) -> list[str]:
    """The install steps of the generated CI's test job, as its ``versions`` entry runs them."""
    job = yaml.safe_load(project.read(".github/workflows/ci.yml"))["jobs"]["test"]
    matrix = job["strategy"]["matrix"]
    entries = [(python, v) for python in matrix["python"] for v in matrix["versions"]]
    entries += [(entry["python"], entry["versions"]) for entry in matrix.get("include", [])]
    # The lowest versions run on the oldest Python, as this test runs them.
    assert ("3.9", "lowest") in entries and versions in {v for _, v in entries}, entries
    runs_here = {None, f"matrix.versions == '{versions}'"}
    return [
        step["run"]
        for step in job["steps"]
        if step["name"].startswith("Install") and step.get("if") in runs_here
    ]


@pytest.mark.slow
@pytest.mark.parametrize("versions", ["pinned", "lowest"])
def test_ci_install_steps_give_a_venv_where_the_suite_passes(bake, tmp_path, versions):
    # "lowest": every range of requirements.txt at its floor, what a node's shared interpreter
    # may hold for another module, on the oldest Python CI's lowest job runs (3.9, where
    # msgpack 1.0.0 builds its C extension and a view of its packer's buffer dies with it).
    project = bake(needs_config="yes", functions="echo, get_user")
    base = sys.executable
    if versions == "lowest":
        oldest = supported_pythons()[0]
        if oldest.values[0] is None or oldest.id != "python3.9":
            message = "no Python 3.9, the one CI's lowest-versions job runs"
            if os.environ.get("CI") == "true":
                pytest.fail(f"{message}; CI must run it")
            pytest.skip(message)
        base = oldest.values[0]
    venv = tmp_path / "venv"
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    # As on a CI runner: the Python set up is the first on PATH, and no virtual environment.
    env = {"PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    for command in ci_install_commands(project, versions):
        project.run("bash", "-c", command, env=env, timeout=600)
        if "lowest" in command:
            assert command in project.read("README.md")  # how to do what CI does, by hand
    # Each range at its floor (lowest), or each pin of requirements-dev.txt (pinned).
    freeze = project.run(python, "-m", "pip", "list", "--format=freeze").stdout.split()
    installed = dict(line.lower().split("==") for line in freeze)
    version = project.run(python, "-c", "import platform; print(platform.python_version())")
    where = {"python_version": ".".join(version.stdout.split(".")[:2])}
    source = "requirements.txt" if versions == "lowest" else "requirements-dev.txt"
    lines = (line.strip() for line in project.read(source).splitlines())
    for line in lines:
        if not line or line.startswith(("#", "-r")):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(where):
            (held,) = (s.version for s in requirement.specifier if s.operator in (">=", "=="))
            assert Version(installed[requirement.name]) == Version(held), (line, installed)
    # The module imports with exactly what ThingsDB installs from requirements.txt.
    project.run(python, "-c", "import main, timod_loop")
    project.pytest(python=python)


# --- free text that must survive every file it lands in ---

WEIRD_TEXT = [
    pytest.param("He said \"hi\" and 'bye'", id="quotes"),
    pytest.param("back\\slash \\n \\u0041 C:\\path\\", id="backslashes"),
    pytest.param("first line\nsecond line\ttab", id="newline-and-tab"),
    pytest.param("ünïcødé ☃ 𝄞 中文 emoji 🙂", id="non-ascii"),
    pytest.param("costs {{ price }} per {% raw %}call", id="jinja"),
    pytest.param("token ${{ secrets.GITHUB_TOKEN }}", id="github-expression"),
    pytest.param(
        "'''triple''' \"\"\"quotes\"\"\" `tick` *star* _u_ # <b>&amp;</b> |pipe|", id="md"
    ),
]


@pytest.mark.parametrize("language", ["python", "go"])
@pytest.mark.parametrize("text", WEIRD_TEXT)
def test_free_text_reaches_module_json_exactly_and_breaks_nothing(bake, language, text):
    one_line = " ".join(text.split())  # a name holds no line breaks or tabs
    project = bake(language=language, description=text, author_name=one_line)
    assert project.manifest["doc"] == text
    assert check_manifest(project.read("module.json")) is None
    readme = project.read("README.md")
    assert "\n# demo\n" in f"\n{readme}"  # the title is still the first heading
    if language == "python":
        ruff(project, "check")
        project.pytest("tests/test_manifest.py", "tests/test_handlers.py")
    else:
        project.run("go", "vet", "./...")


def supported_pythons() -> list[pytest.param]:
    """Every Python from 3.9 (ThingsDB's minimum) up that this machine has."""
    found = []
    for minor in range(9, 15):
        candidates = sorted(Path.home().glob(f".pyenv/versions/3.{minor}.*/bin/python3"))
        candidates.append(shutil.which(f"python3.{minor}"))
        for path in filter(None, candidates):
            # pyenv's shims exist for every version but run only the selected ones.
            if subprocess.run([str(path), "-c", ""], capture_output=True).returncode == 0:
                found.append(pytest.param(str(path), id=f"python3.{minor}"))
                break
    return found or [pytest.param(None, marks=pytest.mark.skip(reason="no Python 3.9+ found"))]


@pytest.mark.slow
@pytest.mark.parametrize("python", supported_pythons())
def test_module_runs_on_every_supported_python(baked, tmp_path, python):
    # What ThingsDB does: pip install requirements.txt for its interpreter, start main.py.
    # Every signature shape: Python 3.9 reads `X | None` annotations only part by part.
    project = baked(needs_config="yes", functions=SIGNATURE_SHAPES)
    site = tmp_path / "site"
    project.run(
        python, "-m", "pip", "install", "-q", "--target", str(site), "-r", "requirements.txt"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    with ModuleProcess([python, "main.py"], cwd=project.path, env=env) as module:
        assert module.configure({"prefix": "> "}).type == CONF_OK, module.stderr_text()
        request = build_request(project.manifest, "echo", ["x" * MiB])
        assert module.call(request, timeout=30) == "> " + "x" * MiB
        mixed = module.call(build_request(project.manifest, "mixed", [{"k": 1}]))
        assert mixed == {"t": {"k": 1}, **MIXED_DEFAULTS}
        assert module.call(build_request(project.manifest, "scale", [3])) == {
            "x": 3.0,
            "factor": 2,
        }
        assert module.terminate() == 0
        assert "on uvloop" in module.stderr_text()  # as installed from requirements.txt


# Author code for the handler-replacement test, taken in turn: one raises a ThingsDB error,
# one answers something else, one waits.
AUTHOR_BODIES = [
    '    raise timod.ValueError("the author\'s code failed")',
    '    return ["something", "else", 3]',
    '    await asyncio.sleep(0.02)\n    return "waited"',
]
# A handler's body in main.py: after its docstring, up to the two blank lines that end it.
HANDLER_BODY = re.compile(
    r'^(@module\.function.*?\nasync def .*?\n    """.*?"""\n)(.*?)(?=\n\n\n)',
    re.MULTILINE | re.DOTALL,
)


@pytest.mark.slow
@pytest.mark.parametrize("needs_config", ["yes", "no"])
def test_machinery_tests_pass_when_every_handler_is_replaced(bake, needs_config):
    """The author replaces every handler body: test_protocol.py, test_loop.py,
    test_manifest.py and test_config.py pass untouched; only the author's tests of the
    functions (test_handlers.py, test_functions.py), which assert placeholder answers, fail."""
    project = bake(functions=SIGNATURE_SHAPES, needs_config=needs_config)
    path = project.file("main.py")
    source = path.read_text(encoding="utf-8")
    turn = iter(range(1000))
    source, count = HANDLER_BODY.subn(
        lambda m: m[1] + AUTHOR_BODIES[next(turn) % len(AUTHOR_BODIES)], source
    )
    assert count == len([s for s in parse_functions(SIGNATURE_SHAPES) if s.closure is None])
    source = source.replace(
        "from __future__ import annotations\n",
        "from __future__ import annotations\n\nimport asyncio\n\nimport timod\n",
        1,
    )
    path.write_text(source, encoding="utf-8")

    project.pytest(
        "tests/test_protocol.py",
        "tests/test_loop.py",
        "tests/test_manifest.py",
        "tests/test_config.py",
    )
    failed = project.failed_tests("tests/")
    files = {name.split("::")[0] for name in failed}
    assert files == {"tests/test_handlers.py", "tests/test_functions.py"}, failed
