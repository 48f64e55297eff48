{%- import "python_names.jinja" as py with context -%}
{%- set handled = cookiecutter.functions | handled_signatures -%}
"""Every example of main.py's functions, called through the module's own dispatch and argument
checks: no process, no wire. This file is yours; adding a function needs no change here, as its
examples are next to it in main.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from timod.ex import TiException

import main
from manifest import example_mismatch
from thingsdb_peer import ERROR_CODES, ERROR_NAMES

FUNCTIONS = main.module.describe()["functions"]
EXAMPLES = [
    pytest.param(f["name"], number, example, id=f"{f['name']}-{number}")
    for f in FUNCTIONS
    for number, example in enumerate(f["examples"], 1)
]


def call(name: str, args: list[Any]) -> dict[str, Any]:
    """The answer of main.py's function to a call, or its error, as ThingsDB would show it."""
    function = main.module.functions()[name]
    request: dict[str, Any] = {"function": name}
    for position, argument in enumerate(function.arguments):
        if position < len(args):
            request[argument.name] = args[position]
        elif argument.required:
            request[argument.name] = None  # ThingsDB sends a left-out argument as nil
    if function.options is not None and len(args) > len(function.arguments):
        request.update(args[len(function.arguments)])
    try:
        return {"answer": asyncio.run(main.module.answer_request(request))}
    except TiException as error:
        return {"error": ERROR_NAMES.get(error.err_code, error.err_code), "message": str(error)}


@pytest.mark.parametrize("name, number, example", EXAMPLES)
def test_example(name, number, example):
    problem = example_mismatch(name, number, example, call(name, example["args"]), ERROR_CODES)
    assert problem is None, problem
{%- set bare = handled | selectattr("bare") | list %}
{%- if cookiecutter.needs_config and bare %}
{%- set name = py.names[bare[0].name] %}


# A function whose answer shows the configured prefix.
{{ "PREFIXED" | py_constant(bare[0].name) }}


def test_{{ name }}_prefix(monkeypatch):
    monkeypatch.setattr(main, "config", main.Config(prefix="> "))
    assert call(PREFIXED, ["x"]) == {"answer": "> x"}
    assert call(PREFIXED, [7]) == {"answer": 7}
{%- endif %}
