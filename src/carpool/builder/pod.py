"""Pod projects (``pod-manifest.yml``) and the entry point that builds either kind."""

from __future__ import annotations

from pathlib import Path

from carpool.builder.build import BuildOptions, BuildResult, build_project
from carpool.builder.project import ACI_MANIFEST, find_project
from carpool.store import Store


def build_any(
    store: Store, data_dir: Path, project_dir: Path, options: BuildOptions
) -> list[BuildResult]:
    """Build an ACI project (one result) or a pod project (one result per app)."""
    manifest = find_project(project_dir)
    if manifest.name == ACI_MANIFEST:
        return [build_project(store, data_dir, project_dir, options)]
    from carpool.builder.podbuild import build_pod

    return build_pod(store, data_dir, project_dir, options)
