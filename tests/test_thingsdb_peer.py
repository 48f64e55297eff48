"""The request thing the ThingsDB peer builds, case by case as ThingsDB builds it.

ThingsDB (src/ti/mod/expose.c, manifest.c): each argmap name takes its positional argument or,
when the call leaves it out, the default of that name, else nil; "*" adds the properties of an
optional thing; without an argmap the one argument is a thing sent as it is; argmap names
`load` and `deep` set ThingsDB's options and are not sent; the defaults (the function's own,
then the root's) fill the keys still missing; arguments beyond the argmap stay with the future.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import PROJECT_TEMPLATE_DIR
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


# --- the command line: a bad argument is one error line, exit status 2, no traceback ---

PEER = PROJECT_TEMPLATE_DIR / "tools" / "thingsdb_peer.py"
BAD_ARGUMENTS = [
    pytest.param(["--timeout", "nan", "echo", "1"], "--timeout", id="timeout-nan"),
    pytest.param(["--timeout", "-1", "echo", "1"], "--timeout", id="timeout-negative"),
    pytest.param(["--conf", "{bad", "echo", "1"], "--conf", id="conf-not-json"),
    pytest.param(["echo", "[" * 5000], "nested too deeply", id="json-nested-too-deeply"),
    pytest.param(["echo", str(2**64)], "MessagePack", id="integer-beyond-64-bits"),
    pytest.param(["echo", '"\\ud800"'], "MessagePack", id="lone-surrogate"),
    pytest.param(["nosuch", "1"], "no function 'nosuch'", id="unknown-function"),
]


@pytest.mark.parametrize("args, named", BAD_ARGUMENTS)
def test_peer_refuses_a_bad_argument_in_one_line(baked, args, named):
    project = baked(language="python")
    result = subprocess.run(
        [sys.executable, str(PEER), "--dir", str(project.path), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    # argparse's own errors come after its usage lines; the peer's are alone.
    last = result.stderr.strip().splitlines()[-1]
    assert "error:" in last and named in last, result.stderr
