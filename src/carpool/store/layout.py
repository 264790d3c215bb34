"""Where the store keeps things inside the data dir.

```
cas/blobs/<id>                  the archive exactly as fetched (``image export`` returns it)
cas/images/<id>/manifest        the image's manifest
cas/images/<id>/rootfs/         the image's own files, extracted
cas/images/<id>/fingerprint     cheap fingerprint of rootfs/ taken at import
cas/index.json                  names, labels, sizes, import times (the commit point)
cas/tmp/  cas/trash/            work in progress and trees being deleted (swept by gc/verify)
trees/<key>/{rootfs,manifest,stamp.json}   rendered trees, key = deps-sha512-… of the layers
locks/                          flock files
```
"""

from __future__ import annotations

from pathlib import Path


class StoreLayout:
    """The paths of one data dir's store (a plain class: no dataclasses on the run path)."""

    __slots__ = ("root",)

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"StoreLayout(root={self.root!r})"

    @property
    def cas(self) -> Path:
        return self.root / "cas"

    @property
    def blobs(self) -> Path:
        return self.cas / "blobs"

    @property
    def images(self) -> Path:
        return self.cas / "images"

    @property
    def index(self) -> Path:
        return self.cas / "index.json"

    @property
    def tmp(self) -> Path:
        return self.cas / "tmp"

    @property
    def trash(self) -> Path:
        return self.cas / "trash"

    @property
    def trees(self) -> Path:
        return self.root / "trees"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def store_lock(self) -> Path:
        """Shared by imports and renders, exclusive for rm, gc and verify."""
        return self.locks / "store.lock"

    @property
    def index_lock(self) -> Path:
        return self.locks / "index.lock"

    def tree_lock(self, key: str) -> Path:
        return self.locks / f"tree-{key}.lock"

    def blob(self, image_id: str) -> Path:
        return self.blobs / image_id

    def image_dir(self, image_id: str) -> Path:
        return self.images / image_id

    def tree_dir(self, key: str) -> Path:
        return self.trees / key

    def create(self) -> None:
        for path in (self.blobs, self.images, self.tmp, self.trash, self.trees, self.locks):
            path.mkdir(parents=True, exist_ok=True)
