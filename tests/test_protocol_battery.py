"""One protocol battery for both flavours.

The Python flavour ships its wire-protocol cases as tests/test_protocol.py, run by its own
suite (test_python_flavour.py). The Go module must behave the same on the wire, so the very
same file, rendered for the same answers, is run against the baked Go binary: start it as
ThingsDB does, and answer configuration, requests, errors and abuse exactly as Python does.
"""

from __future__ import annotations

import shutil

import pytest

pytestmark = pytest.mark.skipif(shutil.which("go") is None, reason="needs the go command")


@pytest.mark.parametrize("needs_config", ["yes", "no"], ids=["config", "no-config"])
def test_go_module_passes_the_python_flavours_protocol_battery(baked, bake, needs_config):
    answers = {"needs_config": needs_config, "functions": "echo, get_user"}
    cases = baked(language="python", **answers)
    project = bake(language="go", platforms="linux/amd64", **answers)
    project.run("go", "run", "./tools/build")
    (project.path / "tests").mkdir()
    for name in ("conftest.py", "test_protocol.py"):
        shutil.copy(cases.file(f"tests/{name}"), project.file(f"tests/{name}"))
    project.pytest("--rootdir", ".", "-o", "pythonpath=tools", "tests/test_protocol.py")
