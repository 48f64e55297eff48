"""What a valid answer is: one line per problem, naming the answer, the value and the rule."""

from __future__ import annotations

import keyword
import re
import sys
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

from .facts import (
    FUNCTION_KEY,
    PROJECT_TEMPLATE_DIR,
    THINGSDB_NAME,
    THINGSDB_RESERVED,
    THINGSDB_VERSION,
    load_answer_table,
    load_platforms,
)
from .go_code import binary_path, go_name
from .signatures import (
    OPTIONS_ARGUMENT,
    THINGSDB_OPTION_ARGUMENTS,
    Signature,
    SignatureError,
    parse_signature,
    split_top_level,
)

YES = ("yes", "y", "true", "1", "on")


NO = ("no", "n", "false", "0", "off")


# new_module() accepts github.com/OWNER/REPO with letters, digits and - _ . in both parts;
# GitHub itself limits owners to 39 characters and repositories to 100.
GITHUB_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,38}")


GITHUB_REPO = re.compile(r"[A-Za-z0-9_.-]{1,100}")


EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


# A Go module path: slash-separated elements of letters, digits and - . _ ~, the first one a
# domain with a dot (what `go get` can fetch).
GO_MODULE_PATH = re.compile(r"[a-z0-9][a-z0-9.-]*\.[a-z]{2,}(/[A-Za-z0-9_.~-]+)+")


class InvalidAnswers(SystemExit):
    """One or more answers break a rule: the run ends with status 1 after saying why.

    A SystemExit, because every command that renders this template lets one through as is:
    cookiecutter's, cruft's (whose other exceptions become a full-screen traceback) and
    pytest-cookies. :func:`check_answers` prints the problems, one line each, before raising.
    """

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(1)

    def __str__(self) -> str:
        return "Invalid answers, nothing was generated:\n" + "\n".join(
            f"  {p}" for p in self.problems
        )


def split_list(text: str) -> list[str]:
    """Split a comma-separated answer, dropping blanks around items."""
    return [item.strip() for item in str(text).split(",") if item.strip()]


def parse_bool(value: Any) -> bool | None:
    """A yes/no answer as a bool, or None when it is neither."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    return None


# Python keywords cannot name a handler's parameter; `self` is taken by methods.
PYTHON_RESERVED = frozenset(keyword.kwlist) | {"self"}


# The longest argument name of a Python module: a handler's parameter is the argument's name
# (the loop passes arguments by it), and the placeholder writes it twice on one line of
# main.py (`"name": name,`, indented 8) within the 100 columns ruff allows.
PYTHON_ARGUMENT_LONGEST = 43


# Methods the generated Go argument structs have, which a field may not shadow.
GO_ARGS_METHODS = frozenset({"Defaults"})


def _check_name(answer: str, value: str) -> list[str]:
    if THINGSDB_NAME.fullmatch(value):
        return []
    return [
        f"{answer}={value!r}: a ThingsDB name starts with a letter or _, then letters, "
        "digits or _ (at most 255 characters)"
    ]


def _check_functions(value: str, language: str) -> list[str]:
    try:
        items = [item for item in split_top_level(str(value)) if item.strip()]
    except SignatureError as exc:
        return [f"functions={value!r}: {exc}; commas inside (...) or quotes belong to a function"]
    if not items:
        return [f"functions={value!r}: give at least one function, comma separated"]
    problems = []
    seen: dict[str, Signature] = {}
    for item in items:
        try:
            signature = parse_signature(item)
        except SignatureError as exc:
            problems.append(f"functions={item.strip()!r}: {exc}")
            continue
        problems += [
            f"functions={item.strip()!r}: {p}" for p in _signature_problems(signature, language)
        ]
        name = signature.name
        if name in seen:
            problems.append(f"functions={name!r}: listed twice; function names must be unique")
        elif language == "go" and THINGSDB_NAME.fullmatch(name):
            other = next((n for n in seen if go_name(n) == go_name(name)), None)
            if other:
                problems.append(
                    f"functions={name!r}: gives the same Go handler name as {other!r} "
                    f"(handle{go_name(name)}); rename one"
                )
        seen[name] = signature
    return problems


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _signature_problems(signature: Signature, language: str) -> list[str]:
    """What is wrong with one parsed signature, besides what parsing already refused."""
    name = signature.name
    if not THINGSDB_NAME.fullmatch(name):
        return [
            f"{name!r}: a ThingsDB name starts with a letter or _, then letters, digits or _ "
            "(at most 255 characters)"
        ]
    problems = []
    if name in THINGSDB_RESERVED:
        problems.append(f"{name} is a reserved word in ThingsDB")
    if language == "python" and _is_dunder(name):
        # `async def __name__` would replace the module's own __name__, and so on.
        problems.append(f"{name}: names like __x__ are Python's own; rename the function")
    seen: dict[str, str] = {}
    for argument in signature.arguments:
        arg = argument.name
        if arg in seen:
            problems.append(f"argument {arg!r} is listed twice")
        if arg == FUNCTION_KEY:
            problems.append(
                f"argument {arg!r} is the key that says which function was called; rename it"
            )
        if arg in THINGSDB_OPTION_ARGUMENTS:
            problems.append(
                f"argument {arg!r} is an option ThingsDB takes itself and never sends; rename it"
            )
        if signature.options and arg == OPTIONS_ARGUMENT:
            problems.append(
                f"argument {arg!r} is the name the `*` thing of extra properties arrives under"
            )
        if language == "python" and len(arg) > PYTHON_ARGUMENT_LONGEST:
            problems.append(
                f"argument {arg[:20]}... has {len(arg)} characters; a Python module's argument "
                f"names have at most {PYTHON_ARGUMENT_LONGEST} (each is a parameter of its "
                "handler, written twice on a line of main.py)"
            )
        if language == "python" and arg in PYTHON_RESERVED:
            problems.append(f"argument {arg!r} is a Python keyword; rename it")
        if language == "python" and _is_dunder(arg):
            problems.append(f"argument {arg!r}: names like __x__ are Python's own; rename it")
        if language == "go" and go_name(arg) in GO_ARGS_METHODS:
            problems.append(
                f"argument {arg!r} gives the Go field {go_name(arg)}, a method of the "
                "arguments struct; rename it"
            )
        if language == "go":
            other = next((a for a in seen if go_name(a) == go_name(arg) and a != arg), None)
            if other:
                problems.append(
                    f"arguments {other!r} and {arg!r} give the same Go field {go_name(arg)}"
                )
            if signature.options and go_name(arg) == "Options":
                problems.append(f"argument {arg!r} gives the Go field Options, which `*` takes")
        seen[arg] = arg
    return problems


def _check_platforms(value: str) -> list[str]:
    known = load_platforms()
    chosen = split_list(value)
    if not chosen:
        return [f"platforms={value!r}: choose at least one of: {', '.join(known)}"]
    problems = []
    for platform in chosen:
        if platform not in known:
            problems.append(
                f"platforms={platform!r}: unknown platform; known ones: {', '.join(known)}"
            )
    if len(set(chosen)) != len(chosen):
        problems.append(f"platforms={value!r}: a platform is listed twice")
    return problems


def _rule(pattern: re.Pattern[str], text: str) -> Callable[[str, str], list[str]]:
    def check(answer: str, value: str) -> list[str]:
        return [] if pattern.fullmatch(value) else [f"{answer}={value!r}: {text}"]

    return check


def _one_of(choices: Iterable[str]) -> Callable[[str, str], list[str]]:
    choices = tuple(choices)

    def check(answer: str, value: str) -> list[str]:
        if value in choices:
            return []
        return [f"{answer}={value!r}: must be one of {', '.join(choices)}"]

    return check


def _not_blank(answer: str, value: str) -> list[str]:
    return [] if value.strip() else [f"{answer}={value!r}: must not be empty"]


def _not_reserved(answer: str, value: str) -> list[str]:
    if value in THINGSDB_RESERVED:
        return [f"{answer}={value!r}: {value} is a value in ThingsDB, not a name"]
    return []


# Windows' reserved file names, which Go refuses as module path elements (golang.org/x/mod).
_WINDOWS_RESERVED = re.compile(r"(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?", re.IGNORECASE)


def go_requirements() -> list[str]:
    """The modules a generated Go project requires, as its go.mod names them."""
    text = (PROJECT_TEMPLATE_DIR / "go.mod").read_text(encoding="utf-8")
    return re.findall(r"^\s+(\S+) v\S+", text, re.MULTILINE)


def _go_module_path(answer: str, value: str) -> list[str]:
    """Go's rules for a module path, so that `go build` accepts what the answer gives."""
    if not GO_MODULE_PATH.fullmatch(value):
        return [
            f"{answer}={value!r}: a Go module path looks like github.com/owner/repo "
            "(lowercase host, no spaces)"
        ]
    for required in go_requirements():
        if value == required or value.startswith(required + "/"):
            return [
                f"{answer}={value!r}: {required} is a module the project requires; "
                "give your own repository's path"
            ]
    for element in value.split("/"):
        if element.startswith(".") or element.endswith("."):
            return [f"{answer}={value!r}: Go refuses the element {element!r} (a dot at an end)"]
        if element.startswith("-"):
            # go build reads a package path element starting with - as a flag.
            return [f"{answer}={value!r}: Go refuses the element {element!r} (a leading -)"]
        if element == "vendor":
            # go build takes what is under a vendor element for vendored code.
            return [f"{answer}={value!r}: Go keeps the element 'vendor' for vendored code"]
        if _WINDOWS_RESERVED.fullmatch(element) or re.search(r"~[0-9]+\Z", element):
            return [
                f"{answer}={value!r}: Go refuses the element {element!r} (a reserved file name)"
            ]
    return []


def _binary_names(answers: MutableMapping[str, Any]) -> list[str]:
    """Go: every binary's file name must fit the 255 bytes file systems allow."""
    module, chosen = str(answers.get("module_name", "")), split_list(answers.get("platforms", ""))
    longest = max((binary_path(module, p) for p in chosen), key=len, default="")
    name = longest.rpartition("/")[2]
    if len(name.encode("utf-8")) > 255:
        return [
            f"module_name={module[:20]!r}...: with {len(module)} characters its binary "
            f"{name[:20]}... is longer than the 255 bytes a file name can have; "
            f"use at most {255 - (len(name) - len(module))} characters"
        ]
    return []


def _repo_name(answer: str, value: str) -> list[str]:
    if GITHUB_REPO.fullmatch(value) and not value.endswith((".", ".git")):
        return []
    return [
        f"{answer}={value!r}: a GitHub repository name has 1 to 100 letters, digits, - _ . "
        "(not ending in . or .git)"
    ]


def _yes_no(answer: str, value: str) -> list[str]:
    if parse_bool(value) is not None:
        return []
    return [f"{answer}={value!r}: answer yes or no"]


# The checks the answer table's text answers name as their `rule`.
RULE_CHECKS: dict[str, Callable[[str, str], list[str]]] = {
    "module_name": lambda answer, value: _check_name(answer, value) or _not_reserved(answer, value),
    "any_text": lambda answer, value: [],  # it is encoded wherever it goes
    "not_blank": _not_blank,
    "email": _rule(EMAIL, "must look like name@example.com"),
    "github_owner": _rule(
        GITHUB_OWNER,
        "a GitHub owner has 1 to 39 letters, digits, - _ . and starts with a letter or digit",
    ),
    "repo_name": _repo_name,
    "thingsdb_version": _rule(
        THINGSDB_VERSION,
        "ThingsDB wants 1 to 3 dot-separated groups of 1 to 5 digits, like 0.1.0 (no v, no suffix)",
    ),
    "functions": lambda answer, value: [],  # checked with the language, see validate_answers
    "go_module_path": _go_module_path,
    "platforms": lambda answer, value: _check_platforms(value),
}

# hooks/answer_table.json: every answer, its kind and rule, the language that asks it.
ANSWERS = load_answer_table()


def answer_check(row: dict[str, Any]) -> Callable[[str, str], list[str]]:
    """The check of one answer of the table: its kind's, or its rule's for a text answer."""
    if row["kind"] == "choice":
        return _one_of(row["choices"])
    if row["kind"] == "yes_no":
        return _yes_no
    return RULE_CHECKS[row["rule"]]


# The answers every project is given, and those of Go projects only.
RULES = {row["name"]: answer_check(row) for row in ANSWERS if row["language"] == "both"}
GO_RULES = {row["name"]: answer_check(row) for row in ANSWERS if row["language"] == "go"}
YES_NO_ANSWERS = tuple(row["name"] for row in ANSWERS if row["kind"] == "yes_no")


# The control characters an answer may hold: line breaks and tabs in the description only
# (module.json keeps them; README and LICENSE show it on one line).
ALLOWED_CONTROLS = {"description": "\t\n\r"}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _text_problem(answer: str, value: str) -> str | None:
    """Why ``value`` is not text a file can hold, or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # bytes that were not UTF-8, passed on as lone surrogates
        return f"{answer}={value!r}: is not valid UTF-8 text"
    allowed = ALLOWED_CONTROLS.get(answer, "")
    bad = sorted({c for c in _CONTROL.findall(value) if c not in allowed})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        return f"{answer}={value!r}: holds the control character(s) {shown}; write plain text"
    return None


def validate_answers(answers: MutableMapping[str, Any]) -> list[str]:
    """Every problem with the answers, one line each; an empty list when all are valid."""
    problems: list[str] = []
    unreadable = set()
    for answer in [*RULES, *GO_RULES]:
        problem = _text_problem(answer, str(answers.get(answer, "")))
        if problem:
            problems.append(problem)
            unreadable.add(answer)
    for answer, rule in RULES.items():
        if answer in unreadable:
            continue
        problems += rule(answer, str(answers.get(answer, "")))
    language = str(answers.get("language", ""))
    if "functions" not in unreadable:
        problems += _check_functions(str(answers.get("functions", "")), language)
    if language == "go":
        for answer, rule in GO_RULES.items():
            if answer not in unreadable:
                problems += rule(answer, str(answers.get(answer, "")))
        if not problems:
            problems += _binary_names(answers)
    return problems


def normalize_answers(answers: MutableMapping[str, Any]) -> None:
    """Give valid answers the form the templates use: the yes/no answers as real bools."""
    for answer in YES_NO_ANSWERS:
        answers[answer] = parse_bool(answers.get(answer))


def check_answers(answers: MutableMapping[str, Any]) -> str:
    """Validate and normalise the answers in place; raise InvalidAnswers listing every problem."""
    if "module_name" not in answers:
        # cookiecutter --replay prompts only for what the replay file lacks; the answers it
        # holds are checked by the pre_gen hook.
        return "deferred"
    problems = validate_answers(answers)
    if problems:
        error = InvalidAnswers(problems)
        print(error, file=sys.stderr)
        raise error
    normalize_answers(answers)
    return "yes"


def check_answer(answer: str, value: str, earlier: MutableMapping[str, Any]) -> list[str]:
    """The problems of one answer as it is typed, given the answers typed before it."""
    problem = _text_problem(answer, value)
    if problem:
        return [problem]
    if answer == "functions":
        return _check_functions(value, str(earlier.get("language", "")))
    rule = RULES.get(answer) or GO_RULES.get(answer)
    return rule(answer, value) if rule else []
