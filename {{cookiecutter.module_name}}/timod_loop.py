"""A framing loop for py-timod modules that survives everything ThingsDB's pipe can deliver.

Why this file exists: py-timod 0.0.6 (and 1.0.0) reads each package with
``StreamReader.read(8)`` and ``read(length)``, which return whatever happens to be buffered.
ThingsDB writes to a socket pair, so a header or a body can arrive in several pieces (large
requests always do); py-timod then misreads the stream and the module exits. It also exits on
an unknown package type or a body that is not MessagePack, and never checks the check byte.
ThingsDB restarts an exited module only three times.

This loop keeps py-timod's TiHandler and error types and replaces only ``start_module``: it
cuts the input into packages of exactly the announced length, answers a malformed package with
a bad_data error instead of exiting, and stops cleanly (status 0) on SIGTERM or when stdin
ends. It runs on uvloop (requirements.txt) when stdin and stdout are pipes or sockets, as
ThingsDB's are: most of a small request's cost is the event loop's own bookkeeping, and
uvloop's is in C. Drop this file and call ``timod.start_module`` once py-timod frames its
input this way.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import stat
import struct
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack
from timod import BadDataError, OperationError, TiHandler
from timod.ex import TiException

try:
    # There are no uvloop builds for Windows; asyncio's own loop serves the same there.
    import uvloop
except ImportError:
    uvloop = None

HEADER = struct.Struct("<IHBB")  # body length, pid, type, check (type ^ 0xFF)

CONF, CONF_OK, CONF_ERR = 64, 65, 66
REQ, RES, ERR = 80, 81, 82

# The largest body kept in memory. A larger one is answered with bad_data and its bytes are
# dropped as they arrive, so the stream stays in step with the sender without holding them.
MAX_BODY = {{ max_body_mib }} * 1024 * 1024
# Replies are written in pieces of this size, so the pipe's buffer never holds a whole copy.
WRITE_CHUNK = 1024 * 1024
# Replies up to this size are gathered and written together once per turn of the event loop.
GATHER_LIMIT = 4 * 1024
# The longest error message ThingsDB takes, in UTF-8 bytes; a longer one reaches the caller
# as bad_data instead of the module's error.
MAX_ERROR_MESSAGE = {{ max_error_message }}
# How long requests still running when stdin ends may take before the module exits anyway.
SHUTDOWN_GRACE = {{ shutdown_grace_seconds }}
# Replies wait for the pipe when more than this is written but not yet sent. Small on purpose:
# the pipe transport moves its whole unsent buffer forward after every partial write.
MAX_UNSENT = 64 * 1024


class PackageReader(asyncio.Protocol):
    """Cuts stdin into packages and hands each complete one to ``on_package``.

    A body is kept as the chunks it arrived in and joined once, so a large request costs one
    copy of itself, however it was split.
    """

    def __init__(
        self,
        on_package: Callable[[int, int, bytes], None],
        on_problem: Callable[[int, int, str], None],
    ):
        self._on_package = on_package
        self._on_problem = on_problem
        self._header = b""
        self._chunks: list[bytes] = []
        self._missing = 0  # body bytes still to come
        self._keep = False  # False: the body is being dropped
        self._pid = self._tp = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
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

    def _take_header(self, data: bytes, pos: int) -> int:
        end = pos + HEADER.size - len(self._header)
        self._header += data[pos:end]
        if len(self._header) < HEADER.size:
            return end
        length, self._pid, self._tp, check = HEADER.unpack(self._header)
        self._header = b""
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

    def _take_body(self, data: bytes, pos: int) -> int:
        end = min(len(data), pos + self._missing)
        self._missing -= end - pos
        if self._keep:
            # The whole chunk is taken as is; only a part of one is copied.
            self._chunks.append(data if pos == 0 and end == len(data) else data[pos:end])
            if not self._missing:
                body = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
                self._chunks = []
                self._on_package(self._pid, self._tp, body)
        return end

    def eof_received(self) -> bool:
        self._finish()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish()

    def _finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)


class ReplyWriter:
    """Writes reply packages to stdout, each package whole.

    Small replies are gathered and written together once per turn of the event loop: under
    load that is one system call for many replies instead of one each. A larger reply waits
    until the pipe has room and goes out in pieces of at most WRITE_CHUNK, so the pipe's
    buffer stays small (the transport moves all of it forward after every partial write) and
    never holds a whole copy of a large reply; other replies wait meanwhile, as their bytes
    must not land inside it.
    """

    def __init__(self, writer: asyncio.StreamWriter):
        self._writer = writer
        self._transport = writer.transport
        self._pending: list[bytes | memoryview] = []
        self._flush_scheduled = False
        self._large = asyncio.Lock()  # held while a larger package is being written
        self._drain_lock = asyncio.Lock()  # Python < 3.10 allows one drain() at a time

    def send_soon(self, pid: int, tp: int, body: bytes | memoryview = b"") -> bool:
        """Queue a small reply without waiting; False when it must go through send()."""
        if len(body) > GATHER_LIMIT or self._transport.get_write_buffer_size() > MAX_UNSENT:
            return False
        self._queue(HEADER.pack(len(body), pid, tp, tp ^ 0xFF), body)
        return True

    async def send(self, pid: int, tp: int, body: bytes | memoryview = b"") -> None:
        header = HEADER.pack(len(body), pid, tp, tp ^ 0xFF)
        if len(body) <= GATHER_LIMIT:
            await self._drain()
            self._queue(header, body)
            return
        view = memoryview(body)
        async with self._large:
            await self._drain()
            self._write_pending()
            self._writer.write(header)
            for start in range(0, len(view), WRITE_CHUNK):
                self._writer.write(view[start : start + WRITE_CHUNK])
                await self._drain()
        self._flush()

    def _queue(self, header: bytes, body: bytes | memoryview) -> None:
        self._pending += (header, body)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    async def _drain(self) -> None:
        """Wait while the pipe's unsent buffer is over its limit."""
        if self._transport.get_write_buffer_size() > MAX_UNSENT:
            async with self._drain_lock:
                await self._writer.drain()

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._large.locked():  # else the large package's writer flushes when done
            self._write_pending()

    async def finish(self) -> None:
        """Write whatever is still gathered and wait until the pipe has taken all of it."""
        async with self._large:
            self._write_pending()
            await self._writer.drain()

    def _write_pending(self) -> None:
        if self._pending:
            self._writer.write(b"".join(self._pending))
            self._pending.clear()

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


class ReplyPacker:
    """Packs reply bodies with one reused MessagePack packer.

    Making a packer costs more than packing a small reply, so one is kept. A large reply is
    handed out as a view of the packer's own buffer, not copied (``msgpack.packb`` copies it
    into a new bytes object, and for a 16 MiB reply that copy was the largest part of the
    module's peak memory); the view keeps that packer, and a new one takes its place.
    """

    def __init__(self) -> None:
        self._packer = self._new_packer()

    @staticmethod
    def _new_packer() -> msgpack.Packer:
        return msgpack.Packer(use_bin_type=True, autoreset=False)

    def __call__(self, value: Any) -> bytes | memoryview:
        packer = self._packer
        try:
            packer.pack(value)
        except BaseException:
            packer.reset()  # drop what was packed before the failure
            raise
        view = packer.getbuffer()
        if len(view) > GATHER_LIMIT:
            self._packer = self._new_packer()
            return view
        body = bytes(view)
        view.release()
        packer.reset()
        return body


pack = ReplyPacker()


async def answer(handler: TiHandler, out: ReplyWriter, pid: int, tp: int, body: bytes) -> None:
    """Decode one package, run the handler and write its reply."""
    error_type = CONF_ERR if tp == CONF else ERR
    try:
        try:
            data = msgpack.unpackb(body, raw=False, strict_map_key=False)
        except Exception as exc:
            # Some of msgpack's errors (too deep a nesting) have no message, only a type.
            reason = str(exc) or type(exc).__name__
            raise BadDataError(f"package body is not valid MessagePack ({reason})") from None
        del body  # from here on only the decoded request is kept
        if tp == CONF:
            await handler.on_config(data)
            reply_type, reply = CONF_OK, b""
        else:
            reply_type, reply = RES, pack(await handler.on_request(data))
        del data  # a large request is not kept while its reply is written
        if not out.send_soon(pid, reply_type, reply):
            await out.send(pid, reply_type, reply)
    except Exception as exc:
        if tp == CONF and isinstance(exc, TiException):
            # ThingsDB shows only that the configuration failed; the reason stays in this log.
            logging.warning("configuration rejected: %s", exc)
        try:
            await out.send_error(pid, error_type, exc)
        except Exception as write_exc:  # stdout is gone; nothing left to tell ThingsDB
            await handler.on_error(write_exc)


async def serve(handler: TiHandler, stdin: Any, stdout: Any) -> None:
    """Answer packages from stdin on stdout, each in a task of its own, until stdin ends
    and the requests still running are answered (or SHUTDOWN_GRACE has passed)."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.connect_write_pipe(
        lambda: asyncio.streams.FlowControlMixin(), stdout
    )
    out = ReplyWriter(asyncio.StreamWriter(transport, protocol, None, loop))
    # Each running task by a number of its own: the loop holds tasks only weakly.
    tasks: dict[int, asyncio.Task] = {}
    numbers = itertools.count()

    async def run_and_forget(number: int, coroutine: Awaitable[None]) -> None:
        # The task forgets itself: cheaper than a done callback, which costs one more trip
        # through the event loop for every request.
        try:
            await coroutine
        finally:
            del tasks[number]

    def start(coroutine: Awaitable[None]) -> None:
        number = next(numbers)
        # Task() rather than loop.create_task(): the same task for less work per request.
        tasks[number] = asyncio.Task(run_and_forget(number, coroutine))

    def on_package(pid: int, tp: int, body: bytes) -> None:
        start(answer(handler, out, pid, tp, body))

    def on_problem(pid: int, reply: int, problem: str) -> None:
        logging.warning(problem)
        start(out.send(pid, reply, pack([BadDataError.err_code, problem])))

    reader = PackageReader(on_package, on_problem)
    await loop.connect_read_pipe(lambda: reader, stdin)
    try:
        await reader.done
        if tasks:
            # ThingsDB sends nothing more, but requests already running still get their
            # answers, within a grace period.
            await asyncio.wait(list(tasks.values()), timeout=SHUTDOWN_GRACE)
        with contextlib.suppress(OSError):  # stdout is gone too: nothing left to tell ThingsDB
            await out.finish()
    finally:
        for task in tasks.values():
            task.cancel()


def start_module(name: str, handler: TiHandler) -> None:
    """Serve ThingsDB on stdin/stdout until SIGTERM or the end of input (exit status 0)."""

    async def run() -> None:
        main = asyncio.ensure_future(serve(handler, sys.stdin, sys.stdout))
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            asyncio.get_running_loop().add_signal_handler(signum, main.cancel)
        try:
            await main
        except asyncio.CancelledError:
            logging.info("stopped by signal")

    if uvloop is not None and stdio_are_pipes():
        logging.info("starting module %s on uvloop", name)
        uvloop.run(run())
    else:
        logging.info("starting module %s on asyncio's event loop", name)
        asyncio.run(run())


def stdio_are_pipes() -> bool:
    """Whether stdin and stdout are sockets or pipes, as ThingsDB's socket pair is.

    uvloop aborts the whole process when stdin or stdout is a file or a device (a module
    started by hand with ``< /dev/null``); asyncio's own loop copes with a device.
    """
    modes = (os.fstat(stream.fileno()).st_mode for stream in (sys.stdin, sys.stdout))
    return all(stat.S_ISSOCK(mode) or stat.S_ISFIFO(mode) for mode in modes)
