"""carpool's click application: the root group, global options and lazy commands.

Commands live in their own modules and are imported only when invoked.  A command
module exposes either a click command or a :class:`~carpool.cli.spec.CommandSpec`,
which becomes a click command here (and can also run through the fast lane of
:mod:`carpool.cli.lane` without importing this module).
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

import click

from carpool import __version__
from carpool.cli.clickspec import to_click
from carpool.cli.commands import LAZY_COMMANDS
from carpool.cli.context import CliContext
from carpool.cli.spec import CommandSpec, config_dir_from_env
from carpool.errors import CarpoolError, UsageError


def _module_exists(target: str) -> bool:
    module = target.partition(":")[0]
    return importlib.util.find_spec(module) is not None


def load_command(name: str) -> click.Command | CommandSpec | None:
    """The command object that ``name`` maps to, importing its module (None if unknown)."""
    target = LAZY_COMMANDS.get(name)
    if target is None or not _module_exists(target):
        return None
    module_name, _, attr = target.partition(":")
    command = getattr(importlib.import_module(module_name), attr)
    if not isinstance(command, click.Command | CommandSpec):
        raise TypeError(f"{target} is neither a click command nor a CommandSpec")
    return command


class LazyGroup(click.Group):
    """A click group that imports a command's module only when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        names.update(n for n, t in LAZY_COMMANDS.items() if _module_exists(t))
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = load_command(cmd_name)
        if command is None:
            return super().get_command(ctx, cmd_name)
        return to_click(command) if isinstance(command, CommandSpec) else command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--dir",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="CARPOOL_DIR",
    default="/var/lib/carpool",
    show_default=True,
    help="Data dir: image store, pods, locks (env CARPOOL_DIR).",
)
@click.option("--debug", is_flag=True, help="Show debug logs and tracebacks.")
@click.version_option(__version__, "--version", prog_name="carpool")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path, debug: bool) -> None:
    """carpool: build images, run pods, discover services, deploy fleets."""
    from carpool.cli.main import configure_logging

    configure_logging(debug)
    ctx.obj = CliContext(data_dir=data_dir, config_dir=config_dir_from_env(), debug=debug)


class Aborted(CarpoolError):
    """click's Abort (e.g. Ctrl-C at a prompt)."""

    exit_code = 130


def run_click(args: list[str]) -> Any:
    """Run the click application; click's usage errors become :class:`UsageError`."""
    try:
        return cli.main(args=args, prog_name="carpool", standalone_mode=False)
    except click.exceptions.Abort:
        raise Aborted("aborted") from None
    except click.ClickException as exc:
        error = UsageError(exc.format_message().replace("\n", " "))
        error.exit_code = exc.exit_code
        raise error from None
