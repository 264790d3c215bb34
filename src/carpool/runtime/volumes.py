"""Pod volumes -> bind mounts of each app (appc ace.md volume rules).

``host`` volumes bind a host path that must exist and not be a symlink; ``empty``
volumes are directories under ``<pod>/sharedVolumes/`` shared by all apps and
removed with the pod.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from carpool.errors import RuntimeFailure
from carpool.oci.spec import Mount, bind_mount


def create_empty_volumes(pod_dir: Path, volumes: list[dict[str, Any]]) -> None:
    base = pod_dir / "sharedVolumes"
    for volume in volumes:
        if volume.get("kind") != "empty":
            continue
        path = base / volume["name"]
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, int(volume.get("uid", 0)), int(volume.get("gid", 0)))
        os.chmod(path, int(str(volume.get("mode", "0755")), 8))


def app_mounts(
    pod_dir: Path,
    app_name: str,
    app: dict[str, Any],
    ra: dict[str, Any],
    volumes: list[dict[str, Any]],
) -> list[Mount]:
    by_name = {v["name"]: v for v in volumes}
    read_only_points = {
        (p["path"].rstrip("/") or "/") for p in (app.get("mountPoints") or []) if p.get("readOnly")
    }
    mounts: list[Mount] = []
    targets: list[str] = []
    for entry in ra.get("mounts") or []:
        volume = entry.get("appVolume") or by_name.get(entry["volume"])
        if volume is None:
            raise RuntimeFailure(f"app {app_name}: mount of unknown volume {entry['volume']!r}")
        target = "/" + entry["path"].strip("/")
        for other in targets:
            if target == other or target.startswith(other + "/") or other.startswith(target + "/"):
                raise RuntimeFailure(
                    f"app {app_name}: mounts on {other} and {target} overlap (nested mounts)"
                )
        targets.append(target)
        read_only = bool(volume.get("readOnly")) or target in read_only_points
        if volume.get("kind") == "host":
            source = volume["source"]
            if os.path.islink(source):
                raise RuntimeFailure(f"volume {volume['name']}: source {source} is a symlink")
            if not os.path.exists(source):
                raise RuntimeFailure(f"volume {volume['name']}: source {source} does not exist")
            recursive = bool(volume.get("recursive", True))
        else:
            source = str(pod_dir / "sharedVolumes" / volume["name"])
            recursive = False
        mounts.append(bind_mount(source, target, read_only=read_only, recursive=recursive))
    return mounts
