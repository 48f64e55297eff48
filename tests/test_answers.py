"""The answers: their rules (hooks/template/rules.py) and what users see when an answer is wrong."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from conftest import DEFAULT_ANSWERS, TEMPLATE_DIR

from hooks.template import facts, go_code, markdown, module_json, rules, signatures

VALID = {
    key: value
    for key, value in DEFAULT_ANSWERS.items()
    if not key.startswith("_") and "{{" not in str(value)
} | {
    "repo_name": "module-python-demo",
    "go_module_path": "github.com/your-github-name/module-go-demo",
}


def problems(**changes) -> list[str]:
    return rules.validate_answers({**VALID, **changes})


# --- the rules module on its own ---


def test_defaults_are_valid_for_both_languages():
    assert problems() == []
    assert problems(language="go") == []


def test_every_question_has_a_rule_and_a_prompt():
    questions = {key for key in DEFAULT_ANSWERS if not key.startswith("_")}
    assert questions == set(rules.RULES) | set(rules.GO_RULES)
    assert questions == set(DEFAULT_ANSWERS["__prompts__"])
    assert {row["rule"] for row in rules.ANSWERS if row["kind"] == "text"} <= set(rules.RULE_CHECKS)


def test_cookiecutter_json_copier_yml_and_readme_table_are_what_the_answer_table_gives():
    subprocess.run(
        [sys.executable, "hooks/write_declared_files.py", "--check"], cwd=TEMPLATE_DIR, check=True
    )


def test_a_new_answer_is_one_row_of_the_answer_table(tmp_path):
    """A row added to hooks/answer_table.json, and the writer run: cookiecutter asks it, checks
    it with its rule, copier asks it, the README's table shows it."""
    copy = tmp_path / "template"
    shutil.copytree(
        TEMPLATE_DIR, copy, ignore=shutil.ignore_patterns(".git", "__pycache__", ".*_cache")
    )
    table_file = copy / "hooks" / "answer_table.json"
    table = json.loads(table_file.read_text(encoding="utf-8"))
    row = {
        "name": "homepage",
        "default": "https://example.com",
        "prompt": "The module's home page",
        "kind": "text",
        "rule": "not_blank",
        "language": "both",
        "readme": "not empty; a link in the README",
    }
    table["answers"].insert(3, row)
    table_file.write_text(json.dumps(table, indent=2), encoding="utf-8")
    subprocess.run([sys.executable, "hooks/write_declared_files.py"], cwd=copy, check=True)
    declaration = json.loads((copy / "cookiecutter.json").read_text(encoding="utf-8"))
    assert list(declaration)[3] == "homepage"
    assert declaration["homepage"] == row["default"]
    assert declaration["__prompts__"]["homepage"] == row["prompt"]
    assert "homepage:\n" in (copy / "copier.yml").read_text(encoding="utf-8")
    readme = (copy / "README.md").read_text(encoding="utf-8")
    assert "| `homepage` | `https://example.com` | not empty; a link in the README |" in readme

    def bake(value: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(tmp_path / "out")]
            + [str(copy), f"homepage={value}"],
            capture_output=True,
            text=True,
            timeout=120,
        )

    refused = bake("  ")
    assert refused.returncode == 1
    assert "homepage='  ': must not be empty" in refused.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert bake("https://example.org").returncode == 0


def test_all_problems_are_reported_at_once():
    found = problems(module_name="1x", version="v1", author_email="nobody")
    assert [line.split("=")[0] for line in found] == ["module_name", "author_email", "version"]


def test_go_answers_are_checked_only_for_go():
    assert problems(platforms="plan9/mips") == []
    assert problems(language="go", platforms="plan9/mips") != []


def test_needs_config_is_normalised_to_a_bool():
    for word, expected in [("yes", True), ("Y", True), ("true", True), ("no", False), ("0", False)]:
        given = {**VALID, "needs_config": word}
        rules.check_answers(given)
        assert given["needs_config"] is expected


def test_function_names_split_on_commas_and_drop_blanks():
    assert signatures.function_names(" echo ,get_user,, _p ") == ["echo", "get_user", "_p"]


def test_function_names_of_signatures_keep_commas_inside_them():
    text = 'get(url: str, *), add(a: int, b: int = 2), p(m: str = "a, b"), hi = |x, y| x.get(y)'
    assert signatures.function_names(text) == ["get", "add", "p", "hi"]


@pytest.mark.parametrize(
    "text, exposed",
    [
        ("echo", {"doc": "echo(value: any)", "argmap": ["value"], "defaults": {}}),
        ("nothing()", {"doc": "nothing()", "argmap": [], "defaults": {}}),
        ("get(url: str, *)", {"doc": "get(url: str, *)", "argmap": ["url", "*"], "defaults": {}}),
        ("add(a: int, b)", {"doc": "add(a: int, b: any)", "argmap": ["a", "b"], "defaults": {}}),
        (
            'ping( message : str = "ping, pong" )',
            {
                "doc": 'ping(message: str = "ping, pong")',
                "argmap": ["message"],
                "defaults": {"message": "ping, pong"},
            },
        ),
        (
            'f(t: thing = {"a": [1, 2]}, n: float = 1, x: int = null, *)',
            {
                "doc": 'f(t: thing = {"a": [1, 2]}, n: float = 1, x: int = null, *)',
                "argmap": ["t", "n", "x", "*"],
                "defaults": {"t": {"a": [1, 2]}, "n": 1, "x": None},
            },
        ),
    ],
    ids=["bare", "no-arguments", "options", "untyped", "string-default", "defaults-and-options"],
)
def test_signature_is_rendered_into_module_json(text, exposed):
    name = signatures.function_names(text)[0]
    rendered = module_json.render_exposed(signatures.parse_signature(text))
    exposed["defaults"] = {"function": name, **exposed["defaults"]}
    assert rendered == exposed


def test_closure_is_exposed_as_given():
    signature = signatures.parse_signature(" hi = |this, name| this.greet(name) ")
    assert module_json.render_exposed(signature) == "|this, name| this.greet(name)"


def test_every_problem_of_every_signature_is_reported_at_once():
    found = problems(functions="a(x: nope), b(function), c(*, y), d(q: int = 1.5)")
    assert [line.split("=")[1].split(":")[0] for line in found] == [
        "'a(x",
        "'b(function)'",
        "'c(*, y)'",
        "'d(q",
    ]


@pytest.mark.parametrize(
    "name, go", [("echo", "Echo"), ("get_user", "GetUser"), ("_p2", "P2"), ("a__b", "AB")]
)
def test_go_name_is_an_exported_identifier(name, go):
    assert go_code.go_name(name) == go


def test_platform_map_lists_the_keys_thingsdb_computes():
    main = module_json.render_platform_map("demo", ["linux/arm64", "linux/armv7", "darwin/arm64"])
    assert main == {
        "linux/aarch64": "bin/demo_linux_arm64",
        "linux/arm64": "bin/demo_linux_arm64",
        "linux/armv7l": "bin/demo_linux_armv7",
        "linux/armv8l": "bin/demo_linux_armv7",
        "darwin/arm64": "bin/demo_darwin_arm64",
    }


def test_every_default_platform_is_in_the_table():
    table = facts.load_platforms()
    assert rules.split_list(DEFAULT_ANSWERS["platforms"]) == list(table)


@pytest.mark.parametrize(
    "text",
    ["plain", 'quote " and \\ backslash', "new\nline\ttab", "héllo ☃ 𝄞", "{{ x }} ${{ y }}"],
)
def test_string_literal_round_trips_through_python(text):
    assert eval(go_code.string_literal(text)) == text  # noqa: S307 (the literal under test)


def test_md_text_escapes_markdown():
    assert markdown.md_text("a *b* [c](d) <e>\nf") == r"a \*b\* \[c\]\(d\) \<e\> f"
    # An HTML entity is shown as typed, not as the character it names.
    assert markdown.md_text("Tom &amp; Jerry") == r"Tom \&amp; Jerry"


# --- what a user sees: the real command line ---

# (answer changes, the answer the message must name, a word of the rule it must state)
BAD_ANSWERS = [
    ({"module_name": "9lives"}, "module_name", "starts with a letter"),
    ({"module_name": "my-module"}, "module_name", "letters"),
    ({"module_name": "with space"}, "module_name", "letters"),
    ({"module_name": "x" * 256}, "module_name", "255"),
    ({"module_name": "dé"}, "module_name", "letters"),
    ({"module_name": "nil"}, "module_name", "a value in ThingsDB"),
    ({"module_name": "true"}, "module_name", "a value in ThingsDB"),
    (
        {"language": "go", "module_name": "m" * 242, "repo_name": "long"},
        "module_name",
        "use at most 241 characters",
    ),
    ({"repo_name": "repo."}, "repo_name", "not ending in ."),
    ({"language": "rust"}, "language", "python, go"),
    ({"language": "Python"}, "language", "python, go"),
    ({"author_name": "  "}, "author_name", "empty"),
    ({"author_email": "nobody"}, "author_email", "name@example.com"),
    ({"author_email": "a@b"}, "author_email", "name@example.com"),
    ({"github_owner": "-owner"}, "github_owner", "GitHub owner"),
    ({"github_owner": "own er"}, "github_owner", "GitHub owner"),
    ({"github_owner": "o" * 40}, "github_owner", "39"),
    ({"repo_name": "my repo"}, "repo_name", "repository name"),
    ({"repo_name": ".."}, "repo_name", "repository name"),
    ({"repo_name": "module.git"}, "repo_name", ".git"),
    ({"version": "v0.1.0"}, "version", "no v"),
    ({"version": "1.0.0-rc1"}, "version", "no suffix"),
    ({"version": "1.2.3.4"}, "version", "1 to 3"),
    ({"version": "123456"}, "version", "1 to 5 digits"),
    ({"license": "WTFPL"}, "license", "MIT"),
    ({"functions": ""}, "functions", "at least one"),
    ({"functions": " , "}, "functions", "at least one"),
    ({"functions": "echo, 2fast"}, "functions", "starts with a letter"),
    ({"functions": "echo, echo"}, "functions", "unique"),
    ({"functions": "echo, get-user"}, "functions", "letters"),
    ({"functions": "nil"}, "functions", "reserved"),
    ({"needs_config": "maybe"}, "needs_config", "yes or no"),
    ({"template_updates": "sometimes"}, "template_updates", "yes or no"),
    ({"language": "go", "functions": "get_user, getUser"}, "functions", "Go handler name"),
    ({"language": "go", "platforms": "linux/mips"}, "platforms", "known ones: linux/amd64"),
    ({"language": "go", "platforms": ""}, "platforms", "at least one"),
    ({"language": "go", "platforms": "linux/amd64, linux/amd64"}, "platforms", "twice"),
    ({"language": "go", "go_module_path": "Not A Path"}, "go_module_path", "Go module path"),
    ({"language": "go", "go_module_path": "github.com"}, "go_module_path", "Go module path"),
    ({"language": "go", "go_module_path": "example.com/x/con"}, "go_module_path", "reserved"),
    ({"language": "go", "go_module_path": "example.com/x./y"}, "go_module_path", "a dot"),
    ({"author_name": "Ada\nLovelace"}, "author_name", "control character"),
    ({"description": "bell\x07"}, "description", "control character"),
    ({"github_owner": "acme\x1b[31m"}, "github_owner", "control character"),
    # function signatures
    ({"functions": "add(a: int, b: int"}, "functions", "closing ')' is missing"),
    ({"functions": "add(a: int))"}, "functions", "unbalanced ')'"),
    ({"functions": 'ping(m: str = "hi)'}, "functions", "unclosed quote"),
    ({"functions": "get(*, url: str)"}, "functions", "`*` (the thing of extra properties) must"),
    ({"functions": "get(url, url)"}, "functions", "listed twice"),
    ({"functions": "get(function: str)"}, "functions", "which function was called"),
    ({"functions": "get(deep: int)"}, "functions", "option ThingsDB takes itself"),
    ({"functions": "get(url: string)"}, "functions", "unknown type 'string'"),
    ({"functions": "get(2url)"}, "functions", "not a ThingsDB name"),
    ({"functions": "get(url-x)"}, "functions", "not a ThingsDB name"),
    ({"functions": 'add(a: int = "1")'}, "functions", "not of type int"),
    ({"functions": "add(a: int = 9223372036854775808)"}, "functions", "64 bits"),
    ({"functions": "add(a: bool = 1)"}, "functions", "not of type bool"),
    ({"functions": "add(a: thing = [])"}, "functions", "not of type thing"),
    ({"functions": "add(a: int = one)"}, "functions", "JSON literal"),
    ({"functions": 'blob(b: bytes = "x")'}, "functions", "only default to null"),
    ({"functions": "add(a: int = 1, b: int)"}, "functions", "follows optional"),
    ({"functions": "get(url, ,)"}, "functions", "empty argument"),
    ({"functions": "get(options, *)"}, "functions", "`*` thing of extra properties"),
    ({"functions": "get(from)"}, "functions", "Python keyword"),
    ({"functions": "hi = this.get()"}, "functions", "closure"),
    ({"functions": "hi = |this| "}, "functions", "refuses the closure"),
    ({"functions": "hi = |this| this.a(); this.b()"}, "functions", "exactly one statement"),
    ({"functions": "true()"}, "functions", "reserved"),
    ({"language": "go", "functions": "f(a_b, aB)"}, "functions", "same Go field"),
    # what the answers once let through and the baked project's own checks then refused
    ({"functions": "f(a: float = NaN)"}, "functions", "JSON literal"),
    ({"functions": "f(a: float = 1e400)"}, "functions", "too large for a 64-bit float"),
    ({"functions": "f(a: any = 18446744073709551616)"}, "functions", "64 bits"),
    ({"functions": "f(a: int = -9223372036854775808)"}, "functions", "64 bits"),
    ({"functions": "f(a: list = [[1, 18446744073709551616]])"}, "functions", "64 bits"),
    ({"functions": 'f(a: str = "\\ud800")'}, "functions", "lone surrogate"),
    ({"functions": "f(a: list = " + "[" * 250 + "]" * 250 + ")"}, "functions", "32 deep"),
    ({"functions": "f(a: list = " + "[" * 5000 + "]" * 5000 + ")"}, "functions", "too deeply"),
    ({"functions": "__name__"}, "functions", "Python's own"),
    ({"functions": "f(__class__: int)"}, "functions", "Python's own"),
    ({"language": "go", "functions": "f(defaults: int = 1)"}, "functions", "a method of"),
    ({"functions": 'f(t: thing = {"a": {"b": 1}})'}, "functions", "which ThingsDB sends empty"),
    ({"functions": 'f(l: list = [{"a": {"b": 1}}])'}, "functions", "which ThingsDB sends empty"),
    ({"functions": "f(a: float = 1e-400)"}, "functions", "too small for a 64-bit float"),
    ({"functions": f"f({'a' * 44}: int)"}, "functions", "at most 43"),
    ({"language": "go", "repo_name": "-x"}, "go_module_path", "a leading -"),
    (
        {"language": "go", "go_module_path": "github.com/thingsdb/go-timod"},
        "go_module_path",
        "requires",
    ),
    ({"language": "go", "go_module_path": "example.com/vendor/x"}, "go_module_path", "vendored"),
]


def run_cookiecutter(tmp_path, answers_given: dict[str, str]) -> subprocess.CompletedProcess:
    options = [f"{key}={value}" for key, value in answers_given.items()]
    return subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(tmp_path)]
        + [str(TEMPLATE_DIR)]
        + options,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_replay(tmp_path, context: dict, out) -> subprocess.CompletedProcess:
    """`cookiecutter --replay-file` with a replay file holding ``context``."""
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps({"cookiecutter": context}))
    return subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--replay-file", str(replay), "-o", str(out)]
        + [str(TEMPLATE_DIR)],
        capture_output=True,
        text=True,
        timeout=120,
    )


BAD_ANSWER_IDS = [f"{answer}-{i}" for i, (_, answer, _) in enumerate(BAD_ANSWERS)]


@pytest.mark.parametrize("changes, answer, rule", BAD_ANSWERS, ids=BAD_ANSWER_IDS)
def test_bad_answer_is_refused_with_one_clear_line_and_nothing_generated(
    tmp_path, changes, answer, rule
):
    result = run_cookiecutter(tmp_path, changes)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.startswith(f"  {answer}=")]
    assert lines, output
    assert any(rule in line for line in lines), output
    assert list(tmp_path.iterdir()) == []


def test_several_bad_answers_give_one_line_each(tmp_path):
    result = run_cookiecutter(tmp_path, {"module_name": "1x", "version": "v2", "license": "none"})
    named = [line.split("=")[0].strip() for line in result.stderr.splitlines() if "=" in line]
    assert named == ["module_name", "version", "license"]
    assert list(tmp_path.iterdir()) == []


def test_replay_with_bad_answers_is_refused_before_any_file_is_written(tmp_path):
    # --replay skips the questions (and so the check after them); the pre_gen hook checks again.
    context = VALID | {"version": "v1", "needs_config": False, "__answers_checked": "yes"}
    out = tmp_path / "out"
    result = run_replay(tmp_path, context, out)
    assert result.returncode == 1
    assert "version='v1'" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (out / VALID["module_name"]).exists()


def test_answers_are_data_never_jinja(tmp_path):
    payload = "cookiecutter {{ cycler.__init__.__globals__.os.system('touch PWNED') }} {{ 7*7 }}"
    result = run_cookiecutter(tmp_path, {"description": payload, "author_name": "{% raw %}x"})
    assert result.returncode == 0, result.stderr
    project = tmp_path / VALID["module_name"]
    assert json.loads((project / "module.json").read_text())["doc"] == payload
    assert not list(tmp_path.rglob("PWNED")) and not (TEMPLATE_DIR / "PWNED").exists()


# Strings the template itself renders as Jinja: its folder's name and the computed defaults.
TEMPLATE_STRINGS = [
    "{{cookiecutter.module_name}}",
    DEFAULT_ANSWERS["repo_name"],
    DEFAULT_ANSWERS["go_module_path"],
    DEFAULT_ANSWERS["__answers_checked"],
]


@pytest.mark.parametrize("text", TEMPLATE_STRINGS)
def test_an_answer_equal_to_a_template_string_is_data_too(tmp_path, text):
    result = run_cookiecutter(tmp_path, {"description": text, "author_name": text})
    assert result.returncode == 0, result.stderr
    project = tmp_path / VALID["module_name"]
    assert json.loads((project / "module.json").read_text())["doc"] == text
    assert text in (project / "LICENSE").read_text()


def test_an_answer_given_as_its_own_default_is_rendered_as_the_default(tmp_path):
    result = run_cookiecutter(tmp_path, {"repo_name": DEFAULT_ANSWERS["repo_name"]})
    assert result.returncode == 0, result.stderr
    readme = (tmp_path / VALID["module_name"] / "README.md").read_text()
    assert f"/module-python-{VALID['module_name']}@v" in readme


def test_description_keeps_its_line_breaks_in_module_json(tmp_path):
    result = run_cookiecutter(tmp_path, {"description": "one\r\ntwo\n"})
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / VALID["module_name"] / "module.json").read_text())
    assert manifest["doc"] == "one\r\ntwo\n"


def test_answer_that_is_not_utf8_is_refused_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(tmp_path)]
        + [str(TEMPLATE_DIR), b"description=a\xffb"],
        capture_output=True,
        timeout=120,
    )
    output = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert result.returncode == 1, output
    assert "description=" in output and "not valid UTF-8 text" in output
    assert "Traceback" not in output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "word, configured", [("no", False), ("n", False), ("off", False), ("yes", True)]
)
def test_replayed_yes_no_answers_mean_what_they_say(tmp_path, word, configured):
    context = VALID | {"needs_config": word, "template_updates": word, "__answers_checked": "yes"}
    out = tmp_path / "out"
    result = run_replay(tmp_path, context, out)
    assert result.returncode == 0, result.stderr
    project = out / VALID["module_name"]
    assert ("class Config" in (project / "main.py").read_text()) is configured
    assert ("cruft check" in (project / ".github/workflows/ci.yml").read_text()) is configured
    assert ("{prefix: '> '}" in result.stdout) is configured


def test_argument_errors_render_as_go_format_strings_with_fixed_argument_order():
    assert go_code.go_format("`{argument}` of `{function}`, {got} not {expected}") == (
        '"`%[2]s` of `%[1]s`, %[4]s not %[3]s"'
    )
