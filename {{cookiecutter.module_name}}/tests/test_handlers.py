{%- import "python_names.jinja" as py with context -%}
{%- import "python_code.jinja" as code -%}
{%- set handled = cookiecutter.functions | signatures | rejectattr("closure") | list -%}
"""Your functions in main.py, called directly: no wire protocol, no argument checks. Yours.

Generated from the signatures the module started with: each test asserts what the placeholder
returns, so change it as you write the function, and add a test when you add a function.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import main


def call(function: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    return asyncio.run(function(*args, **kwargs))
{%- for f in handled %}
{%- set name = py.names[f.name] %}
{%- set samples = f.arguments | map(attribute="sample") | map("py_value") | list %}
{%- set args = ["main." ~ name] + samples + (["options={}"] if f.options else []) %}


def test_{{ name }}():
{{ code.bracketed("    ", "answer = call(", args, ")") }}
{%- if f.bare %}
{{ code.bracketed("    ", "assert answer == ", [], samples[0]) }}
{%- if cookiecutter.needs_config %}


def test_{{ name }}_prefix(monkeypatch):
    monkeypatch.setattr(main, "config", main.Config(prefix="> "))
    assert call(main.{{ name }}, "x") == "> x"
    assert call(main.{{ name }}, 7) == 7
{%- endif %}
{%- else %}
{%- set expected = code.thing_of(f, samples) %}
{{ code.bracketed("    ", "assert answer == {", (expected.split("\x00") if expected else []), "}", "literal") }}
{%- endif %}
{%- if f.arguments | selectattr("optional") | list %}
{%- set required = f.arguments | rejectattr("optional") | list %}
{%- set args = ["main." ~ name] + (required | map(attribute="sample") | map("py_value") | list) + (["options={}"] if f.options else []) %}
{%- set values = [] %}
{%- for a in f.arguments %}{% set _ = values.append(code.default(a) if a.optional else a.sample | py_value) %}{% endfor %}


def test_{{ name }}_defaults():
{{ code.bracketed("    ", "answer = call(", args, ")") }}
{%- set expected = code.thing_of(f, values) %}
{{ code.bracketed("    ", "assert answer == {", expected.split("\x00"), "}", "literal") }}
{%- endif %}
{%- if f.options %}


def test_{{ name }}_options():
{%- set args = ["main." ~ name] + samples + ['options={"key": "value"}'] %}
{{ code.bracketed("    ", "answer = call(", args, ")") }}
{%- set expected = code.thing_of(f, samples, '{"key": "value"}') %}
{{ code.bracketed("    ", "assert answer == {", expected.split("\x00"), "}", "literal") }}
{%- endif %}
{%- endfor %}
