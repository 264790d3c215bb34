"""Printing for commands: tables or JSON, and progress on a TTY or as plain lines.

Every command that prints a table takes ``--format table|json`` through
:data:`format_option` and hands its rows to :func:`print_rows`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

format_option: Callable[[F], F] = click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def print_rows(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[tuple[str, str]],
    output_format: str,
) -> None:
    """Print ``rows`` as JSON (all keys) or as a table of ``columns`` (key, header)."""
    if output_format == "json":
        print_json(list(rows))
        return
    if not sys.stdout.isatty():
        # Plain, tab-separated, greppable: what rkt printed without a TTY.
        print("\t".join(h for _, h in columns))
        for row in rows:
            print("\t".join(_cell(row.get(k)) for k, _ in columns))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for _, header in columns:
        table.add_column(header)
    for row in rows:
        table.add_row(*(_cell(row.get(k)) for k, _ in columns))
    Console().print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


class TerminalProgress:
    """A :class:`carpool.progress.Progress` drawn with rich on a TTY, plain lines otherwise."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._started = time.monotonic()
        self._rich: Any = None
        self._task: Any = None

    def step(self, message: str) -> None:
        if not self._tty:
            elapsed = time.monotonic() - self._started
            print(f"[{elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)
            return
        if self._rich is None:
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._rich = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                transient=False,
            )
            self._rich.start()
        if self._task is not None:
            self._rich.update(self._task, completed=self._rich.tasks[-1].total or 1, total=1)
        self._task = self._rich.add_task(message, total=None)

    def total(self, amount: int | None) -> None:
        if self._rich is not None and self._task is not None:
            self._rich.update(self._task, total=amount)

    def advance(self, amount: int = 1) -> None:
        if self._rich is not None and self._task is not None:
            self._rich.advance(self._task, amount)

    def close(self) -> None:
        if self._rich is not None:
            if self._task is not None:
                self._rich.update(self._task, total=1, completed=1)
            self._rich.stop()


@contextmanager
def terminal_progress() -> Iterator[TerminalProgress]:
    progress = TerminalProgress()
    try:
        yield progress
    finally:
        progress.close()
