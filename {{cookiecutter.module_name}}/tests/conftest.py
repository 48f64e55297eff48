"""Fixtures: the module started the way ThingsDB starts it, and its module.json."""

from __future__ import annotations

from pathlib import Path

import pytest

from thingsdb_peer import ModuleProcess, load_manifest

PROJECT_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def manifest() -> dict:
    return load_manifest(PROJECT_DIR)


@pytest.fixture
def module():
    """The module as a child process, stdin and stdout socket pairs, no configuration sent."""
    with ModuleProcess.for_project(PROJECT_DIR) as process:
        yield process
