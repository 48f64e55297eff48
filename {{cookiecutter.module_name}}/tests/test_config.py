"""The module's configuration, as ThingsDB sends it with new_module() or set_module_conf()."""

from __future__ import annotations

import asyncio
{%- if cookiecutter.needs_config %}
from collections.abc import Iterator
{%- endif %}

import pytest
{%- if cookiecutter.needs_config %}
from timod import TypeError as TiTypeError
{%- endif %}
from timod import ValueError as TiValueError

import main
{%- if cookiecutter.needs_config %}


@pytest.fixture(autouse=True)
def unconfigured() -> Iterator[None]:
    """Each test starts as the module does, without a configuration, and leaves none behind."""
    main.config = main.Config()
    yield
    main.config = main.Config()


def configure(value) -> main.Config:
    """Send a configuration the way the module's loop hands it over."""
    asyncio.run(main.module.answer_config(value))
    return main.config


def test_without_configuration_the_defaults_apply():
    assert main.config.prefix == ""


def test_configuration_is_kept():
    assert configure({"prefix": "> "}).prefix == "> "
    assert configure({"prefix": "again "}).prefix == "again "


def test_empty_configuration_is_valid():
    assert configure({}).prefix == ""


@pytest.mark.parametrize("value", [None, "text", 42, ["prefix"]])
def test_configuration_that_is_not_a_thing_is_a_type_error(value):
    with pytest.raises(TiTypeError, match="must be a thing"):
        configure(value)


def test_unknown_option_is_a_value_error():
    with pytest.raises(TiValueError, match="unknown configuration option"):
        configure({"prefix": "", "colour": "red"})


def test_prefix_that_is_not_a_string_is_a_type_error():
    with pytest.raises(TiTypeError, match="prefix must be a string"):
        configure({"prefix": 3})


def test_refused_configuration_keeps_the_previous_one():
    configure({"prefix": "> "})
    with pytest.raises(TiTypeError):
        configure({"prefix": 3})
    assert main.config.prefix == "> "
{%- else %}


def test_any_configuration_is_refused():
    # The module has no @module.on_config: new_module() without a third argument.
    with pytest.raises(TiValueError, match="takes no configuration"):
        asyncio.run(main.module.answer_config({"prefix": "x"}))
{%- endif %}
