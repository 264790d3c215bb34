"""The fast lane: run a :class:`~carpool.cli.spec.CommandSpec` command without click.

Only plain command lines take this lane: known global options (``--dir``,
``--debug``, ``--version``), then a command declared as a spec whose arguments
:meth:`~carpool.cli.spec.CommandSpec.parse` accepts.  Anything else returns ``None``
and goes to the click application, which has the same commands, the help and the
error messages.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from carpool import __version__
from carpool.cli.commands import LAZY_COMMANDS
from carpool.cli.spec import CommandSpec, config_dir_from_env, data_dir_from_env


def _load_spec(name: str) -> CommandSpec | None:
    target = LAZY_COMMANDS.get(name)
    if target is None:
        return None
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return None
    command = getattr(module, attr, None)
    return command if isinstance(command, CommandSpec) else None


def fast_lane(args: list[str]) -> Callable[[], Any] | None:
    """What to call to run ``carpool ARGS``, or ``None`` if click must parse them."""
    data_dir: str | None = None
    debug = version = False
    i = 0
    while i < len(args) and args[i].startswith("-"):
        word = args[i]
        i += 1
        if word == "--debug":
            debug = True
        elif word == "--version":
            version = True
        elif word == "--dir" and i < len(args):
            data_dir = args[i]
            i += 1
        elif word.startswith("--dir="):
            data_dir = word.removeprefix("--dir=")
        else:
            return None
    if version:
        return _print_version
    if i >= len(args):
        return None
    spec = _load_spec(args[i])
    if spec is None:
        return None
    params = spec.parse(args[i + 1 :])
    if params is None:
        return None
    directory = Path(data_dir) if data_dir is not None else data_dir_from_env()
    if directory.is_file():  # click's "Directory '…' is a file." error
        return None

    def run() -> Any:
        from carpool.cli.context import CliContext
        from carpool.cli.main import configure_logging

        configure_logging(debug)
        ctx = CliContext(data_dir=directory, config_dir=config_dir_from_env(), debug=debug)
        return spec.run(ctx, **params)

    return run


def _print_version() -> int:
    print(f"carpool, version {__version__}")
    return 0


__all__ = ["fast_lane"]
