"""module.json is what ThingsDB accepts, and what `python tools/manifest.py sync` writes."""

from __future__ import annotations

from pathlib import Path

from main import module
from manifest import check_manifest, lint_manifest, sync
from thingsdb_peer import host_platform_key

PROJECT_DIR = Path(__file__).resolve().parents[1]


def manifest_text() -> str:
    return (PROJECT_DIR / "module.json").read_text(encoding="utf-8")


def test_thingsdb_accepts_module_json():
    assert check_manifest(manifest_text(), host_platform_key()) is None


def test_module_json_has_no_install_pitfalls():
    assert lint_manifest(manifest_text(), str(PROJECT_DIR)) == []


def test_every_handler_has_arguments_the_module_can_check():
    module.functions()  # raises HandlerError naming each parameter it cannot check


def test_module_json_follows_the_code():
    # What `python tools/manifest.py sync --check` says: each difference, and the command.
    differences = sync(str(PROJECT_DIR), check=True)
    assert differences == [], "\n".join(differences)


def test_every_function_has_an_example():
    # The tests, the real-server tests and the README call each function through its examples.
    missing = [f["name"] for f in module.describe()["functions"] if not f["examples"]]
    assert missing == [], f"give these functions examples in main.py: {', '.join(missing)}"
