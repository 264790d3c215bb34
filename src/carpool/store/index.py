"""The store index: one JSON file naming every image the store holds.

The index is the commit point of an import: an image exists once its entry is in
``cas/index.json``.  It is replaced atomically (temp file, fsync, rename) and only
changed under the index lock, so readers need no lock.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from carpool.errors import StoreError
from carpool.fsutil import atomic_write_bytes

INDEX_VERSION = 1


class IndexEntry:
    """What the index records about one image (its manifest lives beside its files).

    A plain class: the index is read on ``carpool run``'s path, where importing
    :mod:`dataclasses` would cost more than the whole lookup, and a ``NamedTuple``
    compiles a forward reference per field (~0.2 ms each on a slow host).
    """

    __slots__ = ("blob_size", "imported_at", "labels", "name", "size")

    def __init__(
        self, name: str, labels: dict[str, str], size: int, blob_size: int, imported_at: float
    ) -> None:
        self.name = name
        self.labels = labels
        self.size = size  # bytes of the uncompressed tar
        self.blob_size = blob_size  # bytes of the archive as fetched
        self.imported_at = imported_at  # seconds since the epoch

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "labels": self.labels,
            "size": self.size,
            "blob_size": self.blob_size,
            "imported_at": self.imported_at,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IndexEntry):
            return NotImplemented
        return self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]  # holds a dict

    def __repr__(self) -> str:
        return f"IndexEntry(**{self.to_json()!r})"

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
        "images": {image_id: entries[image_id].to_json() for image_id in sorted(entries)},
    }
    atomic_write_bytes(path, json.dumps(data, indent=1).encode() + b"\n")
