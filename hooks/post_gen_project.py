"""Finish the generated repository (hooks/finish.py, which copier runs too)."""

import json
import sys

sys.path.insert(0, {{ answers_module_dir | py_string }})

from finish import main  # noqa: E402

ANSWERS = json.loads({{ cookiecutter | tojson | py_string }})


if __name__ == "__main__":
    sys.exit(main(ANSWERS))
