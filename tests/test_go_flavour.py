"""The Go flavour: baked with several platform sets and function lists, vetted, tested, and
cross-built; every binary is checked to be an executable for its platform, built bit for bit
the same each time. A Go project is a Go project: its wire battery (protocol_test.go), its
function examples (functions_test.go) and its try-out command (tools/peer) run with go alone.

The Go build cache is shared with the rest of the machine (no temporary GOCACHE), so after the
first run only the link steps are repeated.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from conftest import PROJECT_TEMPLATE_DIR, SIGNATURE_SHAPES

from hooks.template.go_code import go_name
from hooks.template.signatures import parse_functions, placeholder_examples

pytestmark = pytest.mark.skipif(shutil.which("go") is None, reason="needs the go command")

PLATFORMS = json.loads((PROJECT_TEMPLATE_DIR / "tools/build/platforms.json").read_text())
ALL_PLATFORMS = ", ".join(PLATFORMS)

# needs_config x functions x platforms; together the platform sets cover every platform.
GO_MATRIX = [
    pytest.param(
        {"needs_config": "no", "functions": "echo", "platforms": ALL_PLATFORMS},
        id="no-config-echo-all-platforms",
    ),
    pytest.param(
        {
            "needs_config": "yes",
            "functions": "echo, get_user, _private2",
            "platforms": "linux/amd64, linux/arm64, linux/armv7",
        },
        id="config-three-functions-linux",
    ),
    pytest.param(
        {
            "needs_config": "no",
            "functions": "a",
            "platforms": "darwin/arm64, freebsd/amd64, freebsd/arm, linux/386",
        },
        id="no-config-one-letter-function-bsd-darwin-386",
    ),
    pytest.param(
        {
            "needs_config": "yes",
            "functions": "Fetch,store_2 ,X, " + "f" * 255,
            "platforms": "linux/armv6, darwin/amd64, freebsd/386, freebsd/arm64",
        },
        id="config-mixed-case-and-long-functions-arm6-darwin-bsd",
    ),
    pytest.param(
        {"needs_config": "yes", "functions": SIGNATURE_SHAPES, "platforms": "linux/amd64"},
        id="config-every-signature-shape",
    ),
    pytest.param(
        {"needs_config": "no", "functions": SIGNATURE_SHAPES, "platforms": "darwin/arm64"},
        id="no-config-every-signature-shape",
    ),
]

# The Go project's own files in the template: the root's Go files, internal/ and the Go tools
# (tools/<name>/; tools/*.py are the Python project's).
GO_TEMPLATE_FILES = {
    path.relative_to(PROJECT_TEMPLATE_DIR).as_posix()
    for path in PROJECT_TEMPLATE_DIR.rglob("*")
    if path.is_file()
    and (
        path.parent == PROJECT_TEMPLATE_DIR
        and path.name.endswith((".go", "go.mod", "go.sum"))
        or path.relative_to(PROJECT_TEMPLATE_DIR).parts[0] == "internal"
        or path.relative_to(PROJECT_TEMPLATE_DIR).parts[0] == "tools"
        and path.suffix != ".py"
    )
}
# Every package of the template with tests: `go test ./...` must run each of them.
TESTED_PACKAGES = {
    "/" + path.parent.relative_to(PROJECT_TEMPLATE_DIR).as_posix()
    if path.parent != PROJECT_TEMPLATE_DIR
    else ""
    for path in PROJECT_TEMPLATE_DIR.rglob("*_test.go")
    if path.name != "integration_test.go"
}
# The wire battery of protocol_test.go, a port of the Python flavour's tests/test_protocol.py
# (its subtests are that file's parameters), plus the body too large to keep.
PROTOCOL_TESTS = {
    "TestUnknownFunctionIsALookupErrorNamingIt",
    "TestRequestWithoutFunctionIsALookupError",
    "TestRepliesCarryThePidOfTheirRequestAcrossTheWrap",
    "TestErrorMessageFitsWhatThingsDBTakes",
    "TestRequestThatIsNotAThingIsATypeError",
    "TestThingWithAKeyThatIsNotAStrIsATypeError",
    "TestThingWithAKeyThatIsNotAStrIsATypeError/int-key-in-a-value",
    "TestThingWithAKeyThatIsNotAStrIsATypeError/bin-key-in-a-value",
    "TestThingWithAKeyThatIsNotAStrIsATypeError/in-a-list",
    "TestThingWithAKeyThatIsNotAStrIsATypeError/in-a-property-no-function-takes",
    "TestThingWithAKeyThatIsNotAStrIsATypeError/of-the-request-itself",
    "TestTimestampTheSpecDoesNotDefineGetsBadData",
    "TestTimestampTheSpecDoesNotDefineGetsBadData/2-bytes",
    "TestTimestampTheSpecDoesNotDefineGetsBadData/2-bytes-in-an-ext-8",
    "TestTimestampTheSpecDoesNotDefineGetsBadData/8-bytes-of-too-many-nanoseconds",
    "TestTimestampTheSpecDoesNotDefineGetsBadData/12-bytes-of-too-many-nanoseconds",
    "TestTimestampTheSpecDoesNotDefineGetsBadData/after-a-key-that-is-not-a-str",
    "TestTimestampTheSpecDoesNotDefineGetsBadData/4-bytes-decoded",
    "TestReplyNestedDeeperThanMsgpackPacksIsSentWhole",
    "TestConfigurationGetsOneAnswerAndARefusalIsLogged",
    "TestConfigurationGetsOneAnswerAndARefusalIsLogged/a-thing",
    "TestConfigurationGetsOneAnswerAndARefusalIsLogged/a-string",
    "TestConfigurationGetsOneAnswerAndARefusalIsLogged/nil",
    "TestConfigurationThatIsNotMessagePackGetsBadData",
    "TestConfigurationWithAKeyThatIsNotAStrGetsATypeError",
    "TestHeaderSplitAcrossReadsIsAssembled",
    "TestBodySplitAcrossReadsIsAssembled",
    "TestLargeRequestIsReadWhole",
    "TestLargeRequestIsReadWhole/1-mib",
    "TestLargeRequestIsReadWhole/16-mib",
    "TestBodyLargerThanTheModuleKeepsGetsBadDataAndTheStreamStaysInStep",
    "Test1000RequestsInOneWriteAreEachAnswered",
    "TestUnknownPackageTypeGetsBadDataAndTheModuleKeepsServing",
    "TestBodyThatIsNotMessagePackGetsBadData",
    "TestEmptyBodyGetsBadData",
    "TestNestingDeeperThanTheDecoderTakesGetsBadData",
    "TestNestingDeeperThanTheDecoderTakesGetsBadData/1024-levels-decoded",
    "TestNestingDeeperThanTheDecoderTakesGetsBadData/1025-levels",
    "TestNestingDeeperThanTheDecoderTakesGetsBadData/16-million-levels",
    "TestWrongCheckByteGetsBadData",
    "TestHeaderAnnouncingMoreThanThingsDBEverSendsEndsTheModule",
    "TestHeaderAnnouncingMoreThanThingsDBEverSendsEndsTheModule/1-gib-and-1",
    "TestHeaderAnnouncingMoreThanThingsDBEverSendsEndsTheModule/4-gib",
    "TestSIGTERMExitsCleanly",
    "TestEndOfInputExitsCleanlyAfterAnsweringWhatCameBefore",
    "TestTruncatedHeaderThenEndOfInputExitsCleanly",
}
TEST_RESULT = re.compile(r"^\s*--- (PASS|FAIL|SKIP): (\S+)", re.MULTILINE)


def go_test_results(output: str) -> dict[str, str]:
    """`go test -v` output: each test and subtest that ran, and PASS, FAIL or SKIP."""
    return {name: result for result, name in TEST_RESULT.findall(output)}


def go_test(project, *args: str) -> subprocess.CompletedProcess:
    """`go test -count=1 -v` in the project, whatever its exit status."""
    return subprocess.run(
        ["go", "test", "-count=1", "-v", *args],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=900,
    )


def functions_tests(project) -> set[str]:
    """The top-level tests of the project's functions_test.go."""
    return set(re.findall(r"^func (Test\w+)\(", project.read("functions_test.go"), re.MULTILINE))


def go_answers(answers: dict) -> dict:
    return {"language": "go", **answers}


def platform_of_key(key: str) -> str:
    return next(platform for platform, spec in PLATFORMS.items() if key in spec["keys"])


# --- executable headers -----------------------------------------------------------------------

ELF_MAGIC = b"\x7fELF"
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB = 1
ET_EXEC = 2
ELFOSABI = {"linux": (0, 3), "freebsd": (9,)}  # Linux binaries say SYSV (0), some GNU/Linux (3)
# GOARCH -> (EI_CLASS, e_machine)
ELF_MACHINE = {
    "amd64": (ELFCLASS64, 62),  # EM_X86_64
    "386": (ELFCLASS32, 3),  # EM_386
    "arm64": (ELFCLASS64, 183),  # EM_AARCH64
    "arm": (ELFCLASS32, 40),  # EM_ARM: 32-bit ARM
}
MH_MAGIC_64 = 0xFEEDFACF
MH_EXECUTE = 2
MACHO_CPU = {"amd64": 0x01000007, "arm64": 0x0100000C}  # CPU_TYPE_X86_64, CPU_TYPE_ARM64


def executable_header(path: Path) -> dict:
    """The fields of an ELF or Mach-O header that tell its OS and architecture."""
    data = path.read_bytes()[:64]
    if data[:4] == ELF_MAGIC:
        e_type, e_machine = struct.unpack_from("<HH", data, 16)
        return {
            "format": "elf",
            "class": data[4],
            "data": data[5],
            "osabi": data[7],
            "type": e_type,
            "machine": e_machine,
        }
    magic, cputype, _subtype, filetype = struct.unpack_from("<IiiI", data, 0)
    if magic == MH_MAGIC_64:
        return {"format": "macho", "cputype": cputype, "filetype": filetype}
    return {"format": "unknown", "first bytes": data[:8].hex()}


def assert_executable_for(path: Path, spec: dict) -> None:
    header = executable_header(path)
    where = f"{path.name} ({spec['goos']}/{spec['goarch']}): {header}"
    if spec["goos"] == "darwin":
        assert header["format"] == "macho", where
        assert header["cputype"] == MACHO_CPU[spec["goarch"]], where
        assert header["filetype"] == MH_EXECUTE, where
    else:
        assert header["format"] == "elf", where
        assert header["data"] == ELFDATA2LSB, where
        assert header["type"] == ET_EXEC, where
        assert (header["class"], header["machine"]) == ELF_MACHINE[spec["goarch"]], where
        assert header["osabi"] in ELFOSABI[spec["goos"]], where
    assert os.access(path, os.X_OK), f"{path.name} is not executable"


def build_settings(project, path: Path) -> dict[str, str]:
    """The build settings Go records in a binary (`go version -m`): GOOS, GOARCH, GOARM, ..."""
    output = project.run("go", "version", "-m", str(path)).stdout
    settings = {}
    for line in output.splitlines():
        fields = line.strip().split("\t")
        if len(fields) == 2 and fields[0] == "build" and "=" in fields[1]:
            name, _, value = fields[1].partition("=")
            settings[name] = value
    return settings


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_build(project, *args: str) -> subprocess.CompletedProcess:
    """`go run ./tools/build` in the project, whatever its exit status."""
    return subprocess.run(
        ["go", "run", "./tools/build", *args],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=900,
    )


# --- the generated project ---------------------------------------------------------------------


@pytest.mark.parametrize("answers", GO_MATRIX)
class TestGoMatrix:
    def test_has_the_go_files_and_no_python(self, baked, answers):
        files = baked(**go_answers(answers)).files()
        assert files >= GO_TEMPLATE_FILES, sorted(GO_TEMPLATE_FILES - files)
        python = {f for f in files if f.endswith((".py", ".toml")) or "requirements" in f}
        assert not python, python
        assert not [f for f in files if f.startswith("tests/")]
        assert not [f for f in files if f.startswith("bin/")]

    def test_main_maps_every_key_of_the_chosen_platforms_to_a_flat_bin_file(self, baked, answers):
        project = baked(**go_answers(answers))
        module = project.context["module_name"]
        chosen = [p.strip() for p in answers["platforms"].split(",")]
        expected = {
            key: f"bin/{module}_{platform.replace('/', '_')}"
            for platform in chosen
            for key in PLATFORMS[platform]["keys"]
        }
        assert project.manifest["main"] == expected

    def test_each_function_has_a_handler_with_examples(self, baked, answers):
        project = baked(**go_answers(answers))
        handlers = project.read("handlers.go")
        for signature in parse_functions(answers["functions"]):
            name = go_name(signature.name)
            if signature.closure is not None:  # runs in ThingsDB: nothing in the Go code
                assert f"handle{name}(" not in handlers
                continue
            assert f"\tmodule.Func({json.dumps(signature.name)}, handle{name},\n" in handlers
            assert f"type {name}Args struct" in handlers
            assert (
                f"func handle{name}(ctx context.Context, conf Config, args {name}Args)" in handlers
            )
        # The tests are loops over the examples: nothing in them names a function.
        for test in ("handlers_test.go", "functions_test.go", "integration_test.go"):
            text = project.read(test)
            for signature in parse_functions(answers["functions"]):
                if signature.closure is None and not signature.bare:
                    assert json.dumps(signature.name) not in text, (test, signature.name)

    def test_go_vet_gofmt_and_the_generated_tests_pass(self, baked, answers):
        project = baked(**go_answers(answers))
        project.run("go", "vet", "./...")
        assert project.run("gofmt", "-l", ".").stdout == ""
        result = project.run("go", "test", "-count=1", "./...")
        assert "FAIL" not in result.stdout
        # Every package ran: the module, its machinery, the peer and the tools.
        ran = {
            line.split()[1].removeprefix(project.context["go_module_path"])
            for line in result.stdout.splitlines()
            if line.startswith("ok ")
        }
        assert ran >= TESTED_PACKAGES

    def test_wire_protocol_battery_passes_on_the_built_module(self, baked, answers):
        # protocol_test.go: the Python flavour's battery, ported, rendered for these answers.
        project = baked(**go_answers(answers))
        result = go_test(project, "-run", "^(" + "|".join(sorted(PROTOCOL_TESTS)) + ")$", ".")
        results = go_test_results(result.stdout)
        assert result.returncode == 0, result.stdout + result.stderr
        assert results == dict.fromkeys(PROTOCOL_TESTS, "PASS"), result.stdout

    def test_each_example_runs_directly_and_over_the_wire(self, baked, answers):
        # handlers_test.go and functions_test.go: every example of every function, passing.
        project = baked(**go_answers(answers))
        result = go_test(
            project, "-run", "^(TestEachExample.*|TestEveryFunctionHasAnExample)$", "."
        )
        assert result.returncode == 0, result.stdout + result.stderr
        results = go_test_results(result.stdout)
        direct = {n for n, o in results.items() if n.startswith("TestEachExampleGetsItsAnswer/")}
        wire = {n for n, o in results.items() if n.startswith("TestEachExampleOverTheWire/")}
        assert set(results.values()) == {"PASS"}, result.stdout
        expected_direct, expected_wire = set(), set()
        for signature in parse_functions(answers["functions"]):
            if signature.closure is not None:
                continue
            count = len(placeholder_examples(signature.as_dict(), float_answers=True))
            expected_wire.add(f"TestEachExampleOverTheWire/{signature.name}")
            for n in range(1, count + 1):
                expected_direct.add(f"TestEachExampleGetsItsAnswer/{signature.name}/{n}")
        assert direct == expected_direct
        assert wire == expected_wire


# Author code for the handler-replacement test, taken in turn: one fails, one answers
# something else, one waits on a timer (or the module's end).
AUTHOR_BODIES = [
    '\treturn nil, errors.New("the author\'s code failed")',
    '\treturn []any{"something", "else", int64(3)}, nil',
    "\tselect {\n\tcase <-time.After(20 * time.Millisecond):\n\tcase <-ctx.Done():\n"
    '\t\treturn nil, ctx.Err()\n\t}\n\treturn "waited", nil',
]
HANDLER = re.compile(
    r"^(func handle\w+\(ctx context\.Context, conf Config, args \w+\) \(any, error\) \{\n)"
    r"(.*?)\n\}$",
    re.MULTILINE | re.DOTALL,
)


@pytest.mark.slow
@pytest.mark.parametrize("needs_config", ["yes", "no"])
def test_machinery_checks_pass_when_every_handler_is_replaced(bake, needs_config):
    """The author replaces every handler body: the machinery's Go tests, main_test.go and
    protocol_test.go pass untouched; only the placeholder examples' answers fail, in the
    author's own tests (handlers_test.go and functions_test.go)."""
    project = bake(language="go", functions=SIGNATURE_SHAPES, needs_config=needs_config)
    path = project.file("handlers.go")
    source = path.read_text(encoding="utf-8")
    turn = iter(range(1000))
    source, count = HANDLER.subn(
        lambda m: m[1] + AUTHOR_BODIES[next(turn) % len(AUTHOR_BODIES)] + "\n}", source
    )
    assert count == len([s for s in parse_functions(SIGNATURE_SHAPES) if s.closure is None])
    source = source.replace(
        'import (\n\t"context"\n', 'import (\n\t"context"\n\t"errors"\n\t"time"\n', 1
    )
    path.write_text(source, encoding="utf-8")

    project.run("go", "vet", "./...")
    assert project.run("gofmt", "-l", ".").stdout == ""
    project.run("go", "test", "-count=1", "./internal/...", "./tools/...")
    project.run(
        "go", "test", "-count=1", "-run", "^(TestServerTakesTheFunctions|TestModuleJSON)", "."
    )
    result = go_test(project, ".")
    results = go_test_results(result.stdout)
    assert result.returncode == 1, result.stdout
    failed = {name for name, outcome in results.items() if outcome == "FAIL" and "/" not in name}
    assert {"TestEachExampleGetsItsAnswer", "TestEachExampleOverTheWire"} <= failed
    # ... and the configuration test that shows the prefix on the placeholder's answer.
    authors = functions_tests(project) | {n for n in results if n.startswith("TestEachExample")}
    assert failed <= authors, result.stdout
    # The placeholder answers fail; the argument checks, before the author's code, still pass.
    assert results["TestEachExampleGetsItsAnswer/add/1"] == "FAIL"
    assert results["TestEachExampleGetsItsAnswer/add/2"] == "PASS"  # type_err
    assert results["TestEachExampleGetsItsAnswer/add/3"] == "PASS"  # num_arguments_err
    assert {name: results[name] for name in PROTOCOL_TESTS} == dict.fromkeys(PROTOCOL_TESTS, "PASS")


def test_go_mod_needs_nothing_after_baking(baked):
    """go.mod and go.sum are complete: offline build and verify, and tidy changes nothing."""
    project = baked(language="go", needs_config="yes")
    project.run("go", "mod", "download")  # fills the module cache on a fresh machine
    offline = {"GOPROXY": "off", "GOFLAGS": "-mod=readonly"}
    project.run("go", "build", "./...", env=offline)
    project.run("go", "mod", "verify", env=offline)
    # tidy also looks at the dependencies' tests, which a build never downloads: the proxy is
    # allowed here, so a fresh machine checks this too.
    project.run("go", "mod", "tidy", "-diff", timeout=300)


def test_failing_example_says_function_example_call_both_sides_and_the_log(bake):
    project = bake(language="go", functions="add(a: int, b: int), echo")
    path = project.file("handlers.go")
    source = path.read_text(encoding="utf-8")
    source, count = re.subn(
        r"(func handleAdd\(.*?\{\n).*?\n\}",
        lambda m: m[1] + '\tlog.Print("adding")\n\treturn float64(args.A + args.B), nil\n}',
        source,
        flags=re.DOTALL,
    )
    assert count == 1
    path.write_text(
        source.replace('import (\n\t"context"\n', 'import (\n\t"context"\n\t"log"\n', 1)
    )
    result = go_test(project, "-run", "^TestEachExample", ".")
    assert result.returncode == 1
    lines = [line.strip() for line in result.stdout.splitlines()]
    failure = "add example 1, add(42, 42): want {a: 42, b: 42}; got 84.0"
    assert sum(line.endswith(failure) for line in lines) == 2, result.stdout  # direct, wire
    start = next(i for i, line in enumerate(lines) if "functions_test.go" in line)
    assert lines[start].endswith(failure)
    assert lines[start + 1] == "the module's log:", result.stdout
    assert lines[start + 2].startswith("[demo] ") and lines[start + 3].endswith(" adding")
    results = go_test_results(result.stdout)
    assert results["TestEachExampleOverTheWire/echo"] == "PASS"
    assert results["TestEachExampleGetsItsAnswer/add/2"] == "PASS"


def test_try_out_command_runs_the_current_sources(bake):
    # The try-out command builds the module as its sources are: no bin/ needed.
    project = bake(
        language="go", needs_config="yes", functions=SIGNATURE_SHAPES, platforms="linux/amd64"
    )

    def peer(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["go", "run", "./tools/peer", *args],
            cwd=project.path,
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert not project.file("bin").exists()
    assert peer("echo", '"hi"').stdout.strip() == '"hi"'
    assert json.loads(peer("add", "1", "1000").stdout) == {"a": 1, "b": 1000}
    mixed = peer("mixed", '{"a": {"b": 1}}', "[1.0]", "2", "true", 'b"\\x00\\xff"', "--verbose")
    assert mixed.returncode == 0, mixed.stderr
    assert json.loads(mixed.stdout.replace("b'\\x00\\xff'", '"bytes"')) == {
        "t": {"a": {}},  # deep 1: the thing in a thing arrives empty
        "l": [1.0],
        "f": 2.0,
        "b": True,
        "by": "bytes",
        "s": None,
        "x": None,
    }
    # Floats read apart from integers.
    assert re.search(r'"f": 2\.0[,}]', mixed.stdout) and '"l": [1.0]' in mixed.stdout
    assert "[demo]" in mixed.stderr and "started" in mixed.stderr
    configured = peer("--conf", '{"prefix": "> "}', "echo", '"hi"')
    assert configured.stdout.strip() == '"> hi"'
    extra = peer("echo", '"hi"', "[1, 2]")
    assert extra.stdout.strip() == '"hi"'
    assert "not sent to the module: [[1, 2]]" in extra.stderr
    refused = peer("--conf", '{"prefx": "> "}', "echo", '"hi"')
    assert refused.returncode == 1
    assert 'error: value_err (-60): configuration rejected: unknown configuration key "prefx"' in (
        refused.stderr
    )
    wrong = peer("add", '"1"', "2")
    assert wrong.returncode == 1 and wrong.stdout == ""
    assert wrong.stderr.startswith(
        "error: type_err (-61): function `add` expects argument `a` to be of type `int` "
    )
    # go run exits with 1 for any failure and names the command's own status last.
    assert wrong.stderr.endswith("\nexit status 1\n")
    not_json = peer("echo", "hi")
    assert not_json.returncode == 1 and not_json.stderr.endswith("\nexit status 2\n")
    assert "error: 'hi' is not JSON; a string is written in JSON's double quotes, like " in (
        not_json.stderr
    )


def test_go_mod_pins_go_timod_and_msgpack(baked):
    text = baked(language="go", go_module_path="example.com/acme/weather").read("go.mod")
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == "module example.com/acme/weather"
    assert "go 1.22" in lines
    assert "github.com/thingsdb/go-timod v0.0.3" in lines
    assert "github.com/vmihailenco/msgpack/v4 v4.3.13" in lines


def test_build_tool_and_peer_are_not_rendered_by_jinja(baked):
    # They hold no template syntax but the module's import path (of internal/valuetext and
    # internal/gobuild), so the baked copy is the template's file byte for byte, that rendered.
    project = baked(language="go")
    module_path = '"{{ cookiecutter.go_module_path }}/internal/'
    rendered = f'"{project.context["go_module_path"]}/internal/'
    names = ["tools/build/main.go", "tools/build/main_test.go", "tools/peer/main_test.go"]
    names += [f"internal/peer/{p.name}" for p in (PROJECT_TEMPLATE_DIR / "internal/peer").iterdir()]
    for name in names:
        template = (PROJECT_TEMPLATE_DIR / name).read_text("utf-8").replace(module_path, rendered)
        assert project.file(name).read_text("utf-8") == template


# --- cross-building ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("answers", GO_MATRIX)
def test_cross_build_makes_the_right_executables_bit_for_bit(bake, answers):
    project = bake(**go_answers(answers))
    main = project.manifest["main"]

    result = project.run("go", "run", "./tools/build")
    table = result.stdout

    files = sorted(set(main.values()))
    assert sorted(f"bin/{p.name}" for p in project.file("bin").iterdir()) == files
    for key, file in main.items():
        path = project.file(file)
        assert path.parent == project.file("bin"), f"{file} is not directly in bin/"
        spec = PLATFORMS[platform_of_key(key)]
        assert_executable_for(path, spec)
        settings = build_settings(project, path)
        assert (settings["GOOS"], settings["GOARCH"]) == (spec["goos"], spec["goarch"]), file
        assert settings.get("GOARM") == spec.get("goarm"), file
        assert settings["CGO_ENABLED"] == "0" and settings["-trimpath"] == "true", file
        assert f"{file} " in table and sha256(path) in table, table
    first = {file: sha256(project.file(file)) for file in files}

    # -check rebuilds everything elsewhere and compares byte for byte.
    check = project.run("go", "run", "./tools/build", "-check")
    assert "bin/ matches the sources" in check.stderr
    project.run("go", "run", "./tools/build")
    assert {file: sha256(project.file(file)) for file in files} == first


@pytest.mark.slow
def test_build_check_names_a_binary_that_does_not_match(bake):
    project = bake(language="go", platforms="linux/amd64, linux/arm64")
    project.run("go", "run", "./tools/build")
    changed = project.file("bin/demo_linux_arm64")
    changed.write_bytes(changed.read_bytes() + b"\0")
    project.file("bin/demo_linux_amd64").unlink()
    result = run_build(project, "-check")
    assert result.returncode == 1
    assert "differs:  bin/demo_linux_arm64" in result.stderr
    assert "missing:  bin/demo_linux_amd64" in result.stderr
    assert "2 of 2 binaries in bin/ do not match" in result.stderr


REFUSED_MAIN = [
    pytest.param(
        {"plan9/amd64": "bin/demo_plan9_amd64"},
        '"plan9/amd64" is not a known platform key',
        id="unknown-key",
    ),
    pytest.param({"linux/armhf": "bin/demo_linux_arm"}, '"linux/armhf"', id="unknown-arm-key"),
    pytest.param({"linux/amd64": "bin/linux/demo"}, "directly in bin/", id="nested-in-bin"),
    pytest.param({"linux/amd64": "demo_linux_amd64"}, "directly in bin/", id="outside-bin"),
    pytest.param(
        {"linux/amd64": "bin/demo", "darwin/arm64": "bin/demo"},
        "named for two platforms",
        id="one-file-two-platforms",
    ),
    pytest.param("bin/demo", '"main" must be a map', id="main-not-a-map"),
]


@pytest.mark.parametrize("main, message", REFUSED_MAIN)
def test_build_refuses_a_main_map_it_cannot_build(bake, main, message):
    project = bake(language="go", platforms="linux/amd64")
    manifest = project.manifest
    manifest["main"] = main if isinstance(main, str) else {**manifest["main"], **main}
    project.file("module.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    result = run_build(project)
    assert result.returncode == 1, result.stdout + result.stderr
    # `go run` itself adds "exit status 1"; the tool's own message is one line.
    lines = [line for line in result.stderr.splitlines() if line != "exit status 1"]
    assert len(lines) == 1 and lines[0].startswith("build: "), result.stderr
    assert message in lines[0]
    assert not project.file("bin").exists()
