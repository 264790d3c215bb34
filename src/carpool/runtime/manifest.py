"""The pod manifest carpool writes for a pod, as rkt's stage0 did.

Each app's ``app`` section is the image's with the command-line overrides
applied (exec, user, group, environment), and every image mount point is
matched to a volume, so running the pod needs nothing but this document.
"""

from __future__ import annotations

import json
import re
from typing import Any

from carpool.errors import UsageError
from carpool.runtime.images import ResolvedImage
from carpool.runtime.options import AC_NAME, AppOptions, PodOptions

AC_VERSION = "0.8.11"


def app_name_for(image_name: str) -> str:
    """rkt names an app after the last path element of its image name."""
    base = image_name.rstrip("/").rsplit("/", 1)[-1].lower()
    base = re.sub(r"[^a-z0-9]+", "-", base).strip("-")
    return base or "app"


def _merge_env(env: list[dict[str, str]], overrides: list[tuple[str, str]]) -> list[dict[str, str]]:
    out = [dict(e) for e in env]
    for name, value in overrides:
        for item in out:
            if item["name"] == name:
                item["value"] = value
                break
        else:
            out.append({"name": name, "value": value})
    return out


def build_app(image: ResolvedImage, opts: AppOptions, pod: PodOptions) -> dict[str, Any]:
    name = opts.name or app_name_for(image.name)
    if not AC_NAME.match(name):
        raise UsageError(f"--name {name!r}: app names are lower-case letters, digits and dashes")
    # a deep copy of JSON data, without importing copy (start-up path)
    app: dict[str, Any] = json.loads(json.dumps(image.manifest.get("app") or {}))
    if opts.exec is not None:
        app["exec"] = [opts.exec]
    if opts.args:
        app["exec"] = [*app.get("exec", []), *opts.args]
    if not app.get("exec"):
        raise UsageError(f"image {image.name} has no app to run: give --exec for app {name}")
    if opts.user is not None:
        app["user"] = opts.user
    if opts.group is not None:
        app["group"] = opts.group
    app.setdefault("user", "0")
    app.setdefault("group", "0")
    app["environment"] = _merge_env(app.get("environment") or [], [*pod.env, *opts.env])
    labels = [{"name": k, "value": v} for k, v in sorted(image.labels.items())]
    image_ref: dict[str, Any] = {"name": image.name, "id": image.id}
    if labels:
        image_ref["labels"] = labels
    return {
        "name": name,
        "image": image_ref,
        "app": app,
        "readOnlyRootFS": False,
        "mounts": [dict(m) for m in opts.mounts],
        "annotations": [],
    }


def match_mounts(manifest: dict[str, Any]) -> None:
    """Give every image mount point a volume: by name, else an implicit empty one (rkt)."""
    volumes = manifest.setdefault("volumes", [])
    names = {v["name"] for v in volumes}
    for ra in manifest["apps"]:
        mounts = ra.setdefault("mounts", [])
        for mount in mounts:
            if mount["volume"] not in names and "appVolume" not in mount:
                raise UsageError(
                    f"--mount volume={mount['volume']} (app {ra['name']}): no such --volume"
                )
        targets = {m["path"].rstrip("/") or "/" for m in mounts}
        for point in (ra.get("app") or {}).get("mountPoints") or []:
            if (point["path"].rstrip("/") or "/") in targets:
                continue
            if point["name"] not in names:
                volumes.append({"name": point["name"], "kind": "empty", "mode": "0755"})
                names.add(point["name"])
            mounts.append({"volume": point["name"], "path": point["path"]})


def build_pod_manifest(options: PodOptions, images: list[ResolvedImage]) -> dict[str, Any]:
    from carpool.runtime.network import port_entries  # the seam to carpool.network

    ports = port_entries(options.ports)
    apps = [build_app(img, opts, options) for img, opts in zip(images, options.apps, strict=True)]
    seen: set[str] = set()
    for ra in apps:
        if ra["name"] in seen:
            raise UsageError(f"two apps are named {ra['name']!r}: give one of them --name")
        seen.add(ra["name"])
    manifest: dict[str, Any] = {
        "acVersion": AC_VERSION,
        "acKind": "PodManifest",
        "apps": apps,
        "volumes": [dict(v) for v in options.volumes],
        "isolators": [],
        "annotations": [],
        "ports": ports,
    }
    vol_names = [v["name"] for v in manifest["volumes"]]
    if len(set(vol_names)) != len(vol_names):
        raise UsageError("--volume: two volumes have the same name")
    match_mounts(manifest)
    return manifest
