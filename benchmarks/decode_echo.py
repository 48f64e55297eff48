"""The least a Python module that reads its requests can do: echo.py, decoding and encoding.

echo.py's blocking loop (one reused buffer, the replies of one read in one system call), where
each request's body is decoded with msgpack as the template's loop decodes it (raw=False,
strict_map_key=False), its function name and its `value` taken out, and the value encoded again
as the result: a small one with one reused packer, a large one with a packer of its own whose
buffer is sent as it is, as the template's loop does. No checks, no event loop, no error
replies: the floor under any Python module that looks at its arguments, above echo.py's by
exactly the decoding and encoding of each request. Ends with status 0 when stdin ends.
"""

from __future__ import annotations

import os
import sys

import msgpack
from echo import CONF, CONF_OK, HEADER, JOIN_LIMIT, READ_SIZE, REQ, RES, joined, write_all

COPY_LIMIT = 4 * 1024  # larger replies are sent from their packer's buffer, as the module's are

_pack = msgpack.Packer(use_bin_type=True).pack


def decoded_replies(data: memoryview) -> tuple[list[bytes | memoryview], int]:
    """The replies to the whole packages in ``data``, and where the first incomplete one starts."""
    replies: list[bytes | memoryview] = []
    pos = total = 0
    while len(data) - pos >= HEADER.size:
        length, pid, tp, _ = HEADER.unpack_from(data, pos)
        end = pos + HEADER.size + length
        if end > len(data):
            break
        if tp == REQ:
            request = msgpack.unpackb(data[end - length : end], raw=False, strict_map_key=False)
            request["function"]  # what a module dispatches on
            value = request.get("value")
            if length <= COPY_LIMIT:
                body = _pack(value)
            else:  # no copy out of the packer: its own buffer, which the view keeps
                packer = msgpack.Packer(use_bin_type=True, autoreset=False, buf_size=length)
                packer.pack(value)
                body = packer.getbuffer()
            replies += (HEADER.pack(len(body), pid, RES, RES ^ 0xFF), body)
            total += HEADER.size + len(body)
        elif tp == CONF:
            replies.append(HEADER.pack(0, pid, CONF_OK, CONF_OK ^ 0xFF))
        pos = end
    if total <= JOIN_LIMIT and len(replies) > 1:
        replies = [b"".join(replies)]
    return replies, pos


def answer_read(data: memoryview, partial: bytearray, stdout: int) -> bytearray:
    """Answer every whole package of what was read (after ``partial``, the start of one read
    before); the start of the next package, copied out of the read buffer, is returned."""
    if partial:
        data, partial = joined(partial, data)
        if data is None:
            return partial
    replies, pos = decoded_replies(data)
    write_all(stdout, replies)  # before the next read reuses the buffer the replies are in
    return bytearray(data[pos:])


def serve(stdin: int, stdout: int) -> int:
    # Read into one buffer, reused: os.read would allocate (and map) a new one for every read.
    buffer = memoryview(bytearray(READ_SIZE))
    partial = bytearray()  # the start of a package whose rest is still on its way
    while size := os.readv(stdin, [buffer]):
        partial = answer_read(buffer[:size], partial, stdout)
    return 0


if __name__ == "__main__":
    sys.exit(serve(0, 1))
