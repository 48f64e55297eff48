"""The benchmark through the real ThingsDB server (``benchmarks/run.py --through-thingsdb``).

The baked Python and Go modules and the two echo modules (benchmarks/echo for Go,
benchmarks/echo.py for Python) are installed with ``new_module`` from a loopback fake of
GitHub into one node built from THINGSDB_SOURCE (tests/thingsdb_server.py), and called as a
user's code calls them: a python-thingsdb client keeps N queries in flight in the collection
scope, ``NAME.echo(v)`` with a 100 B or 64 KiB string ``v``. Beside them, the query ``v;``
calls no module: what the server costs on its own. For each: calls/s, p50/p99 latency and the
CPU time each process (client, server, module) spent per call; each module's figures are
compared with the echo module of its own language, measured in the same rounds.

``--profile`` adds one more pass per module and load with the module's process watched:
``strace -c -f`` counts its system calls per call (strace slows the module down; the counts
are what matter), and ``perf stat`` its context switches (each one a thread that went to sleep
and was woken) and CPU time per call.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from cpu_time import cpu_seconds  # noqa: E402
from fake_github import FakeGitHub, release  # noqa: E402
from thingsdb_server import ADMIN_USER, Node, build_server, cache_root  # noqa: E402

OWNER = "bench"
SIZES = ((100, "100 B"), (64 * 1024, "64 KiB"))
IN_FLIGHT = (1, 64)
# What each target runs: a module's exposed echo, or no module at all.
TARGETS = {
    "query": "v;",
    "echo_go": "echo_go.echo(v);",
    "go": "go.echo(v);",
    "echo_py": "echo_py.echo(v);",
    "python": "python.echo(v);",
    "decode_py": "decode_py.echo(v);",
    "decode_loop": "decode_loop.echo(v);",
    "python_baseline": "python_baseline.echo(v);",
}
# The files of benchmarks/ each Python module of benchmarks/ imports, which ThingsDB must fetch.
BENCHMARK_IMPORTS = {
    "decode_echo.py": ("echo.py",),
    "decode_loop.py": ("decode_echo.py", "echo.py"),
}
# The limit each module is measured against: the echo module of its language.
LIMITS = {
    "go": "echo_go",
    "python": "echo_py",
    "decode_py": "echo_py",
    "decode_loop": "echo_py",
    "python_baseline": "echo_py",
}


@dataclass
class Calls:
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_us: dict[str, float]  # process -> CPU time per call
    profile: dict[str, float] = field(default_factory=dict)  # what --profile counted per call


def client_cpu_seconds() -> float:
    return cpu_seconds(os.getpid())


def echo_go_repository(go_project: Path, echo_binary: Path, work: Path) -> Path:
    """The Go echo module as a repository: the Go module's manifest with echo as its main."""
    folder = work / "module-echo_go"
    (folder / "bin").mkdir(parents=True)
    shutil.copy2(echo_binary, folder / "bin" / "echo")
    manifest = json.loads((go_project / "module.json").read_text(encoding="utf-8"))
    manifest["main"] = {platform: "bin/echo" for platform in manifest["main"]}
    (folder / "module.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


def echo_py_repository(
    python_project: Path, work: Path, name: str = "echo_py", main: str = "echo.py"
) -> Path:
    """The Python echo module (or another file of benchmarks/, ``main``) as a repository: the
    Python module's manifest with it as its main, the benchmark files it imports as includes,
    and no requirements (echo.py needs none; decode_echo.py needs msgpack, which the Python
    module's requirements install into the same interpreter)."""
    folder = work / f"module-{name}"
    folder.mkdir(parents=True)
    files = [main, *BENCHMARK_IMPORTS.get(main, ())]
    for file in files:
        shutil.copy2(ROOT / "benchmarks" / file, folder / file)
    manifest = json.loads((python_project / "module.json").read_text(encoding="utf-8"))
    manifest["main"] = main
    manifest["includes"] = files[1:]  # not the template's loop: none of them needs it
    manifest["requirements"] = []
    (folder / "module.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


async def closed_loop(client, code: str, value: str, in_flight: int, seconds: float) -> tuple:
    """Keep ``in_flight`` queries outstanding for ``seconds``: calls/s and latencies."""
    latencies: list[float] = []
    end = time.perf_counter() + seconds

    async def caller() -> None:
        while time.perf_counter() < end:
            sent = time.perf_counter()
            await client.query(code, scope="@:stuff", v=value)
            latencies.append(time.perf_counter() - sent)

    start = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(in_flight)))
    return len(latencies) / (time.perf_counter() - start), latencies


async def measure_target(
    client, code: str, value: str, in_flight: int, seconds: float, pids: dict[str, int]
) -> Calls:
    await client.query(code, scope="@:stuff", v=value)  # the first call starts nothing
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    client_before = client_cpu_seconds()
    per_second, latencies = await closed_loop(client, code, value, in_flight, seconds)
    calls = len(latencies)
    cpu = {name: (cpu_seconds(pid) - before[name]) / calls * 1e6 for name, pid in pids.items()}
    cpu["client"] = (client_cpu_seconds() - client_before) / calls * 1e6
    quantiles = statistics.quantiles(latencies, n=100)
    return Calls(per_second, quantiles[49] * 1000, quantiles[98] * 1000, cpu)


async def watched(client, code: str, value: str, in_flight: int, seconds: float, pid: int) -> dict:
    """Run the load once with the module's process under strace and under perf stat: system
    calls, context switches and CPU time, each per call."""
    profile: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for tool in ("strace", "perf"):
            if not shutil.which(tool):
                continue
            output = Path(tmp) / tool
            command = (
                ["strace", "-c", "-f", "-o", str(output), "-p", str(pid)]
                if tool == "strace"
                else [
                    "perf", "stat", "-x", ",", "-o", str(output), "-e",
                    "task-clock,context-switches,cpu-migrations", "-p", str(pid),
                ]
            )  # fmt: skip
            watcher = subprocess.Popen(command, stderr=subprocess.DEVNULL)
            await asyncio.sleep(0.3)  # attached
            _, latencies = await closed_loop(client, code, value, in_flight, seconds)
            watcher.send_signal(signal.SIGINT)
            watcher.wait(30)
            calls = len(latencies)
            text = output.read_text()
            if tool == "strace":
                for name, count in strace_counts(text).items():
                    profile[f"syscall {name}"] = count / calls
            else:
                for line in text.splitlines():
                    parts = line.split(",")
                    if len(parts) > 3 and parts[0].replace(".", "").isdigit():
                        event = parts[2].split(":")[0]
                        if event == "task-clock":  # in milliseconds
                            profile["CPU µs (perf)"] = float(parts[0]) * 1000 / calls
                        else:
                            profile[event] = float(parts[0]) / calls
    return profile


def strace_counts(text: str) -> dict[str, int]:
    """Calls per system call from ``strace -c`` output."""
    counts: dict[str, int] = {}
    for line in text.splitlines():
        match = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
        if match and match.group(2) != "total":
            counts[match.group(2)] = int(match.group(1))
    return counts


async def install_all(client, names: list[str], node: Node, timeout: float = 300) -> None:
    """new_module for each, one after the other: a binary written while another module's
    install forks (pip) can fail to start with "text file is busy"."""
    for name in names:
        source = f"github.com/{OWNER}/module-{name}@v0.1.0"
        await client.query(f"new_module('{name}', '{source}');", scope="@thingsdb")
        deadline = time.monotonic() + timeout
        while True:
            info = await client.query(f"module_info('{name}');", scope="@thingsdb")
            if info.get("status") == "running":
                break
            if time.monotonic() > deadline or "failed" in str(info.get("status")):
                raise RuntimeError(f"module {name} is {info.get('status')!r}")
            await asyncio.sleep(0.1)


async def drive(
    node: Node, targets: dict[str, str], rounds: int, seconds: float, profile: bool
) -> dict:
    from thingsdb.client import Client

    client = Client(auto_reconnect=False)
    await client.connect("127.0.0.1", node.client_port, timeout=10)
    await client.authenticate(*ADMIN_USER, timeout=10)
    try:
        modules = [name for name in targets if name != "query"]
        await install_all(client, modules, node)
        samples: dict[tuple[str, str], list[Calls]] = {}
        for _ in range(rounds):  # rounds take turns between the targets, medians are kept
            for size, size_label in SIZES:
                value = "x" * size
                for in_flight in IN_FLIGHT:
                    load = f"{size_label}, {in_flight} in flight"
                    for name in targets:
                        pids = {"server": node.process.pid}
                        if name != "query":
                            pids["module"] = node.module_pid(name)
                        calls = await measure_target(
                            client, TARGETS[name], value, in_flight, seconds, pids
                        )
                        samples.setdefault((load, name), []).append(calls)
        results = {key: median_calls(runs) for key, runs in samples.items()}
        if profile:
            for size, size_label in SIZES:
                for in_flight in IN_FLIGHT:
                    load = f"{size_label}, {in_flight} in flight"
                    for name in modules:
                        results[(load, name)].profile = await watched(
                            client,
                            TARGETS[name],
                            "x" * size,
                            in_flight,
                            seconds,
                            node.module_pid(name),
                        )
    finally:
        client.close()
        await client.wait_closed()
    return results


def median_calls(runs: list[Calls]) -> Calls:
    return Calls(
        statistics.median(r.per_second for r in runs),
        statistics.median(r.p50_ms for r in runs),
        statistics.median(r.p99_ms for r in runs),
        {name: statistics.median(r.cpu_us[name] for r in runs) for name in runs[0].cpu_us},
    )


def run(
    prepared: dict,
    modules: list[str],
    work: Path,
    rounds: int,
    seconds: float,
    profile: bool = False,
) -> dict:
    """Install the prepared modules in a fresh node and measure every target."""
    server = build_server()
    python_dir, go_dir = prepared["python"][1], prepared["go"][1]
    repositories = {
        "python": python_dir,
        "go": go_dir,
        "echo_go": echo_go_repository(go_dir, work / "echo", work),
        "echo_py": echo_py_repository(python_dir, work),
        "decode_py": echo_py_repository(python_dir, work, "decode_py", "decode_echo.py"),
        "decode_loop": echo_py_repository(python_dir, work, "decode_loop", "decode_loop.py"),
    }
    if "python-baseline" in prepared:
        repositories["python_baseline"] = prepared["python-baseline"][1]
    wanted = {"query", *modules, *(LIMITS[name] for name in modules)}
    targets = {name: code for name, code in TARGETS.items() if name in wanted}
    with FakeGitHub() as github:
        for name in targets:
            if name != "query":
                release(repositories[name], "0.1.0")
                github.serve(OWNER, f"module-{name}", repositories[name])
        node = Node(
            binary=server.binary,
            home=work / "node",
            python_interpreter=sys.executable,
            github_api=github.api,
            extra_env={"PIP_CACHE_DIR": str(cache_root() / "pip")},
            log_level="info",  # debug lines for every call would be measured too
        )
        node.start()
        try:
            results = asyncio.run(drive(node, targets, rounds, seconds, profile))
        finally:
            node.stop()
    return {"targets": list(targets), "results": results}


def ratio(value: float, base: float) -> str:
    return f"{value / base:4.2f}x" if base else "-"


def print_table(measured: dict) -> None:
    targets, results = measured["targets"], measured["results"]
    modules = [name for name in targets if name in LIMITS]

    def row(name: str, cells: list[str]) -> None:
        print(f"{name:28} " + " ".join(f"{cell:>17}" for cell in cells))

    print(
        "\nThrough ThingsDB (a python-thingsdb client in @:stuff). Each module beside the echo "
        "module of its language,\nthe limit; the module's ratios are to that echo "
        "(`v;` calls no module: the server alone)"
    )
    columns = list(dict.fromkeys(["query", *(n for m in modules for n in (LIMITS[m], m))]))
    row("figure", [f"`{TARGETS[t]}`" if t == "query" else t for t in columns])
    for _, size_label in SIZES:
        for in_flight in IN_FLIGHT:
            load = f"{size_label}, {in_flight} in flight"

            def cells(figure, text, columns=columns, load=load) -> list[str]:
                out = []
                for t in columns:
                    value = figure(results[(load, t)])
                    if value is None:
                        out.append("-")
                        continue
                    cell = text(value)
                    if t in LIMITS:
                        cell += " " + ratio(value, figure(results[(load, LIMITS[t])]))
                    out.append(cell)
                return out

            print(f"{load}:")
            row("  calls/s", cells(lambda r: r.per_second, lambda v: f"{v:.0f}/s"))
            row(
                "  module CPU/call",
                cells(lambda r: r.cpu_us.get("module"), lambda v: f"{v:.1f} µs"),
            )
            row(
                "  p50/p99 ms",
                [
                    f"{results[(load, t)].p50_ms:.2f}/{results[(load, t)].p99_ms:.2f}"
                    for t in columns
                ],
            )
            for process in ("server", "client"):
                row(
                    f"  {process} CPU/call",
                    [f"{results[(load, t)].cpu_us[process]:.1f} µs" for t in columns],
                )
    print_profile(results, columns)


def print_profile(results: dict, columns: list[str]) -> None:
    """What --profile counted, per call, for each module and load."""
    profiled = [key for key, calls in results.items() if calls.profile]
    if not profiled:
        return
    print("\nProfile of the module's process, per call (strace -c -f; perf stat)")
    modules = [t for t in columns if t != "query"]
    for _, size_label in SIZES:
        for in_flight in IN_FLIGHT:
            load = f"{size_label}, {in_flight} in flight"
            figures = sorted(
                {f for t in modules for f in results[(load, t)].profile},
                key=lambda f: (f.startswith("syscall"), f),
            )
            print(f"{load}:")
            for figure in figures:
                values = [results[(load, t)].profile.get(figure) for t in modules]
                if all(v is None or v < 0.005 for v in values):
                    continue
                print(
                    f"  {figure:26} "
                    + " ".join(
                        f"{t}={v:.2f}".rjust(16) if v is not None else f"{t}=-".rjust(16)
                        for t, v in zip(modules, values)
                    )
                )
