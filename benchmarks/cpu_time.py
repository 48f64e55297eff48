"""CPU time of a process, for the benchmarks' figures per call."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """The CPU time a process's threads spent so far, in seconds.

    Read from each thread's schedstat, which the scheduler keeps in nanoseconds; the user and
    system times of /proc/PID/stat are sampled at the clock tick (10 ms), which misses or
    doubles a module's short bursts of work. A thread that ended is no longer counted: the
    modules measured keep theirs.
    """
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, IndexError, ValueError):  # a thread that ended
                total += int((task / "schedstat").read_text().split()[0])
    except OSError:
        total = 0
    if total:
        return total / 1e9
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
