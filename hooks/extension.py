"""The Jinja extension cookiecutter loads (``_extensions`` in cookiecutter.json).

It loads hooks/answers.py of the template being rendered, as that file is on disk now, once per
Jinja environment, and hands over to its :class:`AnswersExtension`. Importing answers.py by
name would keep the first copy a process imported: ``cruft update`` renders the project's
template commit and then the newest one in one process, from one checkout, and the newest
templates would meet the older commit's filters and globals
(``'max_body_mib' is undefined``).

Python imports this module once per process too, so it must never need to change: whatever a
commit of the template needs goes into answers.py, which every environment reads afresh.
"""

import importlib.util
import itertools
import sys
from pathlib import Path

from jinja2.ext import Extension

_loads = itertools.count()


def answers_file() -> Path:
    """hooks/answers.py of the template being rendered.

    cookiecutter and cruft append the template's folder to sys.path while they render it; this
    file's own folder is the fallback (another template may have imported it first).
    """
    for entry in reversed(sys.path):
        hooks = Path(entry or ".") / "hooks"
        if (hooks / "extension.py").is_file() and (hooks / "answers.py").is_file():
            return (hooks / "answers.py").resolve()
    return Path(__file__).resolve().parent / "answers.py"


def load_answers(path: "Path | None" = None):
    """A fresh copy of hooks/answers.py, under a module name no other copy has.

    ``path`` is the answers.py to load (default: :func:`answers_file`); hooks/copier_extension.py
    gives its own folder's, loading this file from that folder too.
    """
    name = f"thingsdb_template_answers_{next(_loads)}"
    spec = importlib.util.spec_from_file_location(name, path or answers_file())
    module = importlib.util.module_from_spec(spec)
    sys.dont_write_bytecode = True  # no __pycache__ in the template: cookiecutter copies it
    sys.modules[name] = module  # while it runs: dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


class TemplateExtension(Extension):
    """The current answers module's extension, for one environment."""

    def __init__(self, environment):
        super().__init__(environment)
        self.answers = load_answers().AnswersExtension(environment)

    def preprocess(self, source, name, filename=None):
        return self.answers.preprocess(source, name, filename)

    def filter_stream(self, stream):
        return self.answers.filter_stream(stream)
