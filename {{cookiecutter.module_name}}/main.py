{%- import "python_names.jinja" as py with context -%}
{%- import "python_code.jinja" as code -%}
{%- set handled = cookiecutter.functions | handled_signatures -%}
"""The module's functions{% if cookiecutter.needs_config %} and configuration{% endif %}, as ThingsDB calls them. This file is yours.

Each ``@module.function`` below answers the function of its name in module.json's "exposes",
with examples: calls and what they answer (``Example(args, answer=...)``, or ThingsDB's error
``Example(args, error="type_err", message="...")``). The tests call every example, and
``python tools/manifest.py sync`` writes module.json's "exposes" and the README from this file.
{% filter replace("\n", " ") | wordwrap(96, break_long_words=false, break_on_hyphens=false) -%}
Before it runs, timod_loop.py checks the request against its annotations ({{ thingsdb_types |
map(attribute="python_annotation") | join(", ") }}, each optionally ``| None``): a missing
argument or a wrong type never reaches your code. A trailing ``*, options`` takes the thing of
extra properties. Raise timod's errors (``timod.ValueError(...)``) to answer with one.
{%- endfilter %}

ThingsDB starts this file as ``python main.py`` and talks to it over stdin and stdout, so stdout
belongs to the protocol: log with ``logging`` (stderr), never print.
"""

from __future__ import annotations
{% if cookiecutter.needs_config %}
import logging
from typing import Any

from timod import TypeError as TiTypeError
from timod import ValueError as TiValueError
{% elif handled %}
from typing import Any
{% endif %}
from timod_loop import {% if handled %}Example, {% endif %}Module
{% set name_literal = cookiecutter.module_name | py_string %}
{%- if name_literal | length > 82 %}
# fmt: off
module = Module({{ name_literal }})  # noqa: E501 (the module's name in ThingsDB)
# fmt: on
{%- else %}
module = Module({{ name_literal }})
{%- endif %}
{%- if cookiecutter.needs_config %}


class Config:
    """The module's configuration: new_module()'s third argument, or set_module_conf()."""

    # Each option and its default; the module also runs when ThingsDB sends no configuration.
    OPTIONS = {"prefix": ""}

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    @classmethod
    def from_value(cls, value: Any) -> Config:
        """Check a configuration as ThingsDB sends it (a map) and return it as a Config."""
        if not isinstance(value, dict):
            raise TiTypeError(
                f"the configuration of {module.name} must be a thing, not {type(value).__name__}"
            )
        unknown = sorted(str(key) for key in value if key not in cls.OPTIONS)
        if unknown:
            raise TiValueError(
                f"unknown configuration option(s) {', '.join(unknown)}; "
                f"known: {', '.join(cls.OPTIONS)}"
            )
        prefix = value.get("prefix", cls.OPTIONS["prefix"])
        if not isinstance(prefix, str):
            raise TiTypeError(f"configuration option prefix must be a string, not {prefix!r}")
        return cls(prefix=prefix)


config = Config()  # until ThingsDB sends one


@module.on_config
async def on_config(value: Any) -> None:
    """Takes the configuration; a refusal is logged and answered as an error."""
    global config
    config = Config.from_value(value)
    logging.info("configured")
{%- endif %}
{%- for f in handled %}
{%- set name = py.names[f.name] %}


{{ f | py_examples_decorator(name) }}
{{ f | py_handler_def(name, "Any" if f.bare else "dict[str, Any]") }}
    """{{ f.doc | py_docstring_text("    ") }}

{%- if f.bare %}

    Placeholder: returns value{% if cookiecutter.needs_config %}, the configured prefix in front of a str{% endif %}.
    """
{%- if cookiecutter.needs_config %}
    if isinstance(value, str):
        return config.prefix + value
{%- endif %}
    return value
{%- else %}

    Placeholder: returns the thing of its arguments.
    """
{%- set names = f.arguments | map(attribute="name") | list %}
{%- set items = code.thing_of(f, names, "options") %}
{{ code.bracketed("    ", "return {", (items.split("\x00") if items else []), "}", "literal") }}
{%- endif %}
{%- endfor %}


if __name__ == "__main__":
    module.run()
