"""What the generators and the hook scripts call: the Jinja extension and the answer check.

The code behind them is the package hooks/template/, one module per job (see its
``__init__``). This file is the entry point every caller knows by path:

* cookiecutter loads :class:`AnswersExtension` through hooks/extension.py (``_extensions`` in
  cookiecutter.json), and copier through hooks/copier_extension.py; both read this file afresh
  for every render. Its ``check_answers`` filter runs after the last question, before any file
  is written;
* the hook scripts import it by name from the folder the extension exposes
  (``answers_module_dir``), as hooks run from a temporary copy of themselves.

Each copy of this file loads its own copy of the package, under a name no other copy has:
``cruft update`` and ``copier update`` render two commits of the template in one process, and
each must meet its own rules and renderers, not the first one Python imported.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

PACKAGE_DIR = Path(__file__).resolve().parent / "template"


def load_template_package(name: str) -> SimpleNamespace:
    """The modules of hooks/template/ that the callers use, loaded as the package ``name``."""
    spec = importlib.util.spec_from_file_location(
        name, PACKAGE_DIR / "__init__.py", submodule_search_locations=[str(PACKAGE_DIR)]
    )
    package = importlib.util.module_from_spec(spec)
    sys.dont_write_bytecode = True  # no __pycache__ in the template: cookiecutter copies it
    sys.modules[name] = package  # while it loads: its modules import each other through it
    try:
        spec.loader.exec_module(package)
        jobs = ("jinja_extension", "rules")
        return SimpleNamespace(**{job: importlib.import_module(f"{name}.{job}") for job in jobs})
    finally:
        for key in [k for k in sys.modules if k == name or k.startswith(f"{name}.")]:
            del sys.modules[key]


_template = load_template_package(f"{__name__.replace('.', '_')}_template")

AnswersExtension = _template.jinja_extension.AnswersExtension
InvalidAnswers = _template.rules.InvalidAnswers
check_answer = _template.rules.check_answer
check_answers = _template.rules.check_answers
normalize_answers = _template.rules.normalize_answers
parse_bool = _template.rules.parse_bool
validate_answers = _template.rules.validate_answers
