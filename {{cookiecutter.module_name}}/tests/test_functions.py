"""Your functions{% if cookiecutter.needs_config %} and configuration{% endif %} over the wire, called exactly as ThingsDB calls them.

This file is yours. It was generated from the signatures the module started with; the expected
answers are what the placeholder functions return, so change them as you write each function,
and add a line to each table when you add a function. The argument checks (a wrong type, a
left-out argument) run before your code, so those cases keep passing until you change a
signature.
"""
{%- set handled = cookiecutter.functions | signatures | rejectattr("closure") | list %}
{%- set checks_types = handled | map(attribute="arguments") | map("rejectattr", "type", "equalto", "any") | map("list") | select | list %}
{%- set checks_required = handled | map(attribute="arguments") | map("rejectattr", "optional") | map("rejectattr", "type", "equalto", "any") | map("list") | select | list %}

from __future__ import annotations

import pytest

from thingsdb_peer import CONF_ERR, {% if cookiecutter.needs_config %}CONF_OK, {% endif %}{% if checks_types or checks_required %}ERR, {% endif %}ERROR_CODES, RES, build_request

TYPE_ERR = ERROR_CODES["type_err"]
NUM_ARGUMENTS_ERR = ERROR_CODES["num_arguments_err"]
{%- if cookiecutter.needs_config %}
VALUE_ERR = ERROR_CODES["value_err"]
{%- endif %}
{%- macro row(text) -%}
{{ text }}{% if text | length > 100 %}  # noqa: E501{% endif %}
{%- endmacro %}

# function, positional arguments as a ThingsDB call gives them, what the function answers
# fmt: off
CALLS = [
{%- for f in handled %}
{%- set args = f.sample_args %}
{%- if f.bare %}
    {{ row('pytest.param(' ~ (f.name | py_string) ~ ', [' ~ (args | map("py_value") | join(", ")) ~ '], ' ~ (args[0] | py_value) ~ ', id=' ~ (f.name | py_string) ~ '),') }}
{%- else %}
{%- set answer = [] %}
{%- for a in f.arguments %}{% set _ = answer.append((a.name | py_string) ~ ": " ~ (a.sample | py_value)) %}{% endfor %}
{%- if f.options %}{% set _ = answer.append('"options": {}') %}{% endif %}
    {{ row('pytest.param(' ~ (f.name | py_string) ~ ', [' ~ (args | map("py_value") | join(", ")) ~ '], {' ~ (answer | join(", ")) ~ '}, id=' ~ (f.name | py_string) ~ '),') }}
{%- set required = f.arguments | rejectattr("optional") | list %}
{%- if required | length < f.arguments | length %}
{%- set answer = [] %}
{%- for a in f.arguments %}{% set _ = answer.append((a.name | py_string) ~ ": " ~ ((a.sample if not a.optional else a.default) | py_value)) %}{% endfor %}
{%- if f.options %}{% set _ = answer.append('"options": {}') %}{% endif %}
    {{ row('pytest.param(' ~ (f.name | py_string) ~ ', [' ~ (required | map(attribute="sample") | map("py_value") | join(", ")) ~ '], {' ~ (answer | join(", ")) ~ '}, id=' ~ ((f.name ~ "-defaults") | py_string) ~ '),') }}
{%- endif %}
{%- if f.options %}
{%- set answer = [] %}
{%- for a in f.arguments %}{% set _ = answer.append((a.name | py_string) ~ ": " ~ (a.sample | py_value)) %}{% endfor %}
{%- set _ = answer.append('"options": {"key": "value"}') %}
    {{ row('pytest.param(' ~ (f.name | py_string) ~ ', [' ~ (args | map("py_value") | join(", ")) ~ (", " if args else "") ~ '{"key": "value"}], {' ~ (answer | join(", ")) ~ '}, id=' ~ ((f.name ~ "-options") | py_string) ~ '),') }}
{%- endif %}
{%- endif %}
{%- endfor %}
]
# fmt: on


@pytest.mark.parametrize("function, args, answer", CALLS)
def test_function_answers(module, manifest, function, args, answer):
    reply = module.request(build_request(manifest, function, args))
    assert (reply.type, reply.value) == (RES, answer), module.stderr_text()

{%- if checks_types %}


# function, arguments, the argument refused, its type, the type the call gave
# fmt: off
WRONG_TYPES = [
{%- for f in handled %}
{%- set typed = f.arguments | rejectattr("type", "equalto", "any") | list %}
{%- if typed %}
{%- set bad = typed[0] %}
{%- set args = [] %}
{%- for a in f.arguments %}{% set _ = args.append((a.wrong_sample if a.name == bad.name else a.sample) | py_value) %}{% endfor %}
    {{ row('pytest.param(' ~ (f.name | py_string) ~ ', [' ~ (args | join(", ")) ~ '], ' ~ (bad.name | py_string) ~ ', ' ~ (bad.type | py_string) ~ ', ' ~ (bad.wrong_sample_type | py_string) ~ ', id=' ~ (f.name | py_string) ~ '),') }}
{%- endif %}
{%- endfor %}
]
# fmt: on


@pytest.mark.parametrize("function, args, argument, expected, got", WRONG_TYPES)
def test_argument_of_a_wrong_type_is_a_type_error(
    module, manifest, function, args, argument, expected, got
):
    reply = module.request(build_request(manifest, function, args))
    message = (
        f"function `{function}` expects argument `{argument}` "
        f"to be of type `{expected}` but got type `{got}` instead"
    )
    assert (reply.type, reply.error_code, reply.value[1]) == (ERR, TYPE_ERR, message)
{%- endif %}
{%- if checks_required %}


# function, the first argument a call cannot leave out, its type
# fmt: off
REQUIRED = [
{%- for f in handled %}
{%- set needed = f.arguments | rejectattr("optional") | rejectattr("type", "equalto", "any") | list %}
{%- if needed %}
    {{ row('pytest.param(' ~ (f.name | py_string) ~ ', ' ~ (needed[0].name | py_string) ~ ', ' ~ (needed[0].type | py_string) ~ ', id=' ~ (f.name | py_string) ~ '),') }}
{%- endif %}
{%- endfor %}
]
# fmt: on


@pytest.mark.parametrize("function, argument, expected", REQUIRED)
def test_left_out_argument_is_a_num_arguments_error(module, manifest, function, argument, expected):
    # ThingsDB sends a left-out argument as nil.
    reply = module.request(build_request(manifest, function, []))
    message = (
        f"function `{function}` requires argument `{argument}` "
        f"of type `{expected}` but got type `nil` instead"
    )
    assert (reply.type, reply.error_code, reply.value[1]) == (ERR, NUM_ARGUMENTS_ERR, message)
{%- endif %}
{%- if cookiecutter.needs_config %}


# --- configuration ---
{%- set bare = handled | selectattr("bare") | list %}
{%- if bare %}


# A function whose answer shows the configured prefix.
# fmt: off
PREFIXED = {{ row(bare[0].name | py_string) }}
# fmt: on


def test_configuration_is_accepted_and_applied(module, manifest):
    reply = module.configure({"prefix": "> "})
    assert (reply.pid, reply.type, reply.raw) == (0, CONF_OK, b"")
    reply = module.request(build_request(manifest, PREFIXED, ["x"]))
    assert (reply.type, reply.value) == (RES, "> x")
{%- else %}


def test_configuration_is_accepted(module):
    reply = module.configure({"prefix": "> "})
    assert (reply.pid, reply.type, reply.raw) == (0, CONF_OK, b"")
{%- endif %}


def test_configuration_can_be_sent_again(module):
    assert module.configure({"prefix": "a"}).type == CONF_OK
    assert module.configure({"prefix": "b"}).type == CONF_OK


@pytest.mark.parametrize(
    "conf, code",
    [("text", TYPE_ERR), ({"prefix": 1}, TYPE_ERR), ({"colour": "red"}, VALUE_ERR)],
    ids=["not-a-thing", "wrong-type", "unknown-option"],
)
def test_bad_configuration_is_refused(module, conf, code):
    reply = module.configure(conf)
    assert (reply.type, reply.error_code) == (CONF_ERR, code)
{%- else %}


def test_a_configuration_is_refused(module):
    # The module takes none: new_module() without a third argument.
    reply = module.configure({"prefix": "> "})
    assert (reply.pid, reply.type, reply.error_code) == (0, CONF_ERR, ERROR_CODES["value_err"])
{%- endif %}
