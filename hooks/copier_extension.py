"""The Jinja extension copier loads (copier.yml's ``_jinja_extensions``): what cookiecutter's
environment gives this template, inside copier's.

copier renders the very folder cookiecutter does (copier.yml's ``_subdirectory``), so its
templates get what they get under cookiecutter:

* the ``cookiecutter`` namespace: the answers in cookiecutter.json's order, the yes/no answers
  as booleans once ``check_answers`` has passed them (as in cookiecutter's context);
* hooks/answers.py's filters and globals (its ``AnswersExtension``), from a copy of answers.py
  loaded for this environment from this file's folder, so that ``copier update``, which renders
  two commits in one process, renders each with its own;
* the macros of templates/, which cookiecutter finds through ``../templates``;
* cookiecutter.json's ``_copy_without_render``: those files come out as they are;
* the ``typed_answer_problems`` filter, the questions' validator: an answer typed at a prompt is
  checked at once and asked again when bad, as cookiecutter's prompts do.

copier never renders an answer as a template (unlike cookiecutter, see AnswersExtension), so
AnswersExtension's ``preprocess``, which keeps answers literal, is not used here: every string
copier renders is the template's own.
"""

import fnmatch
import importlib.util
import json
import sys
from pathlib import Path

from copier_template_extensions import ContextHook
from jinja2 import pass_context

HOOKS_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = HOOKS_DIR.parent
DECLARATION = TEMPLATE_DIR / "cookiecutter.json"
PROJECT_FOLDER = "{{cookiecutter.module_name}}"
# hooks/extension.py, as loaded for copier (see load_answers)
EXTENSION_MODULE = "thingsdb_template_copier_extension"


def copier_name(key: str) -> str:
    """A cookiecutter.json key as a copier question: copier reads `_` keys as its settings, so
    cookiecutter's rendered private entries (``__answers_checked``) lose their underscores."""
    return key.lstrip("_")


def load_answers():
    """A fresh copy of this folder's answers.py, from hooks/extension.py's ``load_answers``, the
    one loader of answers.py.

    copier reads this file afresh for each environment, but extension.py is loaded once per
    process, as cookiecutter imports it (it never changes), under a name of its own: its count
    then gives each copy of answers.py a module name no other copy has, also when
    ``copier update`` renders two commits in one process; each commit's copy is the answers.py
    of its own folder.
    """
    extension = sys.modules.get(EXTENSION_MODULE)
    if extension is None:
        spec = importlib.util.spec_from_file_location(EXTENSION_MODULE, HOOKS_DIR / "extension.py")
        extension = importlib.util.module_from_spec(spec)
        sys.dont_write_bytecode = True  # no __pycache__ in the template's checkout
        spec.loader.exec_module(extension)
        sys.modules[EXTENSION_MODULE] = extension
    return extension.load_answers(HOOKS_DIR / "answers.py")


class CookiecutterNamespace(ContextHook):
    """Gives copier's templates this template's cookiecutter environment (see the module)."""

    def __init__(self, environment):
        super().__init__(environment)
        self.answers = load_answers()
        self.answers.AnswersExtension(environment)  # filters, globals, yes/no lookups
        self.declaration = json.loads(DECLARATION.read_text(encoding="utf-8"))
        self.declaration.pop("__prompts__", None)  # cookiecutter's context lacks it too
        # Loaded as copier loads the project's files: by name, from the template's root.
        environment.loader.searchpath.append(str(TEMPLATE_DIR / "templates"))
        self._verbatim: list[str] = []
        environment.globals["_verbatim_file"] = self._verbatim.__getitem__
        environment.filters["typed_answer_problems"] = self.typed_answer_problems

    def hook(self, context):
        namespace = {}
        for key, value in self.declaration.items():
            if key.startswith("_") and not key.startswith("__"):
                namespace[key] = value  # cookiecutter's settings, as cookiecutter.json has them
            elif copier_name(key) in context:
                namespace[key] = context[copier_name(key)]
        if namespace.get("__answers_checked") == "yes":
            self.answers.normalize_answers(namespace)
        context["cookiecutter"] = namespace

    @pass_context
    def typed_answer_problems(self, context, answer: str) -> str:
        """The problems of an answer as typed at its prompt, on one line; none for the others.

        Answers given with --data or left to --defaults, and a default taken as it is, are all
        checked together by ``check_answers``, which refuses them with cookiecutter's lines
        (copier would stop at the first with a message of its own, or fail on a bad default).
        """
        conf = context.get("_copier_conf")
        if conf is None or conf["defaults"] or answer in conf["data"]:
            return ""
        value, default = context.get(answer), self.declaration[answer]
        default = default[0] if isinstance(default, list) else default  # a choice variable
        if value == self.environment.from_string(default).render(context.get_all()):
            return ""
        earlier = context.get("cookiecutter", {})
        return "; ".join(self.answers.check_answer(answer, str(value), earlier))

    def preprocess(self, source, name, filename=None):
        prefix = f"{PROJECT_FOLDER}/"
        if name and name.startswith(prefix):
            path = name[len(prefix) :]
            if any(fnmatch.fnmatch(path, p) for p in self.declaration["_copy_without_render"]):
                self._verbatim.append(source)
                return f"{{{{ _verbatim_file({len(self._verbatim) - 1}) }}}}"
        return source
