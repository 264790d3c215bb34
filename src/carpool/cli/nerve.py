"""``carpool nerve CONFIG``: health-check services and register them (go-nerve / Airbnb nerve)."""

from __future__ import annotations

from pathlib import Path

import click

from carpool.cli.context import CliContext
from carpool.cli.discovery_options import api_options


@click.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--check-config",
    "-k",
    is_flag=True,
    help="Only validate the configuration (exit 0 if it is usable).",
)
@api_options
@click.pass_obj
def nerve(
    ctx: CliContext,
    config: Path,
    check_config: bool,
    api_port: int | None,
    api_host: str | None,
) -> None:
    """Health-check services and keep them registered while healthy.

    CONFIG is a go-nerve (YAML/JSON, `services:` list) or Airbnb nerve (`instance_id`,
    `services:` mapping) configuration.  SIGTERM drains, deregisters and exits;
    SIGHUP reloads CONFIG.
    """
    from functools import partial

    from carpool.discovery.nerve.config import load_config
    from carpool.discovery.nerve.daemon import Nerve

    load = partial(load_config, config, data_dir=ctx.data_dir, api_host=api_host, api_port=api_port)
    loaded = load()
    if check_config:
        click.echo(f"{config}: ok ({loaded.format} format, {len(loaded.services)} service(s))")
        return
    Nerve(loaded, reload_config=load).run()
