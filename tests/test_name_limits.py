"""The longest names the answers accept give projects that pass their own checks."""

from __future__ import annotations

import shutil
import sys

import pytest

# ThingsDB's own limit for a name; a Go module's binaries (bin/<name>_freebsd_arm64, the longest
# platform suffix) must fit the 255 bytes of a file name.
LONGEST = {"python": 255, "go": 241}


@pytest.mark.slow
@pytest.mark.parametrize("language", ["python", "go"])
def test_the_longest_module_name_passes_the_projects_own_checks(bake, language):
    if language == "go" and shutil.which("go") is None:
        pytest.skip("needs the go command")
    name = "m" * LONGEST[language]
    project = bake(
        language=language,
        module_name=name,
        repo_name="module-long",
        needs_config="yes",
        platforms="linux/amd64, freebsd/arm64",
    )
    if language == "python":
        project.run(sys.executable, "-m", "ruff", "check", "--no-cache", ".")
        project.run(sys.executable, "-m", "ruff", "format", "--check", "--no-cache", ".")
    else:
        assert project.run("gofmt", "-l", ".").stdout == ""
        project.run("go", "vet", "./...")
        project.run("go", "test", "./...")
        project.run("go", "run", "./tools/build")
        assert f"bin/{name}_freebsd_arm64" in project.manifest["main"].values()
        project.run("go", "run", "./tools/manifest")
        return
    project.pytest()
