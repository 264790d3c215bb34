"""``carpool templater``: dgr's ``templater`` binary (attributes + templates → files)."""

from __future__ import annotations

from pathlib import Path

import click

from carpool.cli.context import CliContext

LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "fatal", "panic")


@click.command()
@click.option(
    "-o",
    "override_var",
    metavar="ENVVAR",
    default=None,
    help="Environment variable holding a JSON object (or base64,<JSON>) merged over attributes.",
)
@click.option(
    "-t",
    "target",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/"),
    show_default=True,
    help="Directory the templates dir is rendered under.",
)
@click.option("-c", "continue_on_error", is_flag=True, help="Log failing templates and go on.")
@click.option(
    "-L",
    "level",
    type=click.Choice(LEVELS, case_sensitive=False),
    default="info",
    show_default=True,
    help="Log level; trace also prints every rendered file.",
)
@click.option(
    "--exact-numbers",
    is_flag=True,
    help="Keep YAML/JSON integers as integers (dgr makes every number a float64).",
)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def templater(
    ctx: CliContext,
    override_var: str | None,
    target: Path,
    continue_on_error: bool,
    level: str,
    exact_numbers: bool,
    directory: Path,
) -> None:
    """Render DIRECTORY/templates with the attributes of DIRECTORY/attributes under TARGET.

    The contract of dgr's templater: every file under attributes/ is merged
    (default:, then override:, then the -o variable), templates/**/*.tmpl and
    *.tmpl.* files are rendered to the same path under TARGET without .tmpl, and a
    rendered <no value> fails the run.
    """
    from carpool import log
    from carpool.templater import run_templater

    level = level.lower()
    if not ctx.debug:
        log.set_threshold(
            {
                "trace": log.DEBUG,
                "debug": log.DEBUG,
                "info": log.INFO,
                "warn": log.WARNING,
                "warning": log.WARNING,
                "error": log.ERROR,
            }.get(level, log.CRITICAL)
        )
    report = run_templater(
        directory,
        target,
        override_var=override_var,
        continue_on_error=continue_on_error,
        exact_numbers=exact_numbers,
        trace=level == "trace",
    )
    if report.failures:
        failed = len(report.failures)
        log.get_logger("carpool").warning("%d template(s) failed, continued because of -c", failed)
