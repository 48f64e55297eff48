"""The Linux binaries a Go project ships for other architectures, run through its wire tests.

The cross-build is checked elsewhere by the binaries' ELF headers; here each one runs: the
project's own `go test` (protocol_test.go and functions_test.go) drives the binary from bin/
instead of a build of its own (TIMOD_MODULE_COMMAND), under qemu's user-mode emulation where
the machine cannot run it: it starts, answers every case, and exits on SIGTERM and on the end
of its input as ThingsDB expects.
"""

from __future__ import annotations

import os
import platform
import shutil

import pytest

pytestmark = pytest.mark.slow

# What runs each binary on an x86_64 Linux machine. The kernel runs 386 binaries itself (and
# qemu-i386 breaks the Go runtime's signal stack: "morestack on gsignal"); ARMv6 needs a CPU
# of that generation, or qemu would accept ARMv7 instructions an ARMv6 board refuses.
RUNNERS = {
    "linux/arm64": ["qemu-aarch64-static"],
    "linux/armv7": ["qemu-arm-static"],
    "linux/armv6": ["qemu-arm-static", "-cpu", "arm1176"],
    "linux/386": [],
}


@pytest.fixture(scope="module")
def built(baked):
    if shutil.which("go") is None:
        pytest.skip("needs the go command")
    # These answers are this file's own: no other test shares the project it writes bin/ into.
    project = baked(language="go", platforms=", ".join(["linux/amd64", *RUNNERS]))
    if not (project.path / "bin").is_dir():
        project.run("go", "run", "./tools/build")
    return project


@pytest.mark.parametrize("target", RUNNERS)
def test_each_linux_binary_answers_the_wire_tests_on_its_architecture(built, target):
    if platform.machine() != "x86_64" or platform.system() != "Linux":
        pytest.skip(f"the runners here are for x86_64 Linux, not {platform.machine()}")
    runner = RUNNERS[target]
    if runner and shutil.which(runner[0]) is None:
        reason = f"{runner[0]} is not installed (Debian: apt-get install qemu-user-static)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    binary = f"bin/{built.context['module_name']}_{target.replace('/', '_')}"
    assert (built.path / binary).is_file()
    command = " ".join([*runner, binary])
    result = built.run("go", "test", "-count=1", "-v", ".", env={"TIMOD_MODULE_COMMAND": command})
    assert "--- FAIL" not in result.stdout
    started = {"TestLargeRequestIsReadWhole", "Test1000RequestsInOneWriteAreEachAnswered"}
    exited = {"TestSIGTERMExitsCleanly", "TestEndOfInputExitsCleanlyAfterAnsweringWhatCameBefore"}
    for test in sorted(started | exited):
        assert f"--- PASS: {test} " in result.stdout, result.stdout[-3000:]
