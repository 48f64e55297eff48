"""Benchmark generated modules against the least a module of their language can do.

    python benchmarks/run.py [--seconds 2] [--rounds 3] [--through-thingsdb [--profile]]

Bakes a Python and a Go module with this template and runs each beside the echo module of its
language, the limit: benchmarks/echo (Go: one goroutine) and benchmarks/echo.py (Python: one
blocking loop), both framing packages and sending each body back undecoded. Alone, all of them
are driven over stdin/stdout exactly as ThingsDB drives them, with the template's ThingsDB peer;
it prints calls/s, p50/p99 latency and the module's CPU time per call at 1 and 64 requests in
flight with 100 B and 64 KiB bodies, a handler that waits 10 ms at 64 in flight (6400/s is
ideal), one 16 MiB request (time and the module's peak RSS) and the idle RSS; every module's
figure with its ratio to its echo's in the same run. Needs what the test suite needs
(tests/requirements.txt) and Go.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgpack

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "{{cookiecutter.module_name}}" / "tools"))
sys.path.insert(0, str(ROOT / "benchmarks"))  # also when imported as benchmarks.run
sys.dont_write_bytecode = True  # nothing may land in the template's tools/ folder

from cpu_time import cpu_seconds  # noqa: E402
from thingsdb_peer import HEADER, REQ, RES, ModuleProcess, pack  # noqa: E402

MiB = 1024 * 1024
WAIT_SECONDS = 0.010

# Added to the baked Python module: a function that waits like an I/O-bound handler does.
_PYTHON_WAIT = """
import asyncio
from typing import Any

import main


@main.module.function
async def wait(value: Any) -> Any:
    await asyncio.sleep(WAIT_SECONDS)
    return value


main.module.run()
"""

# The same for the Go module, as one more file in package main (MODULE_PATH: its go.mod's).
_GO_WAIT = """package main

import (
	"context"
	"time"

	"MODULE_PATH/internal/module"
)

func init() {
	functions = append(functions, module.Func("wait", handleBenchWait))
}

func handleBenchWait(ctx context.Context, conf Config, args EchoArgs) (any, error) {
	select {
	case <-time.After(WAIT_MS * time.Millisecond):
	case <-ctx.Done():
	}
	return args.Value, nil
}
"""


def python_wait(seconds: float = WAIT_SECONDS) -> str:
    """The Python module's main file with `wait`, which sleeps ``seconds``."""
    return _PYTHON_WAIT.replace("WAIT_SECONDS", repr(seconds))


def go_wait(module_path: str, seconds: float = WAIT_SECONDS) -> str:
    """The Go module's `wait` (sleeping ``seconds``) for the baked module whose go.mod names
    ``module_path``."""
    return _GO_WAIT.replace("MODULE_PATH", module_path).replace(
        "WAIT_MS", str(round(seconds * 1000))
    )


@dataclass
class Load:
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_us: float  # the module's CPU time per call


# The limit each module is measured against: the echo module of its language.
LIMITS = {
    "go": "echo-go",
    "python": "echo-py",
    "python-asyncio": "echo-py",
    "decode-py": "echo-py",
    "decode-loop": "echo-py",
    "python-baseline": "echo-py",
}


def request_body(function: str, size: int) -> bytes:
    """A packed request whose body is about ``size`` bytes."""
    value = "x" * max(0, size - 30)
    return msgpack.packb({"function": function, "value": value}, use_bin_type=True)


class Peer:
    """A module started as ThingsDB starts it (socket pairs as stdin and stdout), driven as
    ThingsDB's event loop drives it: requests are written while replies are read. A peer that
    blocks writing could wait forever on a module that blocks writing its replies in turn."""

    def __init__(self, command: list[str], cwd: Path):
        self._input, child_stdin = socket.socketpair()
        self._output, child_stdout = socket.socketpair()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)
        try:
            self.process = subprocess.Popen(
                command, stdin=child_stdin, stdout=child_stdout, stderr=self._stderr, cwd=cwd
            )
        finally:
            child_stdin.close()
            child_stdout.close()
        self._input.setblocking(False)
        self._output.setblocking(False)
        self._unsent = bytearray()
        self._received = bytearray()
        self._next_pid = 0

    def __enter__(self) -> Peer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._input.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._output.close()
        self._stderr.close()

    def stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def send(self, body: bytes) -> int:
        """Queue a request; it is written while replies are read."""
        pid = self._next_pid
        self._next_pid = (pid + 1) & 0xFFFF
        self._unsent += pack(pid, REQ, body=body)
        return pid

    def replies(self, timeout: float = 30) -> list[tuple[int, int]]:
        """Write what is queued and return the (pid, type) of the next replies to arrive."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._output, selectors.EVENT_READ)
            if self._unsent:
                selector.register(self._input, selectors.EVENT_WRITE)
            while True:
                events = selector.select(timeout)
                if not events:
                    raise TimeoutError("the module did not answer in time")
                for key, _ in events:
                    if key.fileobj is self._input:
                        sent = self._input.send(self._unsent)
                        del self._unsent[:sent]
                        if not self._unsent:
                            selector.unregister(self._input)
                        continue
                    chunk = self._output.recv(1 << 20)
                    if not chunk:
                        raise EOFError(f"the module ended: {self.stderr_text()}")
                    self._received += chunk
                found, pos = [], 0
                while len(self._received) - pos >= 8:
                    length, pid, tp, _ = HEADER.unpack_from(self._received, pos)
                    if len(self._received) - pos < 8 + length:
                        break
                    found.append((pid, tp))
                    pos += 8 + length
                if found:
                    del self._received[:pos]
                    return found


def closed_loop(peer: Peer, body: bytes, in_flight: int, seconds: float) -> Load:
    """Keep ``in_flight`` requests outstanding for ``seconds``; one new request per reply."""
    sent: dict[int, float] = {}
    latencies: list[float] = []

    def send() -> None:
        sent[peer.send(body)] = time.perf_counter()

    for _ in range(in_flight):
        send()
    start = time.perf_counter()
    cpu_before = cpu_seconds(peer.process.pid)
    while time.perf_counter() - start < seconds:
        for pid, tp in peer.replies():
            if tp != RES:
                raise RuntimeError(f"error reply during the benchmark: {peer.stderr_text()}")
            latencies.append(time.perf_counter() - sent.pop(pid))
            send()
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds(peer.process.pid) - cpu_before
    while sent:
        for pid, _ in peer.replies():
            sent.pop(pid)
    quantiles = statistics.quantiles(latencies, n=100)
    return Load(
        len(latencies) / elapsed,
        quantiles[49] * 1000,
        quantiles[98] * 1000,
        cpu / len(latencies) * 1e6,
    )


def rss_kib(module: ModuleProcess, field: str) -> int:
    for line in Path(f"/proc/{module.process.pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


@contextlib.contextmanager
def stdout_to_devnull() -> Iterator[None]:
    """Silence file descriptor 1, which the template's hooks (child processes) print to."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def bake(language: str, output: Path) -> Path:
    from cookiecutter.main import cookiecutter

    with stdout_to_devnull():  # the next steps a new module's author is told
        return Path(
            cookiecutter(
                str(ROOT),
                no_input=True,
                output_dir=str(output),
                extra_context={
                    "language": language,
                    "module_name": f"bench_{language}",
                    "platforms": "linux/amd64",
                },
            )
        )


def go_build(source: Path, binary: Path, *files: str) -> None:
    subprocess.run(
        ["go", "build", "-trimpath", "-o", str(binary), *files],
        cwd=source,
        check=True,
        env=None,
    )


def prepare(work: Path, baseline: Path | None = None) -> dict[str, tuple[list[str], Path]]:
    """Command and working directory of each module under test (``baseline``: a Python project
    baked by another version of the template, measured as python-baseline)."""
    python_dir = bake("python", work)
    (python_dir / "bench_main.py").write_text(python_wait())
    # The same module where uvloop is not installed: a None entry makes `import uvloop` fail.
    (python_dir / "bench_asyncio.py").write_text(
        'import sys\n\nsys.modules["uvloop"] = None\n' + python_wait()
    )
    go_dir = bake("go", work)
    module_path = (go_dir / "go.mod").read_text().split()[1]
    (go_dir / "bench_wait.go").write_text(go_wait(module_path))
    go_build(go_dir, work / "go_module", ".")
    go_build(ROOT / "benchmarks" / "echo", work / "echo", "main.go")
    prepared = {
        "echo-go": ([str(work / "echo")], work),
        "echo-py": ([sys.executable, str(ROOT / "benchmarks" / "echo.py")], work),
        "decode-py": ([sys.executable, str(ROOT / "benchmarks" / "decode_echo.py")], work),
        "decode-loop": ([sys.executable, str(ROOT / "benchmarks" / "decode_loop.py")], work),
        "python": ([sys.executable, "bench_main.py"], python_dir),
        "python-asyncio": ([sys.executable, "bench_asyncio.py"], python_dir),
        "go": ([str(work / "go_module")], go_dir),
    }
    if baseline is not None:
        copy = work / "python_baseline"
        shutil.copytree(baseline, copy, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
        (copy / "bench_main.py").write_text(python_wait())
        prepared["python-baseline"] = ([sys.executable, "bench_main.py"], copy)
    return prepared


LOADS = [
    (f"{label}, {in_flight} in flight", function, size, in_flight)
    for function, size, label in (("echo", 100, "100 B"), ("echo", 64 * 1024, "64 KiB"))
    for in_flight in (1, 64)
] + [("wait 10 ms, 64 in flight", "wait", 100, 64)]


def measure_load(command: list[str], cwd: Path, load: tuple, seconds: float) -> Load:
    _, function, size, in_flight = load
    body = request_body(function, size)
    with Peer(command, cwd) as peer:
        # Measured from the first reply on: a Python module spends its first 0.1-0.2 s starting.
        peer.send(body)
        peer.replies()
        result = closed_loop(peer, body, in_flight, seconds)
        if peer.process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited under load: {peer.stderr_text()}")
    return result


def measure_memory(command: list[str], cwd: Path) -> dict[str, object]:
    figures: dict[str, object] = {}
    with ModuleProcess(command, cwd=cwd) as module:
        module.send_raw(pack(0, REQ, body=request_body("echo", 100)))
        module.read_package()
        time.sleep(0.2)
        figures["idle RSS"] = rss_kib(module, "VmRSS")
        body = request_body("echo", 16 * MiB)
        start = time.perf_counter()
        module.send_raw(pack(1, REQ, body=body))
        reply = module.read_package(timeout=120)
        figures["16 MiB request"] = (time.perf_counter() - start) * 1000
        figures["16 MiB answered"] = (
            reply.type == RES and reply.value == msgpack.unpackb(body)["value"]
        )
        figures["16 MiB peak RSS"] = rss_kib(module, "VmHWM")
    return figures


def measure(modules: dict, rounds: int, seconds: float) -> dict[str, dict[str, object]]:
    """Every figure of every module; loads in rounds that take turns between the modules
    (a passing burst of load on the machine then spreads over all of them), median kept."""
    samples: dict[str, dict[str, list[Load]]] = {name: {} for name in modules}
    for _ in range(rounds):
        for load in LOADS:
            for name, (command, cwd) in modules.items():
                if name.startswith(("echo", "decode")) and load[1] == "wait":
                    continue  # echo has no handler that waits (nor decode); the limit is 6400/s
                result = measure_load(command, cwd, load, seconds)
                samples[name].setdefault(load[0], []).append(result)
    results: dict[str, dict[str, object]] = {}
    for name, (command, cwd) in modules.items():
        results[name] = {
            key: Load(
                statistics.median(s.per_second for s in runs),
                statistics.median(s.p50_ms for s in runs),
                statistics.median(s.p99_ms for s in runs),
                statistics.median(s.cpu_us for s in runs),
            )
            for key, runs in samples[name].items()
        }
        results[name].update(measure_memory(command, cwd))
    return results


def print_table(results: dict[str, dict[str, object]]) -> None:
    modules = [
        name
        for name in (
            "go",
            "python",
            "python-asyncio",
            "python-baseline",
            "decode-py",
            "decode-loop",
        )
        if name in results
    ]
    columns = [n for m in modules for n in (LIMITS[m], m) if n in results]
    columns = list(dict.fromkeys(columns))  # echo-py once before both Python modules
    ideal_wait = 64 / WAIT_SECONDS

    def row(name: str, cells: list[str]) -> None:
        print(f"{name:28} " + " ".join(f"{cell:>19}" for cell in cells))

    def cell(name: str, value: float | None, base: float | None, text: str) -> str:
        if value is None:
            return "-"
        if name in LIMITS and base:
            return f"{text} {value / base:4.2f}x"
        return text

    print("Alone, over socket pairs. Each module beside the echo module of its language, the")
    print("limit; the module's ratios are to that echo (wait 10 ms: to the ideal 6400/s)")
    row("figure", columns)
    for key, function, _, _ in LOADS:
        print(f"{key}:")
        loads = {name: results[name].get(key) for name in columns}

        def base(name: str, loads=loads) -> Load | None:
            return loads.get(LIMITS.get(name, ""))

        if function == "wait":
            row(
                "  calls/s",
                [
                    cell(n, loads[n].per_second, ideal_wait, f"{loads[n].per_second:.0f}/s")
                    if loads[n]
                    else f"{ideal_wait:.0f}/s ideal"
                    for n in columns
                ],
            )
        else:
            row(
                "  calls/s",
                [
                    cell(
                        n,
                        loads[n].per_second,
                        base(n) and base(n).per_second,
                        f"{loads[n].per_second:.0f}/s",
                    )
                    for n in columns
                ],
            )
        row(
            "  module CPU/call",
            [
                cell(
                    n,
                    loads[n].cpu_us,
                    base(n) and base(n).cpu_us,
                    f"{loads[n].cpu_us:.1f} µs",
                )
                if loads[n]
                else "-"
                for n in columns
            ],
        )
        row(
            "  p50/p99 ms",
            [f"{loads[n].p50_ms:.2f}/{loads[n].p99_ms:.2f}" if loads[n] else "-" for n in columns],
        )
    for key in ("16 MiB request", "16 MiB peak RSS", "idle RSS"):
        unit = " ms" if key.endswith("request") else " KiB"
        row(
            key,
            [
                cell(
                    n,
                    float(results[n][key]),
                    float(results[LIMITS[n]][key]) if n in LIMITS else None,
                    f"{results[n][key]:.0f}{unit}",
                )
                for n in columns
            ],
        )
    payload = 16 * MiB // 1024
    for module in modules:
        figures = results[module]
        print(
            f"{module}: 16 MiB answered: {figures['16 MiB answered']}, peak RSS "
            f"{figures['16 MiB peak RSS'] / payload:.2f}x the payload; never exited under load"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per load and round (2)")
    parser.add_argument("--rounds", type=int, default=3, help="medians over this many (3)")
    parser.add_argument(
        "--modules",
        type=lambda text: text.split(","),
        default=["go", "python"],
        help="go,python (the default), python-asyncio (on asyncio's own loop), decode-py "
        "(benchmarks/decode_echo.py: echo.py decoding and encoding each request, the floor of a "
        "Python module that reads its arguments), decode-loop (benchmarks/decode_loop.py: the "
        "same on uvloop, called when stdin is readable); the echo module of each one's language "
        "always runs",
    )
    parser.add_argument(
        "--through-thingsdb",
        action="store_true",
        help="call the modules through the real ThingsDB server instead (built from "
        "THINGSDB_SOURCE, as for the tests), next to a query that calls no module",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="with --through-thingsdb: count each module's system calls and context switches "
        "per call (strace -c -f, perf stat) in one more pass",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a Python project baked by another version of the template (its main.py's module "
        "must be named as the default's, `demo`), measured beside the others as python-baseline",
    )
    options = parser.parse_args()
    if options.baseline is not None:
        options.modules.append("python-baseline")
    with tempfile.TemporaryDirectory() as tmp:
        prepared = prepare(Path(tmp), options.baseline)
        if options.through_thingsdb:
            import through_thingsdb

            modules = [
                name.replace("-", "_")
                for name in options.modules
                if name in ("go", "python", "decode-py", "decode-loop", "python-baseline")
            ]
            measured = through_thingsdb.run(
                prepared, modules, Path(tmp), options.rounds, options.seconds, options.profile
            )
            through_thingsdb.print_table(measured)
            return 0
        names = [LIMITS[name] for name in options.modules] + options.modules
        modules = {name: prepared[name] for name in dict.fromkeys(names)}
        results = measure(modules, options.rounds, options.seconds)
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
