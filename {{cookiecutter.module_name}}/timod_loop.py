"""The template's machinery: the loop that serves main.py's functions to ThingsDB.

This file belongs to the template (updated with cruft); your code is in main.py. It dispatches
each request by its ``function`` key to the handler main.py registered with
``@module.function`` and checks the request's arguments against that handler's annotations
before it runs: a missing argument, a wrong type or an int beyond 64 bits is answered with
ThingsDB's own error and wording, and never reaches your code. Annotations it cannot check
stop the module at start-up, with one line each on stderr.

Why it frames the input itself: py-timod 0.0.6 (and 1.0.0) reads each package with
``StreamReader.read(8)`` and ``read(length)``, which return whatever happens to be buffered.
ThingsDB writes to a socket pair, so a header or a body can arrive in several pieces (large
requests always do); py-timod then misreads the stream and the module exits. It also exits on
an unknown package type or a body that is not MessagePack, and never checks the check byte.
ThingsDB restarts an exited module only three times. This loop keeps py-timod's error types,
cuts the input into packages of exactly the announced length, answers a malformed package with
a bad_data error instead of exiting, and stops cleanly (status 0) on SIGTERM or when stdin
ends, once the requests it has read are answered. It runs on uvloop (requirements.txt) when
stdin and stdout are pipes or sockets, as ThingsDB's are: most of a small request's cost is the
event loop's own bookkeeping, and uvloop's is in C. A handler that does not wait runs to its
end in the callback that read its request, without a task or another turn of the loop; one that
waits goes on in a task (Runner).

The arguments are decoded with msgpack and checked by hand rather than decoded into typed
structures with msgspec, which is faster but can neither collect the extra properties of a
``*`` function nor word its errors as ThingsDB does, so the checks would be written twice; and
every Python module of a ThingsDB node shares one interpreter, where each dependency is one
more version range to agree on (the template's README has the measurements).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import inspect
import json
import logging
import os
import signal
import stat
import struct
import sys
import types
import typing
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, Union

import msgpack
from timod import BadDataError, NumArgumentsError, OperationError
from timod import LookupError as TiLookupError
from timod import OverflowError as TiOverflowError
from timod import TypeError as TiTypeError
from timod import ValueError as TiValueError
from timod.ex import TiException

try:
    # There are no uvloop builds for Windows; asyncio's own loop serves the same there.
    import uvloop
except ImportError:
    uvloop = None

try:
    # How asyncio's tasks make themselves the current task while they run a step (Runner).
    from asyncio.tasks import _enter_task as enter_task
    from asyncio.tasks import _leave_task as leave_task
except ImportError:
    enter_task = leave_task = None

HEADER = struct.Struct("<IHBB")  # body length, pid, type, check (type ^ 0xFF)
HEADER_SIZE, pack_header = HEADER.size, HEADER.pack
copy_context = contextvars.copy_context

CONF, CONF_OK, CONF_ERR = 64, 65, 66
REQ, RES, ERR = 80, 81, 82

# The largest body kept in memory. A larger one is answered with bad_data and its bytes are
# dropped as they arrive, so the stream stays in step with the sender without holding them.
MAX_BODY = {{ max_body_mib }} * 1024 * 1024
# The argument checks' errors, worded as ThingsDB words its own (the Go flavour's are the same).
{{ "TYPE_ERROR" | py_assignment(argument_errors.type) }}
{{ "MISSING_ERROR" | py_assignment(argument_errors.missing) }}
{{ "OVERFLOW_ERROR" | py_assignment(argument_errors.overflow) }}
{{ "KEY_ERROR" | py_assignment(argument_errors.key) }}
# The largest package ThingsDB ever sends (TI_PKG_MAX_SIZE). A header announcing more is a
# corrupt stream: the module exits, so that ThingsDB restarts it, instead of waiting for bytes
# that never come.
MAX_PACKAGE = {{ thingsdb_max_package }}
# stdin is read in pieces of up to this size (asyncio's and uvloop's own size).
READ_SIZE = 256 * 1024
# Replies are written in pieces of this size, so the pipe's buffer never holds a whole copy.
WRITE_CHUNK = 1024 * 1024
# Replies waiting to be written together take at most this much; a reply beyond it waits for
# the pipe instead.
MAX_GATHERED = 1024 * 1024
# Gathered replies up to this size in all are joined into one piece (copying small ones costs
# less than handing the system call a piece each); larger ones are handed over as they are.
JOIN_LIMIT = 16 * 1024
# Replies up to this size are copied out of the reused packer; a larger one is handed out as a
# view of it (see ReplyPacker).
COPY_LIMIT = 4 * 1024
# The longest error message ThingsDB takes, in UTF-8 bytes; a longer one reaches the caller
# as bad_data instead of the module's error.
MAX_ERROR_MESSAGE = {{ max_error_message }}
# How long requests still running when stdin ends may take before the module exits anyway.
SHUTDOWN_GRACE = {{ shutdown_grace_seconds }}
# The deepest nesting of a request that is decoded; deeper ones get bad_data (msgpack's limit).
MAX_NESTING = {{ max_nesting }}
# msgpack without its C extension (no wheel for this Python, and its build fell back to pure
# Python) decodes by recursion, a frame per level, and has no limit of its own: Python's
# default of 1000 frames would refuse what ThingsDB sends. The loop raises it to this; values
# nested deeper still get bad_data.
PURE_PYTHON_RECURSION_LIMIT = 2 * MAX_NESTING + 200
# Replies wait for the pipe when more than this is written but not yet sent. Small on asyncio's
# own loop, whose pipe transport moves its whole unsent buffer forward after every partial
# write; uvloop keeps the unsent replies as they are, and waiting costs each reply a task.
MAX_UNSENT = 64 * 1024
MAX_UNSENT_UVLOOP = 1024 * 1024


class CorruptStream(Exception):
    """Input no sender in step with the stream could have written; the module must exit."""


class PackageReader(asyncio.BufferedProtocol):
    """Cuts stdin into packages and hands each complete one to ``on_package``.

    uvloop reads stdin straight into the reader's buffer (``get_buffer``), and a package that
    arrived whole is handed on as a view of it, so its bytes are not copied on their way in:
    ``on_package`` must be done with the body when it returns. A body that arrived in pieces is
    kept as copies of them and joined once, so a large request costs one copy of itself,
    however it was split. asyncio's own loop hands over what it read (``data_received``).
    ``on_chunk_end``, when given, is called once the packages of a chunk have all been handed on.
    """

    def __init__(
        self,
        on_package: Callable[[int, int, bytes], None],
        on_problem: Callable[[int, int, str], None],
        on_chunk_end: Callable[[], None] | None = None,
    ):
        self._on_package = on_package
        self._on_problem = on_problem
        self._on_chunk_end = on_chunk_end
        self._header = b""
        self._chunks: list[bytes] = []
        self._missing = 0  # body bytes still to come
        self._keep = False  # False: the body is being dropped
        self._pid = self._tp = 0
        self._buffer = memoryview(bytearray(READ_SIZE))
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer  # each read is cut up before the next one

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(self._buffer[:nbytes])

    def data_received(self, data: bytes | memoryview) -> None:
        if self.done.done():
            return  # the stream was found corrupt: nothing more is read
        # Offsets, not slices of what is left: a chunk can hold hundreds of small packages.
        pos, size = 0, len(data)
        while pos < size:
            if self._missing or self._header:
                pos = self._take_body(data, pos) if self._missing else self._take_header(data, pos)
                continue
            # The common case, a whole well-formed package, is cut out here without any state.
            body_start = pos + HEADER.size
            if body_start <= size:
                length, pid, tp, check = HEADER.unpack_from(data, pos)
                end = body_start + length
                if end <= size and check == tp ^ 0xFF and tp in (REQ, CONF):
                    self._on_package(pid, tp, data[body_start:end])
                    pos = end
                    continue
            pos = self._take_header(data, pos)
        if self._on_chunk_end is not None:
            self._on_chunk_end()

    def _take_header(self, data: bytes | memoryview, pos: int) -> int:
        end = pos + HEADER.size - len(self._header)
        self._header += data[pos:end]
        if len(self._header) < HEADER.size:
            return end
        length, self._pid, self._tp, check = HEADER.unpack(self._header)
        self._header = b""
        if length > MAX_PACKAGE:
            self.done.set_exception(
                CorruptStream(
                    f"package {self._pid} announces {length} bytes, more than ThingsDB ever "
                    f"sends ({MAX_PACKAGE})"
                )
            )
            return len(data)
        problem = None
        if check != self._tp ^ 0xFF:
            problem = f"package {self._pid} has a wrong check byte"
        elif self._tp not in (CONF, REQ):
            problem = f"package {self._pid} has an unknown type {self._tp}"
        elif length > MAX_BODY:
            problem = f"package {self._pid} announces {length} bytes, more than {MAX_BODY}"
        if problem:
            # A configuration is answered as one; with a wrong check byte the type is unknown.
            reply = CONF_ERR if self._tp == CONF and check == CONF ^ 0xFF else ERR
            self._on_problem(self._pid, reply, problem)
        self._keep = problem is None
        self._missing = length
        if not length and self._keep:
            self._on_package(self._pid, self._tp, b"")
        return end

    def _take_body(self, data: bytes | memoryview, pos: int) -> int:
        end = min(len(data), pos + self._missing)
        self._missing -= end - pos
        if self._keep:
            self._chunks.append(bytes(data[pos:end]))  # the read buffer is used again
            if not self._missing:
                body = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
                self._chunks = []
                self._on_package(self._pid, self._tp, body)
        return end

    def eof_received(self) -> bool:
        self.stop()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop()

    def stop(self) -> None:
        """Read nothing more: the input ended, or the module is told to stop."""
        if not self.done.done():
            self.done.set_result(None)


class ReplyWriter:
    """Writes reply packages to stdout, each package whole.

    Replies are gathered and written together: those of the requests in one chunk of input
    when the chunk is done (``hold`` and ``release``: most handlers finish right away), the
    others once per turn of the event loop. Under load that is one system call for many
    replies; alone, a reply still leaves in one, its header and body together. A reply that
    cannot wait with the others (larger than WRITE_CHUNK, or while the pipe's unsent buffer is
    over its limit, MAX_UNSENT) waits until the pipe has room and goes out in pieces of at most
    WRITE_CHUNK, so the pipe's buffer stays small (asyncio's pipe transport moves all of it
    forward after every partial write) and never holds a whole copy of a large reply; other
    replies wait meanwhile, as their bytes must not land inside it.
    """

    def __init__(
        self,
        writer: asyncio.StreamWriter,
        loop: asyncio.AbstractEventLoop,
        max_unsent: int = MAX_UNSENT,
    ):
        self._writer = writer
        self._transport = writer.transport
        self._max_unsent = max_unsent
        # The transport asks to wait above the same limit.
        self._transport.set_write_buffer_limits(high=max_unsent)
        # Kept: asyncio.get_running_loop() is a system call (getpid) up to Python 3.11.
        self._loop = loop
        self._pending: list[bytes | memoryview] = []
        self._pending_size = 0
        # True: replies wait for release(). Set by hold(), or straight by the loop's callback
        # for each request (an attribute is cheaper than a call).
        self.held = False
        self._flush_scheduled = False
        self._large = asyncio.Lock()  # held while a package is written in pieces
        self._writing_large = False  # the same, read without a call
        self._drain_lock = asyncio.Lock()  # Python < 3.10 allows one drain() at a time

    def hold(self) -> None:
        """Keep the replies queued from now on until release()."""
        self.held = True

    def release(self) -> None:
        """Write the replies queued since hold()."""
        self.held = False
        pieces = self._pending
        if pieces and not self._writing_large:  # else send() writes them
            # _write_pending() without more pieces, inlined: this is each call's path.
            size, self._pending, self._pending_size = self._pending_size, [], 0
            if len(pieces) == 1:
                self._transport.write(pieces[0])
            elif size <= JOIN_LIMIT:
                self._transport.write(b"".join(pieces))
            else:
                self._transport.writelines(pieces)

    def send_soon(self, pid: int, tp: int, body: bytes | memoryview = b"") -> bool:
        """Queue a reply without waiting; False when it must go through send()."""
        size = len(body)
        pending_size = self._pending_size + HEADER_SIZE + size
        if (
            pending_size > MAX_GATHERED
            or self._transport.get_write_buffer_size() > self._max_unsent
        ):
            return False
        self._pending += (pack_header(size, pid, tp, tp ^ 0xFF), body)
        self._pending_size = pending_size
        if not self.held and not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._scheduled_flush)
        return True

    async def send(self, pid: int, tp: int, body: bytes | memoryview = b"") -> None:
        if len(body) <= WRITE_CHUNK:
            await self._drain()
            if self.send_soon(pid, tp, body):
                return
        header = HEADER.pack(len(body), pid, tp, tp ^ 0xFF)
        view = memoryview(body)
        async with self._large:
            self._writing_large = True
            try:
                await self._drain()
                # The replies gathered so far, this header and the first piece: one system call.
                self._write_pending(header, view[:WRITE_CHUNK])
                await self._drain()
                for start in range(WRITE_CHUNK, len(view), WRITE_CHUNK):
                    self._transport.write(view[start : start + WRITE_CHUNK])
                    await self._drain()
            finally:
                self._writing_large = False
        self._flush()

    async def _drain(self) -> None:
        """Wait while the pipe's unsent buffer is over its limit."""
        if self._transport.get_write_buffer_size() > self._max_unsent:
            async with self._drain_lock:
                await self._writer.drain()

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        self._flush()

    def _flush(self) -> None:
        if not self.held and not self._writing_large:  # else release() or send() flushes
            self._write_pending()

    async def finish(self) -> None:
        """Write whatever is still gathered and wait until the pipe has taken all of it."""
        async with self._large:
            self._writing_large = True
            try:
                self._write_pending()
                await self._writer.drain()
            finally:
                self._writing_large = False

    def _write_pending(self, *more: bytes | memoryview) -> None:
        pieces, size = self._pending, self._pending_size
        if more:
            pieces += more
            size += sum(map(len, more))
        if not pieces:
            return
        self._pending, self._pending_size = [], 0
        if len(pieces) == 1:
            self._transport.write(pieces[0])
        elif size <= JOIN_LIMIT:
            self._transport.write(b"".join(pieces))
        else:
            self._transport.writelines(pieces)  # one gathered system call where the loop can

    async def send_error(self, pid: int, tp: int, exc: Exception) -> None:
        if isinstance(exc, TiException):
            code, message = exc.err_code, str(exc)
        else:
            # Not one of ThingsDB's errors: a bug in a handler. Keep serving, log the traceback.
            logging.error("unexpected error in handler", exc_info=exc)
            code, message = OperationError.err_code, f"{type(exc).__name__}: {exc}"
        await self.send(pid, tp, pack([code, error_message(message)]))


def error_message(message: str) -> str:
    """``message`` as ThingsDB takes an error message: UTF-8 of at most MAX_ERROR_MESSAGE bytes.

    A message can quote what the caller sent, so it can be long; lone surrogates, which UTF-8
    cannot encode, become "?".
    """
    data = message.encode("utf-8", "replace")
    if len(data) > MAX_ERROR_MESSAGE:
        data = data[: MAX_ERROR_MESSAGE - 3].decode("utf-8", "ignore").encode() + b"..."
    return data.decode("utf-8")


# Whether a view of a packer's buffer keeps the packer alive. Before msgpack 1.1 the C
# packer's view did not: once the packer was dropped, the view read freed memory.
VIEW_KEEPS_PACKER = msgpack.version >= (1, 1) or msgpack.Packer.__module__ == "msgpack.fallback"
# Whether a packer's first buffer can be sized (msgpack 1.1 and newer).
PACKER_SIZES = msgpack.version >= (1, 1)


class ReplyPacker:
    """Packs reply bodies with one reused MessagePack packer.

    Making a packer costs more than packing a small reply, so one is kept. A large reply is
    handed out as a view of the packer's own buffer, not copied (``msgpack.packb`` copies it
    into a new bytes object, and for a 16 MiB reply that copy was the largest part of the
    module's peak memory); the view keeps that packer, and a new one takes its place. Where
    the view cannot keep its packer (VIEW_KEEPS_PACKER), every reply is copied.
    """

    def __init__(self) -> None:
        self._packer = self._new_packer(COPY_LIMIT)
        # Values known to pack small go through this one, which hands back bytes in one call.
        self._small = msgpack.Packer(use_bin_type=True)

    @staticmethod
    def _new_packer(size: int) -> msgpack.Packer:
        if not PACKER_SIZES:
            return msgpack.Packer(use_bin_type=True, autoreset=False)
        return msgpack.Packer(use_bin_type=True, autoreset=False, buf_size=size)

    def __call__(self, value: Any) -> bytes | memoryview:
        kind = type(value)
        if kind in SCALARS or kind in (str, bytes) and len(value) <= SMALL_STRING:
            return self._small.pack(value)
        packer = self._packer
        try:
            packer.pack(value)
        except BaseException as exc:
            packer.reset()  # drop what was packed before the failure
            if isinstance(exc, ValueError):  # nested deeper than msgpack packs: 511 levels
                return self.pack_nested(value)
            raise
        view = packer.getbuffer()
        if len(view) > COPY_LIMIT and VIEW_KEEPS_PACKER:
            # The next one starts at this reply's size, as large replies tend to come alike:
            # msgpack's default of 256 KiB for each made the heap grow and shrink under load.
            self._packer = self._new_packer(min(len(view), WRITE_CHUNK))
            return view
        body = bytes(view)
        view.release()
        packer.reset()
        return body

    def pack_nested(self, value: Any) -> bytes:
        """``value`` packed without a limit to its nesting, as the Go flavour packs a reply and
        ThingsDB reads one: the lists and things level by level here, the rest by msgpack,
        which raises any other fault of the value again. A list or thing inside itself is a
        ValueError, as it is for msgpack."""
        small = self._small
        out = bytearray()
        inside: list[int] = []  # the ids of the containers the walk is in, innermost last
        seen: set[int] = set()  # the same, to look up
        stack: list[Any] = [iter((value,))]
        while stack:
            item = next(stack[-1], stack)  # the stack itself: that container is done
            if item is stack:
                stack.pop()
                if inside:
                    seen.discard(inside.pop())
                continue
            if not isinstance(item, (list, tuple, dict)):
                out += small.pack(item)
                continue
            if id(item) in seen:
                raise ValueError("a list or thing holds itself: it cannot be sent")
            if isinstance(item, dict):
                out += small.pack_map_header(len(item))
                stack.append(x for pair in item.items() for x in pair)
            else:
                out += small.pack_array_header(len(item))
                stack.append(iter(item))
            inside.append(id(item))
            seen.add(id(item))
        return bytes(out)


# Replies that certainly pack to no more than COPY_LIMIT (a str of n characters takes at most
# 4n bytes and a header of 5).
SCALARS = (type(None), bool, int, float)
SMALL_STRING = (COPY_LIMIT - 5) // 4
pack = ReplyPacker()


# --- the module's functions: registered by main.py, checked here before they run ---

# The key that names the called function: each exposed function's default in module.json.
FUNCTION_KEY = {{ function_key | py_string }}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# The name ThingsDB gives each type MessagePack decodes to; anything else is `mpdata`.
THINGSDB_TYPE_NAMES: dict[type, str] = {
    type(None): "nil",
{%- for t in thingsdb_types if t.python_type %}
    {{ t.python_type }}: {{ t.name | py_string }},
{%- endfor %}
}
# The ThingsDB type checked for each Python type an argument can be annotated with.
CHECKED_TYPES: dict[Any, str] = {
{%- for t in thingsdb_types %}
    {{ t.python_type or t.python_annotation }}: {{ t.name | py_string }},
{%- endfor %}
    object: "any",  # as Any: every value is an object
}
# The annotations a handler's parameters can have, for the error that names them.
ANNOTATIONS = {{ thingsdb_types | map(attribute="python_annotation") | join(", ") | py_string }}
# Union types written `X | None` (Python 3.10 and newer); typing.Union covers Optional[X].
UNION_TYPES = (Union, getattr(types, "UnionType", Union))


def thingsdb_type_name(value: Any) -> str:
    return THINGSDB_TYPE_NAMES.get(type(value), "mpdata")


class HandlerError(Exception):
    """Handlers whose signatures the loop cannot check; one line per problem."""


class Argument:
    """One argument of a function: its checks, from the handler's parameter."""

    __slots__ = ("name", "type", "python_type", "required", "default", "nullable", "copied")

    def __init__(
        self, name: str, type_: str, nullable: bool, default: Any = inspect.Parameter.empty
    ):
        self.name = name
        self.type = type_
        # The exact type MessagePack gives a valid value; `any` takes every value.
        self.python_type = next((k for k, v in CHECKED_TYPES.items() if v == type_), None)
        self.required = default is inspect.Parameter.empty
        if type_ == "float" and type(default) is int:
            default = float(default)  # as a float argument's value always is
        self.default = default
        self.nullable = nullable or type_ == "any" or (not self.required and default is None)
        # A list or thing default is copied for each call: the handler may change it.
        self.copied = isinstance(default, (list, dict))

    def take(self, function: str, request: dict[str, Any]) -> Any:
        """The argument's value in a request, or the ThingsDB error the request gets."""
        try:
            value = request[self.name]
        except KeyError:
            if self.required:
                raise NumArgumentsError(self.requires(function)) from None
            return copy.deepcopy(self.default) if self.copied else self.default
        kind = type(value)
        if kind is self.python_type:
            if kind is int and not INT64_MIN <= value <= INT64_MAX:
                raise TiOverflowError(OVERFLOW_ERROR.format(function=function, argument=self.name))
            return value
        if value is None:
            if self.nullable:
                return None
            if self.required:
                raise NumArgumentsError(self.requires(function))
        elif self.type == "any":
            return value
        elif self.type == "float" and kind is int:
            return float(value)
        raise TiTypeError(
            TYPE_ERROR.format(
                function=function,
                argument=self.name,
                expected=self.type,
                got=thingsdb_type_name(value),
            )
        )

    def requires(self, function: str) -> str:
        return MISSING_ERROR.format(function=function, argument=self.name, expected=self.type)


class Function:
    """An exposed function: the handler and the checks its arguments get first."""

    __slots__ = ("name", "handler", "arguments", "options", "declared", "call")

    def __init__(
        self,
        name: str,
        handler: Callable[..., Awaitable[Any]],
        arguments: list[Argument],
        options: str | None,
    ):
        self.name = name
        self.handler = handler
        self.arguments = arguments
        self.options = options  # the keyword-only parameter that takes the extra properties
        self.declared = {FUNCTION_KEY, *(a.name for a in arguments)}
        # The same as calling the Function, made for its number of arguments: the loop's way.
        self.call: Callable[[dict[str, Any]], Awaitable[Any]] = self._compiled()

    def _compiled(self) -> Callable[[dict[str, Any]], Awaitable[Any]]:
        """__call__ without its loop and its calls of methods, for up to three arguments and
        no ``*`` (each request's path); __call__ itself for the others."""
        handler, name = self.handler, self.name
        takes = [argument.take for argument in self.arguments]
        if self.options is not None or len(takes) > 3:
            return self.__call__
        if not takes:
            return lambda request: handler()
        if len(takes) == 1:
            (t0,) = takes
            return lambda request: handler(t0(name, request))
        if len(takes) == 2:
            t0, t1 = takes
            return lambda request: handler(t0(name, request), t1(name, request))
        t0, t1, t2 = takes
        return lambda request: handler(t0(name, request), t1(name, request), t2(name, request))

    def __call__(self, request: dict[str, Any]) -> Awaitable[Any]:
        """The handler's coroutine for a request (raises the error of a bad argument)."""
        # Not a coroutine itself: one coroutine less per request, and its caller awaits anyway.
        # A loop, not a list comprehension: before Python 3.12 that is a function call more.
        name, values = self.name, []
        for argument in self.arguments:
            values.append(argument.take(name, request))
        if self.options is None:
            return self.handler(*values)
        extra = {k: v for k, v in request.items() if k not in self.declared}
        return self.handler(*values, **{self.options: extra})


def split_union(annotation: str) -> list[str]:
    """``"X | None"`` as ``["X", "None"]``: the parts of a union outside brackets."""
    parts, depth, start = [], 0, 0
    for position, char in enumerate(annotation):
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "|" and not depth:
            parts.append(annotation[start:position].strip())
            start = position + 1
    return [*parts, annotation[start:].strip()]


def union_members(annotation: Any) -> list[Any]:
    """The types an annotation allows: ``int | None`` gives ``[int, None]``."""
    if annotation is None or annotation is type(None):
        return [None]
    if typing.get_origin(annotation) in UNION_TYPES:
        return [m for arg in typing.get_args(annotation) for m in union_members(arg)]
    return [annotation]


def evaluate(annotation: Any, namespace: dict[str, Any]) -> list[Any]:
    """The types a parameter's annotation allows, evaluated in the handler's module.

    With ``from __future__ import annotations`` an annotation is text. Python 3.9 cannot
    evaluate ``X | None`` (typing.get_type_hints fails there), so each side of a ``|`` is
    evaluated on its own.
    """
    if not isinstance(annotation, str):
        return union_members(annotation)
    return [
        member
        for part in split_union(annotation)
        for member in union_members(eval(part, namespace))  # the author's own annotation
    ]


def checked_type(annotation: Any) -> str | None:
    """The ThingsDB type checked for one annotation, or None when the loop cannot check it."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and args in ((Any,), (object,)):
        return "list"  # list[Any]: the items are not checked, so only Any is allowed
    if origin is dict and args in ((str, Any), (Any, Any), (str, object)):
        return "thing"
    try:
        return CHECKED_TYPES.get(annotation)
    except TypeError:  # an unhashable annotation
        return None


def read_function(name: str, handler: Callable[..., Any]) -> tuple[Function | None, list[str]]:
    """The Function for a handler, or the problems that keep the loop from checking it."""
    where = f"function `{name}` ({getattr(handler, '__qualname__', handler)})"
    if not inspect.iscoroutinefunction(handler):
        return None, [f"{where}: the handler must be an `async def` function"]
    problems: list[str] = []
    arguments: list[Argument] = []
    options = None
    namespace = getattr(handler, "__globals__", {})
    for parameter in inspect.signature(handler).parameters.values():
        label = f"{where}: parameter `{parameter.name}`"
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            problems.append(f"{label}: *args and **kwargs cannot be checked; use `*, options`")
            continue
        if parameter.annotation is parameter.empty:
            problems.append(f"{label} has no annotation (Any takes every value)")
            continue
        try:
            members = evaluate(parameter.annotation, namespace)
        except Exception as exc:
            problems.append(f"{label}: its annotation cannot be evaluated ({exc})")
            continue
        nullable = None in members
        kinds = [checked_type(member) for member in members if member is not None]
        text = parameter.annotation if isinstance(parameter.annotation, str) else members
        if len(kinds) != 1 or kinds[0] is None:
            problems.append(
                f"{label}: cannot check the annotation {text}; use one of {ANNOTATIONS}, "
                "each optionally `| None`"
            )
            continue
        if parameter.kind is parameter.KEYWORD_ONLY:
            if options is not None or kinds[0] not in ("thing", "any"):
                problems.append(
                    f"{label}: the one keyword-only parameter takes the thing of extra "
                    "properties (`*, options: dict[str, Any]`)"
                )
            options = parameter.name
            continue
        if parameter.name == FUNCTION_KEY:
            problems.append(f"{label}: `{FUNCTION_KEY}` is the key that names the function")
            continue
        argument = Argument(parameter.name, kinds[0], nullable, parameter.default)
        if not argument.required:
            try:
                argument.take(name, {argument.name: argument.default})
            except TiException:
                problems.append(
                    f"{label}: its default {parameter.default!r} is not of type {kinds[0]}"
                )
        arguments.append(argument)
    return (None if problems else Function(name, handler, arguments, options)), problems


class Example:
    """A call of a function and what it answers: a value, or ThingsDB's error and message.

    ``args`` are positional, as a ThingsDB call gives them (the thing of a ``*`` last).
    """

    __slots__ = ("args", "answer", "error", "message")

    def __init__(
        self, args: Any, answer: Any = None, error: str | None = None, message: str | None = None
    ) -> None:
        self.args, self.answer, self.error, self.message = list(args), answer, error, message

    def as_dict(self) -> dict[str, Any]:
        if self.error is None:
            return {"args": self.args, "answer": self.answer}
        return {"args": self.args, "error": self.error, "message": self.message}

    def __repr__(self) -> str:
        return f"Example({self.as_dict()!r})"


class Module:
    """The functions and configuration main.py registers, served by the loop below.

    ``@module.function`` exposes an ``async def`` under its own name, or under the name given
    (``@module.function("class")``); ``@module.on_config`` takes the configuration.
    Each request is dispatched by its ``function`` key, and its arguments are checked against
    the handler's annotations before the handler runs.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.handlers: dict[str, Callable[..., Awaitable[Any]]] = {}
        self._registered: list[str] = []  # names in order, to find one registered twice
        self._config_handler: Callable[[Any], Awaitable[None]] | None = None
        self._functions: dict[str, Function] | None = None
        self.examples: dict[str, list[Example]] = {}

    def function(self, handler_or_name: Any = None, *, examples: Any = ()) -> Any:
        """Decorator: expose an ``async def`` as a function of the module.

        ``examples`` are calls and what they answer (see :class:`Example`): the tests, the
        README and module.json (``python tools/manifest.py sync``) are made from them.
        """
        if handler_or_name is None or isinstance(handler_or_name, str):
            return lambda handler: self._register(
                handler_or_name or handler.__name__, handler, examples
            )
        return self._register(handler_or_name.__name__, handler_or_name, examples)

    def _register(self, name: str, handler: Any, examples: Any = ()) -> Any:
        self.handlers[name] = handler
        self.examples[name] = list(examples)
        self._registered.append(name)
        self._functions = None
        return handler

    def on_config(self, handler: Callable[[Any], Awaitable[None]]) -> Any:
        """Decorator: the ``async def`` that takes new_module()'s or set_module_conf()'s value."""
        self._config_handler = handler
        return handler

    def functions(self) -> dict[str, Function]:
        """Each function with its checks, read from the handlers; HandlerError if one cannot be."""
        if self._functions is None:
            problems = [
                f"function `{name}` is registered twice"
                for name in sorted({n for n in self._registered if self._registered.count(n) > 1})
            ]
            functions = {}
            for name, handler in self.handlers.items():
                function, found = read_function(name, handler)
                problems += found
                if function is not None:
                    functions[name] = function
            if problems:
                raise HandlerError("\n".join(problems))
            self._functions = functions
        return self._functions

    def describe(self) -> dict[str, Any]:
        """The module as module.json and the README show it: each function's name, argmap,
        defaults, doc (its signature in ThingsDB's types) and examples. Raises HandlerError
        like :meth:`functions`."""
        described = []
        for name, function in self.functions().items():
            # The defaults as written: a float argument's int default stays an int.
            parameters = inspect.signature(function.handler).parameters
            defaults = {a.name: parameters[a.name].default for a in function.arguments}
            defaults = {k: v for k, v in defaults.items() if v is not inspect.Parameter.empty}
            parts = [
                f"{a.name}: {a.type}"
                + ("" if a.required else " = " + json.dumps(defaults[a.name], ensure_ascii=False))
                for a in function.arguments
            ] + ["*"] * (function.options is not None)
            described.append(
                {
                    "name": name,
                    "argmap": [a.name for a in function.arguments]
                    + ["*"] * (function.options is not None),
                    "defaults": defaults,
                    "doc": f"{name}({', '.join(parts)})",
                    "examples": [example.as_dict() for example in self.examples.get(name, [])],
                }
            )
        return {"module": self.name, "functions": described}

    async def answer_config(self, value: Any) -> None:
        if self._config_handler is None:
            raise TiValueError(f"module {self.name} takes no configuration")
        await self._config_handler(value)

    def answer_request(self, request: Any) -> Awaitable[Any]:
        """The handler's coroutine for a request (raises the error the request gets instead)."""
        # Not a coroutine itself: one coroutine less per request, and its caller awaits anyway.
        if type(request) is not dict:
            raise TiTypeError(f"a request must be a thing, not {thingsdb_type_name(request)}")
        name = request.get(FUNCTION_KEY)
        functions = self._functions or self.functions()
        function = functions.get(name) if type(name) is str else None
        if function is None:
            raise TiLookupError(
                f"module {self.name} has no function {name!r}; exposed: {', '.join(functions)}"
            )
        return function(request)

    def run(self) -> None:
        """Serve ThingsDB until SIGTERM or the end of input; exit 1 on a handler it cannot check."""
        # logging writes to stderr, which ThingsDB copies into its own log.
        logging.basicConfig(level=logging.INFO, format=f"[{self.name}] %(levelname)s %(message)s")
        try:
            self.functions()
        except HandlerError as exc:
            for line in str(exc).splitlines():
                logging.critical("cannot start: %s", line)
            sys.exit(1)
        start_module(self)


unpackb = msgpack.unpackb


def bad_messagepack(exc: Exception) -> BadDataError:
    """The bad_data error for a body msgpack cannot decode."""
    # Some of msgpack's errors (too deep a nesting) have no message, only a type.
    reason = str(exc) or type(exc).__name__
    return BadDataError(f"package body is not valid MessagePack ({reason})")


def str_keys(thing: dict[Any, Any]) -> dict[Any, Any]:
    """msgpack's object_hook: refuses a bytes key, which strict_map_key lets through."""
    if bytes in map(type, thing):
        raise TiTypeError(KEY_ERROR)
    return thing


def undecodable(body: bytes | memoryview) -> TiException:
    """The error for a body that did not decode: bad_data when it is not valid MessagePack,
    else type_err, for a map key that is not a str somewhere in it.

    ThingsDB's things have str keys only, and ThingsDB answers a value keyed otherwise with
    type_err; so does the Go flavour, once it found no other fault in the whole body (bad_data).
    Decoded again without the key checks, as lists of pairs, so that no key is hashed.
    """
    try:
        unpackb(body, raw=False, strict_map_key=False, object_pairs_hook=list)
    except Exception as exc:
        return bad_messagepack(exc)
    return TiTypeError(KEY_ERROR)


async def answer(
    module: Module, out: ReplyWriter, pid: int, tp: int, data: Any, problem: Exception | None
) -> None:
    """Run the module's function or configuration for a decoded package, write the reply.

    The loop runs a request's handler through Runner.call instead, which does the same for it
    without this coroutine around it."""
    try:
        if problem is not None:
            raise problem
        if tp == CONF:
            await module.answer_config(data)
            reply_type, reply = CONF_OK, b""
        else:
            reply_type, reply = RES, pack(await module.answer_request(data))
        del data  # a large request is not kept while its reply is written
        if not out.send_soon(pid, reply_type, reply):
            await out.send(pid, reply_type, reply)
    except Exception as exc:
        await answer_error(out, pid, tp, exc)


async def answer_error(out: ReplyWriter, pid: int, tp: int, exc: Exception) -> None:
    """Answer package ``pid`` (of type ``tp``) with the error ``exc``."""
    if tp == CONF and isinstance(exc, TiException):
        # ThingsDB shows only that the configuration failed; the reason stays in this log.
        logging.warning("configuration rejected: %s", exc)
    try:
        await out.send_error(pid, CONF_ERR if tp == CONF else ERR, exc)
    except Exception:  # stdout is gone; nothing left to tell ThingsDB
        logging.exception("cannot write a reply")


class Runner:
    """Runs the coroutine of each package at once, in the callback that read the package, and
    hands one that has to wait to a task.

    Most handlers never wait. Such a one runs to its end, and its reply is queued, before the
    next package is even looked at: no task is made, scheduled and registered for it, and no
    turn of the event loop passes. Code in a handler must still find itself in a task
    (asyncio.timeout, TaskGroup and aiohttp's timeouts ask asyncio.current_task() for it), so
    every first step runs with a standby task as the current one, and a coroutine that waits is
    handed to that very task, which carries it on from there; the next package gets a new
    standby. Each coroutine runs in a context of its own, as it would in a task of its own.
    Where this Python has no way to set the current task, each coroutine gets a task.

    A request's handler is run by :meth:`call`, straight from the callback, without a coroutine
    of the loop's around it: its value is packed and queued right there, or its error answered.
    Coroutines are run through a driver (see :func:`drive`), which hands back a coroutine's
    value without the StopIteration exception a coroutine's end raises otherwise.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, out: ReplyWriter) -> None:
        self._loop = loop
        self._out = out
        self.tasks: set[asyncio.Task] = set()  # the tasks carrying coroutines that wait
        self._standby: tuple[asyncio.Task, asyncio.Future] | None = None
        self._driver: tuple[Generator[Any, Any, None], list[Any]] | None = None

    def run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a coroutine that answers for itself (a configuration, an error to send)."""
        self.call(coroutine, -1)

    def call(self, coroutine: Coroutine[Any, Any, Any], pid: int) -> None:
        """Run a handler's coroutine for request ``pid`` and answer with its value or its error
        (pid -1: the coroutine answers for itself, its value is dropped)."""
        if enter_task is None:
            self._in_task(coroutine, pid)
            return
        standby = self._standby
        if standby is None or standby[0].done():
            standby = self._standby = self._new_task()
        loop, task = self._loop, standby[0]
        # Taken: a driver whose coroutine fails or waits is not used again.
        driver, result = self._driver or new_driver()
        self._driver = None
        context = copy_context()
        try:
            enter_task(loop, task)
        except RuntimeError:  # run from inside a task, which stays the current one
            self._in_task(coroutine, pid)
            return
        try:
            try:
                waits_for = context.run(driver.send, coroutine)
            finally:
                leave_task(loop, task)
        except asyncio.CancelledError:
            return  # ended as a cancelled task ends, unanswered
        except Exception as exc:
            if pid < 0:
                raise
            self.run(answer_error(self._out, pid, REQ, exc))
            return
        if waits_for is DONE:
            self._driver = driver, result
            value, result[0] = result[0], None
            if pid < 0:
                return
            # The reply, queued here (pack and send_soon fail on nothing but rare cases).
            try:
                reply = pack(value)
            except Exception as exc:
                self.run(answer_error(self._out, pid, REQ, exc))
                return
            if not self._out.send_soon(pid, RES, reply):
                self.run(self._send(pid, reply))
            return
        self._standby = None
        task, handover = standby
        if handover.done():  # the coroutine cancelled its own task: another one carries it on
            task, handover = self._new_task()
        self.tasks.add(task)
        rest = resume(driver, result, context, waits_for)
        handover.set_result(rest if pid < 0 else self._answer(pid, rest))

    async def _send(self, pid: int, reply: bytes | memoryview) -> None:
        try:
            await self._out.send(pid, RES, reply)
        except Exception as exc:
            await answer_error(self._out, pid, REQ, exc)

    async def _answer(self, pid: int, rest: Awaitable[Any]) -> None:
        """The rest of a handler that waited, and its reply."""
        try:
            reply = pack(await rest)
        except Exception as exc:
            await answer_error(self._out, pid, REQ, exc)
            return
        if not self._out.send_soon(pid, RES, reply):
            await self._send(pid, reply)

    def _in_task(self, coroutine: Coroutine[Any, Any, Any], pid: int) -> None:
        awaitable = coroutine if pid < 0 else self._answer(pid, coroutine)
        self.tasks.add(self._loop.create_task(self._forget(awaitable)))

    def _new_task(self) -> tuple[asyncio.Task, asyncio.Future]:
        """A task that carries on the coroutine its future is given, once it is given one."""
        handover = self._loop.create_future()
        return self._loop.create_task(self._carry(handover)), handover

    async def _carry(self, handover: asyncio.Future) -> None:
        try:
            await (await handover)
        finally:
            # Forgotten here rather than in a done callback, which costs a turn of the loop.
            self.tasks.discard(asyncio.current_task(self._loop))

    async def _forget(self, awaitable: Awaitable[None]) -> None:
        try:
            await awaitable
        finally:
            self.tasks.discard(asyncio.current_task(self._loop))

    def cancel(self) -> None:
        """Cancel the tasks still running, and the standby."""
        for task in (*self.tasks, *(self._standby or ())[:1]):
            task.cancel()


# What a driver yields once its coroutine has returned (see drive).
DONE = object()


@types.coroutine
def drive(result: list[Any]) -> Generator[Any, Any, None]:
    """Runs each coroutine sent to it: yields what the coroutine yields (what it waits for),
    passes on what it is sent or thrown, and once the coroutine has returned puts its value in
    ``result[0]`` and yields DONE, ready for the next one.

    The value of a coroutine run with ``send`` comes back in a StopIteration, an exception
    object made, raised and caught for every call; ``yield from`` takes it without one. A
    coroutine that raises, or waits (then the driver is the task's), ends its driver's use.
    """
    coroutine = yield
    while True:
        result[0] = yield from coroutine
        coroutine = yield DONE


def new_driver() -> tuple[Generator[Any, Any, None], list[Any]]:
    result: list[Any] = [None]
    driver = drive(result)
    driver.send(None)
    return driver, result


@types.coroutine
def resume(
    driver: Generator[Any, Any, None],
    result: list[Any],
    context: contextvars.Context,
    waits_for: Any,
) -> Generator[Any, Any, Any]:
    """The rest of a driver's coroutine whose first step ended waiting for ``waits_for``, for
    a task to await: what the coroutine yields goes to the task, what the task sends or throws
    goes to the coroutine, in the coroutine's own context; its value is the coroutine's."""
    while True:
        try:
            value = yield waits_for
        except GeneratorExit:
            driver.close()
            raise
        except BaseException as exc:  # the task's cancellation, passed on
            step, argument = driver.throw, exc
        else:
            step, argument = driver.send, value
        waits_for = context.run(step, argument)
        if waits_for is DONE:
            driver.close()
            return result[0]


async def serve(
    module: Module, stdin: Any, stdout: Any, stop: asyncio.Future[None] | None = None
) -> None:
    """Answer packages from stdin on stdout until stdin ends (or ``stop`` is done: SIGTERM) and
    the requests read so far are answered (or SHUTDOWN_GRACE has passed). Each package is
    answered at once where its handler does not wait, and in a task of its own where it does
    (see Runner)."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.connect_write_pipe(
        lambda: asyncio.streams.FlowControlMixin(), stdout
    )
    on_uvloop = uvloop is not None and isinstance(loop, uvloop.Loop)
    out = ReplyWriter(
        asyncio.StreamWriter(transport, protocol, None, loop),
        loop,
        MAX_UNSENT_UVLOOP if on_uvloop else MAX_UNSENT,
    )
    runner = Runner(loop, out)
    call = runner.call
    functions = {name: function.call for name, function in module.functions().items()}

    def on_package(pid: int, tp: int, body: bytes | memoryview) -> None:
        out.held = True  # the replies of one chunk of input leave together, when it is done
        # Decoded here: the body may be a view of the read buffer, which the next read reuses.
        try:
            data = unpackb(body, raw=False, strict_map_key=True, object_hook=str_keys)
        except Exception:
            runner.run(answer(module, out, pid, tp, None, undecodable(body)))
            return
        if tp != REQ:
            runner.run(answer(module, out, pid, tp, data, None))
            return
        # A request for a function, dispatched here (Module.answer_request, inlined: this is
        # each call's path), its arguments checked, its handler run by the runner.
        try:
            function = functions[data[FUNCTION_KEY]] if type(data) is dict else None
        except (KeyError, TypeError):  # no such function, or no function key
            function = None
        try:
            # answer_request() words the error of a request that names no function it has.
            handler = module.answer_request(data) if function is None else function(data)
        except Exception as exc:
            runner.run(answer_error(out, pid, tp, exc))
            return
        del data  # a large request is not kept while the handler waits or its reply is written
        call(handler, pid)

    def on_problem(pid: int, reply: int, problem: str) -> None:
        logging.warning(problem)
        out.hold()
        runner.run(out.send(pid, reply, pack([BadDataError.err_code, problem])))

    reader = PackageReader(on_package, on_problem, out.release)
    await loop.connect_read_pipe(lambda: reader, stdin)
    try:
        if stop is not None:
            await asyncio.wait((reader.done, stop), return_when=asyncio.FIRST_COMPLETED)
            reader.stop()  # after a signal nothing more is read
        await reader.done
        if runner.tasks:
            # ThingsDB sends nothing more, but requests already running still get their
            # answers, within a grace period.
            await asyncio.wait(list(runner.tasks), timeout=SHUTDOWN_GRACE)
        with contextlib.suppress(OSError):  # stdout is gone too: nothing left to tell ThingsDB
            await out.finish()
    finally:
        runner.cancel()


def start_module(module: Module) -> None:
    """Serve ThingsDB on stdin/stdout until SIGTERM or the end of input (exit status 0).

    Corrupt input ends the module with exit status 1: ThingsDB then restarts it.
    """
    name = module.name
    if msgpack.Unpacker.__module__ == "msgpack.fallback":
        logging.warning("msgpack runs as pure Python, without its C extension: slower")
        sys.setrecursionlimit(max(sys.getrecursionlimit(), PURE_PYTHON_RECURSION_LIMIT))

    async def run() -> int:
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        main = asyncio.ensure_future(serve(module, sys.stdin, sys.stdout, stop))

        def on_signal(signum: int) -> None:
            # The requests read before it still get their replies (within SHUTDOWN_GRACE), as
            # at the end of input; a second signal stops at once.
            if stop.done():
                main.cancel()
            else:
                logging.info("stopping on %s", signal.Signals(signum).name)
                stop.set_result(None)

        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(signum, on_signal, signum)
        try:
            await main
        except asyncio.CancelledError:
            logging.info("stopped by signal")
        except CorruptStream as exc:
            logging.critical("corrupt input: %s; exiting, for ThingsDB to restart the module", exc)
            return 1
        return 0

    if uvloop is not None and stdio_are_pipes():
        logging.info("starting module %s on uvloop", name)
        status = uvloop.run(run())
    else:
        logging.info("starting module %s on asyncio's event loop", name)
        status = asyncio.run(run())
    if status:
        sys.exit(status)


def stdio_are_pipes() -> bool:
    """Whether stdin and stdout are sockets or pipes, as ThingsDB's socket pair is.

    uvloop aborts the whole process when stdin or stdout is a file or a device (a module
    started by hand with ``< /dev/null``); asyncio's own loop copes with a device.
    """
    modes = (os.fstat(stream.fileno()).st_mode for stream in (sys.stdin, sys.stdout))
    return all(stat.S_ISSOCK(mode) or stat.S_ISFIFO(mode) for mode in modes)
