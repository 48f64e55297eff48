"""The ``functions`` answer read into signatures, and the examples a placeholder comes with."""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from .facts import (
    ARGUMENT_ERRORS,
    ARGUMENT_TYPES,
    FUNCTION_KEY,
    GO_NULLABLE_TYPES,
    GO_TYPES,
    MANIFEST_DEEP,
    PYTHON_TYPES,
    SAMPLES,
    THINGSDB_NAME,
    WRONG_SAMPLES,
    project_tool,
)
from .go_code import go_name


def function_names(text: str) -> list[str]:
    """The exposed function names of the ``functions`` answer, in the order given."""
    names = []
    for item in split_top_level(str(text)):
        match = re.match(r"\s*([^\s(=]*)", item)
        if item.strip():
            names.append(match[1])
    return names


# Argument names ThingsDB itself consumes: an argmap item `load` or `deep` sets the call's
# option of that name and is never sent to the module.
THINGSDB_OPTION_ARGUMENTS = frozenset({"load", "deep"})


# The name under which a function with a trailing `*` receives its thing of extra properties.
OPTIONS_ARGUMENT = "options"


# The integers ThingsDB reads in module.json: yajl refuses beyond LLONG_MAX either way, so
# -2**63 (which int64 holds) is out too.
INT64 = (-(2**63 - 1), 2**63 - 1)


# How deep a default's lists and things may nest: enough for any real default, and far below
# what the renderers and Python's recursion limit take.
MAX_DEFAULT_NESTING = 32


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


def options_sample(signature: dict[str, Any]) -> dict[str, Any]:
    """The thing a sample call gives a trailing ``*``: a key that is none of the arguments.

    A key named like an argument would replace that argument in the request.
    """
    taken = {a["name"] for a in signature["arguments"]} | {FUNCTION_KEY, "deep", "load"}
    key, n = "key", 1
    while key in taken:
        key, n = f"key{n}", n + 1
    return {key: "value"}


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


# Each signature is read once per render (every template, the checks and module.json use the
# same objects, which are frozen), not once per use.
@functools.lru_cache(maxsize=1024)
def parse_signature(text: str) -> Signature:
    """One item of the ``functions`` answer; raise SignatureError saying what is wrong."""
    closure = _CLOSURE_DEF.fullmatch(text)
    if closure and "(" not in closure["name"]:
        name, source = closure["name"], closure["closure"].strip()
        if not source.startswith("|"):
            raise SignatureError("after `=` comes a ThingsDB closure, like |this| this.echo(1)")
        problem = project_tool("manifest").closure_problem(source)
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


def parse_functions(text: str) -> tuple[Signature, ...]:
    """The signatures of the ``functions`` answer; raise SignatureError on the first problem."""
    return tuple(parse_signature(item) for item in split_top_level(str(text)) if item.strip())


@functools.lru_cache(maxsize=64)
def function_model(text: str) -> tuple[dict[str, Any], ...]:
    """The signatures of the ``functions`` answer as the templates read them (``signatures``
    filter): each one's name, arguments with their Go and sample values, argmap, doc."""
    return tuple(signature.as_dict() for signature in parse_functions(text))


def handled_functions(text: str) -> list[dict[str, Any]]:
    """The functions with a handler (closures have none), as :func:`function_model` has them
    (``handled_signatures`` filter)."""
    return [signature for signature in function_model(text) if signature["closure"] is None]
