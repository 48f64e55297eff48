"""The Jinja extension: the filters and globals the templates use, and answers kept literal."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

import cookiecutter.prompt
from cookiecutter.exceptions import FailedHookException
from jinja2.ext import Extension

from .facts import (
    ARGUMENT_ERRORS,
    FUNCTION_KEY,
    HOOKS_DIR,
    MAX_BODY_MIB,
    MAX_ERROR_MESSAGE,
    MAX_NESTING,
    PROJECT_TEMPLATE_DIR,
    SHUTDOWN_GRACE_SECONDS,
    TEMPLATE_DIR,
    THINGSDB_MAX_PACKAGE,
    THINGSDB_RELEASES,
    THINGSDB_TYPES,
    load_project_files,
)
from .go_code import binary_path, go_comment, go_format, go_name, go_string_literal, string_literal
from .markdown import md_code, md_text, readme_functions
from .module_json import render_manifest, thingsdb_value
from .python_code import (
    cli_value,
    py_assignment,
    py_constant,
    py_docstring_text,
    py_examples_decorator,
    py_handler_def,
    py_value,
)
from .questions import YES_NO_ANSWERS, Questions
from .rules import check_answers, parse_bool
from .signatures import (
    function_model,
    function_names,
    handled_functions,
    options_sample,
    placeholder_examples,
)


class WithoutHookTraceback(logging.Filter):
    """Drops the traceback cookiecutter logs when a hook fails.

    A failed hook has already said why on stderr (ours: one line per bad answer, for
    ``cookiecutter --replay``); the traceback would only show cookiecutter's own call stack.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], FailedHookException):
            record.exc_info = None
            record.exc_text = None
        return True


@functools.lru_cache(maxsize=1)
def template_sources() -> frozenset[str]:
    """The strings of this template that cookiecutter renders as Jinja without a file name.

    The defaults in cookiecutter.json, the hook scripts and the project folder's name: the
    only strings that may hold template code. An answer equal to one of them is as harmless
    as the template itself.
    """
    context = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    sources = {value for value in context.values() if isinstance(value, str)}
    sources.update(p.read_text(encoding="utf-8") for p in (TEMPLATE_DIR / "hooks").glob("*.py"))
    sources.add(PROJECT_TEMPLATE_DIR.name)
    return frozenset(sources)


def mark_defaults_while_rendering(extension: AnswersExtension) -> None:
    """Tell ``extension`` which answer cookiecutter renders, so that its preprocess renders
    only the template's own default of that answer as Jinja.

    cookiecutter renders the answers in cookiecutter.json's order, each into a dict it fills in
    that order: the dict's length names the answer. A text equal to some other template string
    (``description={{cookiecutter.module_name}}``, the project folder's name) stays data.
    """
    prompt = cookiecutter.prompt
    render_variable = getattr(prompt, "render_variable_unmarked", prompt.render_variable)
    defaults = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    order = [key for key in defaults if key != "__prompts__"]  # cookiecutter pops __prompts__

    def render_marked(env: Any, raw: Any, cookiecutter_dict: Any) -> Any:
        if env is not extension.environment or not isinstance(raw, str):
            return render_variable(env, raw, cookiecutter_dict)
        position = len(cookiecutter_dict)
        key = order[position] if position < len(order) else None
        extension.rendering_default = key is not None and raw == defaults[key]
        try:
            return render_variable(env, raw, cookiecutter_dict)
        finally:
            extension.rendering_default = None

    prompt.render_variable_unmarked = render_variable
    prompt.render_variable = render_marked


def _yes_no_as_bool(getattr_: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    """Jinja's attribute lookup, reading the yes/no answers as booleans wherever they come from.

    Answers given at the prompts or on the command line are normalised by check_answers; a
    replay file (`cookiecutter --replay`) is used as it is, and may hold "no", which is true as
    a string: `cookiecutter.needs_config` must still mean what it says.
    """

    def lookup(obj: Any, attribute: str) -> Any:
        value = getattr_(obj, attribute)
        if attribute in YES_NO_ANSWERS and isinstance(value, str):
            parsed = parse_bool(value)
            return value if parsed is None else parsed
        return value

    return lookup


class AnswersExtension(Extension):
    """Jinja extension: the answer check, the filters the templates use, and literal answers.

    Cookiecutter renders every answer it did not prompt for (--no-input, extra context, a
    project's .cruft.json) as a Jinja template: a description such as ``costs {{ n }}`` would
    fail to render, and one holding Jinja code would run it. :meth:`preprocess` renders only
    the template's own sources (its defaults, hooks and folder name, see
    :func:`template_sources`); every other string is literal text, whatever it contains.
    """

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters.update(
            check_answers=check_answers,
            function_names=function_names,
            signatures=function_model,
            handled_signatures=handled_functions,
            manifest_json=render_manifest,
            py_string=string_literal,
            go_string=go_string_literal,
            go_comment=go_comment,
            go_name=go_name,
            py_value=py_value,
            thingsdb_value=thingsdb_value,
            cli_value=cli_value,
            md_text=md_text,
            md_code=md_code,
            go_format=go_format,
            py_assignment=py_assignment,
            py_constant=py_constant,
            options_sample=options_sample,
            placeholder_examples=placeholder_examples,
            readme_functions=readme_functions,
            py_examples_decorator=py_examples_decorator,
            py_handler_def=py_handler_def,
            py_docstring_text=py_docstring_text,
        )
        environment.globals["answers_module_dir"] = str(HOOKS_DIR)
        # The table of generated files (language, owner, what): the README's files table.
        environment.globals["project_files"] = load_project_files()
        environment.globals["binary_path"] = binary_path  # bin/<module>_<os>_<arch>
        environment.globals["function_key"] = FUNCTION_KEY  # module.json and both flavours
        environment.globals["max_error_message"] = MAX_ERROR_MESSAGE
        environment.globals["max_nesting"] = MAX_NESTING
        environment.globals["shutdown_grace_seconds"] = SHUTDOWN_GRACE_SECONDS
        environment.globals["max_body_mib"] = MAX_BODY_MIB
        environment.globals["thingsdb_releases"] = THINGSDB_RELEASES
        environment.globals["argument_errors"] = ARGUMENT_ERRORS
        environment.globals["thingsdb_types"] = THINGSDB_TYPES  # hooks/thingsdb_types.json
        environment.globals["thingsdb_max_package"] = THINGSDB_MAX_PACKAGE
        self._literals: list[str] = []
        environment.globals["_answer_literal"] = self._literals.__getitem__
        Questions(cookiecutter.prompt).install()
        # While cookiecutter renders an answer: whether it is that answer's own default.
        self.rendering_default: bool | None = None
        mark_defaults_while_rendering(self)
        environment.getattr = _yes_no_as_bool(environment.getattr)
        hooks_logger = logging.getLogger("cookiecutter.hooks")
        # Every render loads its own copy of this module: one filter of the name is enough.
        if not any(type(f).__name__ == "WithoutHookTraceback" for f in hooks_logger.filters):
            hooks_logger.addFilter(WithoutHookTraceback())

    def preprocess(self, source, name, filename=None):
        # Files of the template are loaded by name; strings (answers, defaults, hooks) are not.
        if name is not None:
            return source
        if self.rendering_default is not None:
            # An answer: template code only where it is the template's own default for it.
            if self.rendering_default:
                return source
        elif source in template_sources():
            return source
        self._literals.append(source)
        return f"{{{{ _answer_literal({len(self._literals) - 1}) }}}}"
