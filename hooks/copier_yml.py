"""Write copier.yml from cookiecutter.json: copier's questions are cookiecutter's.

hooks/write_declared_files.py writes both from hooks/answer_table.json; on its own:

    python3 hooks/copier_yml.py          # rewrites copier.yml after cookiecutter.json changed
    python3 hooks/copier_yml.py --check  # exit status 1 when copier.yml is not what it writes

Each answer becomes a text question with cookiecutter's default (the same Jinja: copier's
templates see a ``cookiecutter`` namespace, hooks/copier_extension.py) and prompt, asked only
for the language that uses it (the answer table's ``language``); cookiecutter's rendered
private entries (``__answers_checked``, the answer check) become hidden computed values. The
answers stay text, as under cookiecutter, and the rules are all in hooks/template/rules.py: a
typed answer is checked at once (``typed_answer_problems``), and ``check_answers`` refuses bad
answers given any other way with cookiecutter's lines. tests/test_copier.py runs the check.
"""

import json
import sys

import yaml
from copier_extension import DECLARATION, PROJECT_FOLDER, TEMPLATE_DIR, copier_name

# answers and copier_extension are this script's neighbours (its folder is first on sys.path).
from template.questions import CHOICES, LANGUAGE_ONLY, YES_NO_ANSWERS

COPIER_YML = TEMPLATE_DIR / "copier.yml"

HEADER = """\
# copier's questions and settings, written from cookiecutter.json by hooks/copier_yml.py:
# change cookiecutter.json and run `python3 hooks/copier_yml.py`, never this file.
"""

SETTINGS = {
    # The folder cookiecutter renders, every file of it a template (as cookiecutter has it).
    "_subdirectory": "{% raw %}" + PROJECT_FOLDER + "{% endraw %}",
    "_templates_suffix": "",
    "_jinja_extensions": [
        # The extensions every cookiecutter environment has (its `now` tag, its filters).
        *(
            f"cookiecutter.extensions.{name}Extension"
            for name in ("Jsonify", "RandomString", "Slugify", "Time", "UUID")
        ),
        "copier_template_extensions.TemplateExtensionLoader",
        "hooks/copier_extension.py:CookiecutterNamespace",
    ],
    # cookiecutter's post-generation hook, the same code: keep one language's files, and so on.
    "_tasks": [
        [
            "{{ _copier_python }}",
            "{{ _copier_conf.src_path }}/hooks/finish.py",
            "{{ cookiecutter | tojson }}",
            "{{ _copier_operation }}",
        ]
    ],
}


def hint(key: str) -> str:
    """What a prompt adds to cookiecutter's words, where cookiecutter offers a menu."""
    if key in CHOICES:
        return f" ({', '.join(CHOICES[key])})"
    if key in YES_NO_ANSWERS:
        return " (yes/no)"
    return ""


def questions() -> dict:
    declaration = json.loads(DECLARATION.read_text(encoding="utf-8"))
    prompts = declaration.get("__prompts__", {})
    result = {}
    for key, value in declaration.items():
        if key.startswith("__"):
            if key != "__prompts__":
                result[copier_name(key)] = {"type": "str", "default": value, "when": False}
            continue
        if key.startswith("_"):
            continue  # cookiecutter's settings: SETTINGS and hooks/copier_extension.py
        question = {"type": "str", "help": prompts.get(key, key) + hint(key), "default": value}
        if isinstance(value, list):  # a cookiecutter choice variable: the first is the default
            question.update(choices=value, default=value[0])
        question["validator"] = f"{{{{ {json.dumps(key)} | typed_answer_problems }}}}"
        if key in LANGUAGE_ONLY:
            question["when"] = f"{{{{ language == {json.dumps(LANGUAGE_ONLY[key])} }}}}"
        result[key] = question
    return result


def render() -> str:
    text = yaml.safe_dump(
        {**SETTINGS, **questions()}, sort_keys=False, allow_unicode=True, width=1000
    )
    return HEADER + text


def main(args: list[str]) -> int:
    if args == ["--check"]:
        if COPIER_YML.read_text(encoding="utf-8") == render():
            return 0
        print("copier.yml is out of date: run python3 hooks/copier_yml.py", file=sys.stderr)
        return 1
    COPIER_YML.write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
