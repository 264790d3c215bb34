"""carpool's templater: dgr's ``templater`` on a Go ``text/template`` engine.

At container start the runtime renders an image's templates with its merged
attributes, exactly as dgr's ``/dgr/bin/prestart`` ran ``templater -o
TEMPLATER_OVERRIDE -t / /dgr``.  The public API:

``render_dir(templates_dir, attributes, target, *, override_env=None,
override_var="TEMPLATER_OVERRIDE", continue_on_error=False, exact_numbers=False,
check_runner=None, trace=False, name_prefix=None, default_owner=None,
cache_dir=None) -> RenderReport``
    Resolve attributes (``attributes`` is one or more attribute dirs, merged in
    order, or a mapping of already merged attributes), merge the override variable's JSON
    from ``override_env`` (default ``os.environ``; ``base64,`` prefix allowed),
    template attribute values once, then render every template of
    ``templates_dir`` under ``target``.  Raises :class:`carpool.errors.TemplateError`
    or :class:`carpool.errors.AttributesError` with a one-line message naming the
    file (and line); with ``continue_on_error`` failing templates are logged and
    listed in ``RenderReport.failures`` instead.  ``check_runner(cmd, path)``
    replaces the default ``/dgr/bin/busybox sh -c`` runner of ``checkCmd``.
    ``name_prefix`` is how templates are named in Go error messages (dgr:
    ``/dgr/templates``); ``default_owner=(uid, gid)`` owns files whose ``.cfg``
    sets no ``uid``/``gid`` (default: this process).
    ``cache_dir`` (e.g. ``<data dir>/cache/templater``) keeps parse trees and the
    data of YAML files across runs, keyed by content (:mod:`carpool.templater.cache`):
    a run of unchanged files neither parses a template nor imports ``yaml``.
    ``None`` (the default) caches in memory only.

``run_templater(dgr_dir, target, **same options)``
    The ``templater`` binary's contract: ``dgr_dir`` holds ``attributes/`` and
    ``templates/`` (nothing to do when ``templates/`` is missing).

``resolve_attributes(attribute_dirs_or_mapping, *, override_var, environ, exact_numbers,
cache_dir=None)``
    Just the attributes, as templates would see them.

``load_attributes(dirs)`` / ``merge_attributes(dst, src)``
    The merge steps alone (files in dgr's order; ``mergemap.Merge``).

``function_map(context)``
    The functions of a context: ``"template"`` (template files and manifests:
    gtf < sprig < dgr), ``"partial"`` (gtf and dgr) or ``"attribute"`` (dgr < gtf).

``render_string(text, data, *, name="", context="template", cleanup=True)``
    Render one template text (dgr's clean-up, functions of ``context``), e.g. a
    manifest; no ``<no value>`` check and no trailing newline added.

``default_override_var(environ)``
    ``TEMPLATER_OVERRIDE_BASE64`` when that is set, else ``TEMPLATER_OVERRIDE``
    (what dgr's prestart passes to ``-o``).

Numbers from YAML and JSON are ``float64`` as in dgr (``1000000`` prints
``1e+06``) unless ``exact_numbers=True``.  Imports are lazy: importing this
package costs nothing until a function is called.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from carpool.templater.functions import Context
    from carpool.templater.templates_dir import CheckRunner, RenderReport

__all__ = [
    "cache_dir_of",
    "default_override_var",
    "function_map",
    "load_attributes",
    "merge_attributes",
    "render_dir",
    "render_string",
    "resolve_attributes",
    "run_templater",
]


def load_attributes(
    directories: Path | Iterable[Path], *, exact_numbers: bool = False
) -> dict[str, Any]:
    """Merged ``default``/``override`` attributes of attribute dirs.

    No override variable and no templating of values: see :func:`resolve_attributes`.
    """
    from carpool.templater.attributes import load_attributes as _load

    return _load(directories, exact_numbers=exact_numbers)


def merge_attributes(dst: dict[str, Any], src: Mapping[str, Any]) -> dict[str, Any]:
    """``mergemap.Merge``: maps merge recursively, anything else replaces; ``dst`` is updated."""
    from carpool.templater.attributes import merge_maps

    return merge_maps(dst, src)


def resolve_attributes(
    attributes: Path | Iterable[Path] | Mapping[str, Any],
    *,
    override_var: str | None = "TEMPLATER_OVERRIDE",
    environ: Mapping[str, str] | None = None,
    exact_numbers: bool = False,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Attributes as templates see them: merged, overridden from ``environ``, templated."""
    from carpool.templater.attributes import resolve_attributes as _resolve

    return _resolve(
        attributes,
        override_var=override_var,
        environ=environ,
        exact_numbers=exact_numbers,
        cache_dir=cache_dir,
    )


def cache_dir_of(data_dir: Path) -> Path:
    """The cache dir under a carpool data dir, shared by ``carpool templater`` and the
    runtime's prestart: a template rendered by either is parsed once."""
    return Path(data_dir) / "cache" / "templater"


def default_override_var(environ: Mapping[str, str] | None = None) -> str:
    from carpool.templater.attributes import default_override_var as _default

    return _default(os.environ if environ is None else environ)


def function_map(context: Context = "template") -> dict[str, Callable[..., Any]]:
    from carpool.templater.functions import function_map as _function_map

    return _function_map(context)


def render_string(
    text: str,
    data: Any,
    *,
    name: str = "",
    context: Context = "template",
    cleanup: bool = True,
) -> str:
    """Render one template text with the functions of ``context``."""
    from carpool.templater.engine import Template
    from carpool.templater.functions import shared_function_map
    from carpool.templater.preprocess import cleanup_template

    template = Template(name).funcs(shared_function_map(context))
    template.parse(cleanup_template(text) if cleanup else text)
    return template.execute(data)


def render_dir(
    templates_dir: Path,
    attributes: Path | Iterable[Path] | Mapping[str, Any],
    target: Path,
    *,
    override_env: Mapping[str, str] | None = None,
    override_var: str | None = "TEMPLATER_OVERRIDE",
    continue_on_error: bool = False,
    exact_numbers: bool = False,
    check_runner: CheckRunner | None = None,
    trace: bool = False,
    name_prefix: str | None = None,
    default_owner: tuple[int, int] | None = None,
    cache_dir: Path | None = None,
) -> RenderReport:
    """Resolve attributes and render ``templates_dir`` into ``target`` (see module doc)."""
    resolved = resolve_attributes(
        attributes,
        override_var=override_var,
        environ=override_env,
        exact_numbers=exact_numbers,
        cache_dir=cache_dir,
    )
    return _render_resolved(
        templates_dir,
        resolved,
        target,
        continue_on_error=continue_on_error,
        check_runner=check_runner,
        trace=trace,
        name_prefix=name_prefix,
        default_owner=default_owner,
        cache_dir=cache_dir,
    )


def _render_resolved(
    templates_dir: Path,
    resolved: Mapping[str, Any],
    target: Path,
    *,
    continue_on_error: bool,
    check_runner: CheckRunner | None,
    trace: bool,
    name_prefix: str | None,
    default_owner: tuple[int, int] | None = None,
    cache_dir: Path | None = None,
) -> RenderReport:
    from carpool.templater.templates_dir import TemplatesDir

    templates = TemplatesDir(
        Path(templates_dir),
        name_prefix=name_prefix,
        default_owner=default_owner,
        cache_dir=cache_dir,
    )
    return templates.render(
        resolved,
        Path(target),
        continue_on_error=continue_on_error,
        check_runner=check_runner,
        trace=trace,
    )


def run_templater(
    dgr_dir: Path,
    target: Path = Path("/"),
    *,
    override_env: Mapping[str, str] | None = None,
    override_var: str | None = None,
    continue_on_error: bool = False,
    exact_numbers: bool = False,
    check_runner: CheckRunner | None = None,
    trace: bool = False,
    cache_dir: Path | None = None,
) -> RenderReport:
    """dgr's ``templater [-c] [-o VAR] -t TARGET DIR``: ``DIR/attributes`` + ``DIR/templates``."""
    from carpool.templater.templates_dir import RenderReport

    dgr_dir = Path(dgr_dir)
    resolved = resolve_attributes(
        dgr_dir / "attributes",
        override_var=override_var,
        environ=override_env,
        exact_numbers=exact_numbers,
        cache_dir=cache_dir,
    )
    templates_dir = dgr_dir / "templates"
    if not templates_dir.is_dir():
        return RenderReport()
    return _render_resolved(
        templates_dir,
        resolved,
        target,
        continue_on_error=continue_on_error,
        check_runner=check_runner,
        trace=trace,
        name_prefix=f"{dgr_dir}/templates",
        cache_dir=cache_dir,
    )
