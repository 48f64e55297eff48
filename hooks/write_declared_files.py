"""Write the files that follow from hooks/answer_table.json, where each answer is declared.

    python3 hooks/write_declared_files.py          # after changing the answer table
    python3 hooks/write_declared_files.py --check  # exit status 1 when a file is out of date

* cookiecutter.json: each answer's default and prompt, in the table's order, and
  cookiecutter's settings;
* copier.yml: copier's questions, from cookiecutter.json (hooks/copier_yml.py);
* README.md's answers table, between its two ``answers table`` markers.

tests/test_answers.py runs the check.
"""

from __future__ import annotations

import json
import re
import sys

# Its folder is first on sys.path: copier_yml and the template package are neighbours.
import copier_yml
from template.facts import TEMPLATE_DIR, load_platforms
from template.go_code import binary_path
from template.rules import ANSWERS

COOKIECUTTER_JSON = TEMPLATE_DIR / "cookiecutter.json"
README = TEMPLATE_DIR / "README.md"

# cookiecutter's own settings, after the answers.
COOKIECUTTER_SETTINGS = {
    # Rendered after the last question: the answers checked before any file is written.
    "__answers_checked": "{{ cookiecutter | check_answers }}",
    "_extensions": ["hooks.extension.TemplateExtension"],
    # The project's Python tools and the platform table: files that hold Jinja-like text.
    "_copy_without_render": [
        "tools/manifest.py",
        "tools/thingsdb_peer.py",
        "tools/build/platforms.json",
        "tools/release.py",
    ],
}

README_START = "<!-- answers table: python3 hooks/write_declared_files.py writes it -->"
README_END = "<!-- end of the answers table -->"


def render_cookiecutter_json() -> str:
    declaration: dict = {row["name"]: row["default"] for row in ANSWERS}
    declaration["__answers_checked"] = COOKIECUTTER_SETTINGS["__answers_checked"]
    declaration["__prompts__"] = {row["name"]: row["prompt"] for row in ANSWERS}
    declaration.update((k, v) for k, v in COOKIECUTTER_SETTINGS.items() if k.startswith("_"))
    return json.dumps(declaration, indent=2, ensure_ascii=False) + "\n"


def readme_words() -> dict[str, str]:
    """What the README's words for an answer may name: limits that follow from the tables."""
    platforms = list(load_platforms())
    longest = max(platforms, key=lambda p: len(binary_path("", p)))
    suffix = binary_path("", longest).rpartition("/")[2]
    return {
        "platforms": f"`{', '.join(platforms)}`",
        "longest_binary": f"`bin/<name>{suffix}`",
        "go_name_limit": str(255 - len(suffix)),
    }


def render_readme_table() -> str:
    words = readme_words()
    lines = ["| answer | default | rule |", "|---|---|---|"]
    for row in ANSWERS:
        if "shown_default" in row:
            default = row["shown_default"]
        elif row["name"] == "platforms":
            default = f"all {len(load_platforms())}"
        else:
            default = f"`{row['default']}`"
        choices = [f"`{choice}`" for choice in row.get("choices", ())]
        choices = " or ".join(choices) if len(choices) < 3 else ", ".join(choices)
        text = row.get("readme", "{choices}").format(choices=choices, **words)
        if row["language"] != "both":
            text = f"{row['language'].capitalize()} only: {text}"
        lines.append(f"| `{row['name']}` | {default} | {text} |")
    return "\n".join(lines)


def render_readme(text: str) -> str:
    pattern = re.compile(re.escape(README_START) + r"\n.*?\n" + re.escape(README_END), re.DOTALL)
    table = f"{README_START}\n{render_readme_table()}\n{README_END}"
    if not pattern.search(text):
        raise SystemExit(f"README.md: the markers {README_START} ... {README_END} are missing")
    return pattern.sub(lambda _: table, text)


def main(args: list[str]) -> int:
    files = {
        COOKIECUTTER_JSON: lambda _: render_cookiecutter_json(),
        copier_yml.COPIER_YML: lambda _: copier_yml.render(),
        README: render_readme,
    }
    stale = []
    for path, render in files.items():
        current = path.read_text(encoding="utf-8")
        wanted = render(current)
        if current == wanted:
            continue
        if args == ["--check"]:
            stale.append(path.name)
        else:
            path.write_text(wanted, encoding="utf-8")
    if stale:
        print(
            f"{', '.join(stale)}: not what hooks/answer_table.json gives; "
            "run python3 hooks/write_declared_files.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
