"""Fixtures: the module started the way ThingsDB starts it, and its module.json."""

from __future__ import annotations

from pathlib import Path

import pytest

from thingsdb_peer import ModuleProcess, load_manifest, module_command

PROJECT_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def manifest() -> dict:
    return load_manifest(PROJECT_DIR)


@pytest.fixture(scope="session")
def command(manifest) -> list[str]:
    """ThingsDB's command for main.py: the Python running these tests, on the file."""
    return module_command(PROJECT_DIR, manifest)


@pytest.fixture
def module(command):
    """The module as a child process, stdin and stdout socket pairs, no configuration sent."""
    with ModuleProcess(command, cwd=PROJECT_DIR) as process:
        yield process
