"""ThingsDB's limits and the template's data tables, each read from its one home."""

from __future__ import annotations

import builtins
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

# hooks/, where the template's tables are; the template is its parent.
HOOKS_DIR = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = HOOKS_DIR.parent


PROJECT_TEMPLATE_DIR = TEMPLATE_DIR / "{{cookiecutter.module_name}}"


PLATFORM_TABLE = PROJECT_TEMPLATE_DIR / "tools" / "build" / "platforms.json"


# The ThingsDB argument types, one row each: what every runtime, doc and test says of a type.
TYPE_TABLE = HOOKS_DIR / "thingsdb_types.json"
# Every answer: default, prompt, kind, rule, language, README words.
ANSWER_TABLE = HOOKS_DIR / "answer_table.json"
# Every generated file: its language, whose it is, what it is.
PROJECT_FILES_TABLE = HOOKS_DIR / "project_files.json"


_tools: dict[str, ModuleType] = {}


def project_tool(name: str) -> ModuleType:
    """A module of the generated projects' tools/ folder, loaded from this template.

    Each copy of this module loads its own (see hooks/extension.py), never one another copy of
    the template left in sys.modules.
    """
    if name not in _tools:
        key = f"{__name__}.tools.{name}"  # not to be mistaken for another `manifest`
        path = PROJECT_TEMPLATE_DIR / "tools" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(key, path)
        module = importlib.util.module_from_spec(spec)
        # No __pycache__ inside the template: cookiecutter would copy it into every project.
        sys.dont_write_bytecode = True
        sys.modules[key] = module  # while it runs: dataclasses look their module up by name
        try:
            spec.loader.exec_module(module)
        finally:
            del sys.modules[key]
        _tools[name] = module
    return _tools[name]


# ThingsDB's name and version rules live with the module.json validator that generated
# projects ship; the answers follow the very same rules.
THINGSDB_NAME = project_tool("manifest").NAME


THINGSDB_VERSION = project_tool("manifest").VERSION


# Words that ThingsDB's parser reads as values, not names, so `mod.nil()` cannot work.
THINGSDB_RESERVED = frozenset({"nil", "true", "false"})


# The key each exposed function sets in its defaults: ThingsDB does not send the function name,
# so this is how the module knows which function was called. The manifest check knows it too.
FUNCTION_KEY = project_tool("manifest").DISPATCH_KEY


# Limits both flavours keep, rendered into their code from here. The longest error message
# ThingsDB takes, in UTF-8 bytes (EX_MAX_SZ; a longer one reaches the caller as bad_data).
MAX_ERROR_MESSAGE = 16383


# The deepest nesting of arrays and maps a module decodes: msgpack-c's limit, which the Python
# flavour's decoder has built in and the Go flavour checks before its recursive decoder.
MAX_NESTING = 1024


# How long requests still running when stdin ends may take before the module exits anyway.
SHUTDOWN_GRACE_SECONDS = 5


# The errors of the argument checks, the same words in both flavours (ThingsDB's own wording).
# Fields: {function}, {argument}, {expected} (the declared type), {got} (the type received).
ARGUMENT_ERRORS = {
    "type": "function `{function}` expects argument `{argument}` to be of type `{expected}` "
    "but got type `{got}` instead",
    "missing": "function `{function}` requires argument `{argument}` of type `{expected}` "
    "but got type `nil` instead",
    "overflow": "function `{function}` expects argument `{argument}` to fit in a 64-bit `int`",
    # No fields: a map anywhere in a request or configuration with a key that is not a str.
    "key": "property names must be of type `str`",
}


ARGUMENT_ERROR_FIELDS = ("function", "argument", "expected", "got")


# The largest request body a module keeps in memory; a larger one gets bad_data.
MAX_BODY_MIB = 256


# The ThingsDB releases generated projects are tested on (CI's integration matrix, in the
# official image ghcr.io/thingsdb/node:full-v<release>): the current one and the previous minor.
THINGSDB_RELEASES = ("1.9.2", "1.8.8")


# The largest package ThingsDB ever sends (TI_PKG_MAX_SIZE): a header announcing more means
# the stream is corrupt, and a module exits so that ThingsDB restarts it.
THINGSDB_MAX_PACKAGE = 1 << 30


def load_platforms() -> dict[str, dict[str, Any]]:
    """The platform table: platform id -> GOOS, GOARCH, GOARM and the ThingsDB keys."""
    return json.loads(PLATFORM_TABLE.read_text(encoding="utf-8"))


def load_answer_table() -> list[dict[str, Any]]:
    """Every answer as hooks/answer_table.json declares it, in the order they are asked; the
    default of ``platforms`` is every platform of the platform table."""
    rows = json.loads(ANSWER_TABLE.read_text(encoding="utf-8"))["answers"]
    every_platform = ", ".join(load_platforms())
    return [
        {**row, "default": every_platform if row["name"] == "platforms" else row["default"]}
        for row in rows
    ]


def _table_value(value: Any) -> Any:
    """A sample of the type table: JSON has no bytes, so {"$bytes": text} stands for them."""
    if isinstance(value, dict) and list(value) == ["$bytes"]:
        return value["$bytes"].encode("utf-8")
    return value


def load_project_files() -> list[dict[str, Any]]:
    """The table of generated files: paths, language, owner, what."""
    return json.loads(PROJECT_FILES_TABLE.read_text(encoding="utf-8"))["files"]


def load_thingsdb_types() -> list[dict[str, Any]]:
    """The type table: one row per ThingsDB argument type, its samples as Python values."""
    rows = json.loads(TYPE_TABLE.read_text(encoding="utf-8"))["types"]
    samples = ("sample", "wrong_sample")
    return [{**row, **{key: _table_value(row[key]) for key in samples}} for row in rows]


# ThingsDB's value types an argument can be declared with (no type means ``any``), and the
# columns of their table that the code here reads by type.
THINGSDB_TYPES = load_thingsdb_types()


ARGUMENT_TYPES = tuple(t["name"] for t in THINGSDB_TYPES)


# The Python type a value of each type arrives as (``any`` has none: it takes every value).
PYTHON_TYPES: dict[str, type] = {
    t["name"]: getattr(builtins, t["python_type"]) for t in THINGSDB_TYPES if t["python_type"]
}


# The field type of a Go arguments struct; the nullable one for an optional argument whose
# default is null.
GO_TYPES = {t["name"]: t["go_type"] for t in THINGSDB_TYPES}


GO_NULLABLE_TYPES = {t["name"]: t["go_nullable_type"] for t in THINGSDB_TYPES}


# A sample value of each type: used in the generated README, tests and try-out examples.
SAMPLES: dict[str, Any] = {t["name"]: t["sample"] for t in THINGSDB_TYPES}


# A value of another type, for tests that expect a type_err (none for ``any``).
WRONG_SAMPLES: dict[str, Any] = {
    t["name"]: t["wrong_sample"] for t in THINGSDB_TYPES if t["wrong_sample"] is not None
}


# module.json's default `deep`: how many levels of things ThingsDB packs into an argument.
MANIFEST_DEEP = 1


# The Python annotation of each ThingsDB type, as the loop checks it.
PY_ANNOTATIONS = {t["name"]: t["python_annotation"] for t in THINGSDB_TYPES}
