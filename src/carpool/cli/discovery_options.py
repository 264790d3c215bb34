"""Flags that ``carpool nerve`` and ``carpool synapse`` share: their HTTP API's address."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def api_options(func: F) -> F:
    """``--api-port`` and ``--api-host``: override the config's API listen address."""
    func = click.option("--api-host", default=None, help="Override the API listen address.")(func)
    return click.option(
        "--api-port",
        type=click.IntRange(0, 65535),
        default=None,
        help="Override the API port (0 disables the API).",
    )(func)
