"""The benchmark through the real ThingsDB server (``benchmarks/run.py --through-thingsdb``).

The baked Python and Go modules and the echo module are installed with ``new_module`` from a
loopback fake of GitHub into one node built from THINGSDB_SOURCE (tests/thingsdb_server.py),
and called as a user's code calls them: a python-thingsdb client keeps N queries in flight in
the collection scope, ``NAME.echo(v)`` with a 100 B or 64 KiB string ``v``. Beside them, the
query ``v;`` calls no module: what the server costs on its own. For each: calls/s, p50/p99
latency and the CPU time each process (client, server, module) spent per call.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fake_github import FakeGitHub, release  # noqa: E402
from thingsdb_server import ADMIN_USER, Node, build_server, cache_root  # noqa: E402

OWNER = "bench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SIZES = ((100, "100 B"), (64 * 1024, "64 KiB"))
IN_FLIGHT = (1, 64)
# What each target runs: the module's exposed echo, or no module at all.
TARGETS = {
    "query": "v;",
    "echo": "echo.echo(v);",
    "python": "python.echo(v);",
    "go": "go.echo(v);",
}


@dataclass
class Calls:
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_us: dict[str, float]  # process -> CPU time per call


def cpu_seconds(pid: int) -> float:
    """User and system time of a process, all its threads (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def client_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def echo_repository(go_project: Path, echo_binary: Path, work: Path) -> Path:
    """The echo module as a repository: the Go module's manifest with echo as its main."""
    folder = work / "module-echo"
    (folder / "bin").mkdir(parents=True)
    shutil.copy2(echo_binary, folder / "bin" / "echo")
    manifest = json.loads((go_project / "module.json").read_text(encoding="utf-8"))
    manifest["main"] = {platform: "bin/echo" for platform in manifest["main"]}
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
            if time.monotonic() > deadline:
                raise RuntimeError(f"module {name} is {info.get('status')!r}")
            await asyncio.sleep(0.1)


async def drive(node: Node, targets: dict[str, str], rounds: int, seconds: float) -> dict:
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
    finally:
        client.close()
        await client.wait_closed()
    return {key: median_calls(runs) for key, runs in samples.items()}


def median_calls(runs: list[Calls]) -> Calls:
    return Calls(
        statistics.median(r.per_second for r in runs),
        statistics.median(r.p50_ms for r in runs),
        statistics.median(r.p99_ms for r in runs),
        {name: statistics.median(r.cpu_us[name] for r in runs) for name in runs[0].cpu_us},
    )


def run(prepared: dict, modules: list[str], work: Path, rounds: int, seconds: float) -> dict:
    """Install the prepared modules in a fresh node and measure every target."""
    server = build_server()
    python_dir, go_dir = prepared["python"][1], prepared["go"][1]
    repositories = {
        "python": python_dir,
        "go": go_dir,
        "echo": echo_repository(go_dir, work / "echo", work),
    }
    targets = {name: TARGETS[name] for name in ["query", "echo", *modules] if name in TARGETS}
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
            results = asyncio.run(drive(node, targets, rounds, seconds))
        finally:
            node.stop()
    return {"targets": list(targets), "results": results}


def print_table(measured: dict) -> None:
    targets, results = measured["targets"], measured["results"]

    def row(name: str, cells: list[str]) -> None:
        print(f"{name:32} " + " ".join(f"{cell:>22}" for cell in cells))

    print("\nThrough ThingsDB (a python-thingsdb client in @:stuff; ratios to `v;`, no module)")
    row("figure", [f"{t} (`{TARGETS[t]}`)" if t == "query" else t for t in targets])
    for _, size_label in SIZES:
        for in_flight in IN_FLIGHT:
            load = f"{size_label}, {in_flight} in flight"
            base = results[(load, "query")]
            row(
                f"{load} calls/s",
                [
                    f"{results[(load, t)].per_second:.0f}/s "
                    f"{results[(load, t)].per_second / base.per_second:4.2f}x"
                    for t in targets
                ],
            )
            row(
                f"{load} p50/p99",
                [
                    f"{results[(load, t)].p50_ms:.2f}/{results[(load, t)].p99_ms:.2f} ms"
                    for t in targets
                ],
            )
            for process in ("client", "server", "module"):
                row(
                    f"{load} CPU/call {process}",
                    [
                        f"{results[(load, t)].cpu_us[process]:.0f} µs"
                        if process in results[(load, t)].cpu_us
                        else "-"
                        for t in targets
                    ],
                )
