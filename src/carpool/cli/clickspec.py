"""The click command of a :class:`~carpool.cli.spec.CommandSpec`.

click remains the authority on a declared command's command line: it prints the help
and the usage errors, and parses whatever the fast lane declines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from carpool.cli.context import CliContext
from carpool.cli.spec import FLAG, MULTIPLE, Argument, CommandSpec, Option


def _param_type(kind: type[Any], choices: tuple[str, ...] = ()) -> click.ParamType[Any]:
    if choices:
        return click.Choice(choices, case_sensitive=False)
    if kind is Path:
        return click.Path(path_type=Path)
    if kind is float:
        return click.FLOAT
    return click.STRING


def _option(option: Option) -> click.Option:
    return click.Option(
        [*option.flags, option.dest],
        help=option.help,
        is_flag=option.kind == FLAG,
        multiple=option.kind == MULTIPLE,
        type=None if option.kind == FLAG else _param_type(option.type, option.choices),
        default=option.initial(),
        metavar=option.metavar,
        show_default=option.show_default,
    )


def _argument(argument: Argument) -> click.Argument:
    if argument.rest:
        return click.Argument(
            [argument.dest], nargs=-1, type=click.UNPROCESSED, metavar=argument.metavar
        )
    return click.Argument(
        [argument.dest], type=_param_type(argument.type), metavar=argument.metavar
    )


def to_click(spec: CommandSpec) -> click.Command:
    """The click command that parses like ``spec.parse`` and then runs ``spec.run``."""

    @click.pass_obj
    def callback(ctx: CliContext, /, **params: Any) -> int | None:
        return spec.run(ctx, **params)

    settings: dict[str, Any] = {}
    if spec.stop_at_argument:
        settings = {"ignore_unknown_options": True, "allow_interspersed_args": False}
    return click.Command(
        spec.name,
        callback=callback,
        params=[*map(_option, spec.options), *map(_argument, spec.arguments)],
        help=spec.help,
        context_settings=settings,
    )
