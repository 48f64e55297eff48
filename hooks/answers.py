"""The answers of this template: their rules, and what is rendered from them.

This is the one place that knows what a valid answer is. It is used three ways:

* cookiecutter loads :class:`AnswersExtension` through hooks/extension.py (``_extensions`` in
  cookiecutter.json), which reads this file afresh for every render. Its ``check_answers``
  filter runs after the last question, before any file is written. Invalid answers raise
  :class:`InvalidAnswers`, which cookiecutter's command line prints as a plain message (no
  traceback) before exiting with status 1;
* the hooks import it again through the absolute path the extension exposes
  (``answers_module_dir``), as hooks run from a temporary copy of themselves;
* the template's tests import it directly.

The rules are ThingsDB's own (see the README's answers table); every message names the answer,
the value and the rule.
"""

from __future__ import annotations

import builtins
import functools
import importlib.util
import json
import keyword
import logging
import math
import re
import sys
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import cookiecutter.prompt
from cookiecutter.exceptions import FailedHookException
from jinja2.ext import Extension

TEMPLATE_DIR = Path(__file__).resolve().parent.parent
PROJECT_TEMPLATE_DIR = TEMPLATE_DIR / "{{cookiecutter.module_name}}"
PLATFORM_TABLE = PROJECT_TEMPLATE_DIR / "tools" / "build" / "platforms.json"
# The ThingsDB argument types, one row each: what every runtime, doc and test says of a type.
TYPE_TABLE = Path(__file__).resolve().parent / "thingsdb_types.json"


_tools: dict[str, ModuleType] = {}


def _load_tool(name: str) -> ModuleType:
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


LANGUAGES = ("python", "go")
LICENSES = ("MIT", "Apache-2.0", "BSD-3-Clause", "GPL-3.0-or-later")
YES = ("yes", "y", "true", "1", "on")
NO = ("no", "n", "false", "0", "off")

# ThingsDB's name and version rules live with the module.json validator that generated
# projects ship; the answers follow the very same rules.
THINGSDB_NAME = _load_tool("manifest").NAME
THINGSDB_VERSION = _load_tool("manifest").VERSION
# new_module() accepts github.com/OWNER/REPO with letters, digits and - _ . in both parts;
# GitHub itself limits owners to 39 characters and repositories to 100.
GITHUB_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,38}")
GITHUB_REPO = re.compile(r"[A-Za-z0-9_.-]{1,100}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# A Go module path: slash-separated elements of letters, digits and - . _ ~, the first one a
# domain with a dot (what `go get` can fetch).
GO_MODULE_PATH = re.compile(r"[a-z0-9][a-z0-9.-]*\.[a-z]{2,}(/[A-Za-z0-9_.~-]+)+")

# Words that ThingsDB's parser reads as values, not names, so `mod.nil()` cannot work.
THINGSDB_RESERVED = frozenset({"nil", "true", "false"})

# The key each exposed function sets in its defaults: ThingsDB does not send the function name,
# so this is how the module knows which function was called. The manifest check knows it too.
FUNCTION_KEY = _load_tool("manifest").DISPATCH_KEY

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
_FORMAT_FIELDS = ("function", "argument", "expected", "got")
# The largest request body a module keeps in memory; a larger one gets bad_data.
MAX_BODY_MIB = 256
# The ThingsDB releases generated projects are tested on (CI's integration matrix, in the
# official image ghcr.io/thingsdb/node:full-v<release>): the current one and the previous minor.
THINGSDB_RELEASES = ("1.9.2", "1.8.8")
# The largest package ThingsDB ever sends (TI_PKG_MAX_SIZE): a header announcing more means
# the stream is corrupt, and a module exits so that ThingsDB restarts it.
THINGSDB_MAX_PACKAGE = 1 << 30


class InvalidAnswers(SystemExit):
    """One or more answers break a rule: the run ends with status 1 after saying why.

    A SystemExit, because every command that renders this template lets one through as is:
    cookiecutter's, cruft's (whose other exceptions become a full-screen traceback) and
    pytest-cookies. :func:`check_answers` prints the problems, one line each, before raising.
    """

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(1)

    def __str__(self) -> str:
        return "Invalid answers, nothing was generated:\n" + "\n".join(
            f"  {p}" for p in self.problems
        )


# --- parsing ---------------------------------------------------------------------------------


def split_list(text: str) -> list[str]:
    """Split a comma-separated answer, dropping blanks around items."""
    return [item.strip() for item in str(text).split(",") if item.strip()]


def function_names(text: str) -> list[str]:
    """The exposed function names of the ``functions`` answer, in the order given."""
    names = []
    for item in split_top_level(str(text)):
        match = re.match(r"\s*([^\s(=]*)", item)
        if item.strip():
            names.append(match[1])
    return names


def parse_bool(value: Any) -> bool | None:
    """A yes/no answer as a bool, or None when it is neither."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    return None


def load_platforms() -> dict[str, dict[str, Any]]:
    """The platform table: platform id -> GOOS, GOARCH, GOARM and the ThingsDB keys."""
    return json.loads(PLATFORM_TABLE.read_text(encoding="utf-8"))


def _table_value(value: Any) -> Any:
    """A sample of the type table: JSON has no bytes, so {"$bytes": text} stands for them."""
    if isinstance(value, dict) and list(value) == ["$bytes"]:
        return value["$bytes"].encode("utf-8")
    return value


def load_thingsdb_types() -> list[dict[str, Any]]:
    """The type table: one row per ThingsDB argument type, its samples as Python values."""
    rows = json.loads(TYPE_TABLE.read_text(encoding="utf-8"))["types"]
    samples = ("sample", "wrong_sample")
    return [{**row, **{key: _table_value(row[key]) for key in samples}} for row in rows]


def go_name(name: str) -> str:
    """An exported Go identifier for a ThingsDB name: ``get_user`` -> ``GetUser``."""
    parts = [p for p in name.split("_") if p]
    if not parts:  # a name made only of underscores
        return "X" + str(len(name))
    joined = "".join(p[0].upper() + p[1:] for p in parts)
    return joined if not joined[0].isdigit() else "X" + joined


# --- function signatures (the ``functions`` answer) ------------------------------------------

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
# Argument names ThingsDB itself consumes: an argmap item `load` or `deep` sets the call's
# option of that name and is never sent to the module.
THINGSDB_OPTION_ARGUMENTS = frozenset({"load", "deep"})
# The name under which a function with a trailing `*` receives its thing of extra properties.
OPTIONS_ARGUMENT = "options"
# Python keywords cannot name a handler's parameter; `self` is taken by methods.
PYTHON_RESERVED = frozenset(keyword.kwlist) | {"self"}
# The longest argument name of a Python module: a handler's parameter is the argument's name
# (the loop passes arguments by it), and the placeholder writes it twice on one line of
# main.py (`"name": name,`, indented 8) within the 100 columns ruff allows.
PYTHON_ARGUMENT_LONGEST = 43
# The integers ThingsDB reads in module.json: yajl refuses beyond LLONG_MAX either way, so
# -2**63 (which int64 holds) is out too.
INT64 = (-(2**63 - 1), 2**63 - 1)
# How deep a default's lists and things may nest: enough for any real default, and far below
# what the renderers and Python's recursion limit take.
MAX_DEFAULT_NESTING = 32
# Methods the generated Go argument structs have, which a field may not shadow.
GO_ARGS_METHODS = frozenset({"Defaults"})
# A sample value of each type: used in the generated README, tests and try-out examples.
SAMPLES: dict[str, Any] = {t["name"]: t["sample"] for t in THINGSDB_TYPES}
# A value of another type, for tests that expect a type_err (none for ``any``).
WRONG_SAMPLES: dict[str, Any] = {
    t["name"]: t["wrong_sample"] for t in THINGSDB_TYPES if t["wrong_sample"] is not None
}
_NO_DEFAULT = object()


@dataclass(frozen=True)
class Argument:
    """One argument of an exposed function: its argmap name, ThingsDB type and default."""

    name: str
    type: str = "any"
    default: Any = _NO_DEFAULT

    @property
    def optional(self) -> bool:
        return self.default is not _NO_DEFAULT

    def render(self) -> str:
        text = f"{self.name}: {self.type}"
        if self.optional:
            text += " = " + json.dumps(self.default, ensure_ascii=False)
        return text

    @property
    def go_type(self) -> str:
        """The Go field type: one that can be nil for an optional argument defaulting to null."""
        nullable = self.optional and self.default is None
        return (GO_NULLABLE_TYPES if nullable else GO_TYPES)[self.type]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "optional": self.optional,
            "default": self.default if self.optional else None,
            "sample": SAMPLES[self.type],
            "wrong_sample": WRONG_SAMPLES.get(self.type),
            "wrong_sample_type": thingsdb_type_name(WRONG_SAMPLES.get(self.type)),
            "go_field": go_name(self.name),
            "go_type": self.go_type,
        }


@dataclass(frozen=True)
class Signature:
    """An exposed function as the ``functions`` answer declares it."""

    name: str
    arguments: tuple[Argument, ...] = ()
    options: bool = False  # a trailing `*`: an optional thing of extra properties
    closure: str | None = None  # a ThingsDB closure exposed as is (no handler)
    bare: bool = False  # given as a bare name: name(value: any), the placeholder echoes value

    @property
    def argmap(self) -> list[str]:
        return [a.name for a in self.arguments] + (["*"] if self.options else [])

    @property
    def doc(self) -> str:
        if self.closure is not None:
            return self.closure
        parts = [a.render() for a in self.arguments] + (["*"] if self.options else [])
        return f"{self.name}({', '.join(parts)})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "closure": self.closure,
            "bare": self.bare,
            "options": self.options,
            "arguments": [a.as_dict() for a in self.arguments],
            "argmap": self.argmap,
            "doc": self.doc,
            "go_name": go_name(self.name),
            "sample_args": [SAMPLES[a.type] for a in self.arguments],
        }


def thingsdb_type_name(value: Any) -> str:
    """The name ThingsDB gives the type of a value as MessagePack carries it."""
    if value is None:
        return "nil"
    # By exact type, as the Python loop names it: a bool is no int here.
    names = {kind: name for name, kind in PYTHON_TYPES.items()}
    return names.get(type(value), "mpdata")


def py_value(value: Any) -> str:
    """A Python literal for a sample or default value (double quotes, as ruff formats them)."""
    if isinstance(value, bytes):
        return "b" + json.dumps(value.decode("latin-1"))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(py_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_value(k)}: {py_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return repr(value).replace("e+", "e")  # 1e300: ruff format drops an exponent's +
    return repr(value)  # None, True, False, int


def thingsdb_value(value: Any) -> str:
    """ThingsDB code for a sample value, as a user would type it in a query.

    The one renderer is tools/manifest.py's, which `sync` uses for the README too.
    """
    return _load_tool("manifest").thingsdb_value(value)


def options_sample(signature: dict[str, Any]) -> dict[str, Any]:
    """The thing a sample call gives a trailing ``*``: a key that is none of the arguments.

    A key named like an argument would replace that argument in the request.
    """
    taken = {a["name"] for a in signature["arguments"]} | {FUNCTION_KEY, "deep", "load"}
    key, n = "key", 1
    while key in taken:
        key, n = f"key{n}", n + 1
    return {key: "value"}


# module.json's default `deep`: how many levels of things ThingsDB packs into an argument.
MANIFEST_DEEP = 1


def as_sent(value: Any, levels: int = MANIFEST_DEEP) -> Any:
    """A value as ThingsDB packs it ``levels`` things deep: deeper things arrive empty."""
    if isinstance(value, dict):
        return {k: as_sent(v, levels - 1) for k, v in value.items()} if levels > 0 else {}
    if isinstance(value, list):
        return [as_sent(item, levels) for item in value]
    return value


def placeholder_examples(signature: dict[str, Any], float_answers: bool = False) -> list[dict]:
    """The examples a placeholder handler comes with: calls and what the placeholder answers.

    A sample call; one leaving the optional arguments out; one with a ``*`` thing; one with
    an argument of a wrong type (type_err); one leaving out a required argument
    (num_arguments_err). Each is {"args", "answer"} or {"args", "error", "message"}.
    With float_answers, a float argument's value in an answer is a float (Go's placeholder
    answers a float64 whatever the call gave).
    """
    arguments = signature["arguments"]

    def answered(a: dict[str, Any], value: Any) -> Any:
        if float_answers and a["type"] == "float" and isinstance(value, int):
            return float(value)
        return value

    samples = [a["sample"] for a in arguments]
    if signature["bare"]:
        return [{"args": samples, "answer": samples[0]}]
    examples = []
    options = {"options": {}} if signature["options"] else {}
    answer = {a["name"]: answered(a, a["sample"]) for a in arguments}
    examples.append({"args": samples, "answer": {**answer, **options}})
    required = [a for a in arguments if not a["optional"]]
    if len(required) < len(arguments):
        answer = {
            a["name"]: answered(a, a["default"] if a["optional"] else a["sample"])
            for a in arguments
        }
        examples.append({"args": [a["sample"] for a in required], "answer": {**answer, **options}})
    if signature["options"]:
        extra = options_sample(signature)
        answer = {a["name"]: answered(a, a["sample"]) for a in arguments}
        examples.append({"args": samples + [extra], "answer": {**answer, "options": extra}})
    typed = [a for a in arguments if a["type"] != "any"]
    if typed:
        bad = typed[0]
        fields = dict(function=signature["name"], argument=bad["name"], expected=bad["type"])
        examples.append(
            {
                "args": [a["wrong_sample"] if a is bad else a["sample"] for a in arguments],
                "error": "type_err",
                "message": ARGUMENT_ERRORS["type"].format(got=bad["wrong_sample_type"], **fields),
            }
        )
    needed = [a for a in required if a["type"] != "any"]
    if needed:
        first = needed[0]
        examples.append(
            {
                "args": [],
                "error": "num_arguments_err",
                "message": ARGUMENT_ERRORS["missing"].format(
                    function=signature["name"], argument=first["name"], expected=first["type"]
                ),
            }
        )
    return examples


def readme_functions(answers: MutableMapping[str, Any]) -> str:
    """The README's functions section as `python tools/manifest.py sync` writes it from the
    code: the placeholders' signatures and examples, closures as given."""
    entries = []
    for signature in parse_functions(answers["functions"]):
        if signature.closure is not None:
            entries.append({"name": signature.name, "closure": signature.closure})
            continue
        examples = placeholder_examples(signature.as_dict(), float_answers=True)
        entries.append({"name": signature.name, "doc": signature.doc, "examples": examples})
    return _load_tool("manifest").functions_section(answers["module_name"], entries)


_PY_LINE = 100


def py_literal(value: Any) -> str:
    """A Python literal of a value, strings in the quotes ruff format chooses."""
    if isinstance(value, str) and value.count('"') > value.count("'"):
        text = json.dumps(value, ensure_ascii=False)[1:-1].replace('\\"', '"')
        return "'" + text.replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    return py_value(value)


class _PyText(str):
    """A string literal that may be split into implicitly joined pieces."""

    def __new__(cls, text: str) -> _PyText:
        self = super().__new__(cls, py_literal(text))
        self.text = text
        return self


def _py_node(value: Any) -> Any:
    """A value as the layout below takes it: (open, items, close, is_call) or a literal."""
    if isinstance(value, list) and value:
        return ("[", [("", _py_node(v)) for v in value], "]", False)
    if isinstance(value, dict) and value:
        return ("{", [(py_literal(k) + ": ", _py_node(v)) for k, v in value.items()], "}", False)
    return py_literal(value)


def _py_flat(node: Any) -> str:
    if isinstance(node, str):
        return node
    open_, items, close, _ = node
    return open_ + ", ".join(lead + _py_flat(item) for lead, item in items) + close


def _py_layout(node: Any, indent: str, lead: str, trail: str, exploded=False) -> list[str]:
    """Lines of ``lead`` + node + ``trail`` as ruff format lays them out in 100 columns.

    Flat when it fits; else a call's arguments (or a single item) on one indented line when
    they fit; else one item a line with a trailing comma. ``exploded``: a magic trailing comma.
    """
    flat = indent + lead + _py_flat(node) + trail
    if isinstance(node, _PyText) and len(flat) > _PY_LINE:
        # Too long a string: implicitly joined pieces in parentheses, which ruff keeps.
        room = _PY_LINE - len(indent) - 4
        pieces, piece = [], ""
        for word in re.split(r"(?<= )", node.text):
            if piece and len(py_literal(piece + word)) > room:
                pieces.append(piece)
                piece = ""
            piece += word
        pieces.append(piece)
        inner = [indent + "    " + py_literal(piece) for piece in pieces]
        # A word longer than a line (a long function name) stays whole.
        inner = [line + ("  # noqa: E501" if len(line) > _PY_LINE else "") for line in inner]
        return [indent + lead + "(", *inner, indent + ")" + trail]
    if isinstance(node, str):
        # A literal ruff cannot split (a long string or name): whole, on a line too long.
        return [flat + ("  # noqa: E501" if len(flat) > _PY_LINE else "")]
    if len(flat) <= _PY_LINE and not exploded:
        return [flat]
    open_, items, close, is_call = node
    inner = indent + "    "
    body = ", ".join(item_lead + _py_flat(item) for item_lead, item in items)
    head, tail = indent + lead + open_, indent + close + trail
    if not exploded and (is_call or len(items) == 1) and len(inner + body) <= _PY_LINE:
        return [head, inner + body, tail]
    if not exploded and len(items) == 1:
        item_lead, item = items[0]
        return [head, *_py_layout(item, inner, item_lead, ""), tail]
    lines = [head]
    for item_lead, item in items:
        lines += _py_layout(item, inner, item_lead, ",")
    return lines + [tail]


# The Python annotation of each ThingsDB type, as the loop checks it.
PY_ANNOTATIONS = {t["name"]: t["python_annotation"] for t in THINGSDB_TYPES}


def py_handler_def(signature: dict[str, Any], python_name: str, returns: str) -> str:
    """main.py's ``async def`` line(s) of a placeholder, as ruff formats them.

    On one line when it fits; else the parameters on one indented line when they fit (a single
    one with a trailing comma); else one a line, each laid out like a value of the examples (a
    long list default split, a long string whole with ``# noqa: E501``).
    """
    items: list[tuple[str, Any]] = []
    for a in signature["arguments"]:
        nullable = a["optional"] and a["default"] is None and a["type"] != "any"
        lead = f"{a['name']}: {PY_ANNOTATIONS[a['type']]}" + (" | None" if nullable else "")
        # The default as given: a float argument's `= 2` stays 2, so the doc sync writes from
        # the code keeps reading `= 2` (the loop hands the handler 2.0).
        items.append((lead + " = ", _py_node(a["default"])) if a["optional"] else ("", lead))
    if signature["options"]:
        items += [("", "*"), ("", "options: dict[str, Any]")]
    head, tail = f"async def {python_name}(", f") -> {returns}:"
    flat = ", ".join(lead + _py_flat(node) for lead, node in items)
    if not items or len(head + flat + tail) <= _PY_LINE:
        return head + flat + tail
    if len("    " + flat) <= _PY_LINE:
        return f"{head}\n    {flat}{',' if len(items) == 1 else ''}\n{tail}"
    lines = [head]
    for lead, node in items:
        lines += _py_layout(node, "    ", lead, ",")
    return "\n".join([*lines, tail])


# Where a docstring line may break inside a piece: at a lone space between two words.
_DOC_BREAK = re.compile(r"(?<=\S) (?=\S)")


def py_docstring_text(text: str, indent: str) -> str:
    """A signature as the text of a docstring (after its opening quotes), within 100 columns.

    Wrapped after the commas between arguments; a long name's `name(` alone on the first line;
    a piece too long for a line (a long default) broken at its spaces, so that a line still too
    long is a single word, which the line length rule lets be. Backslashes and triple quotes
    are kept literally.
    """
    escaped = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    pieces = [(", ", piece) for piece in escaped.split(", ")]
    pieces[0] = ("", pieces[0][1])
    head = pieces[0][1].split("(", 1)
    if len(indent + '"""' + pieces[0][1]) > 99 and len(head) == 2:
        pieces[:1] = [("", head[0] + "("), ("", head[1])]
    lines: list[str] = []
    line = indent + '"""'
    for number, (separator, piece) in enumerate(pieces):
        if number == 0 or len(line + separator + piece) <= 99:
            line += separator + piece
            continue
        lines.append(line + separator.strip())
        line = indent
        for word in _DOC_BREAK.split(piece):
            if line != indent and len(line + " " + word) > 99:
                lines.append(line)
                line = indent
            line += (" " if line != indent else "") + word
    lines.append(line)
    return "\n".join(lines)[len(indent) + 3 :]


def py_examples_decorator(signature: dict[str, Any], python_name: str) -> str:
    """main.py's ``@module.function(examples=[...])`` for a placeholder, as ruff formats it."""
    calls = []
    for example in placeholder_examples(signature, float_answers=True):
        items = [("", _py_node(example["args"]))]
        if "error" in example:
            items += [("error=", _py_node(example["error"]))]
            items += [("message=", _PyText(example["message"]))]
        else:
            items += [("answer=", _py_node(example["answer"]))]
        calls.append(("", ("Example(", items, ")", True)))
    items = [] if python_name == signature["name"] else [("", py_literal(signature["name"]))]
    items.append(("examples=", ("[", calls, "]", False)))
    lines = ["@module.function("]
    for item_lead, item in items:
        exploded = not isinstance(item, str)
        lines += _py_layout(item, "    ", item_lead, ",", exploded=exploded)
    return "\n".join(lines + [")"])


def cli_value(value: Any) -> str:
    """A shell word giving ``value`` to tools/thingsdb_peer.py (JSON; bytes as b"...")."""
    text = py_value(value) if isinstance(value, bytes) else json.dumps(value, ensure_ascii=False)
    return "'" + text.replace("'", "'\\''") + "'"


class SignatureError(ValueError):
    """A signature that cannot be read; the message says why."""


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """Split at ``separator`` outside brackets and quotes; raise SignatureError if unbalanced.

    A closure's parameters (``= |a, b|``) count as brackets too.
    """
    parts: list[str] = []
    depth: list[str] = []
    pairs = {"(": ")", "[": "]", "{": "}"}
    quote, start, previous = "", 0, ""
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\" and quote == '"':
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'`":
            quote = char
        elif depth and depth[-1] == "|" and char == "|":
            depth.pop()
        elif char == "|" and previous == "=":
            depth.append("|")
        elif char in pairs:
            depth.append(pairs[char])
        elif char in ")]}":
            if not depth or depth.pop() != char:
                raise SignatureError(f"unbalanced {char!r}")
        elif char == separator and not depth:
            parts.append(text[start:i])
            start = i + 1
        if not char.isspace():
            previous = char
        i += 1
    if quote:
        raise SignatureError(f"unclosed quote {quote}")
    if depth:
        raise SignatureError(f"a closing {' '.join(reversed(depth))!r} is missing")
    parts.append(text[start:])
    return parts


_SIGNATURE = re.compile(r"\s*(?P<name>[^\s(=]+)\s*(?:\((?P<args>.*)\))?\s*\Z", re.DOTALL)
_CLOSURE_DEF = re.compile(r"\s*(?P<name>[^\s(=|]+)\s*=(?P<closure>.*)\Z", re.DOTALL)
_ARGUMENT = re.compile(
    r"\s*(?P<name>[^\s:=]+)\s*(?::\s*(?P<type>[^\s=]*)\s*)?(?:=(?P<default>.*))?\Z", re.DOTALL
)


def _default_fits(type_: str, value: Any) -> bool:
    if value is None or type_ == "any":
        return True
    if type_ == "int":
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and (INT64[0] <= value <= INT64[1])
        )
    if type_ == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    # bytes have no JSON literal: parse_argument allows them null only.
    return type_ in PYTHON_TYPES and isinstance(value, PYTHON_TYPES[type_])


def _refuse_constant(name: str) -> Any:
    # json.loads takes NaN and Infinity, which are not JSON and which ThingsDB refuses.
    raise ValueError(f"{name} is not JSON")


class _Underflow(ValueError):
    """A JSON number too small for a 64-bit float, which reads as 0."""


def _read_float(text: str) -> float:
    value = float(text)
    # 1e-400 would silently become the default 0.0.
    if value == 0 and re.search(r"[1-9]", text.lower().partition("e")[0]):
        raise _Underflow(text)
    return value


def _default_value_problem(value: Any, depth: int = 0) -> str | None:
    """What in a default (at any depth) the module.json, Python and Go it lands in cannot hold."""
    if depth > MAX_DEFAULT_NESTING:
        return f"nests lists and things more than {MAX_DEFAULT_NESTING} deep"
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if is_int and not INT64[0] <= value <= INT64[1]:
        return f"holds {value}, an integer that does not fit in 64 bits"
    if isinstance(value, float) and not math.isfinite(value):
        return "holds a number too large for a 64-bit float"
    texts = [value] if isinstance(value, str) else list(value) if isinstance(value, dict) else []
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return f"holds {text!r}, which is not valid Unicode (a lone surrogate)"
    inner = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in inner:
        problem = _default_value_problem(item, depth + 1)
        if problem:
            return problem
    return None


def parse_argument(function: str, text: str) -> Argument:
    """One ``name[: type][ = default]`` of a signature."""
    match = _ARGUMENT.fullmatch(text)
    if not match:
        raise SignatureError(f"cannot read argument {text.strip()!r}")
    name, type_, default = match["name"], match["type"], match["default"]
    if not THINGSDB_NAME.fullmatch(name):
        raise SignatureError(
            f"argument {name!r} is not a ThingsDB name (a letter or _, then letters, digits, _)"
        )
    if type_ is not None and type_ not in ARGUMENT_TYPES:
        raise SignatureError(
            f"argument {name!r} has unknown type {type_!r}; types: {', '.join(ARGUMENT_TYPES)}"
        )
    type_ = type_ or "any"
    if default is None:
        return Argument(name, type_)
    try:
        # A thing's keys sorted: the Go flavour keeps defaults in maps, which have no order, and
        # both flavours must write the same doc, examples and README for the same answers.
        value = json.loads(
            default,
            parse_constant=_refuse_constant,
            parse_float=_read_float,
            object_pairs_hook=lambda pairs: dict(sorted(pairs, key=lambda pair: pair[0])),
        )
    except RecursionError:
        raise SignatureError(f"the default of {name!r} nests too deeply") from None
    except _Underflow as exc:
        raise SignatureError(
            f"the default of {name!r} holds {exc}, a number too small for a 64-bit float "
            "(it would be 0)"
        ) from None
    except ValueError:
        raise SignatureError(
            f"the default of {name!r}, {default.strip()!r}, is not a JSON literal "
            '(strings in double quotes: "text"; numbers; true, false, null; [...]; {...})'
        ) from None
    problem = _default_value_problem(value)
    if problem:
        raise SignatureError(f"the default of {name!r} {problem}")
    if as_sent(value) != value:
        raise SignatureError(
            f"the default of {name!r} holds things inside things, which ThingsDB sends empty "
            f"(module.json's deep is {MANIFEST_DEEP})"
        )
    if type_ == "bytes" and value is not None:
        raise SignatureError(f"a bytes argument ({name!r}) can only default to null")
    if not _default_fits(type_, value):
        raise SignatureError(
            f"the default of {name!r}, {default.strip()}, is not of type {type_}"
            + (" (an int must fit in 64 bits)" if isinstance(value, int) and type_ == "int" else "")
        )
    return Argument(name, type_, value)


def parse_signature(text: str) -> Signature:
    """One item of the ``functions`` answer; raise SignatureError saying what is wrong."""
    closure = _CLOSURE_DEF.fullmatch(text)
    if closure and "(" not in closure["name"]:
        name, source = closure["name"], closure["closure"].strip()
        if not source.startswith("|"):
            raise SignatureError("after `=` comes a ThingsDB closure, like |this| this.echo(1)")
        problem = _load_tool("manifest")._closure_problem(source)
        if problem:
            raise SignatureError(f"ThingsDB refuses the closure {source!r}: {problem}")
        return Signature(name, closure=source)
    match = _SIGNATURE.fullmatch(text)
    if not match:
        raise SignatureError("write name, name() or name(arg: type, ...)")
    name, args = match["name"], match["args"]
    if args is None:
        return Signature(name, (Argument("value", "any"),), bare=True)
    items = split_top_level(args)
    if len(items) == 1 and not items[0].strip():
        items = []
    arguments: list[Argument] = []
    options = False
    for position, item in enumerate(items):
        if item.strip() == "*":
            if position != len(items) - 1:
                raise SignatureError("`*` (the thing of extra properties) must come last")
            options = True
            continue
        if not item.strip():
            raise SignatureError("an empty argument (two commas in a row?)")
        arguments.append(parse_argument(name, item))
    seen_optional = None
    for argument in arguments:
        if argument.optional:
            seen_optional = argument.name
        elif seen_optional:
            raise SignatureError(
                f"required argument {argument.name!r} follows optional {seen_optional!r}"
            )
    return Signature(name, tuple(arguments), options)


def parse_functions(text: str) -> list[Signature]:
    """The signatures of the ``functions`` answer; raise SignatureError on the first problem."""
    return [parse_signature(item) for item in split_top_level(str(text)) if item.strip()]


# --- the rules -------------------------------------------------------------------------------


def _check_name(answer: str, value: str) -> list[str]:
    if THINGSDB_NAME.fullmatch(value):
        return []
    return [
        f"{answer}={value!r}: a ThingsDB name starts with a letter or _, then letters, "
        "digits or _ (at most 255 characters)"
    ]


def _check_functions(value: str, language: str) -> list[str]:
    try:
        items = [item for item in split_top_level(str(value)) if item.strip()]
    except SignatureError as exc:
        return [f"functions={value!r}: {exc}; commas inside (...) or quotes belong to a function"]
    if not items:
        return [f"functions={value!r}: give at least one function, comma separated"]
    problems = []
    seen: dict[str, Signature] = {}
    for item in items:
        try:
            signature = parse_signature(item)
        except SignatureError as exc:
            problems.append(f"functions={item.strip()!r}: {exc}")
            continue
        problems += [
            f"functions={item.strip()!r}: {p}" for p in _signature_problems(signature, language)
        ]
        name = signature.name
        if name in seen:
            problems.append(f"functions={name!r}: listed twice; function names must be unique")
        elif language == "go" and THINGSDB_NAME.fullmatch(name):
            other = next((n for n in seen if go_name(n) == go_name(name)), None)
            if other:
                problems.append(
                    f"functions={name!r}: gives the same Go handler name as {other!r} "
                    f"(handle{go_name(name)}); rename one"
                )
        seen[name] = signature
    return problems


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _signature_problems(signature: Signature, language: str) -> list[str]:
    """What is wrong with one parsed signature, besides what parsing already refused."""
    name = signature.name
    if not THINGSDB_NAME.fullmatch(name):
        return [
            f"{name!r}: a ThingsDB name starts with a letter or _, then letters, digits or _ "
            "(at most 255 characters)"
        ]
    problems = []
    if name in THINGSDB_RESERVED:
        problems.append(f"{name} is a reserved word in ThingsDB")
    if language == "python" and _is_dunder(name):
        # `async def __name__` would replace the module's own __name__, and so on.
        problems.append(f"{name}: names like __x__ are Python's own; rename the function")
    seen: dict[str, str] = {}
    for argument in signature.arguments:
        arg = argument.name
        if arg in seen:
            problems.append(f"argument {arg!r} is listed twice")
        if arg == FUNCTION_KEY:
            problems.append(
                f"argument {arg!r} is the key that says which function was called; rename it"
            )
        if arg in THINGSDB_OPTION_ARGUMENTS:
            problems.append(
                f"argument {arg!r} is an option ThingsDB takes itself and never sends; rename it"
            )
        if signature.options and arg == OPTIONS_ARGUMENT:
            problems.append(
                f"argument {arg!r} is the name the `*` thing of extra properties arrives under"
            )
        if language == "python" and len(arg) > PYTHON_ARGUMENT_LONGEST:
            problems.append(
                f"argument {arg[:20]}... has {len(arg)} characters; a Python module's argument "
                f"names have at most {PYTHON_ARGUMENT_LONGEST} (each is a parameter of its "
                "handler, written twice on a line of main.py)"
            )
        if language == "python" and arg in PYTHON_RESERVED:
            problems.append(f"argument {arg!r} is a Python keyword; rename it")
        if language == "python" and _is_dunder(arg):
            problems.append(f"argument {arg!r}: names like __x__ are Python's own; rename it")
        if language == "go" and go_name(arg) in GO_ARGS_METHODS:
            problems.append(
                f"argument {arg!r} gives the Go field {go_name(arg)}, a method of the "
                "arguments struct; rename it"
            )
        if language == "go":
            other = next((a for a in seen if go_name(a) == go_name(arg) and a != arg), None)
            if other:
                problems.append(
                    f"arguments {other!r} and {arg!r} give the same Go field {go_name(arg)}"
                )
            if signature.options and go_name(arg) == "Options":
                problems.append(f"argument {arg!r} gives the Go field Options, which `*` takes")
        seen[arg] = arg
    return problems


def _check_platforms(value: str) -> list[str]:
    known = load_platforms()
    chosen = split_list(value)
    if not chosen:
        return [f"platforms={value!r}: choose at least one of: {', '.join(known)}"]
    problems = []
    for platform in chosen:
        if platform not in known:
            problems.append(
                f"platforms={platform!r}: unknown platform; known ones: {', '.join(known)}"
            )
    if len(set(chosen)) != len(chosen):
        problems.append(f"platforms={value!r}: a platform is listed twice")
    return problems


def _rule(pattern: re.Pattern[str], text: str) -> Callable[[str, str], list[str]]:
    def check(answer: str, value: str) -> list[str]:
        return [] if pattern.fullmatch(value) else [f"{answer}={value!r}: {text}"]

    return check


def _one_of(choices: Iterable[str]) -> Callable[[str, str], list[str]]:
    choices = tuple(choices)

    def check(answer: str, value: str) -> list[str]:
        if value in choices:
            return []
        return [f"{answer}={value!r}: must be one of {', '.join(choices)}"]

    return check


def _not_blank(answer: str, value: str) -> list[str]:
    return [] if value.strip() else [f"{answer}={value!r}: must not be empty"]


def _not_reserved(answer: str, value: str) -> list[str]:
    if value in THINGSDB_RESERVED:
        return [f"{answer}={value!r}: {value} is a value in ThingsDB, not a name"]
    return []


# Windows' reserved file names, which Go refuses as module path elements (golang.org/x/mod).
_WINDOWS_RESERVED = re.compile(r"(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?", re.IGNORECASE)


def go_requirements() -> list[str]:
    """The modules a generated Go project requires, as its go.mod names them."""
    text = (PROJECT_TEMPLATE_DIR / "go.mod").read_text(encoding="utf-8")
    return re.findall(r"^\s+(\S+) v\S+", text, re.MULTILINE)


def _go_module_path(answer: str, value: str) -> list[str]:
    """Go's rules for a module path, so that `go build` accepts what the answer gives."""
    if not GO_MODULE_PATH.fullmatch(value):
        return [
            f"{answer}={value!r}: a Go module path looks like github.com/owner/repo "
            "(lowercase host, no spaces)"
        ]
    for required in go_requirements():
        if value == required or value.startswith(required + "/"):
            return [
                f"{answer}={value!r}: {required} is a module the project requires; "
                "give your own repository's path"
            ]
    for element in value.split("/"):
        if element.startswith(".") or element.endswith("."):
            return [f"{answer}={value!r}: Go refuses the element {element!r} (a dot at an end)"]
        if element.startswith("-"):
            # go build reads a package path element starting with - as a flag.
            return [f"{answer}={value!r}: Go refuses the element {element!r} (a leading -)"]
        if element == "vendor":
            # go build takes what is under a vendor element for vendored code.
            return [f"{answer}={value!r}: Go keeps the element 'vendor' for vendored code"]
        if _WINDOWS_RESERVED.fullmatch(element) or re.search(r"~[0-9]+\Z", element):
            return [
                f"{answer}={value!r}: Go refuses the element {element!r} (a reserved file name)"
            ]
    return []


def _binary_names(answers: MutableMapping[str, Any]) -> list[str]:
    """Go: every binary's file name must fit the 255 bytes file systems allow."""
    module, chosen = str(answers.get("module_name", "")), split_list(answers.get("platforms", ""))
    longest = max((binary_path(module, p) for p in chosen), key=len, default="")
    name = longest.rpartition("/")[2]
    if len(name.encode("utf-8")) > 255:
        return [
            f"module_name={module[:20]!r}...: with {len(module)} characters its binary "
            f"{name[:20]}... is longer than the 255 bytes a file name can have; "
            f"use at most {255 - (len(name) - len(module))} characters"
        ]
    return []


def _repo_name(answer: str, value: str) -> list[str]:
    if GITHUB_REPO.fullmatch(value) and not value.endswith((".", ".git")):
        return []
    return [
        f"{answer}={value!r}: a GitHub repository name has 1 to 100 letters, digits, - _ . "
        "(not ending in . or .git)"
    ]


def _yes_no(answer: str, value: str) -> list[str]:
    if parse_bool(value) is not None:
        return []
    return [f"{answer}={value!r}: answer yes or no"]


# Each answer and its rule. Adding an answer is adding a line here (and one in cookiecutter.json).
RULES: dict[str, Callable[[str, str], list[str]]] = {
    "module_name": lambda answer, value: _check_name(answer, value) or _not_reserved(answer, value),
    "language": _one_of(LANGUAGES),
    "description": lambda answer, value: [],  # any text; it is encoded wherever it goes
    "author_name": _not_blank,
    "author_email": _rule(EMAIL, "must look like name@example.com"),
    "github_owner": _rule(
        GITHUB_OWNER,
        "a GitHub owner has 1 to 39 letters, digits, - _ . and starts with a letter or digit",
    ),
    "repo_name": _repo_name,
    "version": _rule(
        THINGSDB_VERSION,
        "ThingsDB wants 1 to 3 dot-separated groups of 1 to 5 digits, like 0.1.0 (no v, no suffix)",
    ),
    "license": _one_of(LICENSES),
    "functions": lambda answer, value: [],  # checked with the language below
    "needs_config": _yes_no,
    "template_updates": _yes_no,
}
GO_RULES: dict[str, Callable[[str, str], list[str]]] = {
    "go_module_path": _go_module_path,
    "platforms": lambda answer, value: _check_platforms(value),
}


# The control characters an answer may hold: line breaks and tabs in the description only
# (module.json keeps them; README and LICENSE show it on one line).
ALLOWED_CONTROLS = {"description": "\t\n\r"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _text_problem(answer: str, value: str) -> str | None:
    """Why ``value`` is not text a file can hold, or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # bytes that were not UTF-8, passed on as lone surrogates
        return f"{answer}={value!r}: is not valid UTF-8 text"
    allowed = ALLOWED_CONTROLS.get(answer, "")
    bad = sorted({c for c in _CONTROL.findall(value) if c not in allowed})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        return f"{answer}={value!r}: holds the control character(s) {shown}; write plain text"
    return None


def validate_answers(answers: MutableMapping[str, Any]) -> list[str]:
    """Every problem with the answers, one line each; an empty list when all are valid."""
    problems: list[str] = []
    unreadable = set()
    for answer in [*RULES, *GO_RULES]:
        problem = _text_problem(answer, str(answers.get(answer, "")))
        if problem:
            problems.append(problem)
            unreadable.add(answer)
    for answer, rule in RULES.items():
        if answer in unreadable:
            continue
        problems += rule(answer, str(answers.get(answer, "")))
    language = str(answers.get("language", ""))
    if "functions" not in unreadable:
        problems += _check_functions(str(answers.get("functions", "")), language)
    if language == "go":
        for answer, rule in GO_RULES.items():
            if answer not in unreadable:
                problems += rule(answer, str(answers.get(answer, "")))
        if not problems:
            problems += _binary_names(answers)
    return problems


def normalize_answers(answers: MutableMapping[str, Any]) -> None:
    """Give valid answers the form the templates use: the yes/no answers as real bools."""
    answers["needs_config"] = parse_bool(answers.get("needs_config"))
    answers["template_updates"] = parse_bool(answers.get("template_updates"))


def check_answers(answers: MutableMapping[str, Any]) -> str:
    """Validate and normalise the answers in place; raise InvalidAnswers listing every problem."""
    if "module_name" not in answers:
        # cookiecutter --replay prompts only for what the replay file lacks; the answers it
        # holds are checked by the pre_gen hook.
        return "deferred"
    problems = validate_answers(answers)
    if problems:
        error = InvalidAnswers(problems)
        print(error, file=sys.stderr)
        raise error
    normalize_answers(answers)
    return "yes"


def check_answer(answer: str, value: str, earlier: MutableMapping[str, Any]) -> list[str]:
    """The problems of one answer as it is typed, given the answers typed before it."""
    problem = _text_problem(answer, value)
    if problem:
        return [problem]
    if answer == "functions":
        return _check_functions(value, str(earlier.get("language", "")))
    rule = RULES.get(answer) or GO_RULES.get(answer)
    return rule(answer, value) if rule else []


# --- the questions, as a person at a terminal meets them -------------------------------------

# Answers with a fixed set of values, offered as a numbered menu.
CHOICES: dict[str, tuple[str, ...]] = {"language": LANGUAGES, "license": LICENSES}
YES_NO_ANSWERS = ("needs_config", "template_updates")
# Answers that only one language uses; the others never ask them.
LANGUAGE_ONLY = {"go_module_path": "go", "platforms": "go"}


class Questions:
    """Cookiecutter's questions, one at a time, each answer checked as soon as it is typed.

    Cookiecutter has no per-question validation: it asks everything, then a bad answer stops
    the run and every typed answer is lost. This wraps its prompt for text answers: choices
    become menus, yes/no answers a yes/no prompt, a bad answer is reported in one line and the
    same question asked again, and questions of the other language are skipped (keeping their
    defaults). The answers stay strings, so --no-input, replay files and cruft give the same
    context as typing does, and are checked all at once by :func:`check_answers`.
    """

    def __init__(self, prompt_module: ModuleType):
        self.prompt = prompt_module
        current = prompt_module.read_user_variable
        # Each run of cookiecutter starts with fresh answers, over cookiecutter's own prompt.
        self.ask_text = getattr(current, "cookiecutter_prompt", current)
        self.answers: dict[str, Any] = {}

    def install(self) -> None:
        def ask(*args: Any, **kwargs: Any) -> Any:
            return self.ask(*args, **kwargs)

        ask.cookiecutter_prompt = self.ask_text
        self.prompt.read_user_variable = ask

    def ask(self, var_name: str, default_value: Any, prompts=None, prefix: str = "") -> Any:
        language = LANGUAGE_ONLY.get(var_name)
        if language and self.answers.get("language") != language:
            return default_value
        while True:
            value = self._ask_once(var_name, default_value, prompts, prefix)
            problems = check_answer(var_name, str(value), self.answers)
            if not problems:
                break
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
        self.answers[var_name] = value
        return value

    def _ask_once(self, var_name: str, default_value: Any, prompts, prefix: str) -> Any:
        if var_name in CHOICES:
            options = list(CHOICES[var_name])
            if default_value in options:  # the default is the first one offered
                options.remove(default_value)
                options.insert(0, default_value)
            return self.prompt.read_user_choice(var_name, options, prompts, prefix)
        if var_name in YES_NO_ANSWERS:
            default = bool(parse_bool(default_value))
            answer = self.prompt.read_user_yes_no(var_name, default, prompts, prefix)
            return "yes" if answer else "no"
        return self.ask_text(var_name, default_value, prompts, prefix)


# --- what is rendered from the answers -------------------------------------------------------


def binary_path(module_name: str, platform: str) -> str:
    """Where the build puts a platform's binary: flat in bin/, as ThingsDB lists only its top."""
    return f"bin/{module_name}_{platform.replace('/', '_')}"


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


def string_literal(value: Any) -> str:
    """A double-quoted string literal holding ``value`` exactly, valid in Python and in Go.

    JSON's escapes (\\" \\\\ \\n \\uXXXX) are a subset of both languages'. ensure_ascii is
    off because Go rejects the surrogate pairs JSON would use beyond U+FFFF.
    """
    return json.dumps(str(value), ensure_ascii=False)


def go_string_literal(value: Any) -> str:
    """A Go string literal holding ``value`` exactly: :func:`string_literal`, with U+FEFF
    escaped, as Go refuses a byte order mark anywhere but at the start of a file."""
    return string_literal(value).replace("\ufeff", "\\ufeff")


def go_comment(doc: str) -> str:
    """A signature in a Go doc comment as gofmt leaves it.

    gofmt rewrites `''` and ``` `` ``` in doc comments as typographic quotes, and Go refuses a
    raw U+FEFF anywhere. All three occur only inside the signature's JSON strings (names have
    no quotes), where JSON's escapes spell the same characters.
    """
    return doc.replace("\ufeff", "\\ufeff").replace("''", "'\\u0027").replace("``", "`\\u0060")


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~&])")


def md_text(value: Any) -> str:
    """Text shown literally in Markdown: special characters escaped, lines joined."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def py_assignment(name: str, text: str) -> str:
    """``name = "text"`` as ruff format writes it: broken into lines within 100 columns."""
    literal = string_literal(text)
    if len(name) + 3 + len(literal) <= 100:
        return f"{name} = {literal}"
    lines, line = [], ""
    for word in re.split(r"(?<= )", text):  # each word keeps the space after it
        if line and len(string_literal(line + word)) > 95:
            lines.append(line)
            line = ""
        line += word
    lines.append(line)
    return f"{name} = (\n" + "".join(f"    {string_literal(part)}\n" for part in lines) + ")"


def py_constant(name: str, value: Any, indent: str = "") -> str:
    """``name = "value"`` as ruff format writes it: on one line when it fits, else the value in
    parentheses on a line of its own when that fits, else on one line with ``# noqa: E501``."""
    literal = py_literal(value)
    line = f"{indent}{name} = {literal}"
    if len(line) <= _PY_LINE:
        return line
    if len(indent) + 4 + len(literal) <= _PY_LINE:
        return f"{indent}{name} = (\n{indent}    {literal}\n{indent})"
    return line + "  # noqa: E501"


def go_format(template: str) -> str:
    """A Go format string for one of ARGUMENT_ERRORS: ``{argument}`` becomes ``%[2]s``."""
    return string_literal(
        re.sub(r"\{(\w+)\}", lambda m: f"%[{_FORMAT_FIELDS.index(m[1]) + 1}]s", template)
    )


def md_code(value: Any) -> str:
    """A Markdown code span showing ``value`` literally, on one line, backticks included."""
    text = " ".join(str(value).split())
    runs = [len(run) for run in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


class WithoutHookTraceback(logging.Filter):
    """Drops the traceback cookiecutter logs when a hook fails.

    A failed hook has already said why on stderr (ours: one line per bad answer, for
    ``cookiecutter --replay``); the traceback would only show cookiecutter's own call stack.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], FailedHookException):
            record.exc_info = None
            record.exc_text = None
        return True


@functools.lru_cache(maxsize=1)
def template_sources() -> frozenset[str]:
    """The strings of this template that cookiecutter renders as Jinja without a file name.

    The defaults in cookiecutter.json, the hook scripts and the project folder's name: the
    only strings that may hold template code. An answer equal to one of them is as harmless
    as the template itself.
    """
    context = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    sources = {value for value in context.values() if isinstance(value, str)}
    sources.update(p.read_text(encoding="utf-8") for p in (TEMPLATE_DIR / "hooks").glob("*.py"))
    sources.add(PROJECT_TEMPLATE_DIR.name)
    return frozenset(sources)


def mark_defaults_while_rendering(extension: AnswersExtension) -> None:
    """Tell ``extension`` which answer cookiecutter renders, so that its preprocess renders
    only the template's own default of that answer as Jinja.

    cookiecutter renders the answers in cookiecutter.json's order, each into a dict it fills in
    that order: the dict's length names the answer. A text equal to some other template string
    (``description={{cookiecutter.module_name}}``, the project folder's name) stays data.
    """
    prompt = cookiecutter.prompt
    render_variable = getattr(prompt, "render_variable_unmarked", prompt.render_variable)
    defaults = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    order = [key for key in defaults if key != "__prompts__"]  # cookiecutter pops __prompts__

    def render_marked(env: Any, raw: Any, cookiecutter_dict: Any) -> Any:
        if env is not extension.environment or not isinstance(raw, str):
            return render_variable(env, raw, cookiecutter_dict)
        position = len(cookiecutter_dict)
        key = order[position] if position < len(order) else None
        extension.rendering_default = key is not None and raw == defaults[key]
        try:
            return render_variable(env, raw, cookiecutter_dict)
        finally:
            extension.rendering_default = None

    prompt.render_variable_unmarked = render_variable
    prompt.render_variable = render_marked


def _yes_no_as_bool(getattr_: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    """Jinja's attribute lookup, reading the yes/no answers as booleans wherever they come from.

    Answers given at the prompts or on the command line are normalised by check_answers; a
    replay file (`cookiecutter --replay`) is used as it is, and may hold "no", which is true as
    a string: `cookiecutter.needs_config` must still mean what it says.
    """

    def lookup(obj: Any, attribute: str) -> Any:
        value = getattr_(obj, attribute)
        if attribute in YES_NO_ANSWERS and isinstance(value, str):
            parsed = parse_bool(value)
            return value if parsed is None else parsed
        return value

    return lookup


class AnswersExtension(Extension):
    """Jinja extension: the answer check, the filters the templates use, and literal answers.

    Cookiecutter renders every answer it did not prompt for (--no-input, extra context, a
    project's .cruft.json) as a Jinja template: a description such as ``costs {{ n }}`` would
    fail to render, and one holding Jinja code would run it. :meth:`preprocess` renders only
    the template's own sources (its defaults, hooks and folder name, see
    :func:`template_sources`); every other string is literal text, whatever it contains.
    """

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters.update(
            check_answers=check_answers,
            function_names=function_names,
            signatures=lambda text: [f.as_dict() for f in parse_functions(text)],
            manifest_json=render_manifest,
            py_string=string_literal,
            go_string=go_string_literal,
            go_comment=go_comment,
            go_name=go_name,
            py_value=py_value,
            thingsdb_value=thingsdb_value,
            cli_value=cli_value,
            md_text=md_text,
            md_code=md_code,
            go_format=go_format,
            py_assignment=py_assignment,
            py_constant=py_constant,
            options_sample=options_sample,
            placeholder_examples=placeholder_examples,
            readme_functions=readme_functions,
            py_examples_decorator=py_examples_decorator,
            py_handler_def=py_handler_def,
            py_docstring_text=py_docstring_text,
        )
        environment.globals["answers_module_dir"] = str(Path(__file__).resolve().parent)
        # The table of generated files (language, owner, what): the README's files table.
        environment.globals["project_files"] = json.loads(
            (Path(__file__).resolve().parent / "project_files.json").read_text(encoding="utf-8")
        )["files"]
        environment.globals["binary_path"] = binary_path  # bin/<module>_<os>_<arch>
        environment.globals["function_key"] = FUNCTION_KEY  # module.json and both flavours
        environment.globals["max_error_message"] = MAX_ERROR_MESSAGE
        environment.globals["max_nesting"] = MAX_NESTING
        environment.globals["shutdown_grace_seconds"] = SHUTDOWN_GRACE_SECONDS
        environment.globals["max_body_mib"] = MAX_BODY_MIB
        environment.globals["thingsdb_releases"] = THINGSDB_RELEASES
        environment.globals["argument_errors"] = ARGUMENT_ERRORS
        environment.globals["thingsdb_types"] = THINGSDB_TYPES  # hooks/thingsdb_types.json
        environment.globals["thingsdb_max_package"] = THINGSDB_MAX_PACKAGE
        self._literals: list[str] = []
        environment.globals["_answer_literal"] = self._literals.__getitem__
        Questions(cookiecutter.prompt).install()
        # While cookiecutter renders an answer: whether it is that answer's own default.
        self.rendering_default: bool | None = None
        mark_defaults_while_rendering(self)
        environment.getattr = _yes_no_as_bool(environment.getattr)
        hooks_logger = logging.getLogger("cookiecutter.hooks")
        # Every render loads its own copy of this module: one filter of the name is enough.
        if not any(type(f).__name__ == "WithoutHookTraceback" for f in hooks_logger.filters):
            hooks_logger.addFilter(WithoutHookTraceback())

    def preprocess(self, source, name, filename=None):
        # Files of the template are loaded by name; strings (answers, defaults, hooks) are not.
        if name is not None:
            return source
        if self.rendering_default is not None:
            # An answer: template code only where it is the template's own default for it.
            if self.rendering_default:
                return source
        elif source in template_sources():
            return source
        self._literals.append(source)
        return f"{{{{ _answer_literal({len(self._literals) - 1}) }}}}"
