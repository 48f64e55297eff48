"""module.json is what ThingsDB accepts, and it matches the code."""

from __future__ import annotations

from pathlib import Path

from main import Handler
from manifest import check_manifest, lint_manifest
from thingsdb_peer import host_platform_key

PROJECT_DIR = Path(__file__).resolve().parents[1]


def manifest_text() -> str:
    return (PROJECT_DIR / "module.json").read_text(encoding="utf-8")


def test_thingsdb_accepts_module_json():
    assert check_manifest(manifest_text(), host_platform_key()) is None


def test_module_json_has_no_install_pitfalls():
    assert lint_manifest(manifest_text(), str(PROJECT_DIR)) == []


def test_every_exposed_function_has_a_handler_and_every_handler_is_exposed(manifest):
    assert set(Handler().functions) == set(manifest["exposes"])


def test_every_exposed_function_names_itself_in_its_defaults(manifest):
    for name, spec in manifest["exposes"].items():
        assert spec["defaults"]["function"] == name
