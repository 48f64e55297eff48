"""The generated integration/test_thingsdb.py, run as a generated repository's CI runs it:
against the real ThingsDB server, with the fake GitHub standing in for github.com, the module
installed from the commit under test with a token in the source."""

from __future__ import annotations

import sys

import pytest
import test_thingsdb
from conftest import SIGNATURE_SHAPES
from test_thingsdb import OWNER, fresh_venv, publish

pytestmark = pytest.mark.thingsdb

# The fixtures of the thingsdb tests: a fresh node per test, pointed at a fake GitHub.
server_binary = test_thingsdb.server_binary
github = test_thingsdb.github
start_node = test_thingsdb.start_node

ANSWER_SETS = [
    pytest.param({}, id="defaults"),
    pytest.param({"functions": SIGNATURE_SHAPES, "needs_config": "yes"}, id="shapes-config"),
]


@pytest.mark.parametrize("answers", ANSWER_SETS)
@pytest.mark.parametrize("language", ["python", "go"])
def test_generated_integration_tests_pass_in_thingsdb(
    language, answers, bake, start_node, github, tmp_path
):
    project = bake(language=language, **answers)
    repo = f"module-{language}-demo"
    commit = publish(github, project.path, repo, "0.1.0", token="ci-t0ken")
    python = fresh_venv(tmp_path / "venv") if language == "python" else sys.executable
    node = start_node(python)
    env = {
        "TIMOD_ADDRESS": f"127.0.0.1:{node.client_port}",
        "TIMOD_SOURCE": f"github.com/{OWNER}/{repo}:ci-t0ken@{commit}",
        "TIMOD_USER": "admin",
        "TIMOD_PASSWORD": "pass",
    }
    result = project.pytest("integration", "-p", "no:xdist", "-rs", env=env)
    assert "skipped" not in result.stdout, result.stdout
    # Every function of the tables was called, and the module was removed afterwards.
    called = {request.query.get("ref", [None])[0] for request in github.requests_for(OWNER, repo)}
    assert called == {commit}
    client = node.client()
    assert client.query("modules_info();", scope="@thingsdb") == []
