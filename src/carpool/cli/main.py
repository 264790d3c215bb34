"""The ``carpool`` entry point: the fast lane or click, and error reporting.

This module does not import click: ``carpool run`` and ``carpool templater`` (declared
as :class:`~carpool.cli.spec.CommandSpec`) run through :mod:`carpool.cli.lane` when
their command line is a plain one, and everything else goes to the click
application in :mod:`carpool.cli.app`.
"""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING, Any

from carpool.errors import CarpoolError

if TYPE_CHECKING:
    import logging


def configure_logging(debug: bool) -> None:
    """Show info and above (everything with ``--debug``) on stderr.

    ``logging`` itself is imported only if a record gets that far: most runs of
    ``carpool run`` or ``carpool templater`` log nothing above debug.
    """
    from carpool import log

    log.set_threshold(log.DEBUG if debug else log.INFO)
    log.before_first_record(lambda: _install_handlers(debug))


def _install_handlers(debug: bool) -> None:
    import logging

    handler = logging.StreamHandler(sys.stderr)
    if debug:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(_plain_formatter())
    root = logging.getLogger("carpool")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    root.propagate = False


def _plain_formatter() -> logging.Formatter:
    """``warning: …`` lines for users; info messages print bare."""
    import logging

    class PlainFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            message = record.getMessage()
            if record.levelno >= logging.WARNING:
                return f"{record.levelname.lower()}: {message}"
            return message

    return PlainFormatter()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; map carpool's errors to ``error: …`` and an exit status."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        result = _dispatch(args)
    except CarpoolError as exc:
        if debug:
            from carpool.log import get_logger

            get_logger("carpool").exception("failed")
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(141)
    except Exception as exc:  # a bug: say so plainly, traceback with --debug
        if debug:
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)", 70)
    _exit(result if isinstance(result, int) else 0)


def _dispatch(args: list[str]) -> Any:
    from carpool.cli.lane import fast_lane

    command = fast_lane(args)
    if command is not None:
        return command()
    from carpool.cli.app import run_click

    return run_click(args)


def _fail(message: str, code: int) -> Any:
    print(f"error: {message}", file=sys.stderr)
    _exit(code)


def _exit(code: int) -> Any:
    """Exit without a last cyclic garbage collection over every object ever imported.

    At shutdown Python collects all generations once more, which costs carpool's
    short-lived commands about as much as importing a few modules (~10 ms for
    ``carpool run``).  Freezing moves the survivors out of the collector's reach;
    reference counting still frees them, atexit handlers and stream flushes still run.
    """
    gc.freeze()
    sys.exit(code)
