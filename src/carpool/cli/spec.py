"""Commands declared as data, so that the hot ones can start without click.

Importing click costs ~30 ms on the small hosts carpool targets, as much as bare
``runc run`` takes to start a container.  ``carpool run`` and ``carpool templater``
run at every container start, so their options are declared once here, as plain
data; from that declaration :mod:`carpool.cli.clickspec` builds the click command
(help, error messages, completion) and :meth:`CommandSpec.parse` parses the plain
cases without click.  The declarations are small slotted classes: a ``NamedTuple``
costs ~0.6 ms to create at import.

:meth:`CommandSpec.parse` only accepts what it can parse exactly as click would, and
returns ``None`` for anything else (``--help``, an unknown or malformed option, a
missing value, a bad number), which then goes through click for click's own answer.
A test compares both parsers on generated command lines.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

VALUE = "value"
FLAG = "flag"
MULTIPLE = "multiple"


class Option:
    """An option: ``VALUE`` (last one wins), ``FLAG`` (no value) or ``MULTIPLE`` (a tuple)."""

    __slots__ = (
        "choices",
        "default",
        "dest",
        "flags",
        "help",
        "kind",
        "metavar",
        "show_default",
        "type",
    )

    def __init__(
        self,
        flags: tuple[str, ...],
        dest: str,
        help: str,
        *,
        kind: str = VALUE,
        type: type[str] | type[Path] | type[float] = str,
        default: Any = None,
        choices: tuple[str, ...] = (),
        metavar: str | None = None,
        show_default: bool = False,
    ) -> None:
        self.flags = flags
        self.dest = dest
        self.help = help
        self.kind = kind
        self.type = type
        self.default = default
        self.choices = choices
        self.metavar = metavar
        self.show_default = show_default

    def convert(self, value: str) -> Any:
        """The value as click would hand it to the command, or ``None`` if click would refuse it."""
        if self.choices:
            folded = value.casefold()  # every choice list here is case-insensitive
            return next((c for c in self.choices if c.casefold() == folded), None)
        if self.type is float:
            try:
                return float(value)
            except ValueError:
                return None
        if self.type is Path:
            return Path(value)
        return value

    def initial(self) -> Any:
        if self.kind == FLAG:
            return False
        if self.kind == MULTIPLE:
            return ()
        return self.default


class Argument:
    """A positional argument; ``rest=True`` takes every word left, unparsed."""

    __slots__ = ("dest", "metavar", "rest", "type")

    def __init__(
        self,
        dest: str,
        *,
        type: type[str] | type[Path] = str,
        rest: bool = False,
        metavar: str | None = None,
    ) -> None:
        self.dest = dest
        self.type = type
        self.rest = rest
        self.metavar = metavar


class CommandSpec:
    """A command: its options, its arguments, and the function that runs it.

    ``run(ctx, **params)`` gets one keyword per option and argument ``dest`` and
    returns the exit status (``None`` for 0).  With ``stop_at_argument`` (rkt's
    ``run IMAGE [app flags]``), option parsing stops at the first argument.
    """

    __slots__ = ("arguments", "help", "name", "options", "run", "stop_at_argument")

    def __init__(
        self,
        name: str,
        help: str,
        options: tuple[Option, ...],
        arguments: tuple[Argument, ...],
        run: Callable[..., int | None],
        *,
        stop_at_argument: bool = False,
    ) -> None:
        self.name = name
        self.help = help
        self.options = options
        self.arguments = arguments
        self.run = run
        self.stop_at_argument = stop_at_argument

    def parse(self, args: Sequence[str]) -> dict[str, Any] | None:
        """The command's parameters from ``args``, or ``None`` to let click decide."""
        by_flag = {flag: option for option in self.options for flag in option.flags}
        params = {option.dest: option.initial() for option in self.options}
        words: list[str] = []
        i = 0
        while i < len(args):
            word = args[i]
            i += 1
            if self.stop_at_argument and words:
                words.append(word)
                continue
            if not word.startswith("-") or word == "-":
                words.append(word)
                continue
            name, eq, value = word.partition("=") if word.startswith("--") else (word, "", "")
            option = by_flag.get(name)
            if option is None:  # --help, --, unknown, or -xVALUE forms: click's call
                return None
            if option.kind == FLAG:
                if eq:
                    return None
                params[option.dest] = True
                continue
            if not eq:
                if i >= len(args):
                    return None
                value = args[i]
                i += 1
            converted = option.convert(value)
            if converted is None:
                return None
            if option.kind == MULTIPLE:
                params[option.dest] += (converted,)
            else:
                params[option.dest] = converted
        for argument in self.arguments:
            if argument.rest:
                params[argument.dest] = tuple(words)
                words = []
            elif not words:
                return None
            else:
                word = words.pop(0)
                params[argument.dest] = Path(word) if argument.type is Path else word
        return None if words else params


def data_dir_from_env() -> Path:
    """``--dir``'s default: ``CARPOOL_DIR`` when set and not empty (click's rule)."""
    return Path(os.environ.get("CARPOOL_DIR") or "/var/lib/carpool")


def config_dir_from_env() -> Path:
    return Path(os.environ.get("CARPOOL_CONFIG", "/etc/carpool"))
