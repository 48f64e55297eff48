"""decode_echo.py on an event loop: what the loop itself costs a module that decodes.

decode_echo.py's work (decode each request, take out its function and value, encode the value
as the result, the replies of one read in one system call), done in a callback that uvloop
(asyncio's own loop where uvloop is not installed) calls when stdin is readable, as the
template's loop is called: the loop's wait for input (epoll) and its way to the callback,
and nothing else of the template's machinery (no protocol, transport, task or coroutine;
replies are written with blocking system calls, as decode_echo.py writes them). Ends with
status 0 when stdin ends.
"""

from __future__ import annotations

import asyncio
import os
import sys

from decode_echo import answer_read
from echo import READ_SIZE

try:
    import uvloop
except ImportError:
    uvloop = None


def serve(stdin: int, stdout: int) -> int:
    loop = uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()
    # Read into one buffer, reused: os.read would allocate (and map) a new one for every read.
    buffer = memoryview(bytearray(READ_SIZE))
    partial = bytearray()  # the start of a package whose rest is still on its way

    def on_readable() -> None:
        nonlocal partial
        try:
            size = os.readv(stdin, [buffer])
        except BlockingIOError:
            return
        if not size:
            loop.stop()
            return
        partial = answer_read(buffer[:size], partial, stdout)

    os.set_blocking(stdin, False)
    loop.add_reader(stdin, on_readable)
    loop.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(serve(0, 1))
