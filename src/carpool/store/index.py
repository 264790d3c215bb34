"""The store index: one JSON file naming every image the store holds.

The index is the commit point of an import: an image exists once its entry is in
``cas/index.json``.  It is replaced atomically (temp file, fsync, rename) and only
changed under the index lock, so readers need no lock.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from carpool.errors import StoreError
from carpool.fsutil import atomic_write_bytes

INDEX_VERSION = 1


class IndexEntry(NamedTuple):
    """What the index records about one image (its manifest lives beside its files).

    A NamedTuple rather than a dataclass: the index is read on ``carpool run``'s path,
    where importing :mod:`dataclasses` would cost more than the whole lookup.
    """

    name: str
    labels: dict[str, str]
    size: int  # bytes of the uncompressed tar
    blob_size: int  # bytes of the archive as fetched
    imported_at: float  # seconds since the epoch

    @classmethod
    def from_json(cls, image_id: str, data: Any) -> IndexEntry:
        try:
            return cls(
                name=str(data["name"]),
                labels={str(k): str(v) for k, v in dict(data["labels"]).items()},
                size=int(data["size"]),
                blob_size=int(data["blob_size"]),
                imported_at=float(data["imported_at"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"store index: entry {image_id} is malformed ({exc})") from exc


def read_index(path: Path) -> dict[str, IndexEntry]:
    """Load the index; a missing file is an empty store."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(raw)
        images = data["images"]
        if data.get("version") != INDEX_VERSION or not isinstance(images, dict):
            raise ValueError("unknown layout")
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(
            f"{path}: store index is unreadable ({exc}); run 'carpool image verify' to rebuild it"
        ) from exc
    return {image_id: IndexEntry.from_json(image_id, entry) for image_id, entry in images.items()}


def write_index(path: Path, entries: dict[str, IndexEntry]) -> None:
    data = {
        "version": INDEX_VERSION,
        "images": {image_id: entries[image_id]._asdict() for image_id in sorted(entries)},
    }
    atomic_write_bytes(path, json.dumps(data, indent=1).encode() + b"\n")
