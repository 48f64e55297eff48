"""Go code rendered from the answers, as gofmt leaves it; where the Go binaries go."""

from __future__ import annotations

import json
import re
from typing import Any

from .facts import ARGUMENT_ERROR_FIELDS


def go_name(name: str) -> str:
    """An exported Go identifier for a ThingsDB name: ``get_user`` -> ``GetUser``."""
    parts = [p for p in name.split("_") if p]
    if not parts:  # a name made only of underscores
        return "X" + str(len(name))
    joined = "".join(p[0].upper() + p[1:] for p in parts)
    return joined if not joined[0].isdigit() else "X" + joined


def binary_path(module_name: str, platform: str) -> str:
    """Where the build puts a platform's binary: flat in bin/, as ThingsDB lists only its top."""
    return f"bin/{module_name}_{platform.replace('/', '_')}"


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


def go_format(template: str) -> str:
    """A Go format string for one of ARGUMENT_ERRORS: ``{argument}`` becomes ``%[2]s``."""
    return string_literal(
        re.sub(r"\{(\w+)\}", lambda m: f"%[{ARGUMENT_ERROR_FIELDS.index(m[1]) + 1}]s", template)
    )
