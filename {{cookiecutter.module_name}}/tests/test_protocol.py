"""The module's machinery over the wire, started and spoken to exactly as ThingsDB does.

Every case here goes through the real process: module.json's main started with a socket pair
as stdin and another as stdout, packages framed as ThingsDB frames them (tools/thingsdb_peer.py).
These tests belong to the template: they check framing, limits, error codes and shutdown, and
never what your functions answer, so they keep passing as you write your functions. Every reply
they wait for is made by the machinery itself: a request for a function the module does not
have gets lookup_err, whatever the handlers do. Your functions are tested in test_functions.py.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import msgpack
import pytest

from thingsdb_peer import (
    CONF,
    CONF_ERR,
    CONF_OK,
    ERR,
    ERROR_CODES,
    HEADER,
    REQ,
    RES,
    ModuleProcess,
    pack,
)

TYPE_ERR, LOOKUP_ERR, BAD_DATA_ERR = (
    ERROR_CODES[name] for name in ("type_err", "lookup_err", "bad_data_err")
)
# The key that names the called function in a request (each function's default in module.json).
FUNCTION_KEY = {{ function_key | py_string }}
MiB = 1024 * 1024
# The deepest nesting of arrays and maps a module decodes.
MAX_NESTING = {{ max_nesting }}


# The module's name, which starts every line of its log.
# fmt: off
MODULE_NAME = {{ cookiecutter.module_name | py_string }}{% if cookiecutter.module_name | length > 80 %}  # noqa: E501{% endif %}
# fmt: on
# A function no module has: its requests are answered by the dispatch itself (lookup_err).
NO_SUCH_FUNCTION = "no_such_function"


def probe(value=None) -> dict:
    """A request answered by the machinery alone, carrying ``value`` to fill the body."""
    return {FUNCTION_KEY: NO_SUCH_FUNCTION, "value": value}


def probe_body(value: bytes, more: bytes = b"", pairs: int = 0) -> bytes:
    """A probe's body with ``value`` as it is encoded, and ``pairs`` more encoded pairs."""
    head = bytes([0x82 + pairs]) + msgpack.packb(FUNCTION_KEY) + msgpack.packb(NO_SUCH_FUNCTION)
    return head + msgpack.packb("value") + value + more


def assert_error(reply, code: int, pid: int | None = None) -> None:
    assert reply.type == ERR, (reply, reply.value)
    assert reply.error_code == code, reply.value
    assert isinstance(reply.value[1], str) and reply.value[1]
    if pid is not None:
        assert reply.pid == pid


def assert_still_serving(module) -> None:
    """A request after the case still gets its answer."""
    assert_error(module.request(probe("still here")), LOOKUP_ERR)


# --- requests ---


def test_unknown_function_is_a_lookup_error_naming_it(module):
    reply = module.request(probe(1))
    assert_error(reply, LOOKUP_ERR)
    assert NO_SUCH_FUNCTION in reply.value[1]


def test_request_without_function_is_a_lookup_error(module):
    assert_error(module.request({"value": 1}), LOOKUP_ERR)


def test_replies_carry_the_pid_of_their_request_across_the_wrap(module):
    for pid in (65534, 65535, 0, 1):
        module.send(pid, REQ, probe(pid))
        reply = module.read_package()
        assert (reply.pid, reply.error_code) == (pid, LOOKUP_ERR)


def test_error_message_fits_what_thingsdb_takes(module):
    # A raw call can name any function; the lookup error quotes it. ThingsDB turns a message
    # over 16383 UTF-8 bytes into bad_data, losing the module's error.
    reply = module.request({FUNCTION_KEY: "é" * 20000, "value": 1})
    assert_error(reply, LOOKUP_ERR)
    assert 16000 < len(reply.value[1].encode()) <= 16383


def test_request_that_is_not_a_thing_is_a_type_error(module):
    assert_error(module.request([1, 2, 3]), TYPE_ERR)
    assert_still_serving(module)


# ThingsDB's things have str keys only: ThingsDB answers a value with a map keyed otherwise with
# type_err, wherever the map is (the module checks the whole body, as the Go flavour does).
KEY_NOT_STR_BODIES = {
    "int-key-in-a-value": probe_body(b"\x81\x01\x02"),  # {1: 2}
    "bin-key-in-a-value": probe_body(b"\x81\xc4\x01k\x01"),  # {b"k": 1}
    "in-a-list": probe_body(b"\x91\x81\xc0\x01"),  # [{nil: 1}]
    "in-a-property-no-function-takes": probe_body(b"\x01", b"\xa1x\x81\x01\x02", 1),
    "of-the-request-itself": probe_body(b"\x01", b"\x01\x02", 1),
}


@pytest.mark.parametrize("body", KEY_NOT_STR_BODIES.values(), ids=KEY_NOT_STR_BODIES.keys())
def test_thing_with_a_key_that_is_not_a_str_is_a_type_error(module, body):
    module.send_raw(pack(18, REQ, body=body))
    reply = module.read_package()
    assert_error(reply, TYPE_ERR, pid=18)
    assert reply.value[1] == "property names must be of type `str`"  # ThingsDB's words
    assert_still_serving(module)


# A timestamp (extension -1) the MessagePack spec does not define is not valid MessagePack;
# ThingsDB answers an extension it cannot read with bad_data.
TIMESTAMP_BODIES = {
    "2-bytes": (probe_body(b"\xd5\xff\x00\x01"), BAD_DATA_ERR),
    "2-bytes-in-an-ext-8": (probe_body(b"\xc7\x02\xff\x00\x01"), BAD_DATA_ERR),
    "8-bytes-of-too-many-nanoseconds": (
        probe_body(b"\xd7\xff\xff\xff\xff\xfc\x00\x00\x00\x00"),
        BAD_DATA_ERR,
    ),
    "12-bytes-of-too-many-nanoseconds": (
        probe_body(b"\xc7\x0c\xff\xff\xff\xff\xff" + bytes(8)),
        BAD_DATA_ERR,
    ),
    "after-a-key-that-is-not-a-str": (probe_body(b"\x81\x01\xd5\xff\x00\x01"), BAD_DATA_ERR),
    "4-bytes-decoded": (probe_body(b"\xd6\xff\x00\x00\x00\x01"), LOOKUP_ERR),
}


@pytest.mark.parametrize("body, code", TIMESTAMP_BODIES.values(), ids=TIMESTAMP_BODIES.keys())
def test_timestamp_the_spec_does_not_define_gets_bad_data(module, body, code):
    module.send_raw(pack(19, REQ, body=body))
    assert_error(module.read_package(), code, pid=19)
    assert_still_serving(module)


# A module of one function that answers its value, on the same machinery, started as ThingsDB
# starts main.py: what the replies of your functions go through, without depending on them.
ECHO_MODULE = """
from typing import Any

from timod_loop import Module

module = Module("echo")


@module.function
async def echo(value: Any) -> Any:
    return value


module.run()
"""


def test_reply_nested_deeper_than_msgpack_packs_is_sent_whole(command):
    # ThingsDB reads a reply of any nesting, and the Go flavour sends one; Python's msgpack
    # packs 511 levels at most. The deepest value a request carries: 1023 levels in its 1024.
    nested = b"\x91" * (MAX_NESTING - 1) + b"\xc0"
    body = b"\x82" + msgpack.packb(FUNCTION_KEY) + msgpack.packb("echo")
    body += msgpack.packb("value") + nested
    project_dir = Path(__file__).resolve().parents[1]
    with ModuleProcess([command[0], "-c", ECHO_MODULE], cwd=project_dir) as echo:
        echo.send_raw(pack(20, REQ, body=body))
        reply = echo.read_package(timeout=30)
        assert (reply.pid, reply.type) == (20, RES), (reply, echo.stderr_text())
        assert reply.raw == nested


# --- configuration (what the module makes of one is yours: test_functions.py) ---


@pytest.mark.parametrize(
    "conf", [{"prefix": "> "}, "text", None], ids=["a-thing", "a-string", "nil"]
)
def test_configuration_gets_one_answer_and_a_refusal_is_logged(module, conf):
    reply = module.configure(conf)
    assert reply.pid == 0 and reply.type in (CONF_OK, CONF_ERR), reply
    if reply.type == CONF_ERR:
        # ThingsDB keeps no CONF_ERR message: the module's log (stderr) must say why.
        assert f"configuration rejected: {reply.value[1]}" in module.stderr_text()
    assert_still_serving(module)


def test_configuration_that_is_not_messagepack_gets_bad_data(module):
    module.send_raw(pack(0, CONF, body=b"\xc1"))
    reply = module.read_package()
    assert (reply.pid, reply.type, reply.error_code) == (0, CONF_ERR, BAD_DATA_ERR)
    assert_still_serving(module)


def test_configuration_with_a_key_that_is_not_a_str_gets_a_type_error(module):
    module.send_raw(pack(0, CONF, body=b"\x81\x01\x02"))  # {1: 2}
    reply = module.read_package()
    assert (reply.pid, reply.type, reply.error_code) == (0, CONF_ERR, TYPE_ERR)
    assert_still_serving(module)


# --- what ThingsDB's pipe can deliver ---


def test_header_split_across_reads(module):
    package = pack(7, REQ, probe("split"))
    module.send_raw(package[:3])
    time.sleep(0.1)
    module.send_raw(package[3:])
    assert_error(module.read_package(), LOOKUP_ERR, pid=7)


def test_body_split_across_reads(module):
    package = pack(8, REQ, probe("split" * 100))
    module.send_raw(package[: HEADER.size + 10])
    time.sleep(0.1)
    module.send_raw(package[HEADER.size + 10 :])
    assert_error(module.read_package(), LOOKUP_ERR, pid=8)


@pytest.mark.parametrize("size", [1 * MiB, 16 * MiB], ids=["1-mib", "16-mib"])
def test_large_request_is_read_whole(module, size):
    module.send(9, REQ, probe("x" * size))
    assert_error(module.read_package(timeout=60), LOOKUP_ERR, pid=9)
    assert_still_serving(module)


def test_1000_requests_in_one_write(module):
    module.send_raw(b"".join(pack(pid, REQ, probe(pid)) for pid in range(1000)))
    replies = module.read_packages(1000, timeout=60)
    assert sorted(r.pid for r in replies) == list(range(1000))
    assert {r.error_code for r in replies} == {LOOKUP_ERR}


def test_unknown_package_type_gets_bad_data_and_the_module_keeps_serving(module):
    module.send(11, 99, probe(1))
    assert_error(module.read_package(), BAD_DATA_ERR, pid=11)
    assert_still_serving(module)


def test_body_that_is_not_messagepack_gets_bad_data(module):
    module.send_raw(pack(12, REQ, body=b"\xc1\xc1\xc1"))
    assert_error(module.read_package(), BAD_DATA_ERR, pid=12)
    assert_still_serving(module)


def test_empty_body_gets_bad_data(module):
    module.send_raw(pack(16, REQ, body=b""))
    assert_error(module.read_package(), BAD_DATA_ERR, pid=16)
    assert_still_serving(module)


# msgpack without its C extension (pure Python, where it has no wheel) has no nesting limit of
# its own: the loop lets it recurse deeper than Python's default (see timod_loop.py).
PAST_THE_LIMIT = TYPE_ERR if msgpack.Unpacker.__module__ == "msgpack.fallback" else BAD_DATA_ERR


@pytest.mark.parametrize(
    "levels, code",
    [(1024, TYPE_ERR), (1025, PAST_THE_LIMIT), (16 * MiB, BAD_DATA_ERR)],
    ids=["1024-levels-decoded", "1025-levels", "16-million-levels"],
)
def test_nesting_deeper_than_1024_levels_gets_bad_data(module, levels, code):
    # Decoders recurse per level; 16 million levels once overflowed the Go module's stack.
    module.send_raw(pack(17, REQ, body=b"\x91" * levels + b"\xc0"))
    assert_error(module.read_package(timeout=30), code, pid=17)  # 1024: not a thing
    assert_still_serving(module)


def test_wrong_check_byte_gets_bad_data(module):
    body = pack(0, REQ, probe(1))[HEADER.size :]
    module.send_raw(HEADER.pack(len(body), 13, REQ, 0) + body)
    assert_error(module.read_package(), BAD_DATA_ERR, pid=13)
    assert_still_serving(module)


@pytest.mark.parametrize("size", [2**30 + 1, 0xFFFFFFFF], ids=["1-gib-and-1", "4-gib"])
def test_header_announcing_more_than_thingsdb_ever_sends_ends_the_module(module, size):
    # ThingsDB's packages are at most 1 GiB: this is a corrupt stream, and a module that waits
    # for gigabytes that never come serves nobody. Exiting lets ThingsDB restart it.
    module.send_raw(HEADER.pack(size, 14, REQ, REQ ^ 0xFF))
    assert module.wait() == 1
    assert "corrupt input" in module.stderr_text()


# --- stopping ---


def test_sigterm_exits_cleanly(module):
    assert_still_serving(module)
    module.process.send_signal(signal.SIGTERM)
    assert module.wait() == 0


def test_end_of_input_exits_cleanly_after_answering_what_came_before(module):
    module.send(1, REQ, probe("last"))
    module.close_stdin()
    assert_error(module.read_package(), LOOKUP_ERR, pid=1)
    with pytest.raises(EOFError):  # and nothing else on stdout: it belongs to the protocol
        module.read_package()
    assert module.wait() == 0
    assert f"[{MODULE_NAME}]" in module.stderr_text()  # its log goes to stderr


def test_truncated_header_then_end_of_input_exits_cleanly(module):
    module.send_raw(HEADER.pack(10, 15, REQ, REQ ^ 0xFF)[:5])
    module.close_stdin()
    assert module.wait() == 0
