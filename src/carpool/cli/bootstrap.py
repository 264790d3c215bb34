"""``carpool bootstrap …``: base images made from what the host has."""

from __future__ import annotations

from pathlib import Path

import click

from carpool.cli.context import CliContext
from carpool.cli.output import terminal_progress


@click.group()
def bootstrap() -> None:
    """Create base images from the host (busybox)."""


@bootstrap.command()
@click.option("--name", default="carpool.dev/busybox", show_default=True, help="Image name.")
@click.option("--version", "version", help="version label (default: busybox's own version).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also keep the ACI in this file (it is always imported into the store).",
)
@click.pass_obj
def busybox(obj: CliContext, name: str, version: str | None, output: Path | None) -> None:
    """A tiny base image from the host's static /bin/busybox; print its image ID."""
    from carpool.builder.bootstrap import bootstrap_busybox
    from carpool.store import Store

    with terminal_progress() as progress:
        result = bootstrap_busybox(
            Store(obj.data_dir), name=name, version=version, output=output, progress=progress
        )
    print(result.image.id)
