"""Your functions{% if cookiecutter.needs_config %} and configuration{% endif %} over the wire, called exactly as ThingsDB calls them.

This file is yours. Each example next to a function in main.py is called here as ThingsDB
calls it: the request built from module.json, sent to the module started as ThingsDB starts it.
Adding a function needs no change here.
"""
{%- set handled = cookiecutter.functions | handled_signatures %}

from __future__ import annotations

from typing import Any

import pytest

import main
from manifest import example_mismatch
from thingsdb_peer import CONF_ERR, {% if cookiecutter.needs_config %}CONF_OK, {% endif %}ERR, ERROR_CODES, RES, build_request, error_name

{%- if cookiecutter.needs_config %}

TYPE_ERR = ERROR_CODES["type_err"]
VALUE_ERR = ERROR_CODES["value_err"]
{%- endif %}

FUNCTIONS = main.module.describe()["functions"]
EXAMPLES = [
    pytest.param(f["name"], number, example, id=f"{f['name']}-{number}")
    for f in FUNCTIONS
    for number, example in enumerate(f["examples"], 1)
]


def outcome(reply: Any) -> dict[str, Any]:
    if reply.type == RES:
        return {"answer": reply.value}
    if reply.type == ERR:
        code, message = reply.value
        return {"error": error_name(code), "message": message}
    return {"error": f"package type {reply.type}", "message": repr(reply.value)}


@pytest.mark.parametrize("name, number, example", EXAMPLES)
def test_example(module, manifest, name, number, example):
    reply = module.request(build_request(manifest, name, example["args"]))
    problem = example_mismatch(name, number, example, outcome(reply), ERROR_CODES)
    assert problem is None, f"{problem}\n{module.stderr_text()}"
{%- if cookiecutter.needs_config %}


# --- configuration ---
{%- set bare = handled | selectattr("bare") | list %}
{%- if bare %}


# A function whose answer shows the configured prefix.
{{ "PREFIXED" | py_constant(bare[0].name) }}


def test_configuration_is_accepted_and_applied(module, manifest):
    reply = module.configure({"prefix": "> "})
    assert (reply.pid, reply.type, reply.raw) == (0, CONF_OK, b"")
    reply = module.request(build_request(manifest, PREFIXED, ["x"]))
    assert (reply.type, reply.value) == (RES, "> x")
{%- else %}


def test_configuration_is_accepted(module):
    reply = module.configure({"prefix": "> "})
    assert (reply.pid, reply.type, reply.raw) == (0, CONF_OK, b"")
{%- endif %}


def test_configuration_can_be_sent_again(module):
    assert module.configure({"prefix": "a"}).type == CONF_OK
    assert module.configure({"prefix": "b"}).type == CONF_OK


@pytest.mark.parametrize(
    "conf, code",
    [("text", TYPE_ERR), ({"prefix": 1}, TYPE_ERR), ({"colour": "red"}, VALUE_ERR)],
    ids=["not-a-thing", "wrong-type", "unknown-option"],
)
def test_bad_configuration_is_refused(module, conf, code):
    reply = module.configure(conf)
    assert (reply.type, reply.error_code) == (CONF_ERR, code)
{%- else %}


def test_a_configuration_is_refused(module):
    # The module takes none: new_module() without a third argument.
    reply = module.configure({"prefix": "> "})
    assert (reply.pid, reply.type, reply.error_code) == (0, CONF_ERR, ERROR_CODES["value_err"])
{%- endif %}
