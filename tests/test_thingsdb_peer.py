"""The request thing the ThingsDB peer builds, case by case as ThingsDB builds it.

ThingsDB (src/ti/mod/expose.c, manifest.c): each argmap name takes its positional argument or,
when the call leaves it out, the default of that name, else nil; "*" adds the properties of an
optional thing; without an argmap the one argument is a thing sent as it is; argmap names
`load` and `deep` set ThingsDB's options and are not sent; the defaults (the function's own,
then the root's) fill the keys still missing; arguments beyond the argmap stay with the future.
"""

from __future__ import annotations

import pytest
from thingsdb_peer import build_request, extra_arguments


def manifest(spec: dict, root_defaults: dict | None = None) -> dict:
    return {"defaults": root_defaults or {}, "exposes": {"f": spec}}


ECHO = {"defaults": {"function": "echo"}, "argmap": ["value"]}

CASES = [
    pytest.param(manifest(ECHO), ["x"], {"function": "echo", "value": "x"}, id="argument"),
    pytest.param(manifest(ECHO), [], {"function": "echo", "value": None}, id="left-out-is-nil"),
    pytest.param(
        manifest({"defaults": {"function": "echo", "value": 5}, "argmap": ["value"]}),
        [],
        {"function": "echo", "value": 5},
        id="left-out-takes-its-default",
    ),
    pytest.param(
        manifest(ECHO, {"value": 7, "lang": "en"}),
        [],
        {"function": "echo", "value": 7, "lang": "en"},
        id="left-out-takes-a-root-default",
    ),
    pytest.param(
        manifest({"defaults": {"lang": "nl", "deep": 2}}, {"lang": "en", "load": True, "x": 1}),
        [],
        {"lang": "nl", "x": 1},
        id="own-defaults-before-root-ones-without-load-and-deep",
    ),
    pytest.param(
        manifest({"argmap": ["msg", "*"]}), ["hi", {"a": 1}], {"msg": "hi", "a": 1}, id="star"
    ),
    pytest.param(manifest({"argmap": ["msg", "*"]}), ["hi", None], {"msg": "hi"}, id="star-nil"),
    pytest.param(manifest({"argmap": ["msg", "*"]}), [], {"msg": None}, id="star-left-out"),
    pytest.param(
        manifest({"defaults": {"function": "echo"}, "argmap": ["*"]}),
        [{"function": "mine"}],
        {"function": "mine"},
        id="a-given-key-beats-a-default",
    ),
    pytest.param(
        manifest({"argmap": ["deep", "load", "msg"]}),
        [3, True, "x"],
        {"msg": "x"},
        id="load-and-deep-are-not-sent",
    ),
    pytest.param(
        manifest({"defaults": {"k": 1}}), [{"a": 1}], {"a": 1, "k": 1}, id="no-argmap-one-thing"
    ),
    pytest.param(manifest({"defaults": {"k": 1}}), [], {"k": 1}, id="no-argmap-no-argument"),
    pytest.param(manifest({"argmap": []}), ["extra"], {}, id="empty-argmap-sends-no-argument"),
]


@pytest.mark.parametrize("module, args, request_thing", CASES)
def test_request_is_built_as_thingsdb_builds_it(module, args, request_thing):
    assert build_request(module, "f", args) == request_thing


@pytest.mark.parametrize(
    "spec, args, extra",
    [
        (ECHO, ["x", "y", 3], ["y", 3]),
        (ECHO, ["x"], []),
        ({"argmap": []}, ["x"], ["x"]),
        ({}, [{"a": 1}, "y"], ["y"]),
    ],
)
def test_arguments_beyond_the_argmap_are_not_sent(spec, args, extra):
    assert extra_arguments(manifest(spec), "f", args) == extra


@pytest.mark.parametrize(
    "spec, args",
    [({}, ["not a thing"]), ({}, [None]), ({"argmap": ["*"]}, [[1, 2]])],
    ids=["no-argmap-text", "no-argmap-nil", "star-list"],
)
def test_a_thing_argument_that_is_not_a_thing_is_a_type_error(spec, args):
    with pytest.raises(TypeError):
        build_request(manifest(spec), "f", args)
