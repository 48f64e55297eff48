"""The module installed in a real ThingsDB node and called through it, as users call it.

Not part of the plain `pytest` run (that collects tests/ only): run it on purpose against a
node, e.g. the one `docker run` line in README.md starts (Python 3.10 or newer):

    TIMOD_ADDRESS=127.0.0.1:9200 TIMOD_SOURCE=github.com/OWNER/REPO@REF python -m pytest integration

Settings (environment variables):

- TIMOD_ADDRESS: the node's client port, host:port.
- TIMOD_SOURCE: where the node installs the module from, as new_module takes it:
  github.com/OWNER/REPO[:TOKEN]@REF (a tag, a branch or a commit that is pushed to GitHub;
  the token for a private repository, or to lift GitHub's limit on anonymous requests).
- TIMOD_USER, TIMOD_PASSWORD: a user that may change modules; default admin / pass, the
  user of a node started with --init.
- TIMOD_SCOPE: the collection the functions are called in; default @:stuff.

Each run installs the module under a name of its own (new_module) and removes it afterwards
(del_module), so the node may hold other modules, this one's released version included.
The calls and their answers are the examples next to each function in main.py: this file
calls every one. Closures in module.json's exposes run in ThingsDB and are not called.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from thingsdb.client import Client
from thingsdb.exceptions import AuthError, ThingsDBError

import main
from manifest import example_mismatch
from thingsdb_peer import ERROR_CODES, error_name

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = (
    "set TIMOD_ADDRESS=host:port and TIMOD_SOURCE=github.com/OWNER/REPO[:TOKEN]@REF "
    "(and TIMOD_USER, TIMOD_PASSWORD unless admin/pass) to run these tests in ThingsDB"
)
CONNECT_TIMEOUT = 60  # a node that is still starting
INSTALL_TIMEOUT = 300  # a Python module's first install runs pip
STATUS_TIMEOUT = 60
DEEP = 10  # how deep answers return: the examples' nested things arrive whole
THEN = ".then(|reply| {reply})"  # ThingsDB code: the module's answer is the query's
# While installing or starting these come and go; another status is an answer (an error).
PASSING_STATUSES = {"installing module...", "module not loaded", "stopping module...", "running"}
CONFIGURATION_ERROR = (
    "configuration error; use `set_module_conf(..)` to update the module configuration"
)
OPERATION_ERR = ERROR_CODES["operation_err"]
{%- if cookiecutter.needs_config %}

# The configuration new_module gives: one under which the examples in main.py hold (the
# module's default). Then one the module accepts, and one it refuses.
CONFIGURATION = {"prefix": ""}
GOOD_CONFIGURATION = {"prefix": "> "}
BAD_CONFIGURATION = {"prefix": 1}
{%- endif %}


def hidden_token(source: str) -> str:
    """The source as failure messages show it: without its token."""
    return re.sub(r":[^@/]+@", ":***@", source)


class ThingsDB:
    """python-thingsdb driven synchronously, with its own event loop."""

    def __init__(self, address: str, user: str, password: str) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"TIMOD_ADDRESS={address!r} is not host:port")
        self.loop = asyncio.new_event_loop()
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while True:
            self.client = Client(auto_reconnect=False, loop=self.loop)
            try:
                self.run(self.client.connect(host.strip("[]"), int(port), timeout=10))
                self.run(self.client.authenticate(user, password, timeout=10))
                return
            except AuthError:
                raise
            except Exception:
                self.close_client()
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def run(self, awaitable: Any, timeout: float = 120) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(awaitable, timeout))

    def query(self, code: str, scope: str, **variables: Any) -> Any:
        return self.run(self.client.query(code, scope=scope, **variables))

    def close_client(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
            self.run(self.client.wait_closed(), 10)

    def close(self) -> None:
        self.close_client()
        self.loop.close()


class Module:
    """The module as installed for this run: its name, and calls through ThingsDB."""

    def __init__(self, thingsdb: ThingsDB, name: str, source: str, scope: str) -> None:
        self.thingsdb, self.name, self.source, self.scope = thingsdb, name, source, scope

    def info(self) -> dict:
        return self.thingsdb.query("module_info(name);", "@thingsdb", name=self.name)

    def wait_status(self, wanted: str, timeout: float = STATUS_TIMEOUT, strict=True) -> dict:
        """module_info once the status is `wanted`; when strict, another final status fails."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.info()
            status = info.get("status")
            if status == wanted:
                return info
            if (strict and status not in PASSING_STATUSES) or time.monotonic() > deadline:
                pytest.fail(
                    f"module {self.name} from {hidden_token(self.source)} is {status!r}, "
                    f"not {wanted!r}"
                )
            time.sleep(0.2)

    def call(self, function: str, args: list) -> Any:
        names = [f"a{i}" for i in range(len(args))]
        code = f"return {self.name}.{function}({', '.join(names)}){THEN}, {DEEP};"
        return self.thingsdb.query(code, self.scope, **dict(zip(names, args)))

    def error_of(self, function: str, args: list) -> tuple[int, str]:
        with pytest.raises(ThingsDBError) as caught:
            self.call(function, args)
        return caught.value.error_code, str(caught.value)

    def probe(self) -> int | None:
        """The error code of a raw call naming no function, None if it answers."""
        try:
            self.thingsdb.query(self.name + "({})" + THEN + ";", self.scope)
        except ThingsDBError as error:
            return error.error_code
        return None

    def wait_configured(self, timeout: float = STATUS_TIMEOUT) -> None:
        """Until the module has taken its configuration, calls get operation_err."""
        deadline = time.monotonic() + timeout
        while self.probe() == OPERATION_ERR:
            if time.monotonic() > deadline:
                pytest.fail(f"module {self.name} still refuses calls (operation_err)")
            time.sleep(0.2)

    def set_conf(self, configuration: Any) -> None:
        self.thingsdb.query(
            "set_module_conf(name, conf);", "@thingsdb", name=self.name, conf=configuration
        )


@pytest.fixture(scope="session")
def thingsdb():
    address = os.environ.get("TIMOD_ADDRESS", "")
    if not (address and os.environ.get("TIMOD_SOURCE")):
        if os.environ.get("CI") == "true":
            pytest.fail(SETTINGS)
        pytest.skip(SETTINGS)
    user = os.environ.get("TIMOD_USER") or "admin"
    client = ThingsDB(address, user, os.environ.get("TIMOD_PASSWORD") or "pass")
    yield client
    client.close()


@pytest.fixture(scope="session")
def module(thingsdb):
    """The module installed from TIMOD_SOURCE under a name of its own, running."""
    source = os.environ["TIMOD_SOURCE"]
    scope = os.environ.get("TIMOD_SCOPE") or "@:stuff"
    installed = Module(thingsdb, f"test_{secrets.token_hex(6)}", source, scope)
{%- if cookiecutter.needs_config %}
    thingsdb.query(
        "new_module(name, source, conf);",
        "@thingsdb",
        name=installed.name,
        source=source,
        conf=CONFIGURATION,
    )
{%- else %}
    thingsdb.query("new_module(name, source);", "@thingsdb", name=installed.name, source=source)
{%- endif %}
    try:
        installed.wait_status("running", INSTALL_TIMEOUT)
        installed.wait_configured()
        yield installed
    finally:
        with contextlib.suppress(Exception):
            thingsdb.query("del_module(name);", "@thingsdb", name=installed.name)


def manifest() -> dict:
    return json.loads((ROOT / "module.json").read_text(encoding="utf-8"))


def test_the_installed_module_is_this_checkouts(module):
    info = module.info()
    local = manifest()
    assert info["version"] == local["version"], (
        f"{hidden_token(module.source)} is version {info['version']}, "
        f"module.json here says {local['version']}: point TIMOD_SOURCE at this commit"
    )
    assert set(info["exposes"]) == set(local["exposes"])


FUNCTIONS = main.module.describe()["functions"]
EXAMPLES = [
    pytest.param(f["name"], number, example, id=f"{f['name']}-{number}")
    for f in FUNCTIONS
    for number, example in enumerate(f["examples"], 1)
]


def test_every_exposed_function_has_an_example():
    functions = {name for name, f in manifest()["exposes"].items() if isinstance(f, dict)}
    called = {f["name"] for f in FUNCTIONS if f["examples"]}
    assert functions <= called, "give each function examples in main.py"


@pytest.mark.parametrize("name, number, example", EXAMPLES)
def test_example(module, name, number, example):
    try:
        got = {"answer": module.call(name, example["args"])}
    except ThingsDBError as error:
        got = {"error": error_name(error.error_code), "message": str(error)}
    problem = example_mismatch(name, number, example, got, ERROR_CODES)
    assert problem is None, problem


# --- configuration (last: these change the installed module's state, then restore it) ---
{%- if cookiecutter.needs_config %}


def test_configuration_is_accepted_and_applied(module):
    module.set_conf(GOOD_CONFIGURATION)
    module.wait_status("running")
    module.wait_configured()
{%- set bare = cookiecutter.functions | handled_signatures | selectattr("bare") | list %}
{%- if bare %}
    # Its placeholder answers with the prefix.
{{ "prefixed" | py_constant(bare[0].name, "    ") }}
    if prefixed in main.module.functions():
        assert module.call(prefixed, ["x"]) == GOOD_CONFIGURATION["prefix"] + "x"
{%- endif %}
    module.set_conf(CONFIGURATION)
    module.wait_configured()


def test_bad_configuration_is_refused(module):
    module.set_conf(BAD_CONFIGURATION)
    module.wait_status(CONFIGURATION_ERROR)
    assert module.probe() == OPERATION_ERR  # no requests until a good configuration
    module.set_conf(CONFIGURATION)
    module.wait_status("running", strict=False)
    module.wait_configured()
{%- else %}


def test_a_configuration_is_refused(module):
    module.set_conf({"prefix": "> "})
    module.wait_status(CONFIGURATION_ERROR)
    assert module.probe() == OPERATION_ERR  # no requests while it has a configuration error
    # Without the configuration, restart_module (in @node) starts it again.
    module.set_conf(None)
    module.thingsdb.query("restart_module(name);", "@node", name=module.name)
    module.wait_status("running", strict=False)
    module.wait_configured()
{%- endif %}
