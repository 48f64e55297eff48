"""Fixtures: the module started the way ThingsDB starts it, and its module.json."""

from __future__ import annotations

{% if cookiecutter.language == "go" -%}
import shutil
import subprocess
{% endif -%}
from pathlib import Path

import pytest

from thingsdb_peer import ModuleProcess, load_manifest{% if cookiecutter.language == "python" %}, module_command{% endif %}

PROJECT_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def manifest() -> dict:
    return load_manifest(PROJECT_DIR)
{%- if cookiecutter.language == "go" %}


@pytest.fixture(scope="session")
def command(tmp_path_factory) -> list[str]:
    """The module built from the source as it is now; bin/ may hold an older build."""
    go = shutil.which("go")
    if go is None:
        pytest.fail("the protocol tests build the module with the go command, which is not on PATH")
    binary = tmp_path_factory.mktemp("module") / "module"
    build = subprocess.run(
        [go, "build", "-o", str(binary), "."], cwd=PROJECT_DIR, capture_output=True, text=True
    )
    assert build.returncode == 0, f"go build failed:\n{build.stderr}"
    return [str(binary)]
{%- else %}


@pytest.fixture(scope="session")
def command(manifest) -> list[str]:
    """ThingsDB's command for main.py: the Python running these tests, on the file."""
    return module_command(PROJECT_DIR, manifest)
{%- endif %}


@pytest.fixture
def module(command):
    """The module as a child process, stdin and stdout socket pairs, no configuration sent."""
    with ModuleProcess(command, cwd=PROJECT_DIR) as process:
        yield process
