"""hooks/project_files.json, the one table of generated files, against what a bake holds.

Every file a project gets is in the table for its language, and every file the table lists is
in the project: the hook prunes by the table and the generated README renders it, so a file
missing from it would be kept in both flavours and left out of the README's files table.
"""

from __future__ import annotations

import json

import pytest
from conftest import SIGNATURE_SHAPES, TEMPLATE_DIR

TABLE = json.loads((TEMPLATE_DIR / "hooks" / "project_files.json").read_text(encoding="utf-8"))
ENTRIES = TABLE["files"]
# Folders the build fills in later, not at generation.
BUILT = {"bin/"}

ANSWER_SETS = [
    pytest.param(language, answers, id=f"{language}-{name}")
    for language in ("python", "go")
    for name, answers in [
        ("defaults", {}),
        (
            "config-every-shape-updates",
            {"needs_config": "yes", "functions": SIGNATURE_SHAPES, "template_updates": "yes"},
        ),
    ]
]


def entries_for(language: str) -> list[dict]:
    return [e for e in ENTRIES if e["language"] in (language, "both")]


def covering(path: str, entries: list[dict]) -> list[str]:
    return [
        listed
        for e in entries
        for listed in e["paths"]
        if path == listed or (listed.endswith("/") and path.startswith(listed))
    ]


def test_each_entry_names_a_language_an_owner_and_what_it_is():
    for entry in ENTRIES:
        assert entry["language"] in ("python", "go", "both"), entry
        assert entry["owner"] in ("author", "template"), entry
        assert entry["what"] and entry["paths"], entry


@pytest.mark.parametrize(("language", "answers"), ANSWER_SETS)
def test_every_generated_file_is_in_the_table_once_and_every_listed_file_is_generated(
    baked, language, answers
):
    project = baked(language=language, **answers)
    files = project.files() - {".cruft.json"}
    entries = entries_for(language)
    unlisted = sorted(f for f in files if not covering(f, entries))
    assert not unlisted, f"generated but not in hooks/project_files.json: {unlisted}"
    twice = sorted(f for f in files if len(covering(f, entries)) > 1)
    assert not twice, f"listed more than once for {language}: {twice}"
    listed = {p for e in entries for p in e["paths"]} - BUILT
    missing = sorted(
        p
        for p in listed
        if not (p.endswith("/") and any(f.startswith(p) for f in files)) and p not in files
    )
    assert not missing, f"in hooks/project_files.json but not generated: {missing}"


@pytest.mark.parametrize(("language", "answers"), ANSWER_SETS)
def test_the_readme_files_table_names_every_file_with_its_owner(baked, language, answers):
    readme = baked(language=language, **answers).read("README.md")
    table = readme.split("## Your files and the template's", 1)[1].split("\n\n", 2)[1]
    for entry in entries_for(language):
        owner = "yours" if entry["owner"] == "author" else "template"
        cells = ", ".join(f"`{p}`" for p in entry["paths"])
        assert f"| {cells} | {owner} | {entry['what']} |" in table


@pytest.mark.parametrize(("language", "answers"), ANSWER_SETS)
def test_a_go_project_holds_no_python_and_a_python_project_no_go(baked, language, answers):
    files = baked(language=language, **answers).files()
    if language == "go":
        python = [f for f in files if f.endswith((".py", ".toml")) or "requirements" in f]
        assert not python
    else:
        assert not [f for f in files if f.endswith((".go", "go.mod", "go.sum"))]
