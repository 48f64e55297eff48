"""The module's configuration, as ThingsDB sends it with new_module() or set_module_conf()."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
{%- if cookiecutter.needs_config %}
from timod import TypeError as TiTypeError
{%- endif %}
from timod import ValueError as TiValueError

from main import FUNCTION_KEY, Handler
from thingsdb_peer import load_manifest

FIRST_FUNCTION = next(iter(load_manifest(Path(__file__).resolve().parents[1])["exposes"]))
{%- if cookiecutter.needs_config %}


def configured(value) -> Handler:
    handler = Handler()
    asyncio.run(handler.on_config(value))
    return handler


def test_without_configuration_the_defaults_apply():
    handler = Handler()
    assert handler.config.prefix == ""
    assert asyncio.run(handler.on_request({FUNCTION_KEY: FIRST_FUNCTION, "value": "x"})) == "x"


def test_prefix_is_put_before_string_values():
    handler = configured({"prefix": "> "})
    assert asyncio.run(handler.on_request({FUNCTION_KEY: FIRST_FUNCTION, "value": "x"})) == "> x"
    assert asyncio.run(handler.on_request({FUNCTION_KEY: FIRST_FUNCTION, "value": 7})) == 7


def test_empty_configuration_is_valid():
    assert configured({}).config.prefix == ""


@pytest.mark.parametrize("value", [None, "text", 42, ["prefix"]])
def test_configuration_that_is_not_a_thing_is_a_type_error(value):
    with pytest.raises(TiTypeError, match="must be a thing"):
        configured(value)


def test_unknown_option_is_a_value_error():
    with pytest.raises(TiValueError, match="unknown configuration option"):
        configured({"prefix": "", "colour": "red"})


def test_prefix_that_is_not_a_string_is_a_type_error():
    with pytest.raises(TiTypeError, match="prefix must be a string"):
        configured({"prefix": 3})
{%- else %}


def test_any_configuration_is_refused():
    with pytest.raises(TiValueError, match="takes no configuration"):
        asyncio.run(Handler().on_config({"prefix": "x"}))


def test_module_works_without_configuration():
    assert asyncio.run(Handler().on_request({FUNCTION_KEY: FIRST_FUNCTION, "value": 1})) == 1
{%- endif %}
