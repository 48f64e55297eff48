"""timod_loop.py, the template's machinery, serving functions of its own: not main.py's.

These tests belong to the template (updated with cruft) and keep passing whatever you write in
main.py: the module under test is a small script of their own that registers test functions
with timod_loop.Module, started as ThingsDB starts a module (socket pairs as stdin and stdout).
They prove the argument checks, with ThingsDB's error codes and wording, and what a function's
reply can be: large, many at once, an error.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import msgpack
import pytest

import timod_loop
from thingsdb_peer import CONF, CONF_ERR, CONF_OK, ERR, ERROR_CODES, REQ, RES, ModuleProcess, pack

PROJECT_DIR = Path(__file__).resolve().parents[1]
FUNCTION_KEY = timod_loop.FUNCTION_KEY
TYPE_ERR, NUM_ARGUMENTS_ERR, OVERFLOW_ERR, LOOKUP_ERR, OPERATION_ERR, VALUE_ERR = (
    ERROR_CODES[name]
    for name in (
        "type_err",
        "num_arguments_err",
        "overflow_err",
        "lookup_err",
        "operation_err",
        "value_err",
    )
)
MiB = 1024 * 1024

# The module under test: functions of every argument type, defaults, `*`, errors, large replies.
TEST_MODULE = """
from __future__ import annotations

import asyncio
import contextvars
from typing import Any, Optional

import timod
from timod_loop import Module

module = Module("loop_test")
prefix = ""
set_by_a_call = contextvars.ContextVar("set_by_a_call", default=None)


@module.on_config
async def on_config(value: Any) -> None:
    global prefix
    if not isinstance(value, str):
        raise timod.TypeError("the configuration is a str")
    prefix = value


@module.function
async def echo(value: Any) -> Any:
    return prefix + value if isinstance(value, str) else value


@module.function
async def typed(
    s: str, by: bytes, i: int, f: float, b: bool, l: list[Any], t: dict[str, Any], x: Any
) -> dict[str, Any]:
    return {"s": s, "by": by, "i": i, "f": f, "b": b, "l": l, "t": t, "x": x}


@module.function
async def defaults(
    n: int = 7, f: float = 2, s: str | None = None, o: Optional[int] = None, l: list[Any] = [1]
) -> dict[str, Any]:
    l.append("changed")  # must not reach the next call's default
    return {"n": n, "f": f, "s": s, "o": o, "l": l}


@module.function
async def with_options(a: int, *, options: dict[str, Any]) -> dict[str, Any]:
    return {"a": a, "options": options}


@module.function("class")  # a ThingsDB name Python keeps for itself
async def class_() -> str:
    return "class"


@module.function
async def fails(code: int) -> None:
    raise timod.CustomError(code, "failed on purpose") if code else timod.ValueError("no")


@module.function
async def crashes() -> None:
    raise RuntimeError("a bug in the function")


@module.function
async def three(a: int, b: str, c: Any = None) -> list[Any]:
    return [a, b, c]


@module.function
async def fails_after_waiting(code: int) -> None:
    await asyncio.sleep(0.01)
    raise timod.CustomError(code, "failed after waiting") if code else RuntimeError("a bug")


@module.function
async def big(size: int) -> str:
    return "x" * size


@module.function
async def slow(seconds: float, value: Any) -> Any:
    await asyncio.sleep(seconds)
    return value


@module.function
async def cancelled(wait: bool) -> None:
    if wait:
        await asyncio.sleep(0)
    raise asyncio.CancelledError


@module.function
async def in_task(seconds: float) -> dict[str, Any]:
    # Waits (seconds >= 0) under wait_for, which asks for the current task from Python 3.12 on.
    task = asyncio.current_task()
    before = set_by_a_call.get()
    set_by_a_call.set(seconds)
    if seconds >= 0:
        await asyncio.wait_for(asyncio.sleep(seconds), 5)
    return {
        "task": task is not None,
        "same_task": asyncio.current_task() is task,
        "before": before,
        "after": set_by_a_call.get(),
    }


module.run()
"""


@pytest.fixture(scope="session")
def test_module(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("loop") / "loop_test_module.py"
    path.write_text(TEST_MODULE, encoding="utf-8")
    return path


def start(script: Path) -> ModuleProcess:
    """``script`` as ThingsDB would start it, importing this project's timod_loop.py."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    return ModuleProcess([sys.executable, str(script)], cwd=PROJECT_DIR, env=env)


@pytest.fixture
def module(test_module):
    with start(test_module) as process:
        yield process


def call(module: ModuleProcess, function: str, **arguments: Any):
    return module.request({FUNCTION_KEY: function, **arguments})


def answer(module: ModuleProcess, function: str, **arguments: Any) -> Any:
    reply = call(module, function, **arguments)
    assert reply.type == RES, (reply.value, module.stderr_text())
    return reply.value


def error(module: ModuleProcess, function: str, **arguments: Any) -> tuple[int, str]:
    reply = call(module, function, **arguments)
    assert reply.type == ERR, reply.value
    return reply.value[0], reply.value[1]


# --- the argument checks, before the function runs ---

VALID = {
    "s": "text",
    "by": b"\x00\xff",
    "i": -(2**63),
    "f": 0.25,
    "b": False,
    "l": [1, "two"],
    "t": {"k": [1]},
    "x": None,
}


def test_valid_arguments_reach_the_function_unchanged(module):
    assert answer(module, "typed", **VALID) == VALID


@pytest.mark.parametrize("value", [0, 1, 255, 65536, 2**32, 2**63 - 1, -1, -(2**63)])
def test_int_takes_every_messagepack_integer_that_fits_64_bits(module, value):
    assert answer(module, "typed", **{**VALID, "i": value})["i"] == value


@pytest.mark.parametrize("value", [2**63, 2**64 - 1])
def test_int_beyond_64_bits_is_an_overflow_error(module, value):
    assert error(module, "typed", **{**VALID, "i": value}) == (
        OVERFLOW_ERR,
        "function `typed` expects argument `i` to fit in a 64-bit `int`",
    )


def test_float_takes_an_integer_as_a_float(module):
    reply = answer(module, "typed", **{**VALID, "f": 3})
    assert reply["f"] == 3.0 and isinstance(reply["f"], float)


# argument, a value of another type, the type ThingsDB names it
WRONG = [
    ("s", b"text", "bytes"),
    ("by", "text", "str"),
    ("i", True, "bool"),
    ("i", 1.0, "float"),
    ("f", "1.5", "str"),
    ("b", 1, "int"),
    ("l", {"k": 1}, "thing"),
    ("t", [1], "list"),
    ("s", msgpack.ExtType(5, b"x"), "mpdata"),
    ("s", None, "nil"),
]


@pytest.mark.parametrize("argument, value, received", WRONG, ids=[w[2] for w in WRONG])
def test_wrong_type_is_a_type_error_in_thingsdb_words(module, argument, value, received):
    expected = {"s": "str", "by": "bytes", "i": "int", "f": "float", "b": "bool"}
    expected.update(l="list", t="thing")
    code, message = error(module, "typed", **{**VALID, argument: value})
    if received == "nil":  # nil for a required argument: as if it were left out
        assert (code, message) == (
            NUM_ARGUMENTS_ERR,
            "function `typed` requires argument `s` of type `str` but got type `nil` instead",
        )
    else:
        assert (code, message) == (
            TYPE_ERR,
            f"function `typed` expects argument `{argument}` to be of type "
            f"`{expected[argument]}` but got type `{received}` instead",
        )


def test_first_problem_in_argument_order_wins(module):
    code, message = error(module, "typed", **{**VALID, "i": "1", "b": "no"})
    assert (code, "argument `i`" in message) == (TYPE_ERR, True)


def test_each_number_of_arguments_is_checked_in_order(module):
    # Functions of up to three arguments are called another way than those of more.
    assert answer(module, "three", a=1, b="two") == [1, "two", None]
    assert answer(module, "three", a=1, b="two", c=[3]) == [1, "two", [3]]
    assert error(module, "three", a="1", b=2)[1].startswith("function `three` expects argument `a`")
    assert error(module, "three", a=1, b=2)[1].startswith("function `three` expects argument `b`")
    assert error(module, "three", b="two")[0] == NUM_ARGUMENTS_ERR


def test_left_out_required_argument_is_a_num_arguments_error(module):
    arguments = dict(VALID)
    del arguments["t"]
    assert error(module, "typed", **arguments) == (
        NUM_ARGUMENTS_ERR,
        "function `typed` requires argument `t` of type `thing` but got type `nil` instead",
    )


def test_any_takes_every_value(module):
    for value in (None, 1, "x", [1], {"k": b"v"}):
        assert answer(module, "typed", **{**VALID, "x": value})["x"] == value


def test_left_out_optional_arguments_get_their_defaults_each_call_afresh(module):
    expected = {"n": 7, "f": 2.0, "s": None, "o": None, "l": [1, "changed"]}
    assert answer(module, "defaults") == expected
    assert answer(module, "defaults") == expected  # the list default was copied, not changed


def test_nil_is_the_value_of_an_optional_argument_whose_default_is_nil(module):
    assert answer(module, "defaults", s=None, o=None)["s"] is None


def test_nil_for_an_argument_with_another_default_is_a_type_error(module):
    assert error(module, "defaults", n=None) == (
        TYPE_ERR,
        "function `defaults` expects argument `n` to be of type `int` but got type `nil` instead",
    )


def test_extra_properties_are_the_options_of_a_star_function(module):
    reply = answer(module, "with_options", a=1, url="x", retries=3)
    assert reply == {"a": 1, "options": {"url": "x", "retries": 3}}
    assert answer(module, "with_options", a=1) == {"a": 1, "options": {}}


def test_extra_properties_are_ignored_by_a_function_without_star(module):
    assert answer(module, "echo", value="v", other=1) == "v"


def test_a_function_can_have_a_name_python_keeps_for_itself(module):
    assert answer(module, "class") == "class"


def test_unknown_function_is_a_lookup_error(module):
    code, message = error(module, "no_such_function")
    assert code == LOOKUP_ERR and "no_such_function" in message


# --- what the function does ---


def test_thingsdb_error_raised_by_a_function_is_its_answer(module):
    assert error(module, "fails", code=0) == (VALUE_ERR, "no")
    assert error(module, "fails", code=-100) == (-100, "failed on purpose")


def test_other_exception_is_an_operation_error_and_the_module_keeps_serving(module):
    code, message = error(module, "crashes")
    assert (code, message) == (OPERATION_ERR, "RuntimeError: a bug in the function")
    assert "a bug in the function" in module.stderr_text()  # with its traceback
    assert answer(module, "echo", value="still here") == "still here"


def test_error_raised_after_waiting_is_the_answer_and_the_module_keeps_serving(module):
    assert error(module, "fails_after_waiting", code=-100) == (-100, "failed after waiting")
    assert error(module, "fails_after_waiting", code=0) == (OPERATION_ERR, "RuntimeError: a bug")
    assert answer(module, "echo", value="still here") == "still here"


@pytest.mark.parametrize("size", [1 * MiB, 16 * MiB], ids=["1-mib", "16-mib"])
def test_large_reply_is_written_whole(module, size):
    reply = call(module, "big", size=size)
    assert (reply.type, len(reply.value)) == (RES, size)
    assert answer(module, "echo", value="after") == "after"


@pytest.mark.parametrize("seconds", [-1, 0, 0.01], ids=["no-wait", "yield", "wait"])
def test_function_runs_in_a_task_with_a_context_of_its_own(module, seconds):
    # A function that never waits is run to its end at once, one that waits is carried on by a
    # task: either way it finds itself in a task, the same one after waiting, and what it sets
    # in a context variable stays its own.
    expected = {"task": True, "same_task": True, "before": None, "after": seconds}
    for _ in range(3):
        assert answer(module, "in_task", seconds=seconds) == expected


@pytest.mark.parametrize("wait", [False, True], ids=["at-once", "after-waiting"])
def test_function_that_raises_cancelled_ends_unanswered_and_the_module_serves_on(module, wait):
    # As a cancelled task ends: no reply; the next request gets its own.
    module.send(1, REQ, {FUNCTION_KEY: "cancelled", "wait": wait})
    assert call(module, "echo", value="after").value == "after"
    assert module.alive()


def test_functions_that_wait_and_that_do_not_in_one_write(module):
    calls = [-1, 0.01, -1, 0, -1] * 20
    requests = (
        pack(pid, REQ, {FUNCTION_KEY: "in_task", "seconds": seconds})
        for pid, seconds in enumerate(calls)
    )
    module.send_raw(b"".join(requests))
    replies = module.read_packages(len(calls), timeout=60)
    assert sorted((r.pid, r.value["after"], r.value["same_task"]) for r in replies) == [
        (pid, seconds, True) for pid, seconds in enumerate(calls)
    ]


def test_large_and_small_replies_to_one_write_come_out_whole(module):
    # Gathered, joined, handed over as they are, or written in pieces: each reply is whole.
    sizes = [70_000, 10, 2 * MiB, 5, 300_000, 0, 1 * MiB]
    requests = (
        pack(pid, REQ, {FUNCTION_KEY: "big", "size": size}) for pid, size in enumerate(sizes)
    )
    module.send_raw(b"".join(requests))
    replies = module.read_packages(len(sizes), timeout=60)
    assert sorted((r.pid, r.type, len(r.value)) for r in replies) == [
        (pid, RES, size) for pid, size in enumerate(sizes)
    ]


def test_1000_requests_in_one_write_each_get_their_own_answer(module):
    requests = (pack(pid, REQ, {FUNCTION_KEY: "echo", "value": pid}) for pid in range(1000))
    module.send_raw(b"".join(requests))
    replies = module.read_packages(1000, timeout=60)
    assert sorted((r.pid, r.value) for r in replies) == [(pid, pid) for pid in range(1000)]


def test_a_slow_function_holds_up_no_other_request(module):
    module.send(1, REQ, {FUNCTION_KEY: "slow", "seconds": 2, "value": "slow"})
    module.send(2, REQ, {FUNCTION_KEY: "echo", "value": "fast"})
    first = module.read_package(timeout=1.5)
    assert (first.pid, first.value) == (2, "fast")
    assert (module.read_package(timeout=5).pid, RES) == (1, RES)


def test_configuration_goes_to_on_config_and_a_refusal_is_a_conf_error(module):
    module.send(0, CONF, "> ")
    assert module.read_package().type == CONF_OK
    assert answer(module, "echo", value="x") == "> x"
    module.send(0, CONF, 1)
    reply = module.read_package()
    assert (reply.type, reply.value[0]) == (CONF_ERR, TYPE_ERR)


def test_module_without_on_config_refuses_a_configuration(tmp_path):
    script = tmp_path / "no_config.py"
    script.write_text(
        "from typing import Any\n\nfrom timod_loop import Module\n\nmodule = Module('plain')\n\n\n"
        "@module.function\nasync def echo(value: Any) -> Any:\n    return value\n\n\nmodule.run()\n"
    )
    with start(script) as process:
        reply = process.configure({"prefix": "> "})
        assert (reply.type, reply.value) == (
            CONF_ERR,
            [VALUE_ERR, "module plain takes no configuration"],
        )
        assert answer(process, "echo", value=1) == 1


# --- signatures the loop cannot check stop the module at start-up ---

UNCHECKABLE = textwrap.dedent(
    """
    from __future__ import annotations

    from typing import Any

    from timod_loop import Module

    module = Module("bad")


    @module.function
    async def fine(a: int | None, b: list[Any] = [], *, options: dict[str, Any]) -> None:
        pass


    @module.function
    async def bad(a: set[int], b: list[int], c, d: int = "4", *rest: Any) -> None:
        pass


    @module.function
    def not_async(value: Any) -> None:
        pass


    module.run()
    """
)


def test_handler_the_loop_cannot_check_stops_the_module_with_one_line_each(tmp_path):
    script = tmp_path / "bad_module.py"
    script.write_text(UNCHECKABLE)
    with start(script) as process:
        assert process.wait(timeout=10) == 1
        log = process.stderr_text()
    problems = [line for line in log.splitlines() if "cannot start:" in line]
    assert len(problems) == 6, log
    for text in (
        "`a`: cannot check the annotation set[int]",
        "`b`: cannot check",
        "`c` has no annotation",
        "`d`: its default '4' is not of type int",
        "*args and **kwargs",
        "`not_async`",
    ):
        assert any(text in line for line in problems), (text, log)
    assert "fine" not in log
    assert "Traceback" not in log


@pytest.mark.parametrize(
    "annotation, checked",
    [
        ("str", ("str", False)),
        ("int | None", ("int", True)),
        ("Optional[float]", ("float", True)),
        ("Union[None, bytes]", ("bytes", True)),
        ("list[Any]", ("list", False)),
        ("List[Any]", ("list", False)),
        ("dict[str, Any]", ("thing", False)),
        ("Dict[str, Any]", ("thing", False)),
        ("Any", ("any", True)),
        ("bool", ("bool", False)),
    ],
)
def test_annotations_as_text_are_read_on_every_python(annotation, checked):
    # With `from __future__ import annotations` every annotation is text; Python 3.9 cannot
    # evaluate `X | None`, which the loop reads part by part.
    namespace: dict[str, Any] = {}
    exec("from typing import Any, Dict, List, Optional, Union", namespace)
    exec(f"async def handler(value: {annotation}) -> None: pass", namespace)
    function, problems = timod_loop.read_function("handler", namespace["handler"])
    assert problems == []
    (argument,) = function.arguments
    assert (argument.type, argument.nullable) == checked
