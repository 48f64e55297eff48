"""Markdown rendered from the answers: the README's text and its functions section."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

from .facts import project_tool
from .signatures import parse_functions, placeholder_examples


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
    return project_tool("manifest").functions_section(answers["module_name"], entries)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~&])")


def md_text(value: Any) -> str:
    """Text shown literally in Markdown: special characters escaped, lines joined."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def md_code(value: Any) -> str:
    """A Markdown code span showing ``value`` literally, on one line, backticks included."""
    text = " ".join(str(value).split())
    runs = [len(run) for run in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
