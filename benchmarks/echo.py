"""The benchmark's limit for a Python module: the least one can do.

One blocking loop, no event loop and no MessagePack: it reads what stdin holds into one reused
buffer, answers every whole request in it with the request's own body as the result (never
decoded) and a configuration with CONF_OK, and writes the replies of one read with one system
call. Bodies are sent back as views of what was read, not copied; only a package that arrives
in pieces is joined, once. Whatever a real module costs on top of this is the module's own. Ends
with status 0 when stdin ends.
"""

from __future__ import annotations

import os
import sys
from struct import Struct

HEADER = Struct("<IHBB")  # body length, pid, type, check (type ^ 0xFF)
CONF, CONF_OK, REQ, RES = 64, 65, 80, 81
READ_SIZE = 1 << 20
JOIN_LIMIT = 16 * 1024  # replies up to this size in all are joined, larger ones gathered
IOV_MAX = 512  # pieces per writev, below every system's limit


def serve(stdin: int, stdout: int) -> int:
    # Read into one buffer, reused: os.read would allocate (and map) a new one for every read.
    buffer = memoryview(bytearray(READ_SIZE))
    partial = bytearray()  # the start of a package whose rest is still on its way
    while True:
        size = os.readv(stdin, [buffer])
        if not size:
            return 0
        data = buffer[:size]
        if partial:
            data, partial = joined(partial, data)
            if data is None:
                continue
        replies: list[bytes | memoryview] = []
        pos = total = 0
        while len(data) - pos >= HEADER.size:
            length, pid, tp, _ = HEADER.unpack_from(data, pos)
            end = pos + HEADER.size + length
            if end > len(data):
                break
            if tp == REQ:
                replies += (HEADER.pack(length, pid, RES, RES ^ 0xFF), data[end - length : end])
                total += HEADER.size + length
            elif tp == CONF:
                replies.append(HEADER.pack(0, pid, CONF_OK, CONF_OK ^ 0xFF))
            pos = end
        partial += data[pos:]
        if total <= JOIN_LIMIT and len(replies) > 1:
            replies = [b"".join(replies)]
        write_all(stdout, replies)  # before the next read reuses the buffer the replies are in


def joined(partial: bytearray, data: memoryview) -> tuple[memoryview | None, bytearray]:
    """``data`` after the start of a package that came before it: (the whole, a fresh start), or
    (None, the start so far) while the first package is still incomplete."""
    partial += data
    if len(partial) < needed(partial):
        return None, partial
    return memoryview(bytes(partial)), bytearray()


def needed(partial: bytearray) -> int:
    """How many bytes the first package in ``partial`` takes in all (8 until its header is in)."""
    if len(partial) < HEADER.size:
        return HEADER.size
    return HEADER.size + HEADER.unpack_from(partial)[0]


def write_all(fd: int, pieces: list[bytes | memoryview]) -> None:
    while pieces:
        batch = pieces[:IOV_MAX]
        written = os.writev(fd, batch)
        done = 0
        while done < len(batch) and written >= len(batch[done]):
            written -= len(batch[done])
            done += 1
        pieces = pieces[done:]
        if written:
            pieces[0] = memoryview(pieces[0])[written:]


if __name__ == "__main__":
    sys.exit(serve(0, 1))
