"""The request thing the ThingsDB peers build, case by case as ThingsDB builds it.

Two peers: the Python flavour's tools/thingsdb_peer.py and the Go flavour's internal/peer with
its command tools/peer. Both build the same request bytes for every case here and refuse the
same bad arguments in one line; tests/test_thingsdb.py holds the Python one to the server.

ThingsDB (src/ti/mod/expose.c, manifest.c): each argmap name takes its positional argument or,
when the call leaves it out, the default of that name, else nil; "*" adds the properties of an
optional thing; without an argmap the one argument is a thing sent as it is; argmap names
`load` and `deep` set ThingsDB's options and are not sent; the defaults (the function's own,
then the root's) fill the keys still missing; arguments beyond the argmap stay with the future.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from typing import Any

import msgpack
import pytest
from conftest import PROJECT_TEMPLATE_DIR, SIGNATURE_SHAPES
from thingsdb_peer import build_request, extra_arguments, load_manifest, parse_argument


def manifest(spec: dict, root_defaults: dict | None = None) -> dict:
    return {"defaults": root_defaults or {}, "exposes": {"f": spec}}


ECHO = {"defaults": {"function": "echo"}, "argmap": ["value"]}

CASES = [
    pytest.param(manifest(ECHO), ["x"], {"function": "echo", "value": "x"}, id="argument"),
    pytest.param(manifest(ECHO), [], {"function": "echo", "value": None}, id="left-out-is-nil"),
    pytest.param(
        manifest({"defaults": {"function": "echo", "value": 5}, "argmap": ["value"]}),
        [],
        {"function": "echo", "value": 5},
        id="left-out-takes-its-default",
    ),
    pytest.param(
        manifest(ECHO, {"value": 7, "lang": "en"}),
        [],
        {"function": "echo", "value": 7, "lang": "en"},
        id="left-out-takes-a-root-default",
    ),
    pytest.param(
        manifest({"defaults": {"lang": "nl", "deep": 2}}, {"lang": "en", "load": True, "x": 1}),
        [],
        {"lang": "nl", "x": 1},
        id="own-defaults-before-root-ones-without-load-and-deep",
    ),
    pytest.param(
        manifest({"argmap": ["msg", "*"]}), ["hi", {"a": 1}], {"msg": "hi", "a": 1}, id="star"
    ),
    pytest.param(manifest({"argmap": ["msg", "*"]}), ["hi", None], {"msg": "hi"}, id="star-nil"),
    pytest.param(manifest({"argmap": ["msg", "*"]}), [], {"msg": None}, id="star-left-out"),
    pytest.param(
        manifest({"defaults": {"function": "echo"}, "argmap": ["*"]}),
        [{"function": "mine"}],
        {"function": "mine"},
        id="a-given-key-beats-a-default",
    ),
    pytest.param(
        manifest({"argmap": ["deep", "load", "msg"]}),
        [3, True, "x"],
        {"msg": "x"},
        id="load-and-deep-are-not-sent",
    ),
    pytest.param(
        manifest({"defaults": {"k": 1}}), [{"a": 1}], {"a": 1, "k": 1}, id="no-argmap-one-thing"
    ),
    pytest.param(manifest({"defaults": {"k": 1}}), [], {"k": 1}, id="no-argmap-no-argument"),
    pytest.param(manifest({"argmap": []}), ["extra"], {}, id="empty-argmap-sends-no-argument"),
]


@pytest.mark.parametrize("module, args, request_thing", CASES)
def test_request_is_built_as_thingsdb_builds_it(module, args, request_thing):
    assert build_request(module, "f", args) == request_thing


@pytest.mark.parametrize(
    "spec, args, extra",
    [
        (ECHO, ["x", "y", 3], ["y", 3]),
        (ECHO, ["x"], []),
        ({"argmap": []}, ["x"], ["x"]),
        ({}, [{"a": 1}, "y"], ["y"]),
    ],
)
def test_arguments_beyond_the_argmap_are_not_sent(spec, args, extra):
    assert extra_arguments(manifest(spec), "f", args) == extra


@pytest.mark.parametrize(
    "spec, args",
    [({}, ["not a thing"]), ({}, [None]), ({"argmap": ["*"]}, [[1, 2]])],
    ids=["no-argmap-text", "no-argmap-nil", "star-list"],
)
def test_a_thing_argument_that_is_not_a_thing_is_a_type_error(spec, args):
    with pytest.raises(TypeError):
        build_request(manifest(spec), "f", args)


# --- the Go peer builds the very same bytes ---

needs_go = pytest.mark.skipif(shutil.which("go") is None, reason="needs the go command")

# A program in the baked Go project (internal/ is importable only from inside it): for each
# job read from stdin, the request bytes internal/peer builds, as hex, or its error.
REQUEST_BYTES_GO = """package main

import (
\t"encoding/hex"
\t"encoding/json"
\t"fmt"
\t"os"

\t"MODULE_PATH/internal/peer"
)

type job struct {
\tDir      string   `json:"dir"`
\tFunction string   `json:"function"`
\tWords    []string `json:"words"`
}

func main() {
\tvar jobs []job
\tif err := json.NewDecoder(os.Stdin).Decode(&jobs); err != nil {
\t\tfmt.Fprintln(os.Stderr, err)
\t\tos.Exit(1)
\t}
\tfor _, j := range jobs {
\t\tfmt.Println(requestBytes(j))
\t}
}

func requestBytes(j job) string {
\tm, err := peer.LoadManifest(j.Dir)
\tif err != nil {
\t\treturn "error: " + err.Error()
\t}
\targs := make([]any, len(j.Words))
\tfor i, word := range j.Words {
\t\tif args[i], err = peer.ParseArgument(word); err != nil {
\t\t\treturn "error: " + err.Error()
\t\t}
\t}
\trequest, err := peer.BuildRequest(m, j.Function, args)
\tif err != nil {
\t\treturn "error: " + err.Error()
\t}
\tdata, err := peer.Marshal(request)
\tif err != nil {
\t\treturn "error: " + err.Error()
\t}
\treturn hex.EncodeToString(data)
}
"""


@pytest.fixture(scope="session")
def go_peer(baked, tmp_path_factory) -> dict[str, Any]:
    """A Go project of every signature shape, with the request-bytes program and the try-out
    command built."""
    if shutil.which("go") is None:
        pytest.skip("needs the go command")
    project = baked(language="go", needs_config="yes", functions=SIGNATURE_SHAPES)
    module_path = project.context["go_module_path"]
    source = tmp_path_factory.mktemp("request-bytes")
    # A copy: the baked project is shared, read-only.
    work = source / "project"
    shutil.copytree(project.path, work)
    (work / "tools" / "requestbytes").mkdir()
    (work / "tools" / "requestbytes" / "main.go").write_text(
        REQUEST_BYTES_GO.replace("MODULE_PATH", module_path)
    )
    binaries = {}
    for name in ("requestbytes", "peer"):
        binaries[name] = str(source / name)
        subprocess.run(
            ["go", "build", "-o", binaries[name], f"./tools/{name}"],
            cwd=work,
            check=True,
            capture_output=True,
            timeout=600,
        )
    return {"project": project.path, **binaries}


def words_of(args: list[Any]) -> list[str]:
    """Arguments as the command line takes them: JSON, bytes as a bytes literal."""
    return [repr(a) if isinstance(a, bytes) else json.dumps(a) for a in args]


def sorted_keys(value: Any) -> Any:
    """``value`` with the keys of every thing in sorted order, as the Go peer packs them."""
    if isinstance(value, dict):
        return {key: sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(item) for item in value]
    return value


def python_request_bytes(directory: str, function: str, words: list[str]) -> str:
    try:
        args = [parse_argument(word) for word in words]
        request = build_request(load_manifest(directory), function, args)
        return msgpack.packb(sorted_keys(request), use_bin_type=True).hex()
    except (LookupError, TypeError, ValueError) as exc:
        return f"error: {exc}"


def go_request_bytes(go_peer: dict[str, Any], jobs: list[dict[str, Any]]) -> list[str]:
    result = subprocess.run(
        [go_peer["requestbytes"]],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.splitlines()


INTEGERS = [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1, 2**64 - 1]
INTEGERS += [-1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, -(2**63)]
FLOATS = ["0.0", "-0.0", "1.5", "1.0", "1e300", "1e-300", "5e-324", "1e400", "-1e400", "2.5E3"]
STRINGS = ["", "x" * 31, "x" * 32, "x" * 255, "x" * 256, "x" * 65535, "x" * 65536]
STRINGS += ["é😀", '\n\t"\\\u0000', "\u2028"]
BYTES = [b"", b"\x00\xff", bytes(range(256)), b"x" * 256, b"'\"", b"\x00" * 65536]
NESTED = {"a": {"b": {"c": {"d": {"e": 1}}}}, "l": [{"x": {"y": 1}}], "n": None}

# Calls of SIGNATURE_SHAPES' functions, as words: every MessagePack form, defaults, `*`,
# deep cuts, arguments beyond the argmap, and the errors.
SHAPE_CALLS: list[tuple[str, list[str]]] = [
    *[("add", [json.dumps(n), json.dumps(n)]) for n in INTEGERS],
    *[("scale", [f]) for f in FLOATS],
    ("scale", ["2"]),
    ("scale", ["2", "3"]),
    *[("ping", [json.dumps(text)]) for text in STRINGS],
    ("ping", [json.dumps("é😀", ensure_ascii=False)]),
    ("ping", []),
    *[("echo", [repr(data)]) for data in BYTES],
    ("echo", ['b"\\101\\7\\q"']),
    ("echo", ["true"]),
    ("echo", ["null"]),
    ("echo", []),
    ("echo", [json.dumps(list(range(15)))]),
    ("echo", [json.dumps(list(range(16)))]),
    ("echo", [json.dumps(list(range(65536)))]),
    ("echo", [json.dumps({f"k{i}": i for i in range(15)})]),
    ("echo", [json.dumps({f"k{i}": i for i in range(16)})]),
    ("echo", [json.dumps({f"k{i}": i for i in range(65536)})]),
    ("echo", [json.dumps(NESTED)]),
    ("echo", ["[" * 100 + "]" * 100]),
    ("echo", ['"hi"', "[1, 2]", "3"]),
    ("nothing", []),
    ("nothing", ["1"]),
    ("get", ['"u"']),
    ("get", ['"u"', "null"]),
    ("get", ['"u"', json.dumps(NESTED)]),
    ("get", ['"u"', json.dumps({**NESTED, "deep": 0})]),
    ("get", ['"u"', json.dumps({**NESTED, "deep": 3})]),
    ("get", ['"u"', json.dumps({**NESTED, "deep": 128})]),
    ("get", ['"u"', json.dumps({"url": "mine", "function": "other"})]),
    ("get", ['"u"', "[1]"]),
    ("get", []),
    ("mixed", [json.dumps(NESTED)]),
    (
        "mixed",
        [json.dumps(NESTED), "[1.0, [2]]", "3", "false", 'b"raw"', '"s"', json.dumps(NESTED)],
    ),
    ("mixed", ["null", "null", "null", "null", "null", "null", "null"]),
    ("say_hello", []),
    ("nosuch", ["1"]),
]


@needs_go
# b"\q": Python keeps an unknown escape, and warns.
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")
def test_go_peer_builds_the_same_request_bytes_as_the_python_peer(go_peer, tmp_path):
    jobs = [
        {"dir": str(go_peer["project"]), "function": function, "words": words}
        for function, words in SHAPE_CALLS
    ]
    # The hand-made manifests of the cases above, each in a folder of its own.
    for index, case in enumerate(CASES):
        module, args, _request = case.values
        folder = tmp_path / str(index)
        folder.mkdir()
        (folder / "module.json").write_text(json.dumps(module))
        jobs.append({"dir": str(folder), "function": "f", "words": words_of(args)})
    go = go_request_bytes(go_peer, jobs)
    assert len(go) == len(jobs)
    differences = []
    for job, go_bytes in zip(jobs, go):
        python_bytes = python_request_bytes(job["dir"], job["function"], job["words"])
        if go_bytes != python_bytes:
            shown = [word[:40] for word in job["words"]]
            differences.append(
                f"{job['function']}{shown}: Go {go_bytes[:120]}, Python {python_bytes[:120]}"
            )
    assert not differences, "\n".join(differences)
    assert sum(line.startswith("error: ") for line in go) == 3  # get(.., [1]), closure, nosuch


# --- the command lines: a bad argument is one error line, exit status 2, no traceback ---

PEER = PROJECT_TEMPLATE_DIR / "tools" / "thingsdb_peer.py"
NOT_JSON = """'[1,2' is not JSON; a string is written in JSON's double quotes, like '"[1,2"'"""
BAD_ARGUMENTS = [
    pytest.param(["--timeout", "nan", "echo", "1"], "--timeout", id="timeout-nan"),
    pytest.param(["--timeout", "-1", "echo", "1"], "--timeout", id="timeout-negative"),
    pytest.param(["--conf", "{bad", "echo", "1"], "--conf", id="conf-not-json"),
    pytest.param(["--conf", "NaN", "echo", "1"], "--conf", id="conf-nan"),
    pytest.param(
        ["--conf", str(2**64), "echo", "1"],
        "configuration cannot be sent as MessagePack",
        id="conf-integer-beyond-64-bits",
    ),
    pytest.param(["echo", "[" * 5000], "nested too deeply", id="json-nested-too-deeply"),
    pytest.param(["echo", str(2**64)], "MessagePack", id="integer-beyond-64-bits"),
    pytest.param(["echo", '"\\ud800"'], "MessagePack", id="lone-surrogate"),
    pytest.param(["echo", "[1,2"], NOT_JSON, id="not-json"),
    pytest.param(["echo", "hello"], """like '"hello"'""", id="a-word-is-not-a-string"),
    pytest.param(["echo", "NaN"], """like '"NaN"'""", id="nan-is-not-json"),
    pytest.param(["echo", 'b"\\x4"'], 'is not a bytes literal like b"raw"', id="bad-bytes"),
    pytest.param(["nosuch", "1"], "no function 'nosuch'", id="unknown-function"),
    pytest.param(["say_hello"], "'say_hello' is a ThingsDB closure", id="closure"),
    pytest.param(["get", '"u"', "[1]"], "the `*` argument of `get` must be a thing", id="star"),
]


@pytest.mark.parametrize("args, named", BAD_ARGUMENTS)
def test_python_peer_refuses_a_bad_argument_in_one_line(baked, args, named):
    project = baked(language="python", functions=SIGNATURE_SHAPES)
    result = subprocess.run(
        [sys.executable, str(PEER), "--dir", str(project.path), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    # argparse's own errors come after its usage lines; the peer's are alone.
    last = result.stderr.strip().splitlines()[-1]
    assert "error:" in last and named in last, result.stderr


@needs_go
@pytest.mark.parametrize("args, named", BAD_ARGUMENTS)
def test_go_peer_refuses_a_bad_argument_in_one_line(go_peer, args, named):
    result = subprocess.run(
        [go_peer["peer"], "--dir", str(go_peer["project"]), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result
    assert "panic" not in result.stderr and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert named in result.stderr, result.stderr
