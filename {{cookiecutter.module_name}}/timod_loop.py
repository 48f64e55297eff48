"""A framing loop for py-timod modules that survives everything ThingsDB's pipe can deliver.

Why this file exists: py-timod 0.0.6 (and 1.0.0) reads each package with
``StreamReader.read(8)`` and ``read(length)``, which return whatever happens to be buffered.
ThingsDB writes to a socket pair, so a header or a body can arrive in several pieces (large
requests always do); py-timod then misreads the stream and the module exits. It also exits on
an unknown package type or a body that is not MessagePack, and never checks the check byte.
ThingsDB restarts an exited module only three times.

This loop keeps py-timod's TiHandler and error types and replaces only ``start_module``: it
reads exact lengths (``readexactly``), answers a malformed package with a bad_data error instead
of exiting, and stops cleanly (status 0) on SIGTERM or when stdin ends. Drop this file and call
``timod.start_module`` once py-timod frames its input this way.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import struct
import sys
from typing import Any

import msgpack
from timod import BadDataError, OperationError, TiHandler
from timod.ex import TiException

HEADER = struct.Struct("<IHBB")  # body length, pid, type, check (type ^ 0xFF)

CONF, CONF_OK, CONF_ERR = 64, 65, 66
REQ, RES, ERR = 80, 81, 82

# The largest body kept in memory. A larger one is answered with bad_data and its bytes are
# read and dropped, so the stream stays in step with the sender without holding it.
MAX_BODY = 256 * 1024 * 1024
DISCARD_CHUNK = 1024 * 1024


class _Writer:
    """Writes reply packages to stdout; each package is one write, so replies never interleave."""

    def __init__(self, writer: asyncio.StreamWriter):
        self._writer = writer
        # On Python < 3.10 two coroutines may not wait in drain() at once.
        self._drain_lock = asyncio.Lock()

    async def send(self, pid: int, tp: int, value: Any = None, *, empty: bool = False) -> None:
        body = b"" if empty else msgpack.packb(value, use_bin_type=True)
        self._writer.write(HEADER.pack(len(body), pid, tp, tp ^ 0xFF) + body)
        async with self._drain_lock:
            await self._writer.drain()

    async def send_error(self, pid: int, tp: int, exc: Exception) -> None:
        if isinstance(exc, TiException):
            code, message = exc.err_code, str(exc)
        else:
            # Not one of ThingsDB's errors: a bug in a handler. Keep serving, log the traceback.
            logging.error("unexpected error in handler", exc_info=exc)
            code, message = OperationError.err_code, f"{type(exc).__name__}: {exc}"
        await self.send(pid, tp, [code, message])


async def _answer(handler: TiHandler, out: _Writer, pid: int, tp: int, body: bytes) -> None:
    """Decode one package, run the handler and write its reply."""
    error_type = CONF_ERR if tp == CONF else ERR
    try:
        try:
            data = msgpack.unpackb(body, raw=False, strict_map_key=False) if body else None
        except Exception as exc:
            raise BadDataError(f"package body is not valid MessagePack ({exc})") from None
        if tp == CONF:
            await handler.on_config(data)
            await out.send(pid, CONF_OK, empty=True)
        else:
            await out.send(pid, RES, await handler.on_request(data))
    except Exception as exc:
        try:
            await out.send_error(pid, error_type, exc)
        except Exception as write_exc:  # stdout is gone; nothing left to tell ThingsDB
            await handler.on_error(write_exc)


async def _discard(reader: asyncio.StreamReader, size: int) -> None:
    while size:
        size -= len(await reader.readexactly(min(size, DISCARD_CHUNK)))


async def serve(handler: TiHandler, reader: asyncio.StreamReader, out: _Writer) -> None:
    """Read packages until the input ends; answer each in a task of its own."""
    tasks: set[asyncio.Task] = set()  # keep references: the loop holds tasks only weakly
    try:
        while True:
            try:
                header = await reader.readexactly(HEADER.size)
            except asyncio.IncompleteReadError:
                return  # stdin ended: ThingsDB is gone
            length, pid, tp, check = HEADER.unpack(header)
            problem = None
            if check != tp ^ 0xFF:
                problem = f"package {pid} has a wrong check byte"
            elif tp not in (CONF, REQ):
                problem = f"package {pid} has an unknown type {tp}"
            elif length > MAX_BODY:
                problem = f"package {pid} announces {length} bytes, more than {MAX_BODY}"
            if problem:
                logging.warning(problem)
                await out.send(pid, ERR, [BadDataError.err_code, problem])
                await _discard(reader, length)
                continue
            body = await reader.readexactly(length)
            task = asyncio.ensure_future(_answer(handler, out, pid, tp, body))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    except asyncio.IncompleteReadError:
        return  # stdin ended in the middle of a package
    finally:
        for task in tasks:
            task.cancel()


async def _run(handler: TiHandler) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**16)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    transport, protocol = await loop.connect_write_pipe(
        lambda: asyncio.streams.FlowControlMixin(), sys.stdout
    )
    out = _Writer(asyncio.StreamWriter(transport, protocol, reader, loop))
    main = asyncio.ensure_future(serve(handler, reader, out))
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(signum, main.cancel)
    try:
        await main
    except asyncio.CancelledError:
        logging.info("stopped by signal")


def start_module(name: str, handler: TiHandler) -> None:
    """Serve ThingsDB on stdin/stdout until SIGTERM or the end of input (exit status 0)."""
    logging.info("starting module %s", name)
    asyncio.run(_run(handler))
