"""``carpool templater``: dgr's ``templater`` binary (attributes + templates → files).

Declared as a :class:`~carpool.cli.spec.CommandSpec`: it runs at every container start
of a dgr image, so it starts without click.
"""

from __future__ import annotations

from pathlib import Path

from carpool.cli.context import CliContext
from carpool.cli.spec import FLAG, Argument, CommandSpec, Option

LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "fatal", "panic")


def run_templater_command(
    ctx: CliContext,
    /,
    override_var: str | None,
    target: Path,
    continue_on_error: bool,
    level: str,
    exact_numbers: bool,
    directory: Path,
) -> None:
    from carpool import log
    from carpool.errors import UsageError
    from carpool.templater import cache_dir_of, run_templater

    for flag, path in (("-t", target), ("DIRECTORY", directory)):
        if path.exists() and not path.is_dir():
            raise UsageError(f"{flag} {path}: not a directory")
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
        cache_dir=cache_dir_of(ctx.data_dir),
    )
    if report.failures:
        failed = len(report.failures)
        log.get_logger("carpool").warning("%d template(s) failed, continued because of -c", failed)


templater = CommandSpec(
    name="templater",
    help=(
        "Render DIRECTORY/templates with the attributes of DIRECTORY/attributes under TARGET.\n\n"
        "The contract of dgr's templater: every file under attributes/ is merged (default:, "
        "then override:, then the -o variable), templates/**/*.tmpl and *.tmpl.* files are "
        "rendered to the same path under TARGET without .tmpl, and a rendered <no value> "
        "fails the run."
    ),
    options=(
        Option(
            ("-o",),
            "override_var",
            "Environment variable holding a JSON object (or base64,<JSON>) merged over attributes.",
            metavar="ENVVAR",
        ),
        Option(
            ("-t",),
            "target",
            "Directory the templates dir is rendered under.",
            type=Path,
            default=Path("/"),
            show_default=True,
        ),
        Option(("-c",), "continue_on_error", "Log failing templates and go on.", kind=FLAG),
        Option(
            ("-L",),
            "level",
            "Log level; trace also prints every rendered file.",
            choices=LEVELS,
            default="info",
            show_default=True,
        ),
        Option(
            ("--exact-numbers",),
            "exact_numbers",
            "Keep YAML/JSON integers as integers (dgr makes every number a float64).",
            kind=FLAG,
        ),
    ),
    arguments=(Argument("directory", type=Path),),
    run=run_templater_command,
)
