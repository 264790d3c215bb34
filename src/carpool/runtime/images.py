"""Images for pods: references resolved in the store, with their rendered trees.

The runtime works on the raw manifest JSON the store validated at import time,
so that ``carpool run`` does not pay for model validation again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from carpool.errors import RuntimeFailure


class ResolvedImage:
    """An image a pod runs.

    A plain class: no dataclasses on ``carpool run``'s path, and no forward reference
    compiled per field as a ``NamedTuple`` does with postponed annotations.
    """

    __slots__ = ("id", "labels", "manifest", "name", "tree")

    def __init__(
        self,
        id: str,
        name: str,
        labels: dict[str, str],
        manifest: dict[str, Any],
        tree: Path,
    ) -> None:
        self.id = id
        self.name = name
        self.labels = labels
        self.manifest = manifest
        self.tree = tree

    def __repr__(self) -> str:
        return f"ResolvedImage(id={self.id!r}, name={self.name!r}, tree={self.tree!r})"


def _manifest_dict(manifest: Any) -> dict[str, Any]:
    if isinstance(manifest, dict):
        return manifest
    for method in ("to_json", "model_dump"):
        fn = getattr(manifest, method, None)
        if fn is None:
            continue
        data = fn(by_alias=True, exclude_none=True) if method == "model_dump" else fn()
        if isinstance(data, (str, bytes)):
            data = json.loads(data)
        if isinstance(data, dict):
            return data
    raise RuntimeFailure(f"cannot read image manifest of type {type(manifest).__name__}")


def _labels(labels: Any) -> dict[str, str]:
    if isinstance(labels, dict):
        return {str(k): str(v) for k, v in labels.items()}
    out: dict[str, str] = {}
    for item in labels or []:
        if isinstance(item, dict):
            out[item["name"]] = item["value"]
        else:
            out[str(getattr(item, "name", ""))] = str(getattr(item, "value", ""))
    return out


class ImageResolver:
    """Resolves image references (store names, ID prefixes, ``.aci`` paths) to trees."""

    def __init__(self, data_dir: Path) -> None:
        from carpool.store import Store

        self.store = Store(data_dir)

    def _record(self, ref: str) -> Any:
        if ref.endswith(".aci") and Path(ref).is_file():
            return self.store.import_aci(Path(ref))
        return self.store.resolve(ref)

    def resolve(self, ref: str) -> ResolvedImage:
        record = self._record(ref)
        return self._resolved(record)

    def by_id(self, image_id: str) -> ResolvedImage:
        return self._resolved(self.store.resolve(image_id))

    @staticmethod
    def _manifest(record: Any) -> dict[str, Any]:
        path = getattr(record, "manifest_path", None)
        if path is not None:  # the JSON the store validated on import: no re-validation
            data = json.loads(Path(path).read_bytes())
            if isinstance(data, dict):
                return data
        return _manifest_dict(record.manifest)

    def _resolved(self, record: Any) -> ResolvedImage:
        image_id = str(record.id)
        tree = Path(self.store.render_tree(image_id))
        return ResolvedImage(
            id=image_id,
            name=str(record.name),
            labels=_labels(getattr(record, "labels", {})),
            manifest=self._manifest(record),
            tree=tree,
        )
