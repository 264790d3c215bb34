"""``carpool synapse CONFIG``: route to discovered services (go-synapse / Airbnb synapse)."""

from __future__ import annotations

from pathlib import Path

import click

from carpool.cli.context import CliContext
from carpool.cli.discovery_options import api_options


@click.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--check-config", "-k", is_flag=True, help="Only validate the configuration (exit 0 if usable)."
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the last known servers, HAProxy sockets and logs live "
    "[default: config's stateDir, else DATA_DIR/discovery/synapse].",
)
@api_options
@click.pass_obj
def synapse(
    ctx: CliContext,
    config: Path,
    check_config: bool,
    state_dir: Path | None,
    api_port: int | None,
    api_host: str | None,
) -> None:
    """Watch registered services and keep a local HAProxy (or files) pointing at them.

    CONFIG is a go-synapse (`routers:` list) or Airbnb synapse (`services:` mapping and a
    `haproxy:` section) configuration.  SIGTERM stops synapse and its HAProxy.
    """
    from carpool.discovery.synapse.config import default_state_dir, load_config
    from carpool.discovery.synapse.daemon import Synapse

    loaded = load_config(
        config, data_dir=ctx.data_dir, api_host=api_host, api_port=api_port, state_dir=state_dir
    )
    if check_config:
        click.echo(
            f"{config}: ok ({loaded.format} format, {len(loaded.routers)} router(s), "
            f"{len(loaded.services)} service(s))"
        )
        return
    Synapse(loaded, loaded.state_dir or default_state_dir(ctx.data_dir)).run()
