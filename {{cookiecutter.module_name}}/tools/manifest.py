#!/usr/bin/env python3
"""Check module.json the way the ThingsDB server reads it, before a user installs the module.

ThingsDB (server source 90f9cb3e, src/ti/mod/manifest.c) reads module.json with a streaming yajl
parser and a state machine that reacts to each JSON event as it arrives. Its verdicts therefore
have quirks a plain ``json.loads`` cannot reproduce, and this file emulates them:

- the first problem met in document order is the one reported, then `main`, `version`,
  `includes` and requirements-versus-Python are checked, in that order;
- a repeated top-level key keeps its FIRST value, but every value is still type-checked;
- a document cut short (before its closing brace) is accepted as far as it got, because the
  server calls ``yajl_parse`` but never ``yajl_complete_parse``;
- every JSON syntax error is reported as "allocation error while parsing module.json";
- `main` and `includes` may hold ``"os/arch"`` maps; only the node's own platform key counts.

Public API:

- ``check_manifest(text, platform)``: None when the server would accept the text on a node with
  that platform key, else the exact status message it reports.
- ``lint_manifest(text, repo_dir)``: problems that block an install on one of the platforms
  `main` claims, or that the parser accepts but that break a real install or a later release.
- Command line: ``python tools/manifest.py [--platform KEY] [PATH]`` (default ``module.json``).
  With ``--platform KEY`` it gives only ``check_manifest``'s verdict for a node with that
  platform key, without the lint rules. The Go flavour's ``go run ./tools/manifest`` takes the
  same arguments and writes the same lines.
- ``python tools/manifest.py sync``: writes module.json's ``exposes`` and the README's functions
  section from main.py's handlers and their examples; ``sync --check`` writes nothing and
  names each difference (exit 1). Only these import main.py, in a process of its own.

Standard library only; runs on Python 3.9+.
"""

from __future__ import annotations

import ast
import json
import os
import platform
import re
import sys
from collections.abc import Iterator
from typing import Any

DEFAULT_PLATFORM = "linux/amd64"

# ThingsDB's name rule (src/ti/name.c), for module and exposed function names.
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
# A version as it should be written: 1 to 3 dot-separated groups of 1 to 5 digits. The server's
# own loop (_version_ok below) also lets a few odd forms through, such as "1.2.3.".
VERSION = re.compile(r"[0-9]{1,5}(?:\.[0-9]{1,5}){0,2}")
ALLOC_ERROR = "allocation error while parsing module.json"
# ThingsDB does not tell a module which exposed function was called: each function of this
# template's modules sets this default to its own name, and the module dispatches on it.
DISPATCH_KEY = "function"
DOC_PROPERTIES = "; see https://docs.thingsdb.io/v1/overview/properties"
MAX_DEEP = 127
LLONG_MAX = 2**63 - 1


class _JsonSyntaxError(Exception):
    """yajl stopped on invalid JSON (the server reports ALLOC_ERROR for all of them)."""


class _Rejected(Exception):
    """The server's parser rejected the manifest; ``args[0]`` is its status message."""


# --------------------------------------------------------------------------------------------
# JSON events, the way yajl 2 produces them for one yajl_parse() call on the whole file
# --------------------------------------------------------------------------------------------

_WHITESPACE = " \t\n\v\f\r"  # yajl_lex.c skips these six
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_HEX = "0123456789abcdefABCDEF"
_DIGITS = "0123456789"
_LITERALS = {"t": ("true", ("boolean", True)), "f": ("false", ("boolean", False))}
_LITERALS["n"] = ("null", ("null", None))


class _Eof(Exception):
    """The text ends inside a token: yajl keeps it buffered and reports nothing (no error)."""


_PLAIN_STRING_RUN = re.compile(r'[^"\\\x00-\x1f]*')


def _lex_string(text: str, pos: int) -> tuple[str, int]:
    """Read the string whose quote is at ``pos``; return (decoded value, end position).

    Like yajl: the lexer finds where the string ends (checking escapes and control
    characters), then the decoder turns the escapes into characters.
    """
    i = pos + 1
    n = len(text)
    while True:
        plain = _PLAIN_STRING_RUN.match(text, i)  # the characters that need no second look
        i = plain.end()
        if i >= n:
            raise _Eof
        c = text[i]
        if c == '"':
            return _decode(text[pos + 1 : i]), i + 1
        if c < " ":
            raise _JsonSyntaxError("invalid character inside string")
        if c != "\\":
            i += 1
            continue
        if i + 1 >= n:
            raise _Eof
        if text[i + 1] == "u":
            for k in range(i + 2, i + 6):
                if k >= n:
                    raise _Eof
                if text[k] not in _HEX:
                    raise _JsonSyntaxError("invalid hex character in unicode escape")
            i += 6
        elif text[i + 1] in _ESCAPES:
            i += 2
        else:
            raise _JsonSyntaxError("inside a string, '\\' occurs before an invalid character")


def _hex4(raw: str, at: int) -> int | None:
    digits = raw[at : at + 4]
    return int(digits, 16) if len(digits) == 4 and all(c in _HEX for c in digits) else None


def _decode(raw: str) -> str:
    """yajl_string_decode() on the text between the quotes (escapes already checked)."""
    if "\\" not in raw:
        return raw
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] != "\\":
            out.append(raw[i])
            i += 1
            continue
        # A backslash the surrogate rule below skipped past leaves a half-read escape: "?".
        if i + 1 >= len(raw):
            out.append("?")
            break
        if raw[i + 1] != "u":
            out.append(_ESCAPES.get(raw[i + 1], "?"))
            i += 2
            continue
        code = _hex4(raw, i + 2)
        if code is None:
            out.append("?")
            i += 2
            continue
        i += 6
        if code & 0xFC00 == 0xD800:
            # yajl pairs a high surrogate with whatever \uXXXX escape follows; without one it
            # writes "?" and skips the next character.
            low = _hex4(raw, i + 2) if raw.startswith("\\u", i) else None
            if low is None:
                out.append("?")
                i += 1
                continue
            i += 6
            code = ((code & 0x3F) << 10) | ((((code >> 6) & 0xF) + 1) << 16) | (low & 0x3FF)
        out.append(chr(code))
    return "".join(out)


def _lex_number(text: str, pos: int) -> tuple[tuple[str, Any], int]:
    """Read a number the way yajl_lex_number() does.

    yajl must see the character after a number to know it ended, so a number that runs to the
    very end of the text is still buffered: it is never reported (_Eof).
    """
    n = len(text)
    i = pos

    def peek() -> str:
        if i >= n:
            raise _Eof
        return text[i]

    def digits() -> None:
        nonlocal i
        if peek() not in _DIGITS:
            raise _JsonSyntaxError("malformed number, a digit is required")
        while peek() in _DIGITS:
            i += 1

    if peek() == "-":
        i += 1
    if peek() == "0":
        i += 1
    else:
        digits()
    is_double = False
    if peek() == ".":
        i += 1
        digits()
        is_double = True
    if peek() in "eE":
        i += 1
        if peek() in "+-":
            i += 1
        digits()
        is_double = True
    raw = text[pos:i]
    if not is_double:
        # More digits than LLONG_MAX has is an overflow (and int() refuses over 4300 digits).
        value = int(raw) if len(raw.lstrip("-")) <= 20 else LLONG_MAX + 1
        if abs(value) > LLONG_MAX:  # yajl_parse_integer(): "integer overflow"
            raise _JsonSyntaxError("integer overflow")
        return ("integer", value), i
    number = float(raw)
    if number in (float("inf"), float("-inf")):  # strtod() ERANGE: "numeric overflow"
        raise _JsonSyntaxError("numeric (floating point) overflow")
    return ("double", number), i


def _lex(text: str, pos: int) -> tuple[tuple[str, Any] | None, int]:
    """Return the next token ``(kind, value)`` and the new position; ``None`` at the end."""
    n = len(text)
    while pos < n and text[pos] in _WHITESPACE:
        pos += 1
    if pos >= n:
        return None, pos
    c = text[pos]
    if c in "{}[]:,":
        return (c, None), pos + 1
    if c == '"':
        value, end = _lex_string(text, pos)
        return ("string", value), end
    if c == "-" or c in _DIGITS:
        return _lex_number(text, pos)
    if c in _LITERALS:
        word, token = _LITERALS[c]
        part = text[pos : pos + len(word)]
        if not word.startswith(part):
            raise _JsonSyntaxError("invalid string in JSON text")
        if len(part) < len(word):
            raise _Eof
        return token, pos + len(word)
    # a comment ("//", "/*") included: yajl is built without yajl_allow_comments
    raise _JsonSyntaxError(f"invalid char {c!r} in JSON text")


def _json_events(text: str) -> Iterator[tuple[str, Any]]:
    """Yield yajl's callback events in order; stop quietly where the text is cut short.

    Events: ("start_map"|"end_map"|"start_array"|"end_array", None), ("map_key", str) and the
    scalars ("string", str), ("integer", int), ("double", float), ("boolean", bool),
    ("null", None). Raises _JsonSyntaxError where yajl reports a parse error.
    """
    stack: list[str] = []  # yajl's state stack, one entry per open container
    state = "value"  # what may come next at the current level
    pos = 0
    while True:
        try:
            token, pos = _lex(text, pos)
        except _Eof:
            return
        if token is None:
            return
        kind, value = token
        if state == "done":  # yajl_state_parse_complete without yajl_allow_trailing_garbage
            raise _JsonSyntaxError("trailing garbage")
        if state in ("key", "first_key"):
            if kind == "string":
                yield "map_key", value
                state = "colon"
            elif kind == "}" and state == "first_key":
                stack.pop()
                yield "end_map", None
                state = _after_value(stack)
            else:  # a trailing comma lands here too
                raise _JsonSyntaxError("invalid object key (must be a string)")
        elif state == "colon":
            if kind != ":":
                raise _JsonSyntaxError("object key and value must be separated by a colon")
            state = "value"
        elif state == "next":
            closer = "}" if stack[-1] == "map" else "]"
            if kind == ",":
                state = "key" if stack[-1] == "map" else "value"
            elif kind == closer:
                stack.pop()
                yield ("end_map" if closer == "}" else "end_array"), None
                state = _after_value(stack)
            else:
                raise _JsonSyntaxError("after a value a comma or a closing bracket is expected")
        else:  # state "value" or "first_value"
            if kind == "{":
                stack.append("map")
                yield "start_map", None
                state = "first_key"
            elif kind == "[":
                stack.append("array")
                yield "start_array", None
                state = "first_value"
            elif kind == "]" and state == "first_value":
                stack.pop()
                yield "end_array", None
                state = _after_value(stack)
            elif kind in ("string", "integer", "double", "boolean", "null"):
                yield kind, value
                state = _after_value(stack)
            else:
                raise _JsonSyntaxError("unallowed token, cannot continue")


def _after_value(stack: list[str]) -> str:
    return "next" if stack else "done"


# --------------------------------------------------------------------------------------------
# ThingsDB closures, for string values in `exposes`
# --------------------------------------------------------------------------------------------

_CLOSURE_TOKEN = re.compile(
    r"""(?P<space>\s+|//[^\n]*|/\*.*?\*/)
      | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<number>[0-9][0-9A-Za-z_.]*)
      | (?P<punct>.)""",
    re.DOTALL | re.VERBOSE,
)
_KEYWORDS = {"return", "if", "else", "for", "in"}


def _is_name(s: str) -> bool:
    """The ThingsDB name rule (src/ti/name.c): a letter or _, then letters, digits, _."""
    return NAME.fullmatch(s) is not None


def closure_problem(source: str) -> str | None:
    """Why ThingsDB would refuse ``source`` as a closure, or None.

    The server (ti_closure_from_strn in src/ti/closure.c) parses the string with its full query
    grammar and then wants exactly one statement that is a closure ``|args| body``. Only the
    outline is checked here (the `|name, ...|` head, one non-empty statement, balanced brackets
    and quotes); the body's own syntax is left to the server.
    """
    source = _cstr(source)
    tokens = []
    for m in _CLOSURE_TOKEN.finditer(source):
        kind = m.lastgroup
        if kind == "space":
            continue
        if kind == "punct" and m.group() in "'\"`":
            return "invalid syntax in closure"  # a string that is never closed
        tokens.append((kind, m.group()))

    statements = _count_statements(tokens)
    if statements is None:
        return "invalid syntax in closure"
    if tokens and tokens[0][1] == "|":
        close = _closure_head_end(tokens)
        body = [t for t in tokens[close + 1 :] if t[1] != ";"] if close else []
        if not body:
            return "invalid syntax in closure"
    if statements != 1:
        return "closure is expecting exactly one statement"
    if tokens[0][1] != "|":
        return "node is not a closure"
    return None


def _closure_head_end(tokens: list[tuple[str, str]]) -> int:
    """Index of the `|` that closes ``|a, b|`` (a trailing comma is allowed), or 0."""
    i = 1
    while i < len(tokens):
        kind, text = tokens[i]
        if text == "|":
            return i
        if kind != "name" or not _is_name(text):
            return 0
        i += 1
        if i < len(tokens) and tokens[i][1] == ",":
            i += 1
        elif i < len(tokens) and tokens[i][1] != "|":
            return 0
    return 0


def _count_statements(tokens: list[tuple[str, str]]) -> int | None:
    """Count top-level statements; None when brackets do not balance.

    ThingsDB ends a statement at `;` or where a new one starts right after an operand, which is
    how ``hello world`` becomes two statements.
    """
    count = depth = 0
    in_statement = prev_operand = False
    for kind, text in tokens:
        operand = kind in ("name", "number", "string") and text not in _KEYWORDS
        if depth == 0 and text == ";":
            in_statement = prev_operand = False
            continue
        if depth == 0 and operand and prev_operand:
            in_statement = False
        if not in_statement:
            count += 1
            in_statement = True
        if text in "([{":
            depth += 1
        elif text in ")]}":
            depth -= 1
            if depth < 0:
                return None
        prev_operand = depth == 0 and operand
    return None if depth else count


# --------------------------------------------------------------------------------------------
# The server's state machine (src/ti/mod/manifest.c), one method per yajl callback
# --------------------------------------------------------------------------------------------

_NOT = {
    "null": "not null",
    "boolean": "not a boolean",
    "integer": "not a number",
    "double": "not a number",
    "string": "not a string",
    "start_map": "not a map",
    "start_array": "not an array",
}

_M = "in module.json"
_OSARCH = f"expecting a string as `platform/architecture` {_M}"
_EXPECTING = {
    "root": f"expecting a map {_M}",
    "main": f"expecting a string or map as `main` {_M}",
    "main_value": _OSARCH,
    "version": f"expecting a string or number as `version` {_M}",
    "doc": f"expecting a string as `doc` {_M}",
    "x_doc": f"expecting a string as `doc` {_M}",
    "defaults": f"expecting a map with `defaults` {_M}",
    "x_defaults": f"expecting a map with `defaults` {_M}",
    "deep": f"expecting a `deep` value between 0 and {MAX_DEEP} {_M}",
    "load": f"expecting `load` to be true or false {_M}",
    "includes": f"expecting an array with `includes` {_M}",
    "includes_arr": f"expecting a string or map as `include` item {_M}",
    "includes_value": _OSARCH,
    "exposes": f"expecting a map with functions to expose {_M}",
    "x": f"expecting a map as `expose` value {_M}",
    "argmap": f"expecting an array or null as `argmap` value {_M}",
    "argmap_arr": f"expecting a string as `argmap` item {_M}",
    "requirements": f"expecting an array as `requirements` value {_M}",
    "requirements_arr": f"expecting a string as `requirements` item {_M}",
}
_ROOT_KEYS = ("main", "version", "doc", "defaults", "includes", "exposes", "requirements")
_REQUIREMENT = re.compile(r"[A-Za-z0-9 _\-,!.<=>~]*\Z")


def _cstr(s: str) -> str:
    """What a C string holding ``s`` shows: strndup() and printf("%.*s") stop at a NUL."""
    return s.split("\0", 1)[0]


class _Defaults:
    """One `defaults` map (the root one, or an exposed function's own)."""

    def __init__(self, done_mode: str) -> None:
        self.keys: set[str] = set()
        self.done_mode = done_mode  # the mode to return to after the map's closing brace


class _Main:
    """A string that becomes the node's `main` when it comes first."""

    def __init__(self, at: int, value: str) -> None:
        self.at = at  # the index of its event
        self.path = _cstr(value)
        # ti_module_file_is_py() looks at the last three bytes only
        self.is_py = len(value) >= 3 and value.endswith(".py")


class _IncludeMatch:
    """The first string of an `includes` map under one key. On a node with that key the server
    adds the file but stays in the value's mode, so the map's next key or closing brace fails
    ("unexpected error"); only a text that ends right after the path gets past it."""

    def __init__(self, value: str) -> None:
        self.path = _cstr(value)
        self.fails = False  # an event came after it


class _Reader:
    """Feed yajl events; raises _Rejected with the server's message at the first problem.

    Only two things depend on the node's platform key: which `main` map entry counts, and
    whether an `includes` map names the node's own key. Neither changes what the state machine
    accepts up to that point, so one reading records both for every key, and verdict() answers
    for any key without reading the text again: checking every key `main` lists stays linear.
    """

    def __init__(self) -> None:
        self.mode = "root"
        self.at = 0  # the index of the event being read
        self.key = ""  # the key of the `main` or `includes` map entry being read
        self.string_main: _Main | None = None  # the first `main` given as a string
        self.map_mains: dict[str, _Main] = {}  # the first string per `main` map key
        self.matches: dict[str, _IncludeMatch] = {}
        self.pending: _IncludeMatch | None = None  # a match that waits for the next event
        self.version: str | None = None
        self.includes: list[str] = []
        self.requirements: list[str] | None = None
        self.exposes: set[str] = set()
        self.root_defaults = _Defaults("root_map")
        self.expose_defaults = _Defaults("x_map")  # the current exposed function's own
        self.defaults = self.root_defaults  # the `defaults` map being read
        self.argmap: set[str] = set()
        self.pack_depth = 0  # nesting inside a default value that is a map or an array
        self.failure: str | None = None  # the server's message, when the reading failed
        # After the whole text: the checks that do not depend on the key.
        self.version_problem: str | None = None
        self.includes_problem: str | None = None

    def read(self, text: str) -> _Reader:
        """Run the state machine over ``text`` as far as the server gets."""
        try:
            for kind, value in _json_events(text):
                if self.pending is not None:
                    self.pending.fails = True
                    self.pending = None
                self.feed(kind, value)
                self.at += 1
            self.finish()
        except _JsonSyntaxError:
            self.failure = ALLOC_ERROR  # the server sets no message of its own for a yajl error
        except _Rejected as rejected:
            self.failure = rejected.args[0]
        return self

    def verdict(self, platform: str) -> str | None:
        """The server's message on a node whose platform key is ``platform``, or None."""
        match = self.matches.get(platform)
        if match is not None and match.fails:
            # Only an event the state machine accepted can come next: before any failure.
            return f"unexpected error {_M}"
        if self.failure is not None:
            return self.failure
        main = self.string_main
        mapped = self.map_mains.get(platform)
        if mapped is not None and (main is None or mapped.at < main.at):
            main = mapped  # the first value wins
        if main is None:
            return f"missing required `main` {_M}"
        problem = _path_problem(main.path)
        if problem:
            return f"`main` {_M} {problem}"
        if self.version_problem or self.includes_problem:
            return self.version_problem or self.includes_problem
        if match is not None:
            problem = _path_problem(match.path)
            if problem:
                return f"include file {_M} {problem}"
        if self.requirements is not None and not main.is_py:
            return f"requirements {_M} are only allowed with Python modules"
        return None

    def feed(self, kind: str, value: Any) -> None:
        if kind == "map_key":
            self.map_key(value)
        elif kind == "end_map":
            self.end_map()
        elif kind == "end_array":
            self.end_array()
        else:
            self.value(kind, value)

    def fail(self, message: str) -> None:
        raise _Rejected(message)

    def type_error(self, kind: str) -> None:
        prefix = _EXPECTING.get(self.mode)
        if prefix is None:  # a callback in a mode the server's switch does not expect
            self.fail(f"unexpected error {_M}")
        self.fail(f"{prefix}, {_NOT[kind]}")

    def value(self, kind: str, value: Any) -> None:
        """yajl_null/boolean/integer/double/string/start_map/start_array callbacks."""
        handler = getattr(self, "on_" + self.mode, None)
        if handler is None or not handler(kind, value):
            self.type_error(kind)

    # Each on_<mode> returns True when it handled the event, False for a type error.

    def on_root(self, kind: str, value: Any) -> bool:
        return self.to("root_map") if kind == "start_map" else False

    def on_main(self, kind: str, value: Any) -> bool:
        if kind == "string":
            if self.string_main is None:  # the first value wins
                self.string_main = _Main(self.at, value)
            return self.to("root_map")
        return self.to("main_map") if kind == "start_map" else False

    def on_main_value(self, kind: str, value: Any) -> bool:
        if kind != "string":
            return False
        if self.key not in self.map_mains:  # the first value wins
            self.map_mains[self.key] = _Main(self.at, value)
        return self.to("main_map")

    def on_version(self, kind: str, value: Any) -> bool:
        if kind not in ("string", "integer", "double"):
            return False
        if self.version is None:  # the first value wins
            if kind == "string":
                self.version = _cstr(value)
            else:  # printed with "%lld" or "%g", so 1.0 becomes "1"
                self.version = str(value) if kind == "integer" else format(value, "g")
        return self.to("root_map")

    def on_doc(self, kind: str, value: Any) -> bool:
        return self.to("root_map") if kind in ("string", "null") else False

    def on_x_doc(self, kind: str, value: Any) -> bool:
        return self.to("x_map") if kind in ("string", "null") else False

    def on_defaults(self, kind: str, value: Any) -> bool:
        if kind != "start_map":
            return False
        self.defaults = self.root_defaults
        return self.to("defaults_map")

    def on_x_defaults(self, kind: str, value: Any) -> bool:
        if kind != "start_map":
            return False
        self.defaults = self.expose_defaults
        return self.to("defaults_map")

    def on_deep(self, kind: str, value: Any) -> bool:
        if kind not in ("integer", "double"):
            return False
        if not 0 <= value <= MAX_DEEP:
            shown = value if kind == "integer" else format(value, "f")  # "%lld" or "%f"
            self.fail(f"expecting a `deep` value between 0 and {MAX_DEEP} {_M}, not {shown}")
        return self.to("defaults_map")

    def on_load(self, kind: str, value: Any) -> bool:
        return self.to("defaults_map") if kind == "boolean" else False

    def on_item(self, kind: str, value: Any) -> bool:
        # any JSON value is a default argument; maps and arrays are kept packed as they are
        if kind in ("start_map", "start_array"):
            self.pack_depth = 1
            return self.to("pack")
        return self.to("defaults_map")

    def on_pack(self, kind: str, value: Any) -> bool:
        if kind in ("start_map", "start_array"):
            self.pack_depth += 1
        return True

    def on_includes(self, kind: str, value: Any) -> bool:
        return self.to("includes_arr") if kind == "start_array" else False

    def on_includes_arr(self, kind: str, value: Any) -> bool:
        if kind == "string":
            self.includes.append(_cstr(value))
            return True
        return self.to("includes_map") if kind == "start_map" else False

    def on_includes_value(self, kind: str, value: Any) -> bool:
        if kind != "string":
            return False
        if self.key not in self.matches:  # on that key's node the reading ends here
            self.pending = self.matches[self.key] = _IncludeMatch(value)
        return self.to("includes_map")

    def on_exposes(self, kind: str, value: Any) -> bool:
        return self.to("exposes_map") if kind == "start_map" else False

    def on_x(self, kind: str, value: Any) -> bool:
        if kind == "start_map":
            return self.to("x_map")
        if kind != "string":
            return False
        problem = closure_problem(value)
        if problem:
            self.fail(f"exposing string is not a closure: {problem}")
        return self.to("exposes_map")

    def on_argmap(self, kind: str, value: Any) -> bool:
        if kind == "null":  # null behaves as an absent argmap
            return self.to("x_map")
        if kind != "start_array":
            return False
        self.argmap = set()  # a repeated argmap starts a new list
        return self.to("argmap_arr")

    def on_argmap_arr(self, kind: str, value: Any) -> bool:
        if kind != "string":
            return False
        if value == "":
            self.fail(f"argmap value {_M} must not be empty")
        if value != "*" and _is_reserved_key(value):  # "*" takes the extra properties
            self.fail(f"argmap value `{value}` {_M} is reserved{DOC_PROPERTIES}")
        if value in self.argmap:
            self.fail(f"value `{_cstr(value)}` exists more than once as `argmap` item {_M}")
        self.argmap.add(value)
        return True

    def on_requirements(self, kind: str, value: Any) -> bool:
        if kind == "string":  # the server's message really says "not a number" here
            self.fail(f"{_EXPECTING['requirements']}, not a number")
        if kind != "start_array":
            return False
        if self.requirements is None:  # a repeated key adds to the same list
            self.requirements = []
        return self.to("requirements_arr")

    def on_requirements_arr(self, kind: str, value: Any) -> bool:
        if kind != "string":
            return False
        if not _REQUIREMENT.match(value):
            self.fail(f"invalid characters found in one of the requirements {_M}")
        self.requirements.append(value)
        return True

    def to(self, mode: str) -> bool:
        self.mode = mode
        return True

    def map_key(self, key: str) -> None:
        mode = self.mode
        if mode == "root_map":
            if key not in _ROOT_KEYS:  # so no "$schema" and no comment keys
                self.fail(f"unsupported key `{_cstr(key)}` {_M}")
            self.to(key)
        elif mode in ("main_map", "includes_map"):
            self.key = key
            self.to("main_value" if mode == "main_map" else "includes_value")
        elif mode == "defaults_map":
            if key in ("deep", "load"):
                self.to(key)
                return
            if _is_reserved_key(key):
                self.fail(f"default keys `{key}` is reserved{DOC_PROPERTIES}")
            if key in self.defaults.keys:
                self.fail(f"key `{_cstr(key)}` exists more than once in `defaults`")
            self.defaults.keys.add(key)
            self.to("item")
        elif mode == "pack":
            pass
        elif mode == "exposes_map":
            if not _is_name(key):
                self.fail(f"invalid expose function name {_M}")
            if key in self.exposes:  # also across a repeated `exposes` key
                self.fail(f"double expose function {_M}")
            self.exposes.add(key)
            self.expose_defaults = _Defaults("x_map")
            self.argmap = set()
            self.to("x")
        elif mode == "x_map":
            if key not in ("doc", "defaults", "argmap"):
                self.fail(f"unsupported key `{_cstr(key)}` used in exposed function {_M}")
            self.to("x_" + key if key != "argmap" else "argmap")
        else:
            self.fail(f"unexpected error {_M}")

    def end_map(self) -> None:
        mode = self.mode
        if mode == "pack":
            self.end_pack()
        elif mode == "defaults_map":
            self.to(self.defaults.done_mode)
        else:
            done = {
                "root_map": "root",
                "main_map": "root_map",
                "includes_map": "includes_arr",
                "exposes_map": "root_map",
                "x_map": "exposes_map",
            }.get(mode)
            if done is None:
                self.fail(f"unexpected error {_M}")
            self.to(done)

    def end_array(self) -> None:
        mode = self.mode
        if mode == "pack":
            self.end_pack()
        elif mode in ("includes_arr", "requirements_arr"):
            self.to("root_map")
        elif mode == "argmap_arr":
            self.to("x_map")
        else:
            self.fail(f"unexpected error {_M}")

    def end_pack(self) -> None:
        self.pack_depth -= 1
        if self.pack_depth == 0:
            self.to("defaults_map")

    # The checks after a successful yajl_parse(), in the server's order.

    def finish(self) -> None:
        """The checks that follow a successful parse and do not depend on the platform key
        (verdict() makes the others, in the server's order: main, version, includes,
        requirements)."""
        if self.version is None:
            self.version_problem = f"missing required `version` {_M}"
        elif self.version == "":
            self.version_problem = f"`version` {_M} must not be an empty string"
        elif not _version_ok(self.version):
            self.version_problem = f"invalid `version` format {_M}"
        for path in self.includes:
            problem = _path_problem(path)
            if problem:
                self.includes_problem = f"include file {_M} {problem}"
                break


def _is_reserved_key(key: str) -> bool:
    """ti_is_reserved_key_strn(): one character in the range 0x20-0x2F (space to /)."""
    return len(key) == 1 and " " <= key <= "/"


def _path_problem(path: str) -> str | None:
    """manifest__check_main / manifest__check_includes: the same four rules for a path."""
    if path == "":
        return "must not be an empty string"
    if not all(" " <= c <= "~" for c in path):  # strx_is_printable(): printable ASCII only
        return "contains illegal characters"
    if path.startswith("/"):
        return "must not start with a `/`"
    if ".." in path or "./" in path:  # so "demo..py" fails as well
        return "must not contain `..` or `./` to specify a relative path"
    return None


def _version_ok(version: str) -> bool:
    """manifest__check_version(): 1 to 3 groups of 1-5 digits separated by dots.

    Ported loop for loop, so its edge cases come along: "1.2.3." passes, "1." does not.
    """
    pos = 0
    for _ in range(3):
        start = pos
        while pos < len(version) and version[pos] in _DIGITS:
            pos += 1
        if not 1 <= pos - start <= 5:
            return False
        if pos == len(version):
            return True
        if version[pos] == ".":
            pos += 1
    return pos == len(version)


def check_manifest(text: str, platform: str = DEFAULT_PLATFORM) -> str | None:
    """Return None when ThingsDB accepts ``text`` on a node whose platform key is ``platform``.

    Otherwise return the status message the server reports for it, verbatim (what
    ``module_info(name).load().status`` shows), e.g. "missing required `main` in module.json".
    """
    return _Reader().read(text).verdict(platform)


# --------------------------------------------------------------------------------------------
# Lint: what the parser accepts but a real install or a later release trips over
# --------------------------------------------------------------------------------------------


class _Map(list):
    """A JSON object as its (key, value) pairs, repeated keys and order kept."""

    def get(self, key: str) -> list[Any]:
        return [v for k, v in self if k == key]


def _read_tree(text: str) -> Any:
    """Build values from the events; a text cut short gives what was read. None when invalid."""
    root: list[Any] = []
    stack: list[Any] = [root]
    keys: list[str | None] = [None]
    try:
        for kind, value in _json_events(text):
            if kind == "map_key":
                keys[-1] = value
                continue
            if kind in ("end_map", "end_array"):
                stack.pop()
                keys.pop()
                continue
            node = _Map() if kind == "start_map" else [] if kind == "start_array" else value
            parent = stack[-1]
            parent.append((keys[-1], node) if isinstance(parent, _Map) else node)
            if kind in ("start_map", "start_array"):
                stack.append(node)
                keys.append(None)
    except _JsonSyntaxError:
        return None
    return root[0] if root else None


# ThingsDB computes its platform key as lowercase uname() "sysname/machine" and renames only
# x86_64/x64 to amd64 and i386/i686 to 386 (src/util/osarch.c). So Go-style keys such as
# linux/arm64 never match on Linux ARM hosts, which report aarch64, armv7l or armv6l.
_MACHINE_ALIASES = {"x86_64": "amd64", "x64": "amd64", "i386": "386", "i686": "386"}


def host_platform_key() -> str:
    """The ``main`` key ThingsDB computes on this host."""
    uname = platform.uname()
    machine = uname.machine.lower()
    return f"{uname.system.lower()}/{_MACHINE_ALIASES.get(machine, machine)}"


_MISSING_KEYS = {
    "linux/arm64": ("linux/aarch64",),
    "linux/arm": ("linux/armv7l", "linux/armv6l"),
}
_BLOB_DIRS = ("bin", "blob", "blobs")


def _main_platforms(tree: Any) -> list[str]:
    """The platform keys of every `main` map, in order."""
    keys: dict[str, None] = {}
    for main in tree.get("main"):
        for key, _ in main if isinstance(main, _Map) else []:
            keys.setdefault(key)
    return list(keys)


def _parser_problems(text: str, platforms: list[str]) -> list[str]:
    reading = _Reader().read(text)
    verdicts = {p: reading.verdict(p) for p in platforms}
    errors = {e for e in verdicts.values() if e}
    if len(verdicts) == 1 or (len(errors) == 1 and all(verdicts.values())):
        return sorted(errors)
    return [f"{e} (on {p})" for p, e in verdicts.items() if e]


def lint_manifest(text: str, repo_dir: str | None = None) -> list[str]:
    """Return one-line problems of the manifest ``text``; an empty list means it is fine.

    First the server's verdict on every platform key that `main` lists (or on linux/amd64 when
    `main` is a plain string): a manifest must be accepted wherever it claims to run. Then the
    problems the parser lets through. With ``repo_dir``, also the files it names.
    """
    tree = _read_tree(text)
    platforms = _main_platforms(tree) if isinstance(tree, _Map) else []
    problems = _parser_problems(text, platforms or [DEFAULT_PLATFORM])
    if not isinstance(tree, _Map):
        return problems

    for requirements in tree.get("requirements"):
        if isinstance(requirements, list) and requirements:
            problems.append(
                "`requirements` is not installed on a module's first install (ThingsDB "
                "checks the previously installed list): put the packages in requirements.txt "
                "and remove the key"
            )
            break

    for doc in tree.get("doc"):
        if isinstance(doc, str) and "\0" in doc:
            problems.append("`doc` holds a NUL character: ThingsDB cuts the text there, remove it")
            break

    versions = tree.get("version")
    if versions and isinstance(versions[0], (int, float)) and not isinstance(versions[0], bool):
        problems.append(
            f"`version` is the number {versions[0]!r}: ThingsDB reformats numbers "
            '(1.0 becomes "1"), write it as a string such as "1.0.0"'
        )

    for key in platforms:
        system, _, machine = key.partition("/")
        if key != key.lower():
            problems.append(f"`main` key `{key}` never matches: ThingsDB's keys are lowercase")
        elif machine in _MACHINE_ALIASES:
            wanted = f"{system}/{_MACHINE_ALIASES[machine]}"
            problems.append(f"`main` key `{key}` never matches: ThingsDB computes `{wanted}`")
        wanted_keys = _MISSING_KEYS.get(key, ())
        if wanted_keys and not any(k in platforms for k in wanted_keys):
            names = ", ".join(f"`{k}`" for k in wanted_keys)
            if len(wanted_keys) == 1:
                what = f"not {names}, the key"
            else:
                what = f"none of {names}, the keys"
            problems.append(
                f"`main` has `{key}` but {what} ThingsDB computes on such hosts "
                f"(`{key}` never matches there)"
            )

    includes = [item for value in tree.get("includes") if isinstance(value, list) for item in value]
    if any(isinstance(item, _Map) for item in includes):
        problems.append(
            "`includes` holds a map: ThingsDB fails on one with the node's own platform key "
            "and ignores the others; list plain paths"
        )

    files = _named_files(tree, includes)
    for path, what in files:
        top, _, rest = path.partition("/")
        if top in _BLOB_DIRS and "/" in rest:
            problems.append(
                f"{what} `{path}` is in a subfolder of {top}/: ThingsDB only finds files at the "
                f"top level of {top}/, keep it flat"
            )

    problems.extend(_dispatch_problems(tree))
    if repo_dir is not None:
        problems.extend(_missing_files(tree, files, repo_dir))
        problems.extend(_unlisted_imports(files, repo_dir))
    return problems


def _dispatch_problems(tree: _Map) -> list[str]:
    """Exposed functions the module could not tell apart: the dispatch key missing or taken."""
    problems = []
    for exposes in tree.get("exposes"):
        if not isinstance(exposes, _Map):
            continue
        for name, spec in exposes:
            if not isinstance(spec, _Map):
                continue  # a closure runs in ThingsDB, not in the module
            argmaps = [a for a in spec.get("argmap") if isinstance(a, list)]
            if any(DISPATCH_KEY in argmap for argmap in argmaps):
                problems.append(
                    f"exposed function `{name}` has `{DISPATCH_KEY}` in its argmap: a caller's "
                    "argument would replace the key that says which function was called"
                )
            defaults = [d for d in spec.get("defaults") if isinstance(d, _Map)]
            named = [v for d in defaults for v in d.get(DISPATCH_KEY)]
            if named != [name]:
                wanted = json.dumps({DISPATCH_KEY: name})
                problems.append(
                    f"exposed function `{name}` needs the default {wanted}: ThingsDB does not "
                    "send which function was called, the module dispatches on it"
                )
    return problems


def _unlisted_imports(files: list[tuple[str, str]], repo_dir: str) -> list[str]:
    """Local modules a Python main or include imports that ThingsDB would not download.

    ThingsDB fetches only module.json, `main`, `includes` and requirements.txt; a module that
    imports another file of the repository passes every local test and fails at import once
    installed.
    """
    listed = {path for path, _ in files}
    problems = []
    for path in sorted(p for p in listed if p.endswith(".py")):
        try:
            with open(os.path.join(repo_dir, path), encoding="utf-8") as f:
                source = ast.parse(f.read(), path)
        except (OSError, SyntaxError, ValueError):
            continue  # a missing file is reported already; a broken one fails its own checks
        for name in sorted(_top_level_imports(source)):
            for candidate in (f"{name}.py", f"{name}/__init__.py"):
                if os.path.isfile(os.path.join(repo_dir, candidate)) and candidate not in listed:
                    problems.append(
                        f"`{path}` imports `{name}`, but `includes` does not list `{candidate}`: "
                        "ThingsDB downloads only module.json, main and includes, so the module "
                        "would fail at import once installed"
                    )
    return problems


def _top_level_imports(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def _named_files(tree: _Map, includes: list[Any]) -> list[tuple[str, str]]:
    """(path, "`main` file" or "include file") for every path in `main` and `includes`."""
    files: list[tuple[str, str]] = []
    for main in tree.get("main"):
        values = [v for _, v in main] if isinstance(main, _Map) else [main]
        files.extend((v, "`main` file") for v in values if isinstance(v, str))
    for item in includes:
        values = [v for _, v in item] if isinstance(item, _Map) else [item]
        files.extend((v, "include file") for v in values if isinstance(v, str))
    return list(dict.fromkeys(files))


def _missing_files(tree: _Map, files: list[tuple[str, str]], repo_dir: str) -> list[str]:
    problems = []
    for path, what in files:
        if _path_problem(path) is None and not os.path.isfile(os.path.join(repo_dir, path)):
            problems.append(f"{what} `{path}` does not exist in the repository")
    python_main = any(what == "`main` file" and path.endswith(".py") for path, what in files)
    has_requirements_txt = os.path.isfile(os.path.join(repo_dir, "requirements.txt"))
    if python_main and not tree.get("requirements") and not has_requirements_txt:
        problems.append(
            "requirements.txt does not exist: without a `requirements` key ThingsDB "
            "installs a Python module's packages from it"
        )
    return problems


# --------------------------------------------------------------------------------------------
# sync: module.json's exposes and the README's functions follow the code
# --------------------------------------------------------------------------------------------

SYNC_COMMAND = "python tools/manifest.py sync"
README_START = "<!-- functions: written by `{command}` from the code -->"
README_END = "<!-- end of functions -->"
_NEW_MODULE_VERSION = re.compile(r"(new_module\([^\n]*@v)([0-9]{1,5}(?:\.[0-9]{1,5}){0,2})\b")
_MARKDOWN_CODE_RUN = re.compile(r"`+")


def thingsdb_value(value: Any) -> str:
    """ThingsDB code for a value, as a user would type it in a query (the README's examples)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return f"bytes({thingsdb_value(value.decode('latin-1'))})"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(thingsdb_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {thingsdb_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


def md_code(value: Any) -> str:
    """A Markdown code span showing ``value`` literally, on one line, backticks included."""
    text = " ".join(str(value).split())
    runs = [len(run) for run in _MARKDOWN_CODE_RUN.findall(text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def example_call(module: str, name: str, example: dict[str, Any]) -> str:
    """One line of ThingsDB code calling an example, and what it gives as a comment."""
    call = f"{module}.{name}({', '.join(thingsdb_value(a) for a in example['args'])})"
    if example.get("error") is not None:
        return f"{call};  // {example['error']}: {' '.join(str(example['message']).split())}"
    return f"{call}.then(|reply| reply);  // {thingsdb_value(example.get('answer'))}"


def same_value(want: Any, got: Any) -> bool:
    """Whether an answer is the example's: equal and of the same ThingsDB types (True is not
    1, 2.0 is not 2; a list and a tuple are both a list)."""
    if isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
        return len(want) == len(got) and all(same_value(w, g) for w, g in zip(want, got))
    if isinstance(want, dict) and isinstance(got, dict):
        return want.keys() == got.keys() and all(same_value(want[k], got[k]) for k in want)
    return type(want) is type(got) and want == got


def example_outcome(example: dict[str, Any], codes: dict[str, int]) -> str:
    """What an example wants, as the failure message shows it."""
    if example.get("error") is not None:
        code = codes.get(example["error"], "?")
        return f"{example['error']} ({code}): {example['message']}"
    return thingsdb_value(example.get("answer"))


def example_mismatch(
    name: str, number: int, example: dict[str, Any], got: dict[str, Any], codes: dict[str, int]
) -> str | None:
    """None when ``got`` ({"answer"} or {"error", "message"}) is what the example wants, else
    the failure as ThingsDB shows it: function, example, call, both sides."""
    want_error = example.get("error") is not None
    if want_error == (got.get("error") is not None):
        if want_error and (got["error"], got["message"]) == (example["error"], example["message"]):
            return None
        if not want_error and same_value(example.get("answer"), got.get("answer")):
            return None
    call = f"{name}({', '.join(thingsdb_value(a) for a in example['args'])})"
    return (
        f"{name} example {number}, {call}: want {example_outcome(example, codes)}; "
        f"got {example_outcome(got, codes)}"
    )


def functions_section(module: str, entries: list[dict[str, Any]]) -> str:
    """The README's functions, between its markers: a table, then each function's examples.

    ``entries`` in module.json's order: {"name", "closure"} for a closure, else a function as
    the code describes it ({"name", "doc", "examples"}). The Go flavour writes the same text.
    """
    lines = ["| function | arguments |", "|---|---|"]
    for entry in entries:
        if entry.get("closure") is not None:
            lines.append(f"| `{entry['name']}` | a ThingsDB closure |")
            continue
        inside = entry["doc"].partition("(")[2][:-1]
        shown = md_code(inside).replace("|", "\\|") if inside else "none"
        lines.append(f"| `{entry['name']}` | {shown} |")
    for entry in entries:
        lines += ["", f"### {entry['name']}", ""]
        if entry.get("closure") is not None:
            lines += [
                "A ThingsDB closure, run by ThingsDB itself (the module is not called):",
                md_code(entry["closure"]) + ".",
                "",
                "```thingsdb",
                f"{module}.{entry['name']}();",
                "```",
            ]
            continue
        lines.append(md_code(entry["doc"]))
        if entry.get("examples"):
            lines += ["", "```thingsdb"]
            lines += [example_call(module, entry["name"], e) for e in entry["examples"]]
            lines.append("```")
    return "\n".join(lines)


def exposed_entry(function: dict[str, Any], old: Any) -> dict[str, Any]:
    """module.json's entry for a function the code serves; the author's other defaults kept."""
    defaults: dict[str, Any] = {DISPATCH_KEY: function["name"], **function["defaults"]}
    if isinstance(old, dict) and isinstance(old.get("defaults"), dict):
        for key, value in old["defaults"].items():
            if key not in defaults and key not in function["argmap"]:
                defaults[key] = value
    return {"doc": function["doc"], "defaults": defaults, "argmap": function["argmap"]}


def synced_manifest(manifest: dict[str, Any], functions: list[dict[str, Any]]) -> dict[str, Any]:
    """module.json with its exposes following the code: the same order, new functions last."""
    served = {f["name"]: f for f in functions}
    old = manifest.get("exposes") if isinstance(manifest.get("exposes"), dict) else {}
    exposes: dict[str, Any] = {}
    for name, entry in old.items():
        if isinstance(entry, str):
            exposes[name] = entry  # a closure: ThingsDB runs it, the code has nothing to say
        elif name in served:
            exposes[name] = exposed_entry(served[name], entry)
    for name, function in served.items():
        if name not in exposes:
            exposes[name] = exposed_entry(function, None)
    synced = dict(manifest)
    synced["exposes"] = exposes
    return synced


def manifest_text(manifest: dict[str, Any]) -> str:
    """module.json as the template writes it."""
    return json.dumps(manifest, indent=2, ensure_ascii=False)


def readme_entries(manifest: dict[str, Any], functions: list[dict[str, Any]]) -> list[dict]:
    served = {f["name"]: f for f in functions}
    entries = []
    for name, entry in manifest.get("exposes", {}).items():
        if isinstance(entry, str):
            entries.append({"name": name, "closure": entry})
        elif name in served:
            entries.append(served[name])
    return entries


def synced_readme(readme: str, module: str, manifest: dict[str, Any], functions: list) -> str:
    """The README with its functions section and its new_module versions following the code."""
    start = README_START.format(command=SYNC_COMMAND)
    head, found, rest = readme.partition(start + "\n")
    if found:
        _, end, tail = rest.partition(README_END)
        if end:
            section = functions_section(module, readme_entries(manifest, functions))
            readme = f"{head}{start}\n{section}\n{README_END}{tail}"
    version = str(manifest.get("version", ""))
    return _NEW_MODULE_VERSION.sub(lambda m: m[1] + version, readme) if version else readme


def describe_code(project_dir: str) -> dict[str, Any]:
    """main.py's functions as its own module describes them (timod_loop's describe()).

    main.py is imported by the project's interpreter in a process of its own, so that this
    file keeps to the standard library. Values come back as Python literals (bytes included).
    """
    import subprocess

    script = "import main; print(repr(main.module.describe()))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=project_dir,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": project_dir},
    )
    if result.returncode != 0:
        raise SyncError(f"main.py: cannot describe its functions:\n{result.stderr.strip()}")
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])


class SyncError(Exception):
    """The code or module.json cannot be read; the message says why."""


def _served(function: dict[str, Any], field: str) -> str:
    if field == "argmap":
        return f"{function['name']}({', '.join(function['argmap'])})"
    if field == "doc":
        return function["doc"]
    defaults = {DISPATCH_KEY: function["name"], **function["defaults"]}
    return f"{function['name']} with the defaults {json.dumps(defaults, ensure_ascii=False)}"


def sync_differences(
    manifest: dict[str, Any], synced: dict[str, Any], functions: list[dict[str, Any]]
) -> list[str]:
    """What sync would change in module.json, one line each, naming function, field and sides."""
    fix = f"run {SYNC_COMMAND}"
    served = {f["name"]: f for f in functions}
    old = manifest.get("exposes") if isinstance(manifest.get("exposes"), dict) else {}
    new = synced["exposes"]
    lines = []
    for name in old:
        if name not in new:
            lines.append(f"module.json exposes {name}; main.py serves no such function; {fix}")
    for name, entry in new.items():
        if name not in old:
            lines.append(f"main.py serves {name}; module.json does not expose it; {fix}")
        elif entry != old[name]:
            was = old[name] if isinstance(old[name], dict) else {}
            for field in ("doc", "defaults", "argmap"):
                if was.get(field) != entry[field]:
                    lines.append(
                        f"module.json: exposes.{name}.{field} is "
                        f"{json.dumps(was.get(field), ensure_ascii=False)}; "
                        f"main.py serves {_served(served[name], field)}; {fix}"
                    )
            if set(was) - {"doc", "defaults", "argmap"}:
                lines.append(f"module.json: exposes.{name} has keys sync does not write; {fix}")
    if not lines and list(old) != list(new):
        lines.append(f"module.json: exposes are not in the order sync keeps; {fix}")
    return lines


def sync(project_dir: str, check: bool) -> list[str]:
    """Rewrite module.json and README.md from the code; with check, only say what would change."""
    path = os.path.join(project_dir, "module.json")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        manifest = json.loads(text)
    except ValueError as exc:
        raise SyncError(f"module.json: not JSON ({exc})") from None
    described = describe_code(project_dir)
    functions = described["functions"]
    synced = synced_manifest(manifest, functions)
    new_text = manifest_text(synced) + ("\n" if text.endswith("\n") else "")
    readme_path = os.path.join(project_dir, "README.md")
    readme = new_readme = None
    if os.path.exists(readme_path):
        with open(readme_path, encoding="utf-8") as f:
            readme = f.read()
        new_readme = synced_readme(readme, described["module"], synced, functions)
    if check:
        lines = sync_differences(manifest, synced, functions)
        if not lines and new_text != text:
            lines.append(f"module.json: not written as sync writes it; run {SYNC_COMMAND}")
        if new_readme != readme:
            lines.append(
                "README.md: its functions section or install lines do not follow main.py and "
                f"module.json; run {SYNC_COMMAND}"
            )
        return lines
    if new_text != text:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(new_text)
    if new_readme != readme:
        with open(readme_path, "w", encoding="utf-8", newline="\n") as f:
            f.write(new_readme)
    return []


def sync_main(args: list[str]) -> int:
    """``python tools/manifest.py sync [--check]``."""
    if args not in ([], ["--check"]):
        print(SYNC_USAGE, file=sys.stderr)
        return 2
    project_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        lines = sync(project_dir, check=bool(args))
    except SyncError as exc:
        _say(str(exc), sys.stderr)
        return 1
    # The same lines as the Go flavour's `go run ./tools/manifest sync`.
    for line in lines:
        _say(line if args else "synced: " + line.removesuffix(f"; run {SYNC_COMMAND}"), sys.stdout)
    if args and lines:
        return 1
    _say("module.json and README.md follow main.py", sys.stdout)
    return 0


SYNC_USAGE = "usage: python tools/manifest.py sync [--check]"


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


USAGE = "usage: python tools/manifest.py [--platform KEY] [PATH]  (default: module.json)"


def main(argv: list[str] | None = None) -> int:
    """``python tools/manifest.py [--platform KEY] [PATH]``: exit 0 when fine, 1 on problems, 2
    when unreadable.

    With ``--platform KEY`` (or ``--platform=KEY``) only the server's verdict on a node with that
    platform key is given (``check_manifest``), without the lint rules.
    """
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sync"]:
        return sync_main(argv[1:])
    arguments = _parse_args(argv)
    if arguments is None:
        print(USAGE, file=sys.stderr)
        return 2
    path, platform_key = arguments
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        _say(f"{path}: cannot read the file: {exc.strerror or exc}", sys.stderr)
        return 2
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        problems = [ALLOC_ERROR]  # yajl rejects bytes that are not UTF-8
    else:
        if platform_key is None:
            problems = lint_manifest(text, os.path.dirname(path) or ".")
        else:
            problem = check_manifest(text, platform_key)
            problems = [problem] if problem else []
    for problem in problems:
        _say(f"{path}: {problem}", sys.stdout)
    if not problems:
        _say(f"{path}: ok", sys.stdout)
    return 1 if problems else 0


def _parse_args(args: list[str]) -> tuple[str, str | None] | None:
    """(path, platform key or None) from ``[--platform KEY] [PATH]``; None when they do not fit."""
    path: str | None = None
    platform_key: str | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-h", "--help"):
            return None
        if arg == "--platform" or arg.startswith("--platform="):
            if platform_key is not None:
                return None
            if arg == "--platform":
                i += 1
                if i == len(args):
                    return None
                platform_key = args[i]
            else:
                platform_key = arg.partition("=")[2]
        elif path is None:
            path = arg
        else:
            return None
        i += 1
    return ("module.json" if path is None else path), platform_key


def _say(line: str, stream: Any) -> None:
    # a key may hold characters the terminal cannot show: escape them instead of failing
    encoding = getattr(stream, "encoding", None) or "utf-8"
    print(line.encode(encoding, "backslashreplace").decode(encoding), file=stream)


if __name__ == "__main__":
    sys.exit(main())
