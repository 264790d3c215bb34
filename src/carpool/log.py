"""carpool's loggers: the stdlib's ``logging``, imported only when a record is emitted.

Importing ``logging`` costs ~5 ms on the small hosts carpool targets, a tenth of what
``carpool run`` may spend of its own, and a run that goes well logs nothing above
debug.  A :class:`Logger` here has the methods carpool calls on ``logging.Logger``;
below the process-wide threshold they return at once, at or above it they forward to
``logging.getLogger(name)``.

The threshold starts at 0, so a program that imports carpool as a library gets every
record, exactly as from ``logging.getLogger``.  The CLI calls :func:`set_threshold`
with its level, and :func:`before_first_record` with the function that installs its
handlers, which then runs only if a record gets through.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

DEBUG = 10
INFO = 20
WARNING = 30
ERROR = 40
CRITICAL = 50

_threshold = 0
_on_first_record: Callable[[], None] | None = None


def set_threshold(level: int) -> None:
    """Drop records below ``level`` without importing ``logging``."""
    global _threshold
    _threshold = level


def before_first_record(hook: Callable[[], None] | None) -> None:
    """Run ``hook`` once, before the first record that gets through is forwarded."""
    global _on_first_record
    _on_first_record = hook


def threshold() -> int:
    return _threshold


def stdlib_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)``, after the CLI's handlers are in place."""
    global _on_first_record
    hook, _on_first_record = _on_first_record, None
    if hook is not None:
        hook()
    import logging

    return logging.getLogger(name)


class Logger:
    """The subset of ``logging.Logger`` carpool uses, free until a record gets through."""

    __slots__ = ("_logger", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger: logging.Logger | None = None

    def _target(self) -> logging.Logger:
        if self._logger is None:
            self._logger = stdlib_logger(self.name)
        return self._logger

    def isEnabledFor(self, level: int) -> bool:
        return level >= _threshold and self._target().isEnabledFor(level)

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if level >= _threshold:
            self._target().log(level, msg, *args, stacklevel=2, **kwargs)

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        if _threshold <= DEBUG:
            self._target().debug(msg, *args, stacklevel=2, **kwargs)

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        if _threshold <= INFO:
            self._target().info(msg, *args, stacklevel=2, **kwargs)

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        if _threshold <= WARNING:
            self._target().warning(msg, *args, stacklevel=2, **kwargs)

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        if _threshold <= ERROR:
            self._target().error(msg, *args, stacklevel=2, **kwargs)

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        """An error with the current exception's traceback (as ``logging``'s)."""
        if _threshold <= ERROR:
            kwargs.setdefault("exc_info", sys.exc_info())
            self._target().error(msg, *args, stacklevel=2, **kwargs)


_LOGGERS: dict[str, Logger] = {}


def get_logger(name: str) -> Logger:
    """The logger of ``name`` (a module's ``__name__``), shared like ``logging``'s."""
    logger = _LOGGERS.get(name)
    if logger is None:
        logger = _LOGGERS[name] = Logger(name)
    return logger
