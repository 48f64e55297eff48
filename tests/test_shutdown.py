"""Requests a module has read are answered before it exits, in both flavours: when ThingsDB ends
its input, and when ThingsDB stops it with SIGTERM.

The handler that waits is the benchmark's (benchmarks/run.py): one more function, `wait`, that
sleeps the way an I/O-bound handler does, so the request is still running when the input ends or
the signal comes, not already answered. The Python module is driven by tools/thingsdb_peer.py;
the Go one by a test of its own, written with the helpers of the project's protocol_test.go and
run by `go test`, as a Go project runs its tests.
"""

from __future__ import annotations

import shutil
import signal
import sys
import time

import pytest
from thingsdb_peer import REQ, RES, ModuleProcess

from benchmarks.run import go_wait, python_wait

# How long `wait` sleeps, and when the signal comes: the request has been read by then (a
# module that answered a call reads as soon as input arrives) and is still running.
WAIT_SECONDS = 0.3
SIGNAL_AFTER_SECONDS = 0.1
ENDINGS = ["end-of-input", "sigterm"]

# The same cases as a Go test in the baked project (package main, beside protocol_test.go).
GO_TEST = """package main

import (
\t"syscall"
\t"testing"
\t"time"

\t"MODULE_PATH/internal/peer"
)

func TestRequestRunningAtTheEndIsAnsweredBeforeExit(t *testing.T) {
\tm := startModule(t)
\tsendBytes(t, m, mustPack(t, 1, peer.TypeReq, map[string]any{"function": "wait", "value": "late"}))
\tif ENDING == "sigterm" {
\t\ttime.Sleep(SIGNAL_AFTER)
\t\tif err := m.Signal(syscall.SIGTERM); err != nil {
\t\t\tt.Fatal(err)
\t\t}
\t} else if err := m.CloseStdin(); err != nil {
\t\tt.Fatal(err)
\t}
\treply := readPackage(t, m, replyTimeout)
\tvalue, err := reply.Value()
\tif err != nil || reply.Pid != 1 || reply.Type != peer.TypeRes || value != "late" {
\t\tt.Fatalf("got %s, want RES pid 1: \\"late\\"\\nthe module's log:\\n%s", reply, m.Stderr())
\t}
\twantExitStatus(t, m, 0)
}
"""


@pytest.mark.parametrize("ending", ENDINGS)
def test_python_request_running_at_the_end_is_answered_before_exit(bake, ending):
    project = bake(language="python")
    (project.path / "waiting_main.py").write_text(python_wait(WAIT_SECONDS))
    with ModuleProcess([sys.executable, "waiting_main.py"], cwd=project.path) as module:
        # Started: its signal handling is in place.
        assert module.call({"function": "echo", "value": "up"}) == "up", module.stderr_text()
        module.send(1, REQ, {"function": "wait", "value": "late"})
        if ending == "sigterm":
            time.sleep(SIGNAL_AFTER_SECONDS)
            module.process.send_signal(signal.SIGTERM)
        else:
            module.close_stdin()
        reply = module.read_package()
        assert (reply.pid, reply.type, reply.value) == (1, RES, "late"), module.stderr_text()
        assert module.wait() == 0


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the go command")
@pytest.mark.parametrize("ending", ENDINGS)
def test_go_request_running_at_the_end_is_answered_before_exit(bake, ending):
    project = bake(language="go", platforms="linux/amd64")
    module_path = project.context["go_module_path"]
    (project.path / "waiting.go").write_text(go_wait(module_path, WAIT_SECONDS))
    test = (
        GO_TEST.replace("MODULE_PATH", module_path)
        .replace("ENDING", f'"{ending}"')
        .replace("SIGNAL_AFTER", f"{round(SIGNAL_AFTER_SECONDS * 1000)} * time.Millisecond")
    )
    (project.path / "waiting_test.go").write_text(test)
    result = project.run("go", "test", "-count=1", "-v", "-run", "^TestRequestRunningAtTheEnd", ".")
    assert "--- PASS: TestRequestRunningAtTheEndIsAnsweredBeforeExit" in result.stdout
