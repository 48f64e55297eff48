"""Requests still running when ThingsDB ends the module's input are answered, in both flavours.

The handler that waits is the benchmark's (benchmarks/run.py): one more function, `wait`, that
sleeps 10 ms the way an I/O-bound handler does, so the request is still running at the end of
input, not already answered. The Python module is driven by tools/thingsdb_peer.py; the Go one
by a test of its own, written with the helpers of the project's protocol_test.go and run by
`go test`, as a Go project runs its tests.
"""

from __future__ import annotations

import shutil
import sys

import pytest
from thingsdb_peer import REQ, RES, ModuleProcess

from benchmarks.run import PYTHON_WAIT, go_wait

# The same case as a Go test in the baked project (package main, beside protocol_test.go).
GO_TEST = """package main

import (
\t"testing"

\t"MODULE_PATH/internal/peer"
)

func TestRequestRunningAtEndOfInputIsAnsweredBeforeExit(t *testing.T) {
\tm := startModule(t)
\tsendBytes(t, m, mustPack(t, 1, peer.TypeReq, map[string]any{"function": "wait", "value": "late"}))
\tif err := m.CloseStdin(); err != nil {
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


def test_python_request_running_at_end_of_input_is_answered_before_exit(bake):
    project = bake(language="python")
    (project.path / "waiting_main.py").write_text(PYTHON_WAIT)
    with ModuleProcess([sys.executable, "waiting_main.py"], cwd=project.path) as module:
        module.send(1, REQ, {"function": "wait", "value": "late"})
        module.close_stdin()
        reply = module.read_package()
        assert (reply.pid, reply.type, reply.value) == (1, RES, "late"), module.stderr_text()
        assert module.wait() == 0


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the go command")
def test_go_request_running_at_end_of_input_is_answered_before_exit(bake):
    project = bake(language="go", platforms="linux/amd64")
    module_path = project.context["go_module_path"]
    (project.path / "waiting.go").write_text(go_wait(module_path))
    (project.path / "waiting_test.go").write_text(GO_TEST.replace("MODULE_PATH", module_path))
    result = project.run(
        "go", "test", "-count=1", "-v", "-run", "^TestRequestRunningAtEndOfInput", "."
    )
    assert "--- PASS: TestRequestRunningAtEndOfInputIsAnsweredBeforeExit" in result.stdout
