"""``carpool try``: the project's templates rendered into ``target/try`` without building.

Unlike dgr's ``try`` (issue #191), the attributes are the ones the container will see:
every dependency's ``/dgr/attributes/*`` from the store, the project's own under
``<ACI_NAME>/``, merged in dgr's alphabetical directory order, with
``TEMPLATER_OVERRIDE`` from the environment on top.  Failing templates are reported
and the others still rendered (dgr's ``-c``); ``checkCmd`` is not run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from carpool.builder.project import find_project, parse_manifest
from carpool.errors import BuildError, CarpoolError
from carpool.store import Store
from carpool.templater.templates_dir import RenderReport


def collect_attributes(store: Store, project_dir: Path, dest: Path) -> None:
    """``dest`` laid out like ``/dgr/attributes`` of the image to be built."""
    project = parse_manifest(project_dir)
    dest.mkdir(parents=True, exist_ok=True)
    for ref in project.aci.dependencies:
        try:
            image = store.resolve(ref)
            tree = store.render_tree(image.id)
        except CarpoolError as exc:
            raise BuildError(f"{project.manifest_path}: aci.dependencies: {ref}: {exc}") from None
        attributes = tree / "dgr/attributes"
        if attributes.is_dir():
            shutil.copytree(attributes, dest, dirs_exist_ok=True, symlinks=False)
    own = project_dir / "attributes"
    if own.is_dir():
        mine = dest / project.tiny_name
        mine.mkdir(exist_ok=True)
        for path in sorted(own.rglob("*")):
            if path.is_file() and path.suffix in (".yml", ".yaml"):
                shutil.copyfile(path, mine / path.name)


def try_project(store: Store, project_dir: Path) -> RenderReport:
    from carpool import templater

    project_dir = project_dir.resolve()
    find_project(project_dir)  # a directory that is no project gets no target/
    target = project_dir / "target" / "try"
    templates = project_dir / "templates"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    if not templates.is_dir():
        return RenderReport()
    with tempfile.TemporaryDirectory(prefix="carpool-try-") as work:
        attributes = Path(work) / "attributes"
        collect_attributes(store, project_dir, attributes)
        return templater.render_dir(
            templates,
            attributes,
            target,
            override_env=dict(os.environ),
            override_var=templater.default_override_var(dict(os.environ)),
            continue_on_error=True,
            check_runner=lambda command, path: None,
            default_owner=(os.getuid(), os.getgid()),
        )
