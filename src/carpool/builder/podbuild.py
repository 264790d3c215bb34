"""Pod projects: ``pod-manifest.yml`` → one ACI per app and ``target/pod-manifest.json``.

As in dgr (``dgr/pod*.go``): app ``<name>`` of pod ``<domain>/<pod>`` becomes the image
``<domain>/<pod>_<name>:<pod version>``, built from ``<pod dir>/<name>/`` (attributes,
templates, files, runlevels; no manifest).  The app's name defaults to the tiny name of
the dependency it inherits from (``inheritDependencyPolicy``: ``first`` by default,
``last`` or ``none``); empty ``app`` fields are taken from that dependency's manifest and
annotations merged.  A pod-level ``attributes/`` dir goes into every app image at
``/dgr/attributes/pod/``.  The resulting pod manifest references the images by name, ID
and version, so ``carpool run --pod-manifest target/pod-manifest.json`` runs it once the
images are installed (``carpool install``).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from carpool.builder.build import BuildOptions, BuildResult, build_project, target_dir
from carpool.builder.project import (
    NO_VALUE,
    POD_MANIFEST,
    _canonical,
    _string_list,
    generated_version,
    project_attributes,
    render_manifest_text,
    split_name,
    tiny_name,
)
from carpool.builder.sessions import project_lock, recover_builds
from carpool.errors import BuildError, CarpoolError, ValidationError
from carpool.fsutil import atomic_write_bytes, atomic_write_text
from carpool.log import get_logger
from carpool.store import Store

INHERITED_FIELDS = (
    "exec",
    "user",
    "group",
    "workingDirectory",
    "supplementaryGIDs",
    "isolators",
    "ports",
    "mountPoints",
    "environment",
)


def _load(project_dir: Path) -> tuple[str, str | None, dict[str, Any], Path]:
    path = project_dir / POD_MANIFEST
    source = str(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise BuildError(f"{source}: cannot read: {exc}") from None
    rendered = render_manifest_text(text, project_attributes(project_dir), source)
    try:
        data = yaml.safe_load(rendered) or {}
    except yaml.YAMLError as exc:
        raise BuildError(f"{source}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{source}: must be a map")
    lowered = {str(k).lower(): v for k, v in data.items()}
    for key in lowered:
        if key not in ("name", "pod"):
            get_logger(__name__).warning("%s: unknown key %s ignored", source, key)
    raw_name = str(lowered.get("name") or "").strip()
    if not raw_name:
        raise BuildError(f"{source}: name: is mandatory in manifest")
    name, version = split_name(raw_name)
    if version is not None and NO_VALUE in version:
        version = None
    pod = _canonical("pod", lowered.get("pod"), "pod", source)
    return name, version, pod, path


def _app_from(record_app: Any) -> dict[str, Any]:
    if record_app is None:
        return {}
    dumped: dict[str, Any] = record_app.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def build_pod(
    store: Store, data_dir: Path, project_dir: Path, options: BuildOptions
) -> list[BuildResult]:
    """One ACI per app and ``target/pod-manifest.json``; one build of a pod at a time."""
    project_dir = project_dir.resolve()
    target = target_dir(project_dir, options)
    recover_builds(data_dir)
    with project_lock(data_dir, target, options.progress):
        return _build_pod_locked(store, data_dir, project_dir, target, options)


def _build_pod_locked(
    store: Store, data_dir: Path, project_dir: Path, target: Path, options: BuildOptions
) -> list[BuildResult]:
    pod_name, version, pod, path = _load(project_dir)
    source = str(path)
    version = version or generated_version(project_dir, options.source_date_epoch)
    apps = pod.get("apps") or []
    if not isinstance(apps, list) or not apps:
        raise ValidationError(f"{source}: pod.apps: must be a non-empty list")
    results: list[BuildResult] = []
    runtime_apps: list[dict[str, Any]] = []
    work = target / ".pod-apps"
    shutil.rmtree(work, ignore_errors=True)
    try:
        for i, raw in enumerate(apps):
            where = f"pod.apps[{i}]"
            spec = _canonical("podapp", raw, where, source)
            deps = _string_list(spec.get("dependencies"), f"{where}.dependencies", source)
            policy = str(spec.get("inheritDependencyPolicy") or "first")
            if policy not in ("first", "last", "none"):
                raise ValidationError(
                    f"{source}: {where}.inheritDependencyPolicy: {policy!r} is not first, last"
                    " or none"
                )
            inherited_ref = (
                None if policy == "none" or not deps else deps[0 if policy == "first" else -1]
            )
            app_name = str(
                spec.get("name")
                or (tiny_name(split_name(inherited_ref)[0]) if inherited_ref else "")
            )
            if not app_name:
                raise ValidationError(f"{source}: {where}.name: is mandatory without dependencies")
            app = dict(_canonical("app", spec.get("app"), f"{where}.app", source))
            annotations = list(spec.get("annotations") or [])
            if inherited_ref is not None:
                try:
                    parent = store.resolve(inherited_ref)
                except CarpoolError as exc:
                    raise BuildError(
                        f"{source}: {where}.dependencies: {inherited_ref}: {exc}"
                    ) from None
                parent_app = _app_from(parent.manifest.app)
                for key in INHERITED_FIELDS:
                    if not app.get(key) and parent_app.get(key):
                        app[key] = parent_app[key]
                names = {a.get("name") for a in annotations if isinstance(a, dict)}
                for annotation in parent.manifest.annotations:
                    if str(annotation.name) not in names and str(annotation.name) not in (
                        "build-date",
                        "carpool-version",
                    ):
                        annotations.append(
                            {"name": str(annotation.name), "value": annotation.value}
                        )
            image_name = f"{pod_name}_{app_name}"
            staging = work / app_name
            _stage_app(project_dir, app_name, staging, image_name, version, deps, app, annotations)
            app_options = replace(options, target=target / app_name)
            result = build_project(store, data_dir, staging, app_options)
            results.append(result)
            runtime: dict[str, Any] = {
                "name": app_name,
                "image": {
                    "name": result.name,
                    "id": result.image_id,
                    "labels": [{"name": "version", "value": result.version}],
                },
            }
            if spec.get("mounts"):
                runtime["mounts"] = spec["mounts"]
            runtime_apps.append(runtime)
        manifest: dict[str, Any] = {
            "acVersion": "0.8.11",
            "acKind": "PodManifest",
            "apps": runtime_apps,
        }
        for key in ("volumes", "isolators", "annotations", "ports"):
            if pod.get(key):
                manifest[key] = pod[key]
        from carpool.appc import PodManifest

        data = json.dumps(manifest, indent=2).encode() + b"\n"
        PodManifest.from_json(data, source=source)
        atomic_write_bytes(target / "pod-manifest.json", data)
        atomic_write_text(target / "version", f"{pod_name}:{version}\n")
    except BaseException:
        for result in results:
            shutil.rmtree(result.aci.parent, ignore_errors=True)
        for name in ("pod-manifest.json", "version"):  # a former build's, now out of date
            (target / name).unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def _stage_app(
    project_dir: Path,
    app_name: str,
    staging: Path,
    image_name: str,
    version: str,
    deps: list[str],
    app: dict[str, Any],
    annotations: list[Any],
) -> None:
    """A generated ACI project for one app: its dir's parts plus the pod's attributes."""
    staging.mkdir(parents=True)
    own = project_dir / app_name
    for sub in ("attributes", "templates", "files", "runlevels", "tests"):
        if (own / sub).is_dir():
            shutil.copytree(own / sub, staging / sub, symlinks=True)
    pod_attributes = project_dir / "attributes"
    if pod_attributes.is_dir():
        dest = staging / "files/dgr/attributes/pod"
        dest.mkdir(parents=True, exist_ok=True)
        for path in sorted(pod_attributes.rglob("*")):
            if path.is_file() and path.suffix in (".yml", ".yaml"):
                shutil.copyfile(path, dest / path.name)
    manifest: dict[str, Any] = {"name": f"{image_name}:{version}", "aci": {"dependencies": deps}}
    if app:
        manifest["aci"]["app"] = app
    if annotations:
        manifest["aci"]["annotations"] = annotations
    # JSON is YAML; quoting keeps {{ in values from being read as templates by mistake
    text = json.dumps(manifest, indent=2).replace("{{", "{{`{{`}}")
    (staging / "aci-manifest.yml").write_text(text + "\n")
