"""``carpool bootstrap …``: base images made from what the host has."""

from __future__ import annotations

from pathlib import Path

import click

from carpool.cli.context import CliContext
from carpool.cli.output import terminal_progress


@click.group()
def bootstrap() -> None:
    """Create base images from the host (busybox, debian)."""


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


@bootstrap.command()
@click.option("--suite", default="bookworm", show_default=True, help="Debian suite.")
@click.option(
    "--variant",
    default="minbase",
    show_default=True,
    type=click.Choice(["minbase", "buildd", "fakechroot", "-"]),
    help="debootstrap variant ('-' for debootstrap's default).",
)
@click.option("--name", default="carpool.dev/debian", show_default=True, help="Image name.")
@click.option("--version", "version", help="version label (default: the suite).")
@click.option("--mirror", help="Debian mirror (default: the one the host's apt uses).")
@click.option("--force", is_flag=True, help="debootstrap again even if the image is stored.")
@click.pass_obj
def debian(
    obj: CliContext,
    suite: str,
    variant: str,
    name: str,
    version: str | None,
    mirror: str | None,
    force: bool,
) -> None:
    """A Debian base image made with debootstrap; print its image ID."""
    from carpool.builder.bootstrap import bootstrap_debian
    from carpool.store import Store

    with terminal_progress() as progress:
        result = bootstrap_debian(
            Store(obj.data_dir),
            suite=suite,
            variant=variant,
            name=name,
            version=version,
            mirror=mirror,
            force=force,
            progress=progress,
        )
    print(result.image.id)
