"""The questions as a person meets them: typed at a terminal, given on the command line, through
cruft. Each session drives the real command in a pseudo-terminal."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pexpect
import pytest
from conftest import TEMPLATE_DIR

# Rich colours its prompts; the tests read the text.
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class TypedSession:
    """cookiecutter run at a terminal 200 columns wide, answered one question at a time."""

    def __init__(self, output_dir):
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "cookiecutter", "-o", str(output_dir), str(TEMPLATE_DIR)],
            encoding="utf-8",
            timeout=60,
            dimensions=(50, 200),
            cwd=str(output_dir),
        )
        self.transcript: list[str] = []

    def answer(self, question: str, text: str) -> str:
        """Wait for ``question``, type ``text``; return what was shown since the last answer."""
        self.child.expect(re.escape(question))
        shown = self.child.before + self.child.after
        # Every question ends with its default, "(demo): ", in colour.
        self.child.expect(r"\)(?:\x1b\[[0-9;]*m)*: ")
        shown = ANSI.sub("", shown + self.child.before + self.child.after)
        self.transcript.append(shown)
        self.child.sendline(text)
        return shown

    def finish(self) -> int:
        self.child.expect(pexpect.EOF)
        self.transcript.append(ANSI.sub("", self.child.before))
        self.child.close()
        return self.child.exitstatus

    def text(self) -> str:
        return "".join(self.transcript)


def test_bad_answer_is_reported_when_typed_and_asked_again_keeping_earlier_answers(tmp_path):
    session = TypedSession(tmp_path)
    session.answer("Module name", "my-module")
    retry = session.answer("Module name", "weather")
    assert "module_name='my-module': a ThingsDB name starts with a letter" in retry
    menu = session.answer("Choose from", "2")
    assert "1 - python" in menu and "2 - go" in menu
    session.answer("description", "Forecasts {{ for }} ${{ you }}")
    session.answer("Author name", "Ada")
    session.answer("Author e-mail", "ada@example.com")
    session.answer("GitHub user", "acme")
    assert "(module-go-weather)" in session.answer("repository name", "")
    session.answer("First version", "v1")
    assert "version='v1'" in session.answer("First version", "1.2.0")
    session.answer("Choose from", "2")  # Apache-2.0
    session.answer("Exposed functions", "add(a: int, b: int")
    assert "a closing ')' is missing" in session.answer("Exposed functions", "add(a: int, b: int)")
    assert "[y/n]" in session.answer("configuration", "y")
    session.answer("Go module path", "")
    session.answer("Platforms", "linux/mips")
    assert "unknown platform" in session.answer("Platforms", "linux/amd64, darwin/arm64")
    session.answer("updates", "n")
    assert session.finish() == 0, session.text()

    project = tmp_path / "weather"
    manifest = json.loads((project / "module.json").read_text(encoding="utf-8"))
    assert manifest["doc"] == "Forecasts {{ for }} ${{ you }}"
    assert manifest["version"] == "1.2.0"
    assert manifest["exposes"]["add"]["argmap"] == ["a", "b"]
    assert sorted(set(manifest["main"].values())) == [
        "bin/weather_darwin_arm64",
        "bin/weather_linux_amd64",
    ]
    assert (project / "go.mod").read_text().startswith("module github.com/acme/module-go-weather")
    assert "Apache License" in (project / "LICENSE").read_text()
    assert "Traceback" not in session.text()


def test_a_python_module_is_never_asked_the_go_questions(tmp_path):
    session = TypedSession(tmp_path)
    session.answer("Module name", "")
    session.answer("Choose from", "")  # python, the default
    for question in ["description", "Author name", "Author e-mail", "GitHub user"]:
        session.answer(question, "")
    session.answer("repository name", "")
    session.answer("First version", "")
    session.answer("Choose from", "")
    session.answer("Exposed functions", "")
    session.answer("configuration", "")
    shown = session.answer("updates", "")
    assert session.finish() == 0, session.text()
    assert "Go module path" not in shown + session.text()
    assert "Platforms" not in session.text()
    assert (tmp_path / "demo" / "main.py").is_file()


def test_typed_text_is_taken_literally(tmp_path):
    session = TypedSession(tmp_path)
    session.answer("Module name", "")
    session.answer("Choose from", "")
    session.answer("description", "costs {{ n }} and {% raw %}${{ x }}")
    for question in ["Author name", "Author e-mail", "GitHub user", "repository name"]:
        session.answer(question, "")
    session.answer("First version", "")
    session.answer("Choose from", "")
    session.answer("Exposed functions", "")
    session.answer("configuration", "")
    session.answer("updates", "")
    assert session.finish() == 0, session.text()
    manifest = json.loads((tmp_path / "demo" / "module.json").read_text(encoding="utf-8"))
    assert manifest["doc"] == "costs {{ n }} and {% raw %}${{ x }}"


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(
            [sys.executable, "-m", "cookiecutter", "--no-input", "-o", "out", str(TEMPLATE_DIR)]
            + ["language=rust", "needs_config=maybe", "license=WTFPL"],
            id="cookiecutter-no-input",
        ),
        pytest.param(
            [sys.executable, "-m", "cruft", "create", "--no-input", "--output-dir", "out"]
            + [
                "--extra-context",
                '{"language": "rust", "needs_config": "maybe", "license": "WTFPL"}',
            ]
            + [str(TEMPLATE_DIR)],
            id="cruft-create",
        ),
    ],
)
def test_bad_choices_end_every_command_with_one_line_each(tmp_path, command):
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    named = [line.split("=")[0].strip() for line in result.stderr.splitlines() if "='" in line]
    assert named == ["language", "license", "needs_config"]
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
