"""Requests still running when ThingsDB ends the module's input are answered, in both flavours.

The handler that waits is the benchmark's (benchmarks/run.py): one more function, `wait`, that
sleeps 10 ms the way an I/O-bound handler does, so the request is still running at the end of
input, not already answered.
"""

from __future__ import annotations

import shutil
import sys

import pytest
from thingsdb_peer import REQ, RES, ModuleProcess

from benchmarks.run import PYTHON_WAIT, go_wait


@pytest.mark.parametrize("language", ["python", "go"])
def test_request_running_at_end_of_input_is_answered_before_exit(bake, tmp_path, language):
    if language == "go" and shutil.which("go") is None:
        pytest.skip("needs the go command")
    project = bake(language=language, platforms="linux/amd64")
    if language == "python":
        (project.path / "waiting_main.py").write_text(PYTHON_WAIT)
        command = [sys.executable, "waiting_main.py"]
    else:
        (project.path / "waiting.go").write_text(go_wait(project.context["go_module_path"]))
        project.run("go", "build", "-o", str(tmp_path / "module"), ".")
        command = [str(tmp_path / "module")]
    with ModuleProcess(command, cwd=project.path) as module:
        module.send(1, REQ, {"function": "wait", "value": "late"})
        module.close_stdin()
        reply = module.read_package()
        assert (reply.pid, reply.type, reply.value) == (1, RES, "late"), module.stderr_text()
        assert module.wait() == 0
