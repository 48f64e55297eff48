"""The module over the wire, started and spoken to exactly as ThingsDB does.

Every case here goes through the real process: module.json's main started with a socket pair
as stdin and another as stdout, packages framed as ThingsDB frames them (tools/thingsdb_peer.py).
"""

from __future__ import annotations

import signal
import time

import pytest

from thingsdb_peer import (
    CONF,
    CONF_ERR,
{%- if cookiecutter.needs_config %}
    CONF_OK,
{%- endif %}
    ERR,
    ERROR_CODES,
    HEADER,
    REQ,
    RES,
    build_request,
    pack,
)

TYPE_ERR, VALUE_ERR, NUM_ARGUMENTS_ERR, LOOKUP_ERR, BAD_DATA_ERR = (
    ERROR_CODES[name]
    for name in ("type_err", "value_err", "num_arguments_err", "lookup_err", "bad_data_err")
)
# The key that names the called function in a request (each function's default in module.json).
FUNCTION_KEY = {{ function_key | py_string }}
MiB = 1024 * 1024


def first_function(manifest) -> str:
    return next(iter(manifest["exposes"]))


def assert_still_serving(module, manifest) -> None:
    """A normal request after the case still gets its normal answer."""
    reply = module.request(build_request(manifest, first_function(manifest), ["still here"]))
    assert (reply.type, reply.value) == (RES, "still here"), module.stderr_text()


def assert_error(reply, code: int, pid: int | None = None) -> None:
    assert reply.type == ERR, (reply, reply.value)
    assert reply.error_code == code, reply.value
    assert isinstance(reply.value[1], str) and reply.value[1]
    if pid is not None:
        assert reply.pid == pid


# --- requests as ThingsDB builds them ---


def test_each_exposed_function_answers_as_thingsdb_calls_it(module, manifest):
    for name in manifest["exposes"]:
        value = {"name": name, "list": [1, 2.5, None, True], "text": "héllo"}
        reply = module.request(build_request(manifest, name, [value]))
        assert (reply.type, reply.value) == (RES, value)


def test_answers_without_any_configuration(module, manifest):
    reply = module.request(build_request(manifest, first_function(manifest), ["text"]))
    assert (reply.type, reply.value) == (RES, "text")


def test_replies_carry_the_pid_of_their_request_across_the_wrap(module, manifest):
    request = build_request(manifest, first_function(manifest), [1])
    for pid in (65534, 65535, 0, 1):
        module.send(pid, REQ, request)
        assert module.read_package().pid == pid


def test_unknown_function_is_a_lookup_error(module):
    assert_error(module.request({FUNCTION_KEY: "no_such_function", "value": 1}), LOOKUP_ERR)


def test_request_without_function_is_a_lookup_error(module):
    assert_error(module.request({"value": 1}), LOOKUP_ERR)


def test_argument_left_out_of_a_call_arrives_as_nil(module, manifest):
    request = build_request(manifest, first_function(manifest))  # demo.echo()
    assert (request["value"], module.call(request)) == (None, None)


def test_raw_call_without_an_argument_is_a_num_arguments_error(module, manifest):
    # demo({function: 'echo'}): a raw call sends the thing as it is, without `value`.
    request = {FUNCTION_KEY: first_function(manifest)}
    assert_error(module.request(request), NUM_ARGUMENTS_ERR)


def test_error_message_fits_what_thingsdb_takes(module):
    # A raw call can name any function; the lookup error quotes it. ThingsDB turns a message
    # over 16383 UTF-8 bytes into bad_data, losing the module's error.
    reply = module.request({FUNCTION_KEY: "é" * 20000, "value": 1})
    assert_error(reply, LOOKUP_ERR)
    assert 16000 < len(reply.value[1].encode()) <= 16383


def test_request_that_is_not_a_thing_is_a_type_error(module, manifest):
    assert_error(module.request([1, 2, 3]), TYPE_ERR)
    assert_still_serving(module, manifest)


# --- configuration ---
{%- if cookiecutter.needs_config %}


def test_configuration_is_accepted_and_applied(module, manifest):
    reply = module.configure({"prefix": "> "})
    assert (reply.pid, reply.type, reply.raw) == (0, CONF_OK, b"")
    reply = module.request(build_request(manifest, first_function(manifest), ["x"]))
    assert reply.value == "> x"


def test_configuration_can_be_sent_again(module, manifest):
    assert module.configure({"prefix": "a"}).type == CONF_OK
    assert module.configure({"prefix": "b"}).type == CONF_OK
    assert module.request(build_request(manifest, first_function(manifest), ["x"])).value == "bx"


@pytest.mark.parametrize(
    "conf, code",
    [("text", TYPE_ERR), ({"prefix": 1}, TYPE_ERR), ({"colour": "red"}, VALUE_ERR)],
    ids=["not-a-thing", "wrong-type", "unknown-option"],
)
def test_bad_configuration_is_refused_and_the_module_keeps_serving(module, manifest, conf, code):
    reply = module.configure(conf)
    assert reply.type == CONF_ERR
    assert reply.error_code == code
    # ThingsDB keeps no CONF_ERR message: the module's log (stderr) must say why.
    assert f"configuration rejected: {reply.value[1]}" in module.stderr_text()
    assert_still_serving(module, manifest)
{%- else %}


def test_configuration_is_refused_and_the_module_keeps_serving(module, manifest):
    reply = module.configure({"prefix": "> "})
    assert (reply.pid, reply.type, reply.error_code) == (0, CONF_ERR, VALUE_ERR)
    assert f"configuration rejected: {reply.value[1]}" in module.stderr_text()
    assert_still_serving(module, manifest)
{%- endif %}


def test_configuration_that_is_not_messagepack_gets_bad_data(module, manifest):
    module.send_raw(pack(0, CONF, body=b"\xc1"))
    reply = module.read_package()
    assert (reply.pid, reply.type, reply.error_code) == (0, CONF_ERR, BAD_DATA_ERR)
    assert_still_serving(module, manifest)


# --- what ThingsDB's pipe can deliver ---


def test_header_split_across_reads(module, manifest):
    package = pack(7, REQ, build_request(manifest, first_function(manifest), ["split"]))
    module.send_raw(package[:3])
    time.sleep(0.1)
    module.send_raw(package[3:])
    reply = module.read_package()
    assert (reply.pid, reply.value) == (7, "split")


def test_body_split_across_reads(module, manifest):
    package = pack(8, REQ, build_request(manifest, first_function(manifest), ["split" * 100]))
    module.send_raw(package[: HEADER.size + 10])
    time.sleep(0.1)
    module.send_raw(package[HEADER.size + 10 :])
    reply = module.read_package()
    assert (reply.pid, reply.value) == (8, "split" * 100)


@pytest.mark.parametrize("size", [1 * MiB, 16 * MiB], ids=["1-mib", "16-mib"])
def test_large_request_is_answered_whole(module, manifest, size):
    value = "x" * size
    reply = module.request(build_request(manifest, first_function(manifest), [value]), timeout=60)
    assert reply.type == RES
    assert reply.value == value


def test_1000_requests_in_one_write(module, manifest):
    name = first_function(manifest)
    packages = [pack(pid, REQ, build_request(manifest, name, [pid])) for pid in range(1000)]
    module.send_raw(b"".join(packages))
    replies = module.read_packages(1000, timeout=60)
    assert sorted((r.pid, r.value) for r in replies) == [(pid, pid) for pid in range(1000)]


def test_unknown_package_type_gets_bad_data_and_the_module_keeps_serving(module, manifest):
    module.send(11, 99, {FUNCTION_KEY: first_function(manifest), "value": 1})
    assert_error(module.read_package(), BAD_DATA_ERR, pid=11)
    assert_still_serving(module, manifest)


def test_body_that_is_not_messagepack_gets_bad_data(module, manifest):
    module.send_raw(pack(12, REQ, body=b"\xc1\xc1\xc1"))
    assert_error(module.read_package(), BAD_DATA_ERR, pid=12)
    assert_still_serving(module, manifest)


def test_empty_body_gets_bad_data(module, manifest):
    module.send_raw(pack(16, REQ, body=b""))
    assert_error(module.read_package(), BAD_DATA_ERR, pid=16)
    assert_still_serving(module, manifest)


@pytest.mark.parametrize(
    "levels, code",
    [(1024, TYPE_ERR), (1025, BAD_DATA_ERR), (16 * MiB, BAD_DATA_ERR)],
    ids=["1024-levels-decoded", "1025-levels", "16-million-levels"],
)
def test_nesting_deeper_than_1024_levels_gets_bad_data(module, manifest, levels, code):
    # Decoders recurse per level; 16 million levels once overflowed the Go module's stack.
    module.send_raw(pack(17, REQ, body=b"\x91" * levels + b"\xc0"))
    assert_error(module.read_package(timeout=30), code, pid=17)  # 1024: not a thing
    assert_still_serving(module, manifest)


def test_wrong_check_byte_gets_bad_data(module, manifest):
    body = pack(0, REQ, build_request(manifest, first_function(manifest), [1]))[HEADER.size :]
    module.send_raw(HEADER.pack(len(body), 13, REQ, 0) + body)
    assert_error(module.read_package(), BAD_DATA_ERR, pid=13)
    assert_still_serving(module, manifest)


def test_header_announcing_4_gib_gets_bad_data_without_a_crash(module):
    module.send_raw(HEADER.pack(0xFFFFFFFF, 14, REQ, REQ ^ 0xFF))
    assert_error(module.read_package(), BAD_DATA_ERR, pid=14)
    assert module.alive()
    assert module.terminate() == 0


# --- stopping ---


def test_sigterm_exits_cleanly(module, manifest):
    assert_still_serving(module, manifest)
    module.process.send_signal(signal.SIGTERM)
    assert module.wait() == 0


def test_end_of_input_exits_cleanly_after_answering_what_came_before(module, manifest):
    request = build_request(manifest, first_function(manifest), ["last"])
    module.send(1, REQ, request)
    module.close_stdin()
    reply = module.read_package()
    assert (reply.pid, reply.type, reply.value) == (1, RES, "last")
    with pytest.raises(EOFError):  # and nothing else on stdout: it belongs to the protocol
        module.read_package()
    assert module.wait() == 0
    assert {{ cookiecutter.module_name | py_string }} in module.stderr_text()  # logs go to stderr


def test_truncated_header_then_end_of_input_exits_cleanly(module):
    module.send_raw(HEADER.pack(10, 15, REQ, REQ ^ 0xFF)[:5])
    module.close_stdin()
    assert module.wait() == 0
