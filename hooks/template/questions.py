"""The questions, as a person at a terminal meets them."""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

from .rules import ANSWERS, YES_NO_ANSWERS, check_answer, parse_bool

# Answers with a fixed set of values, offered as a numbered menu.
CHOICES = {row["name"]: tuple(row["choices"]) for row in ANSWERS if row["kind"] == "choice"}
# Answers that only one language uses; the others never ask them.
LANGUAGE_ONLY = {row["name"]: row["language"] for row in ANSWERS if row["language"] != "both"}


class Questions:
    """Cookiecutter's questions, one at a time, each answer checked as soon as it is typed.

    Cookiecutter has no per-question validation: it asks everything, then a bad answer stops
    the run and every typed answer is lost. This wraps its prompt for text answers: choices
    become menus, yes/no answers a yes/no prompt, a bad answer is reported in one line and the
    same question asked again, and questions of the other language are skipped (keeping their
    defaults). The answers stay strings, so --no-input, replay files and cruft give the same
    context as typing does, and are checked all at once by :func:`check_answers`.
    """

    def __init__(self, prompt_module: ModuleType):
        self.prompt = prompt_module
        current = prompt_module.read_user_variable
        # Each run of cookiecutter starts with fresh answers, over cookiecutter's own prompt.
        self.ask_text = getattr(current, "cookiecutter_prompt", current)
        self.answers: dict[str, Any] = {}

    def install(self) -> None:
        def ask(*args: Any, **kwargs: Any) -> Any:
            return self.ask(*args, **kwargs)

        ask.cookiecutter_prompt = self.ask_text
        self.prompt.read_user_variable = ask

    def ask(self, var_name: str, default_value: Any, prompts=None, prefix: str = "") -> Any:
        language = LANGUAGE_ONLY.get(var_name)
        if language and self.answers.get("language") != language:
            return default_value
        while True:
            value = self._ask_once(var_name, default_value, prompts, prefix)
            problems = check_answer(var_name, str(value), self.answers)
            if not problems:
                break
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
        self.answers[var_name] = value
        return value

    def _ask_once(self, var_name: str, default_value: Any, prompts, prefix: str) -> Any:
        if var_name in CHOICES:
            options = list(CHOICES[var_name])
            if default_value in options:  # the default is the first one offered
                options.remove(default_value)
                options.insert(0, default_value)
            return self.prompt.read_user_choice(var_name, options, prompts, prefix)
        if var_name in YES_NO_ANSWERS:
            default = bool(parse_bool(default_value))
            answer = self.prompt.read_user_yes_no(var_name, default, prompts, prefix)
            return "yes" if answer else "no"
        return self.ask_text(var_name, default_value, prompts, prefix)
