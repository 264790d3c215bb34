"""Build small ACIs for the store tests, with tarfile directly (independent of carpool.aci)."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Symlink:
    target: str


@dataclass(frozen=True)
class Dir:
    mode: int = 0o755


Entry = bytes | str | Symlink | Dir


def manifest(
    name: str,
    *,
    labels: dict[str, str] | None = None,
    dependencies: list[dict[str, Any]] | None = None,
    whitelist: list[str] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"acKind": "ImageManifest", "acVersion": "0.8.11", "name": name}
    if labels:
        data["labels"] = [{"name": k, "value": v} for k, v in labels.items()]
    if dependencies:
        data["dependencies"] = dependencies
    if whitelist:
        data["pathWhitelist"] = whitelist
    return data


def dep(name: str, image_id: str | None = None, **labels: str) -> dict[str, Any]:
    data: dict[str, Any] = {"imageName": name}
    if labels:
        data["labels"] = [{"name": k, "value": v} for k, v in labels.items()]
    if image_id:
        data["imageID"] = image_id
    return data


def build_aci(
    path: Path,
    name: str,
    files: dict[str, Entry] | None = None,
    *,
    labels: dict[str, str] | None = None,
    dependencies: list[dict[str, Any]] | None = None,
    whitelist: list[str] | None = None,
    compression: str = "",
    mtime: int = 1_600_000_000,
) -> Path:
    """Write an ACI at ``path``; ``files`` maps rootfs paths to contents (parents implied)."""
    doc = manifest(name, labels=labels, dependencies=dependencies, whitelist=whitelist)
    members: dict[str, Entry] = {}
    for rel, entry in sorted((files or {}).items()):
        parts = rel.strip("/").split("/")
        for i in range(1, len(parts)):
            members.setdefault("/".join(parts[:i]), Dir())
        members["/".join(parts)] = entry
    mode = f"w:{compression}" if compression else "w"
    with tarfile.open(path, mode, format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
        data = json.dumps(doc).encode()
        info = tarfile.TarInfo("manifest")
        info.size, info.mtime, info.mode = len(data), mtime, 0o644
        tar.addfile(info, io.BytesIO(data))
        root = tarfile.TarInfo("rootfs")
        root.type, root.mtime, root.mode = tarfile.DIRTYPE, mtime, 0o755
        tar.addfile(root)
        for rel, entry in sorted(members.items()):
            info = tarfile.TarInfo(f"rootfs/{rel}")
            info.mtime = mtime
            if isinstance(entry, Dir):
                info.type, info.mode = tarfile.DIRTYPE, entry.mode
                tar.addfile(info)
            elif isinstance(entry, Symlink):
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, entry.target, 0o777
                tar.addfile(info)
            else:
                content = entry.encode() if isinstance(entry, str) else entry
                info.size, info.mode = len(content), 0o644
                tar.addfile(info, io.BytesIO(content))
    return path
