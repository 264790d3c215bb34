"""``carpool fetch`` and ``carpool image …``: the image store from the command line."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from carpool.cli.context import CliContext
from carpool.cli.output import format_option, print_json, print_rows, terminal_progress

if TYPE_CHECKING:
    from carpool.store import ImageRecord, Store


def _store(obj: CliContext) -> Store:
    from carpool.store import Store

    return Store(obj.data_dir)


@click.command()
@click.argument("images", metavar="IMAGE...", nargs=-1, required=True)
@click.option(
    "--insecure-options",
    default="none",
    show_default=True,
    help="Security checks to skip, comma-separated (image: accept unsigned remote images).",
)
@click.pass_obj
def fetch(obj: CliContext, images: tuple[str, ...], insecure_options: str) -> None:
    """Import each IMAGE (a .aci file, file://, http:// or https:// URL); print its ID."""
    from carpool.store.fetch import fetch as fetch_image
    from carpool.store.fetch import parse_insecure_options

    insecure = parse_insecure_options(insecure_options)
    store = _store(obj)
    for image in images:
        with terminal_progress() as progress:
            record = fetch_image(store, image, insecure=insecure, progress=progress)
        print(record.id, flush=True)


@click.group()
def image() -> None:
    """Manage the images in the store."""


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size}B"
    value = size / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}GiB"


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _row(record: ImageRecord, full: bool) -> dict[str, Any]:
    others = {k: v for k, v in record.labels.items() if k != "version"}
    return {
        "id": record.id if full else record.short_id,
        "name": record.name,
        "version": record.version,
        "labels": others,
        "size": _human_size(record.size),
        "imported": _timestamp(record.imported_at),
    }


@image.command("list")
@format_option
@click.option("--full", is_flag=True, help="Print full image IDs.")
@click.pass_obj
def list_images(obj: CliContext, output_format: str, full: bool) -> None:
    """List the images in the store, oldest import first."""
    records = _store(obj).images()
    if output_format == "json":
        print_json(
            [
                {
                    "id": r.id,
                    "name": r.name,
                    "version": r.version,
                    "labels": r.labels,
                    "size": r.size,
                    "blob_size": r.blob_size,
                    "imported_at": _timestamp(r.imported_at),
                }
                for r in records
            ]
        )
        return
    columns = [
        ("id", "ID"),
        ("name", "NAME"),
        ("version", "VERSION"),
        ("labels", "LABELS"),
        ("size", "SIZE"),
        ("imported", "IMPORT TIME"),
    ]
    print_rows([_row(r, full) for r in records], columns, output_format)


@image.command("cat-manifest")
@click.argument("image")
@click.pass_obj
def cat_manifest(obj: CliContext, image: str) -> None:
    """Print the manifest of IMAGE (a name[:version][,label=value…] or an ID prefix)."""
    import json

    store = _store(obj)
    record = store.resolve(image)
    print(json.dumps(json.loads(store.manifest_bytes(record.id)), indent=2))


@image.command("export")
@click.argument("image")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace FILE if it exists.")
@click.pass_obj
def export(obj: CliContext, image: str, file: Path, overwrite: bool) -> None:
    """Write IMAGE's archive, byte for byte as fetched, to FILE."""
    store = _store(obj)
    store.export(store.resolve(image).id, file, overwrite=overwrite)


@image.command("extract")
@click.argument("image")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--rootfs", "--rootfs-only", is_flag=True, help="Only the rootfs, not the manifest.")
@click.option("--overwrite", is_flag=True, help="Replace DIRECTORY if it exists.")
@click.pass_obj
def extract(obj: CliContext, image: str, directory: Path, rootfs: bool, overwrite: bool) -> None:
    """Extract IMAGE's own files (manifest + rootfs/) into a new or empty DIRECTORY."""
    store = _store(obj)
    store.extract(store.resolve(image).id, directory, rootfs_only=rootfs, overwrite=overwrite)


@image.command("render")
@click.argument("image")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--rootfs", "--rootfs-only", is_flag=True, help="Only the rootfs, not the manifest.")
@click.option("--overwrite", is_flag=True, help="Replace DIRECTORY if it exists.")
@click.pass_obj
def render(obj: CliContext, image: str, directory: Path, rootfs: bool, overwrite: bool) -> None:
    """Render IMAGE with all its dependencies into a new or empty DIRECTORY."""
    store = _store(obj)
    store.render(store.resolve(image).id, directory, rootfs_only=rootfs, overwrite=overwrite)


@image.command("rm")
@click.argument("images", nargs=-1, required=True)
@click.pass_obj
def rm(obj: CliContext, images: tuple[str, ...]) -> None:
    """Remove IMAGES from the store (each a name or an ID prefix)."""
    from carpool.errors import CarpoolError

    store = _store(obj)
    ids: list[str] = []
    failed = 0
    for ref in images:
        try:
            ids.append(store.resolve(ref).id)
        except CarpoolError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
    for image_id in store.remove(ids):
        print(f"removed {image_id}")
    if failed:
        sys.exit(1)


@image.command("gc")
@click.option(
    "--grace",
    default="24h",
    show_default=True,
    help="Keep rendered trees used more recently than this (e.g. 24h, 30m, 10s).",
)
@click.pass_obj
def gc(obj: CliContext, grace: str) -> None:
    """Remove rendered trees unused for the grace period, and leftovers of crashes.

    Trees that pods (prepared, running or exited) still use are kept whatever their age.
    """
    from carpool.runtime.lifecycle import trees_in_use
    from carpool.store.duration import parse_duration

    seconds = parse_duration(grace)
    report = _store(obj).gc(seconds, in_use=trees_in_use(obj.data_dir))
    for leftover in report.leftovers:
        print(f"removed leftover {leftover}")
    for key in report.trees:
        print(f"removed rendered tree {key}")


@image.command("verify")
@click.pass_obj
def verify(obj: CliContext) -> None:
    """Re-hash every image and check every rendered tree; repair and report."""
    with terminal_progress() as progress:
        report = _store(obj).verify(progress=progress)
    for action in report.actions:
        print(action)
    state = "was consistent" if report.consistent_before else "is consistent again"
    print(f"store {state}: {report.images} images, {report.trees} rendered trees checked")
