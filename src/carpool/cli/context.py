"""What every command receives from the global options."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn


class CliContext:
    """The global options, read-only.

    A plain class rather than a frozen dataclass: every command, ``--version``
    included, builds one, and a dataclass costs the ``dataclasses`` import plus code
    generation at start-up.
    """

    __slots__ = ("config_dir", "data_dir", "debug")

    data_dir: Path
    config_dir: Path
    debug: bool

    def __init__(self, data_dir: Path, config_dir: Path, debug: bool) -> None:
        object.__setattr__(self, "data_dir", data_dir)
        object.__setattr__(self, "config_dir", config_dir)
        object.__setattr__(self, "debug", debug)

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError(f"cannot assign to field {name!r}: CliContext is read-only")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"cannot delete field {name!r}: CliContext is read-only")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, CliContext)
        return (self.data_dir, self.config_dir, self.debug) == (
            other.data_dir,
            other.config_dir,
            other.debug,
        )

    def __hash__(self) -> int:
        return hash((self.data_dir, self.config_dir, self.debug))

    def __repr__(self) -> str:
        return (
            f"CliContext(data_dir={self.data_dir!r}, config_dir={self.config_dir!r}, "
            f"debug={self.debug!r})"
        )
