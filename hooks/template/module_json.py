"""module.json rendered from the answers."""

from __future__ import annotations

import json
from collections.abc import Iterable, MutableMapping
from typing import Any

from .facts import FUNCTION_KEY, MANIFEST_DEEP, load_platforms, project_tool
from .go_code import binary_path
from .rules import split_list
from .signatures import Signature, parse_functions


def thingsdb_value(value: Any) -> str:
    """ThingsDB code for a sample value, as a user would type it in a query.

    The one renderer is tools/manifest.py's, which `sync` uses for the README too.
    """
    return project_tool("manifest").thingsdb_value(value)


def render_platform_map(module_name: str, platforms: Iterable[str]) -> dict[str, str]:
    """The ``main`` map: every key ThingsDB computes on a chosen platform -> that binary."""
    table = load_platforms()
    main: dict[str, str] = {}
    for platform in platforms:
        for key in table[platform]["keys"]:
            main[key] = binary_path(module_name, platform)
    return main


def python_includes() -> list[str]:
    """Files a Python module needs besides main: ThingsDB fetches only what module.json names."""
    return ["timod_loop.py"]


def render_exposed(signature: Signature) -> str | dict[str, Any]:
    """One ``exposes`` entry: a closure as is, or doc, defaults and argmap."""
    if signature.closure is not None:
        return signature.closure
    defaults: dict[str, Any] = {FUNCTION_KEY: signature.name}
    defaults.update({a.name: a.default for a in signature.arguments if a.optional})
    return {"doc": signature.doc, "defaults": defaults, "argmap": signature.argmap}


def render_manifest(answers: MutableMapping[str, Any]) -> str:
    """The complete module.json text for these answers."""
    if answers["language"] == "go":
        main: str | dict[str, str] = render_platform_map(
            answers["module_name"], split_list(answers["platforms"])
        )
    else:
        main = "main.py"
    manifest: dict[str, Any] = {
        "doc": answers["description"],
        "version": answers["version"],  # a string: ThingsDB reformats numbers
        "main": main,
    }
    if answers["language"] == "python":
        # No "requirements" key: ThingsDB skips it on a first install but does install
        # requirements.txt when the key is absent.
        manifest["includes"] = python_includes()
    manifest["defaults"] = {"load": True, "deep": MANIFEST_DEEP}
    manifest["exposes"] = {
        signature.name: render_exposed(signature)
        for signature in parse_functions(answers["functions"])
    }
    return json.dumps(manifest, indent=2, ensure_ascii=False)
