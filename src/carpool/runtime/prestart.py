"""dgr's prestart templating, done on the host into the app's upper layer.

For images with ``/dgr/templates`` and no pre-start handler of their own, the
runtime runs ``prestart-early`` scripts in the container, then this step, then
``prestart-late`` scripts (see :mod:`carpool.runtime.setup`).  Attributes are the
merged ``/dgr/attributes`` of the app's rootfs, with ``TEMPLATER_OVERRIDE`` (or
``TEMPLATER_OVERRIDE_BASE64``) from the app's environment on top.

Image content is untrusted, so nothing is read or written through the image's
symlinks on the host: templates and attributes are first copied out of the
rootfs (symlinks resolved as if chrooted), rendered in a staging dir, and the
results written back with :func:`carpool.runtime.rootpath.write_file`.  A
template's ``checkCmd`` runs inside the container, never on the host.  Files
whose ``.cfg`` names no uid/gid belong to the app's user, as they did when dgr's
templater ran as the app.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from carpool.errors import AttributesError, RuntimeFailure, TemplateError
from carpool.runtime import rootpath

if TYPE_CHECKING:
    from carpool.runtime.setup import AppPlan

MAX_DEPTH = 64


def _stage(root: Path, inner: str, dest: Path, depth: int = 0) -> None:
    """Copy ``inner`` (a path in ``root``) to ``dest``, resolving symlinks inside ``root``."""
    if depth > MAX_DEPTH:
        raise RuntimeFailure(f"{inner}: directories nested too deep")
    source = rootpath.resolve(root, inner)
    try:
        st = source.stat()
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        dest.mkdir(mode=0o755, exist_ok=True)
        os.chmod(dest, stat.S_IMODE(st.st_mode))
        for name in sorted(os.listdir(source)):
            _stage(root, f"{inner.rstrip('/')}/{name}", dest / name, depth + 1)
    elif stat.S_ISREG(st.st_mode):
        import shutil

        shutil.copyfile(source, dest)
        os.chmod(dest, stat.S_IMODE(st.st_mode))


def _cfg_owner(template: Path) -> tuple[bool, bool]:
    """Whether the template's ``.cfg`` sets uid and gid."""
    cfg = template.with_name(template.name + ".cfg")
    try:
        import yaml

        data = yaml.safe_load(cfg.read_text())
    except (OSError, ValueError, ImportError):
        return False, False
    except yaml.YAMLError:  # the templater reports the bad .cfg itself
        return False, False
    if not isinstance(data, dict):
        return False, False
    return "uid" in data, "gid" in data


def _template_for(templates: Path, rel: Path) -> Path | None:
    """The template file that rendered ``rel`` (``x.tmpl`` or ``x.tmpl.ext``)."""
    directory = templates / rel.parent
    try:
        names = os.listdir(directory)
    except OSError:
        return None
    from carpool.templater.templates_dir import output_name

    for name in names:
        if not name.endswith(".cfg") and output_name(name) == rel.name:
            return directory / name
    return None


def render_templates(plan: AppPlan, data_dir: Path | None = None) -> list[list[str]]:
    """Render ``/dgr/templates`` into ``plan``'s rootfs; the check commands to run inside.

    With ``data_dir``, the templater keeps its parse trees and parsed attribute files
    in its cache there, so that the next start of a pod of the same image parses neither.
    """
    import shutil  # here: this module is imported on every run, templating is rarer

    from carpool import templater

    staging = plan.app_dir / "templating"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        templates, attributes, out = staging / "templates", staging / "attributes", staging / "out"
        _stage(plan.rootfs, "/dgr/templates", templates)
        _stage(plan.rootfs, "/dgr/attributes", attributes)
        if not attributes.exists():
            attributes.mkdir()
        checks: list[tuple[str, str]] = []

        def record_check(command: str, path: Path) -> None:
            checks.append((command, "/" + str(path.relative_to(out))))

        try:
            report = templater.render_dir(
                templates,
                attributes,
                out,
                override_env=plan.env,
                override_var=templater.default_override_var(plan.env),
                check_runner=record_check,
                name_prefix="/dgr/templates",
                cache_dir=None if data_dir is None else templater.cache_dir_of(data_dir),
            )
        except (TemplateError, AttributesError) as exc:
            message = str(exc).replace(str(templates), "/dgr/templates")
            message = message.replace(str(attributes), "/dgr/attributes")
            raise RuntimeFailure(f"app {plan.name}: prestart templating: {message}") from None
        for path in report.rendered:
            rel = path.relative_to(out)
            st = path.stat()
            template = _template_for(templates, rel)
            has_uid, has_gid = _cfg_owner(template) if template else (False, False)
            rootpath.write_file(
                plan.rootfs,
                "/" + str(rel),
                path.read_bytes(),
                mode=stat.S_IMODE(st.st_mode),
                uid=st.st_uid if has_uid else plan.uid,
                gid=st.st_gid if has_gid else plan.gid,
            )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    shell = ["/dgr/bin/busybox", "sh", "-c"]
    if not rootpath.resolve(plan.rootfs, shell[0]).exists():
        shell = ["/bin/sh", "-c"]
    return [[*shell, command] for command, _path in checks]
