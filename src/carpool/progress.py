"""Progress reporting for long work, without tying the library to a terminal.

Library functions that take a while accept a :class:`Progress` and call it; the
CLI passes one that draws rich spinners and bars on a TTY or prints plain lines
otherwise.  The default, :data:`SILENT`, does nothing.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def step(self, message: str) -> None:
        """A new phase of the work begins (``fetching``, ``rendering``, …)."""

    def total(self, amount: int | None) -> None:
        """How many units the current step will advance by, if known."""

    def advance(self, amount: int = 1) -> None:
        """Some units of the current step are done."""


class _Silent:
    def step(self, message: str) -> None:
        pass

    def total(self, amount: int | None) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass


SILENT: Progress = _Silent()
