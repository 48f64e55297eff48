"""Python code rendered from the answers, laid out as ruff format lays it out."""

from __future__ import annotations

import json
import re
from typing import Any

from .facts import PY_ANNOTATIONS
from .go_code import string_literal
from .signatures import placeholder_examples


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
