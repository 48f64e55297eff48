#!/usr/bin/env python3
"""ThingsDB's side of the module protocol: start a module as ThingsDB does and talk to it.

ThingsDB runs a module as a child process (``python <main>`` for a ``.py`` main, the binary
itself otherwise) with a socket pair as stdin and another as stdout, and exchanges packages:
an 8-byte little-endian header (uint32 body length, uint16 pid, uint8 type, uint8 type ^ 0xFF)
followed by a MessagePack body. This file does the same, for tests and for trying a module
from the command line without a ThingsDB server:

    python tools/thingsdb_peer.py echo '"hi"'
    python tools/thingsdb_peer.py --conf '{"prefix": "> "}' echo '"hi"'  # if it takes one

Arguments are JSON, or bytes written as a Python bytes literal (``'b"raw"'``). A string is
JSON too: write it in double quotes, inside single quotes for the shell (``'"hello"'``); a word
that is not JSON is refused, not sent as a string, so that a list missing its ``]`` is never
sent as text. The reply is printed as JSON, with bytes as ``b'...'``; an error reply is printed
as its ThingsDB name and code, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack

# ThingsDB's platform key, kept in one place; tests/test_manifest.py takes it from here.
from manifest import host_platform_key  # noqa: F401

HEADER = struct.Struct("<IHBB")

CONF = 64
CONF_OK = 65
CONF_ERR = 66
REQ = 80
RES = 81
ERR = 82

ERROR_NAMES = {
    -64: "cancelled_err",
    -63: "operation_err",
    -62: "num_arguments_err",
    -61: "type_err",
    -60: "value_err",
    -59: "overflow_err",
    -58: "zero_div_err",
    -57: "max_quota_err",
    -56: "auth_err",
    -55: "forbidden_err",
    -54: "lookup_err",
    -53: "bad_data_err",
    -52: "syntax_err",
    -51: "node_err",
    -50: "assert_err",
}

ERROR_CODES = {name: code for code, name in ERROR_NAMES.items()}

# Keys of a module's defaults that ThingsDB keeps for itself instead of sending them.
RESERVED_DEFAULTS = ("load", "deep")
# How many levels of things deep ThingsDB packs a configuration (ti_module_conf_pkg).
CONF_DEEP = 3


def cut_to_depth(value: Any, levels: int) -> Any:
    """``value`` as ThingsDB packs it ``levels`` things deep: deeper things arrive empty.

    Lists do not count as a level. (A stored thing also carries its id as ``"#"``, which a
    value given here cannot have.)
    """
    if isinstance(value, dict):
        if levels <= 0:
            return {}
        return {key: cut_to_depth(item, levels - 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [cut_to_depth(item, levels) for item in value]
    return value


def _option_deep(options: dict[str, Any], deep: int) -> int:
    """The `deep` a call's thing of options sets, else ``deep``."""
    given = _deep(options.get("deep"))
    return deep if given is None else given


def _deep(value: Any) -> int | None:
    """A valid `deep` option (0 to 127), or None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 127:
        return value
    return None


def error_name(code: int) -> str:
    """ThingsDB's name for an error code (custom codes are -127..-100)."""
    if -127 <= code <= -100:
        return "custom_err"
    return ERROR_NAMES.get(code, "unknown_err")


def pack(pid: int, tp: int, value: Any = None, *, body: bytes | None = None) -> bytes:
    """One package: header plus ``body`` bytes, or ``value`` packed as MessagePack."""
    if body is None:
        body = msgpack.packb(value, use_bin_type=True)
    return HEADER.pack(len(body), pid, tp, tp ^ 0xFF) + body


@dataclass
class Package:
    """A package read from the module."""

    pid: int
    type: int
    check: int
    raw: bytes

    @property
    def value(self) -> Any:
        """The body decoded from MessagePack (None for an empty body)."""
        if not self.raw:
            return None
        return msgpack.unpackb(self.raw, raw=False, strict_map_key=False)

    @property
    def is_error(self) -> bool:
        return self.type in (ERR, CONF_ERR)

    @property
    def error_code(self) -> int | None:
        """The code of an ERR or CONF_ERR reply (``[code, message]``), else None."""
        if self.is_error and isinstance(self.value, (list, tuple)) and self.value:
            return self.value[0]
        return None


class ModuleError(Exception):
    """The module answered a request with an error package."""

    def __init__(self, code: int, message: str):
        self.code = code
        super().__init__(f"{error_name(code)} ({code}): {message}")


def load_manifest(project_dir: str | os.PathLike) -> dict[str, Any]:
    with open(Path(project_dir) / "module.json", encoding="utf-8") as file:
        return json.load(file)


def module_command(project_dir: str | os.PathLike, manifest: dict[str, Any]) -> list[str]:
    """The command ThingsDB would start for this manifest: the Python running this, on main."""
    main = manifest["main"]
    if not isinstance(main, str) or not main.endswith(".py"):
        raise ValueError(f"module.json's main, {main!r}, is not a Python file")
    return [sys.executable, str(Path(project_dir, main).resolve())]


def build_request(
    manifest: dict[str, Any], function: str, args: list[Any] | tuple[Any, ...] = ()
) -> dict[str, Any]:
    """The request thing ThingsDB sends for ``<module>.<function>(*args)``.

    As ThingsDB builds it: each argmap name takes its positional argument, or, when the call
    leaves it out, the default of that name, else nil (a left-out argument is sent, never
    missing). ``"*"`` takes an optional thing whose properties are added; without an argmap
    the one argument must be a thing, sent as it is. An argmap name ``load`` or ``deep`` sets
    ThingsDB's option of that name and is not sent. The defaults (the function's own, then
    the root's) then fill the keys still missing. Arguments beyond the argmap are not sent:
    ThingsDB passes them to the future's closure (see extra_arguments). Things nested deeper
    than the call's ``deep`` option (the function's default, the root's, or a ``deep`` in the
    ``*`` thing) plus one arrive empty, as ThingsDB packs them.
    """
    exposed = manifest.get("exposes", {})
    if function not in exposed:
        raise LookupError(f"module.json exposes no function {function!r}")
    spec = exposed[function]
    if isinstance(spec, str):
        raise ValueError(f"{function!r} is a ThingsDB closure; call it from ThingsDB")
    defaults = {
        key: value
        for layer in (manifest.get("defaults", {}), spec.get("defaults", {}))
        for key, value in layer.items()
        if key not in RESERVED_DEFAULTS
    }
    layers = (spec.get("defaults", {}), manifest.get("defaults", {}))
    # The function's own `deep`, else the root's, else ThingsDB's default of 1.
    deep = next((d for d in (_deep(layer.get("deep")) for layer in layers) if d is not None), 1)
    argmap = spec.get("argmap")
    request: dict[str, Any] = {}
    if argmap is None:
        if args:
            if not isinstance(args[0], dict):
                raise TypeError(f"the first argument of `{function}` must be a thing")
            request.update(args[0])
            deep = _option_deep(args[0], deep)
    else:
        for index, name in enumerate(argmap):
            given = index < len(args)
            if name == "*":
                if given and args[index] is not None:
                    if not isinstance(args[index], dict):
                        raise TypeError(f"the `*` argument of `{function}` must be a thing or nil")
                    request.update(args[index])
                    deep = _option_deep(args[index], deep)
            elif name == "deep":
                if given and _deep(args[index]) is not None:
                    deep = _deep(args[index])
            elif name != "load":
                request[name] = args[index] if given else defaults.get(name)
    for key, value in defaults.items():
        request.setdefault(key, value)
    # ThingsDB packs the request `deep` + 1 things deep, the request itself the first.
    return cut_to_depth(request, deep + 1)


def extra_arguments(manifest: dict[str, Any], function: str, args: list[Any]) -> list[Any]:
    """The arguments of a call that ThingsDB does not send to the module."""
    argmap = manifest["exposes"][function].get("argmap")
    return list(args[1 if argmap is None else len(argmap) :])


class ModuleProcess:
    """A module started the way ThingsDB starts it, with helpers to exchange packages."""

    def __init__(
        self,
        command: list[str],
        cwd: str | os.PathLike | None = None,
        env: dict[str, str] | None = None,
    ):
        self._stdin, child_stdin = socket.socketpair()
        self._stdout, child_stdout = socket.socketpair()
        # A file, not a pipe: a module that logs a lot must never block on a full pipe.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self._buffer = bytearray()
        self._next_pid = 0
        try:
            self.process = subprocess.Popen(
                command,
                stdin=child_stdin,
                stdout=child_stdout,
                stderr=self._stderr,
                cwd=cwd,
                env=env,
            )
        finally:
            child_stdin.close()
            child_stdout.close()

    def __enter__(self) -> ModuleProcess:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # --- sending ---

    def send_raw(self, data: bytes) -> None:
        """Write bytes to the module's stdin in one write."""
        self._stdin.sendall(data)

    def send(self, pid: int, tp: int, value: Any = None) -> None:
        self.send_raw(pack(pid, tp, value))

    def new_pid(self) -> int:
        """The next request id; like ThingsDB's, it wraps from 65535 to 0."""
        pid = self._next_pid
        self._next_pid = (pid + 1) & 0xFFFF
        return pid

    def send_request(self, value: Any) -> int:
        pid = self.new_pid()
        self.send(pid, REQ, value)
        return pid

    def close_stdin(self) -> None:
        """End the module's input, as when ThingsDB goes away."""
        self._stdin.shutdown(socket.SHUT_WR)

    # --- receiving ---

    def _fill(self, size: int, deadline: float) -> None:
        while len(self._buffer) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the module did not answer in time")
            self._stdout.settimeout(remaining)
            try:
                chunk = self._stdout.recv(max(65536, size - len(self._buffer)))
            except socket.timeout:
                raise TimeoutError("the module did not answer in time") from None
            if not chunk:
                raise EOFError("the module closed its stdout")
            self._buffer += chunk

    def read_package(self, timeout: float = 10.0) -> Package:
        """The next package from the module's stdout, assembled from as many reads as needed."""
        deadline = time.monotonic() + timeout
        self._fill(HEADER.size, deadline)
        length, pid, tp, check = HEADER.unpack_from(self._buffer)
        self._fill(HEADER.size + length, deadline)
        raw = bytes(self._buffer[HEADER.size : HEADER.size + length])
        del self._buffer[: HEADER.size + length]
        return Package(pid, tp, check, raw)

    def read_packages(self, count: int, timeout: float = 10.0) -> list[Package]:
        deadline = time.monotonic() + timeout
        return [self.read_package(max(0.0, deadline - time.monotonic())) for _ in range(count)]

    # --- conversations ---

    def configure(self, value: Any, timeout: float = 10.0) -> Package:
        """Send a configuration (CONF, pid 0) and return the CONF_OK or CONF_ERR reply.

        As ThingsDB sends it: things nested deeper than three levels arrive empty.
        """
        self.send(0, CONF, cut_to_depth(value, CONF_DEEP))
        return self.read_package(timeout)

    def request(self, value: Any, timeout: float = 10.0) -> Package:
        """Send one request and return its reply package."""
        pid = self.send_request(value)
        reply = self.read_package(timeout)
        if reply.pid != pid:
            raise AssertionError(f"reply for pid {reply.pid}, expected {pid}")
        return reply

    def call(self, value: Any, timeout: float = 10.0) -> Any:
        """Send one request and return the reply's value; raise ModuleError on an error reply."""
        reply = self.request(value, timeout)
        if reply.type == ERR:
            code, message = reply.value
            raise ModuleError(code, message)
        if reply.type != RES:
            raise AssertionError(f"unexpected package type {reply.type} in reply")
        return reply.value

    # --- the process ---

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float = 10.0) -> int:
        return self.process.wait(timeout)

    def terminate(self, timeout: float = 10.0) -> int:
        """Stop the module the way ThingsDB does (SIGTERM) and return its exit status."""
        if self.alive():
            self.process.terminate()
        return self.process.wait(timeout)

    def stderr_text(self) -> str:
        """What the module logged so far."""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def stop(self) -> None:
        """Stop the module (killing it if SIGTERM does not) and release the sockets."""
        try:
            self.terminate(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for closable in (self._stdin, self._stdout, self._stderr):
            closable.close()


# --- command line ---


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str) -> Any:
    """JSON, strictly: without the NaN and Infinity that Python's json takes."""
    return json.loads(text, parse_constant=_no_constant)


def parse_argument(word: str) -> Any:
    """A command line argument: JSON, or bytes written as a bytes literal (b"raw")."""
    if word[:2] in ('b"', "b'"):
        try:
            value = ast.literal_eval(word)
        except (ValueError, SyntaxError):
            value = None
        if not isinstance(value, bytes):
            message = f'{word!r} is not a bytes literal like b"raw"'
            raise argparse.ArgumentTypeError(message)
        return value
    try:
        return parse_json(word)
    except ValueError:
        # Sent as a string, a list missing its `]` would pass unnoticed.
        quoted = "'" + json.dumps(word, ensure_ascii=False).replace("'", "'\\''") + "'"
        message = f"{word!r} is not JSON; a string is written in JSON's double quotes, like "
        raise argparse.ArgumentTypeError(message + quoted) from None
    except RecursionError:
        raise argparse.ArgumentTypeError("the argument is nested too deeply") from None


def _configuration(text: str) -> Any:
    try:
        return parse_json(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    except RecursionError:
        raise argparse.ArgumentTypeError("nested too deeply") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def render_value(value: Any) -> str:
    """A reply as JSON, with bytes shown as a bytes literal instead of a quoted repr."""
    if isinstance(value, (bytes, bytearray)):
        return repr(bytes(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (
            f"{render_value(k if isinstance(k, (str, bytes)) else str(k))}: {render_value(v)}"
            for k, v in value.items()
        )
        return "{" + ", ".join(items) + "}"
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return json.dumps(repr(value), ensure_ascii=False)  # MessagePack extension types


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Call a function of this module the way ThingsDB does, without ThingsDB.",
    )
    parser.add_argument("function", help="an exposed function from module.json")
    parser.add_argument(
        "args",
        nargs="*",
        type=parse_argument,
        help="""arguments, as JSON ('"text"', 1, '[1, 2]'; bytes: 'b"raw"')""",
    )
    parser.add_argument("--conf", type=_configuration, help="send this configuration (JSON) first")
    parser.add_argument("--dir", default=".", help="the module's directory (default: .)")
    parser.add_argument("--timeout", type=_seconds, default=10.0, help="seconds to wait (10)")
    parser.add_argument("--verbose", action="store_true", help="print the module's log")
    return parser.parse_args(argv)


def _check_packable(what: str, value: Any) -> None:
    try:
        pack(0, REQ, value)
    except (OverflowError, ValueError, TypeError) as exc:  # a huge int, a lone surrogate
        raise ValueError(f"{what} cannot be sent as MessagePack: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    options = _parse_args(argv)
    try:
        if options.conf is not None:
            _check_packable("the configuration", options.conf)
        manifest = load_manifest(options.dir)
        request = build_request(manifest, options.function, options.args)
        _check_packable("the arguments", request)
        command = module_command(options.dir, manifest)
    except (OSError, ValueError, LookupError, TypeError, OverflowError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RecursionError:
        print("error: the arguments are nested too deeply", file=sys.stderr)
        return 2
    return _call(options, manifest, request, command)


def _call(
    options: argparse.Namespace, manifest: dict[str, Any], request: Any, command: list[str]
) -> int:
    extra = extra_arguments(manifest, options.function, options.args)
    if extra:
        print(
            f"note: not sent to the module: {render_value(extra)} "
            "(ThingsDB passes arguments beyond the argmap to the future's closure)",
            file=sys.stderr,
        )
    status = 0
    with ModuleProcess(command, cwd=options.dir) as module:
        try:
            if options.conf is not None:
                reply = module.configure(options.conf, options.timeout)
                if reply.type != CONF_OK:
                    code, message = reply.value
                    raise ModuleError(code, f"configuration rejected: {message}")
            value = module.call(request, options.timeout)
            print(render_value(value))
        except ModuleError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
        except (TimeoutError, EOFError) as exc:
            print(f"error: {exc}; the module's log follows", file=sys.stderr)
            print(module.stderr_text(), file=sys.stderr, end="")
            status = 1
        if options.verbose:
            print(module.stderr_text(), file=sys.stderr, end="")
    return status


if __name__ == "__main__":
    sys.exit(main())
