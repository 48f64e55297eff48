"""module.json is what ThingsDB accepts, and it matches the code."""

from __future__ import annotations

from pathlib import Path

from main import module
from manifest import check_manifest, lint_manifest
from thingsdb_peer import host_platform_key

PROJECT_DIR = Path(__file__).resolve().parents[1]


def manifest_text() -> str:
    return (PROJECT_DIR / "module.json").read_text(encoding="utf-8")


def test_thingsdb_accepts_module_json():
    assert check_manifest(manifest_text(), host_platform_key()) is None


def test_module_json_has_no_install_pitfalls():
    assert lint_manifest(manifest_text(), str(PROJECT_DIR)) == []


def handled(manifest) -> dict:
    """The exposed functions main.py answers; a closure (a string) runs in ThingsDB itself."""
    return {name: spec for name, spec in manifest["exposes"].items() if isinstance(spec, dict)}


def test_every_handler_has_arguments_the_module_can_check():
    module.functions()  # raises HandlerError naming each parameter it cannot check


def test_every_exposed_function_has_a_handler_and_every_handler_is_exposed(manifest):
    assert set(module.functions()) == set(handled(manifest))


def test_each_handler_takes_the_arguments_of_its_argmap_in_order(manifest):
    for name, function in module.functions().items():
        arguments = [argument.name for argument in function.arguments]
        assert arguments + ["*"] * bool(function.options) == handled(manifest)[name]["argmap"]


def test_each_default_in_module_json_is_the_handlers_default(manifest):
    # ThingsDB sends module.json's default for a left-out argument; a raw call gets main.py's.
    for name, function in module.functions().items():
        defaults = handled(manifest)[name]["defaults"]
        for argument in function.arguments:
            if argument.required:
                assert argument.name not in defaults, (name, argument.name)
            else:
                assert defaults.get(argument.name) == argument.default, (name, argument.name)


def test_every_exposed_function_names_itself_in_its_defaults(manifest):
    for name, spec in handled(manifest).items():
        assert spec["defaults"]["function"] == name
