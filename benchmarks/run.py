"""Benchmark generated modules against the least a module can do.

    python benchmarks/run.py [--seconds 2]

Bakes a Python and a Go module with this template, builds a minimal echo module
(benchmarks/echo: frames packages and sends each body back undecoded) as the limit, and drives
all three over stdin/stdout exactly as ThingsDB does, with the template's ThingsDB peer. It
prints requests/s and p50/p99 latency at 1 and 64 requests in flight with 100 B and 64 KiB
bodies, a handler that waits 10 ms at 64 in flight (6400/s is ideal), one 16 MiB request (time
and the module's peak RSS) and the idle RSS; every figure with its ratio to the limit from the
same run. Needs what the test suite needs (tests/requirements.txt) and Go.
"""

from __future__ import annotations

import argparse
import contextlib
import os
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
sys.dont_write_bytecode = True  # nothing may land in the template's tools/ folder

from thingsdb_peer import REQ, RES, ModuleProcess, pack  # noqa: E402

MiB = 1024 * 1024
WAIT_SECONDS = 0.010

# Added to the baked Python module: a function that waits like an I/O-bound handler does.
PYTHON_WAIT = """
import asyncio
from typing import Any

import main


@main.module.function
async def wait(value: Any) -> Any:
    await asyncio.sleep(WAIT_SECONDS)
    return value


main.module.run()
""".replace("WAIT_SECONDS", repr(WAIT_SECONDS))

# The same for the Go module, as one more file in package main (MODULE_PATH: its go.mod's).
GO_WAIT = """package main

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
""".replace("WAIT_MS", str(int(WAIT_SECONDS * 1000)))


def go_wait(module_path: str) -> str:
    """GO_WAIT for the baked module whose go.mod names ``module_path``."""
    return GO_WAIT.replace("MODULE_PATH", module_path)


@dataclass
class Load:
    per_second: float
    p50_ms: float
    p99_ms: float


def request_body(function: str, size: int) -> bytes:
    """A packed request whose body is about ``size`` bytes."""
    value = "x" * max(0, size - 30)
    return msgpack.packb({"function": function, "value": value}, use_bin_type=True)


def closed_loop(module: ModuleProcess, body: bytes, in_flight: int, seconds: float) -> Load:
    """Keep ``in_flight`` requests outstanding for ``seconds``; one new request per reply."""
    sent: dict[int, float] = {}
    latencies: list[float] = []

    def send() -> None:
        pid = module.new_pid()
        sent[pid] = time.perf_counter()
        module.send_raw(pack(pid, REQ, body=body))

    for _ in range(in_flight):
        send()
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        reply = module.read_package(timeout=30)
        if reply.type != RES:
            raise RuntimeError(f"error reply during the benchmark: {reply.value}")
        latencies.append(time.perf_counter() - sent.pop(reply.pid))
        send()
    elapsed = time.perf_counter() - start
    module.read_packages(len(sent), timeout=30)
    quantiles = statistics.quantiles(latencies, n=100)
    return Load(len(latencies) / elapsed, quantiles[49] * 1000, quantiles[98] * 1000)


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


def prepare(work: Path) -> dict[str, tuple[list[str], Path]]:
    """Command and working directory of each module under test."""
    python_dir = bake("python", work)
    (python_dir / "bench_main.py").write_text(PYTHON_WAIT)
    # The same module where uvloop is not installed: a None entry makes `import uvloop` fail.
    (python_dir / "bench_asyncio.py").write_text(
        'import sys\n\nsys.modules["uvloop"] = None\n' + PYTHON_WAIT
    )
    go_dir = bake("go", work)
    module_path = (go_dir / "go.mod").read_text().split()[1]
    (go_dir / "bench_wait.go").write_text(go_wait(module_path))
    go_build(go_dir, work / "go_module", ".")
    go_build(ROOT / "benchmarks" / "echo", work / "echo", "main.go")
    return {
        "echo": ([str(work / "echo")], work),
        "python": ([sys.executable, "bench_main.py"], python_dir),
        "python-asyncio": ([sys.executable, "bench_asyncio.py"], python_dir),
        "go": ([str(work / "go_module")], go_dir),
    }


LOADS = [
    (f"{label}, {in_flight} in flight", function, size, in_flight)
    for function, size, label in (("echo", 100, "100 B"), ("echo", 64 * 1024, "64 KiB"))
    for in_flight in (1, 64)
] + [("wait 10 ms, 64 in flight", "wait", 100, 64)]


def measure_load(command: list[str], cwd: Path, load: tuple, seconds: float) -> Load:
    _, function, size, in_flight = load
    body = request_body(function, size)
    with ModuleProcess(command, cwd=cwd) as module:
        # Measured from the first reply on: a Python module spends its first 0.1-0.2 s starting.
        module.send_raw(pack(module.new_pid(), REQ, body=body))
        module.read_package(timeout=30)
        result = closed_loop(module, body, in_flight, seconds)
        if not module.alive():
            raise RuntimeError(f"{command[0]} exited under load: {module.stderr_text()}")
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
                if name == "echo" and load[1] == "wait":
                    continue  # echo has no handler that waits; the limit is 6400/s
                result = measure_load(command, cwd, load, seconds)
                samples[name].setdefault(load[0], []).append(result)
    results: dict[str, dict[str, object]] = {}
    for name, (command, cwd) in modules.items():
        results[name] = {
            key: Load(
                statistics.median(s.per_second for s in runs),
                statistics.median(s.p50_ms for s in runs),
                statistics.median(s.p99_ms for s in runs),
            )
            for key, runs in samples[name].items()
        }
        results[name].update(measure_memory(command, cwd))
    return results


def print_table(results: dict[str, dict[str, object]]) -> None:
    limit = results["echo"]
    modules = [name for name in ("python", "python-asyncio", "go") if name in results]
    ideal_wait = 64 / WAIT_SECONDS

    def row(name: str, cells: list[str]) -> None:
        print(f"{name:34} {cells[0]:>16} " + " ".join(f"{cell:>24}" for cell in cells[1:]))

    row("figure", ["echo (limit)", *modules])
    for key, function, _, _ in LOADS:
        if function == "wait":
            base, limit_cells = ideal_wait, [f"{ideal_wait:.0f}/s ideal", "-"]
        else:
            value = limit[key]
            base = value.per_second
            limit_cells = [f"{base:.0f}/s", f"{value.p50_ms:.2f}/{value.p99_ms:.2f} ms"]
        row(
            f"{key} req/s",
            [limit_cells[0]]
            + [
                f"{results[m][key].per_second:.0f}/s {results[m][key].per_second / base:5.2f}x"
                for m in modules
            ],
        )
        row(
            f"{key} p50/p99",
            [limit_cells[1]]
            + [f"{results[m][key].p50_ms:.2f}/{results[m][key].p99_ms:.2f} ms" for m in modules],
        )
    for key in ("16 MiB request", "16 MiB peak RSS", "idle RSS"):
        unit = " ms" if key.endswith("request") else " KiB"
        base = float(limit[key])
        row(
            key,
            [f"{limit[key]:.0f}{unit}"]
            + [
                f"{results[m][key]:.0f}{unit} {float(results[m][key]) / base:5.2f}x"
                for m in modules
            ],
        )
    print(f"(wait 10 ms: the ratio is to the ideal {ideal_wait:.0f}/s, not to echo)")
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
        type=lambda text: ["echo", *text.split(",")],
        default=["echo", "python", "go"],
        help="python,go (the default), python-asyncio (on asyncio's own loop); echo always runs",
    )
    parser.add_argument(
        "--through-thingsdb",
        action="store_true",
        help="call the modules through the real ThingsDB server instead (built from "
        "THINGSDB_SOURCE, as for the tests), next to a query that calls no module",
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        prepared = prepare(Path(tmp))
        if options.through_thingsdb:
            import through_thingsdb

            modules = [name for name in options.modules if name in ("python", "go")]
            measured = through_thingsdb.run(
                prepared, modules, Path(tmp), options.rounds, options.seconds
            )
            through_thingsdb.print_table(measured)
            return 0
        modules = {name: prepared[name] for name in options.modules}
        results = measure(modules, options.rounds, options.seconds)
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
