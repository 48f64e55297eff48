"""Unit tests of the handlers, called directly, without the wire protocol."""

from __future__ import annotations

import asyncio

import pytest
from timod import LookupError as TiLookupError
from timod import NumArgumentsError
from timod import TypeError as TiTypeError

from main import FUNCTION_KEY, Handler


def call(request):
    return asyncio.run(Handler().on_request(request))


def test_each_function_returns_its_value(manifest):
    value = [1, "two", {"three": 3.0}]
    for name in manifest["exposes"]:
        assert call({FUNCTION_KEY: name, "value": value}) == value


def test_each_function_without_value_is_a_num_arguments_error(manifest):
    for name in manifest["exposes"]:
        with pytest.raises(NumArgumentsError, match="requires argument `value`"):
            call({FUNCTION_KEY: name})


def test_unknown_function_is_a_lookup_error():
    with pytest.raises(TiLookupError, match="no function 'no_such_function'"):
        call({FUNCTION_KEY: "no_such_function", "value": 1})


def test_request_without_function_key_is_a_lookup_error():
    with pytest.raises(TiLookupError):
        call({"value": 1})


def test_request_that_is_not_a_thing_is_a_type_error():
    with pytest.raises(TiTypeError, match="must be a thing"):
        call(["not", "a", "map"])
