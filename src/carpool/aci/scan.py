"""Reading an ACI without extracting it: its manifest, its image ID, or a full check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from carpool.aci.chunks import open_chunks
from carpool.aci.compression import Compression, open_decompressed
from carpool.aci.layout import MANIFEST, Layout
from carpool.aci.manifest import MAX_MANIFEST_SIZE, parse_manifest
from carpool.aci.source import Source, check_expected_id, open_source, source_name
from carpool.aci.tarstream import TarReader
from carpool.appc import ImageManifest
from carpool.errors import ArchiveError
from carpool.progress import SILENT, Progress


@dataclass(frozen=True)
class ImageInfo:
    """A fully checked archive; ``size`` is the uncompressed tar's length in bytes."""

    image_id: str
    manifest: ImageManifest
    manifest_bytes: bytes
    size: int
    entries: int
    compression: Compression


def read_manifest(source: Source, *, name: str | None = None) -> ImageManifest:
    """The archive's manifest, reading only as far as the ``manifest`` entry.

    Entries before it are checked against the layout rules; the rest of the archive is not
    read, so a valid manifest does not prove the archive valid (see :func:`inspect_image`).
    """
    label = source_name(source, name)
    with open_source(source, label) as stream:
        decompressed, _ = open_decompressed(stream, label)
        with TarReader(decompressed, source=label) as reader:
            layout = Layout(label)
            while (entry := reader.next_entry()) is not None:
                if layout.admit(entry) == (MANIFEST,):
                    data = reader.read_data(MAX_MANIFEST_SIZE, f"{label}: manifest")
                    return parse_manifest(data, label)
    raise ArchiveError(f"{label}: no manifest in the archive")


def image_id_of(source: Source, *, name: str | None = None, max_size: int | None = None) -> str:
    """``sha512-<hex>`` of the uncompressed tar stream, without looking inside it."""
    label = source_name(source, name)
    with open_source(source, label) as stream:
        decompressed, _ = open_decompressed(stream, label)
        chunks, digest = open_chunks(decompressed, source=label, max_size=max_size)
        while chunks.next():
            pass
    return "sha512-" + digest.hash.hexdigest()


def inspect_image(
    source: Source,
    *,
    copy_to: BinaryIO | None = None,
    max_size: int | None = None,
    expected_id: str | None = None,
    name: str | None = None,
    progress: Progress = SILENT,
) -> ImageInfo:
    """Check a whole archive (layout, manifest, integrity) in one pass, writing nothing.

    With ``copy_to``, every uncompressed byte is also written there -- an image store can
    keep the tar and know its ID and manifest from the same read.  Raises
    :class:`ArchiveError` on exactly the archives :func:`extract_image` refuses, except
    for those it refuses because of privileges (device nodes when not root).
    """
    label = source_name(source, name)
    progress.step(f"reading {label}")
    progress.total(None)
    with open_source(source, label) as stream:
        decompressed, compression = open_decompressed(stream, label)
        reader = TarReader(
            decompressed,
            source=label,
            max_size=max_size,
            tee=copy_to.write if copy_to is not None else None,
            progress=progress,
            read_ahead=True,
        )
        try:
            manifest, manifest_bytes, entries = _check_entries(reader, label)
        finally:
            reader.close()
    check_expected_id(reader.image_id, expected_id, label)
    return ImageInfo(
        image_id=reader.image_id,
        manifest=manifest,
        manifest_bytes=manifest_bytes,
        size=reader.size,
        entries=entries,
        compression=compression,
    )


def _check_entries(reader: TarReader, label: str) -> tuple[ImageManifest, bytes, int]:
    layout = Layout(label)
    manifest: ImageManifest | None = None
    manifest_bytes = b""
    entries = 0
    while (entry := reader.next_entry()) is not None:
        parts = layout.admit(entry)
        if parts is None:
            continue
        entries += 1
        if parts == (MANIFEST,):
            manifest_bytes = reader.read_data(MAX_MANIFEST_SIZE, f"{label}: manifest")
            manifest = parse_manifest(manifest_bytes, label)
    if manifest is None:
        raise ArchiveError(f"{label}: no manifest in the archive")
    reader.finish()
    return manifest, manifest_bytes, entries
