"""The ThingsDB module {{ cookiecutter.module_name }}.

ThingsDB starts this file as ``python main.py`` and talks to it over stdin and stdout, so
stdout belongs to the protocol: log with ``logging`` (stderr), never print.

Each exposed function in module.json sets the default ``function`` to its own name, which is
how a request tells which function was called; ``Handler.functions`` maps it to a method.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from timod import LookupError as TiLookupError
from timod import NumArgumentsError, TiHandler
from timod import TypeError as TiTypeError
from timod import ValueError as TiValueError

import timod_loop

MODULE_NAME = {{ cookiecutter.module_name | py_string }}
FUNCTION_KEY = {{ function_key | py_string }}

Request = dict[str, Any]
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
                f"the configuration of {MODULE_NAME} must be a thing, not {type(value).__name__}"
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
{%- endif %}


def argument(request: Request, name: str) -> Any:
    """A required argument of a request (an argmap name in module.json).

    A call of an exposed function always sends its argmap names, as nil for an argument the
    caller left out; a raw call, ``module({...})``, can lack one.
    """
    try:
        return request[name]
    except KeyError:
        raise NumArgumentsError(
            f"function `{request.get(FUNCTION_KEY)}` requires argument `{name}`"
        ) from None


class Handler(TiHandler):
    """Answers ThingsDB's configuration and requests."""

    def __init__(self) -> None:
{%- if cookiecutter.needs_config %}
        self.config = Config()
{%- endif %}
        # Exposed function name -> method; must match "exposes" in module.json.
        self.functions: dict[str, Callable[[Request], Awaitable[Any]]] = {
{%- for name in cookiecutter.functions | function_names %}
            {{ name | py_string }}: self.handle_{{ name }},
{%- endfor %}
        }

    async def on_config(self, data: Any) -> None:
{%- if cookiecutter.needs_config %}
        self.config = Config.from_value(data)
        logging.info("configured")
{%- else %}
        raise TiValueError(f"module {MODULE_NAME} takes no configuration")
{%- endif %}

    async def on_request(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise TiTypeError(f"a request must be a thing, not {type(data).__name__}")
        name = data.get(FUNCTION_KEY)
        function = self.functions.get(name) if isinstance(name, str) else None
        if function is None:
            raise TiLookupError(
                f"module {MODULE_NAME} has no function {name!r}; "
                f"exposed: {', '.join(self.functions)}"
            )
        return await function(data)
{%- for name in cookiecutter.functions | function_names %}
{% if name | length > 47 %}
    async def handle_{{ name }}(
        self, request: Request
    ) -> Any:
{%- else %}
    async def handle_{{ name }}(self, request: Request) -> Any:
{%- endif %}
        """Returns its value argument; replace with what this function should do."""
        value = argument(request, "value")
{%- if cookiecutter.needs_config %}
        if isinstance(value, str):
            return self.config.prefix + value
{%- endif %}
        return value
{%- endfor %}


def main() -> None:
    # logging writes to stderr, which ThingsDB copies into its own log.
    logging.basicConfig(level=logging.INFO, format=f"[{MODULE_NAME}] %(levelname)s %(message)s")
    timod_loop.start_module(MODULE_NAME, Handler())


if __name__ == "__main__":
    main()
