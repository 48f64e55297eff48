"""Check the answers once more before any file is written.

The answers were already checked after the last question (hooks/template/rules.py); this
second check covers `cookiecutter --replay`, which skips the questions.
"""

import json
import sys

sys.path.insert(0, {{ answers_module_dir | py_string }})

from answers import validate_answers  # noqa: E402

ANSWERS = json.loads({{ cookiecutter | tojson | py_string }})


def main() -> int:
    problems = validate_answers(ANSWERS)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
