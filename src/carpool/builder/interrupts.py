"""Stopping a build cleanly on SIGINT, SIGTERM and SIGHUP.

Python ends the process at SIGTERM without running ``finally`` blocks, and a second
Ctrl-C interrupts the clean-up of the first.  Inside :func:`stop_on_signals` the first
stop signal raises :class:`BuildInterrupted` (so every ``finally`` and ``except`` on
the way out removes containers, mounts and work dirs), later ones are ignored, and
one arriving during a :func:`deferred_signals` block (a clean-up) waits for its end.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from carpool.errors import BuildError


class BuildInterrupted(BuildError):
    """SIGINT, SIGTERM or SIGHUP stopped a build (after it cleaned up)."""

    def __init__(self, signum: int) -> None:
        name = signal.Signals(signum).name
        super().__init__(f"interrupted by {name}: the build was stopped and cleaned up")
        self.exit_code = 128 + signum


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Signals:
    """What :func:`stop_on_signals` saw (main thread only)."""

    active = False
    pending: int | None = None  # arrived during a clean-up, raised when it ends
    raised = False
    deferred = 0


def _on_stop_signal(signum: int, _frame: object) -> None:
    if _Signals.raised or _Signals.pending is not None:
        return  # the build is already stopping: let its clean-up finish
    if _Signals.deferred:
        _Signals.pending = signum
        return
    _Signals.raised = True
    raise BuildInterrupted(signum)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT/SIGTERM/SIGHUP raise :class:`BuildInterrupted` once; later ones are ignored.

    Python's default would end the process at SIGTERM without running ``finally``
    blocks, and a second Ctrl-C would break off the clean-up of the first.
    """
    if threading.current_thread() is not threading.main_thread() or _Signals.active:
        yield
        return
    _Signals.active, _Signals.pending, _Signals.raised = True, None, False
    old = {sig: signal.signal(sig, _on_stop_signal) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)
        _Signals.active = False
    if _Signals.pending is not None and not _Signals.raised:
        _Signals.raised = True
        raise BuildInterrupted(_Signals.pending)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Within :func:`stop_on_signals`: a stop signal during clean-up waits for its end."""
    _Signals.deferred += 1
    try:
        yield
    finally:
        _Signals.deferred -= 1
        pending = _Signals.pending
        if not _Signals.deferred and pending is not None and not _Signals.raised:
            _Signals.raised = True
            raise BuildInterrupted(pending)


__all__ = ["BuildInterrupted", "deferred_signals", "stop_on_signals"]
