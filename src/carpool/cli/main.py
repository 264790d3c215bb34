"""The ``carpool`` entry point: global options, lazy command loading, error reporting.

Commands live in their own modules and are imported only when invoked, so that
``carpool --version`` or ``carpool run`` do not pay for what ``build`` needs.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from carpool import __version__
from carpool.cli.context import CliContext
from carpool.errors import CarpoolError

if TYPE_CHECKING:
    import logging

# command name -> "module:attribute".  A command whose module is not written yet
# is simply not offered; the map is the single place listing carpool's commands.
LAZY_COMMANDS: dict[str, str] = {
    # images (store)
    "fetch": "carpool.cli.image:fetch",
    "image": "carpool.cli.image:image",
    # pods (runtime)
    "run": "carpool.cli.pods:run",
    "prepare": "carpool.cli.pods:prepare",
    "run-prepared": "carpool.cli.pods:run_prepared",
    "status": "carpool.cli.pods:status",
    "list": "carpool.cli.pods:list_pods",
    "enter": "carpool.cli.pods:enter",
    "stop": "carpool.cli.pods:stop",
    "rm": "carpool.cli.pods:rm",
    "gc": "carpool.cli.pods:gc",
    "cat-manifest": "carpool.cli.pods:cat_manifest",
    "logs": "carpool.cli.pods:logs",
    # templater
    "templater": "carpool.cli.templater:templater",
    # builder
    "build": "carpool.cli.build:build",
    "clean": "carpool.cli.build:clean",
    "install": "carpool.cli.build:install",
    "test": "carpool.cli.build:test",
    "try": "carpool.cli.build:try_",
    "graph": "carpool.cli.build:graph",
    "init": "carpool.cli.build:init",
    "aci-version": "carpool.cli.build:aci_version",
    "sign": "carpool.cli.build:sign",
    "bootstrap": "carpool.cli.bootstrap:bootstrap",
    # discovery
    "nerve": "carpool.cli.nerve:nerve",
    "synapse": "carpool.cli.synapse:synapse",
}


def _module_exists(target: str) -> bool:
    module = target.partition(":")[0]
    return importlib.util.find_spec(module) is not None


class LazyGroup(click.Group):
    """A click group that imports a command's module only when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        names.update(n for n, t in LAZY_COMMANDS.items() if _module_exists(t))
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = LAZY_COMMANDS.get(cmd_name)
        if target is None or not _module_exists(target):
            return super().get_command(ctx, cmd_name)
        module_name, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


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
    _configure_logging(debug)
    config_dir = Path(os.environ.get("CARPOOL_CONFIG", "/etc/carpool"))
    ctx.obj = CliContext(data_dir=data_dir, config_dir=config_dir, debug=debug)


def _configure_logging(debug: bool) -> None:
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
        result = cli.main(args=args, prog_name="carpool", standalone_mode=False)
    except CarpoolError as exc:
        if debug:
            from carpool.log import get_logger

            get_logger("carpool").exception("failed")
        _fail(str(exc), exc.exit_code)
    except click.exceptions.Abort:
        _fail("aborted", 130)
    except click.ClickException as exc:
        _fail(exc.format_message().replace("\n", " "), exc.exit_code)
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
