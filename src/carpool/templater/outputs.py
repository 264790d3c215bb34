"""Reusing the text a previous run rendered (``cache_outputs=True``): no parse, no execution.

A container restarting with the same image and the same attributes renders the same
files again.  When every input of a run is what it was — every attribute file's bytes,
the override variable and its value, ``exact_numbers``, the name prefix, every
template, partial and directory of the templates dir, and the source of the whole
templater package (:func:`carpool.templater.cache.outputs_version`) — and the run that
stored the text called only functions whose result depends on their arguments alone
(:data:`carpool.templater.functions.DETERMINISTIC`: no ``now``, ``env``, random
strings…), rendered every file without a failure and logged no warning, then the text
of each file is the text it rendered, and executing the templates again is skipped:
a cached run reads and hashes its inputs, then writes the files (directories, modes,
owners from ``.cfg``, check commands exactly as usual) without importing the template
engine, the function sets or ``yaml``.

One thing a rendering can show differs from run to run without any function: an
address printed with ``%p`` (or a function value printed with ``%v``); a reused text
shows the address of the run that rendered it, which is as (in)significant.

The text lives in an ``outputs`` bundle of the cache dir, named after all those inputs;
like every bundle it is checked and ignored when damaged (see
:mod:`carpool.templater.cache`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from carpool.errors import TemplateError

if TYPE_CHECKING:
    from carpool.templater.templates_dir import CheckRunner, RenderReport


class RunRecord:
    """What a run did that decides whether its text may be reused."""

    __slots__ = ("used_funcs", "warned")

    def __init__(self) -> None:
        self.used_funcs: set[str] = set()
        """Every function the attribute values' templates call."""
        self.warned = False
        """Whether a warning was logged (a reused run would not log it again)."""


def render_reusing_outputs(
    templates_dir: Path,
    attribute_dirs: Path | Iterable[Path],
    target: Path,
    *,
    cache_dir: Path,
    environ: Mapping[str, str] | None,
    override_var: str | None,
    exact_numbers: bool,
    continue_on_error: bool,
    check_runner: CheckRunner | None,
    trace: bool,
    name_prefix: str | None,
    default_owner: tuple[int, int] | None,
) -> RenderReport | None:
    """Render like :func:`carpool.templater.render_dir`, reusing a previous run's text.

    ``None`` when this run cannot take part (an unreadable file or dir, say): the
    caller renders the usual way, which also reports any error in the usual order.
    """
    from carpool.templater.attributes import _attribute_files, _read_files, resolve_attributes
    from carpool.templater.cache import MISS, Bundle, digest, outputs_version
    from carpool.templater.templates_dir import TemplatesDir

    files = _attribute_files(attribute_dirs)
    contents = _read_files(files)
    if not all(isinstance(c, bytes) for c in contents) or not templates_dir.is_dir():
        return None
    try:
        templates = TemplatesDir(
            templates_dir,
            name_prefix=name_prefix,
            default_owner=default_owner,
            cache_dir=cache_dir,
            load_partials=False,
        )
    except TemplateError:
        return None
    if not templates.fully_read():
        return None
    env = os.environ if environ is None else environ
    override = env.get(override_var, "") if override_var else ""
    run_key = digest(
        "outputs",
        outputs_version(cache_dir),
        exact_numbers,
        override_var or "",
        override,
        str(len(contents)),
        *[c for c in contents if isinstance(c, bytes)],
        *templates.cache_inputs(),
    )
    bundle = Bundle.open(cache_dir, "outputs", [run_key])
    assert bundle is not None
    stored = bundle.get(run_key)
    if stored is not MISS:
        report = templates.write_outputs(
            stored, Path(target), check_runner=check_runner, trace=trace
        )
        if report is not None:
            bundle.save()
            return report
        bundle.forget(run_key)

    from carpool.templater.functions import DETERMINISTIC

    record = RunRecord()
    resolved = resolve_attributes(
        attribute_dirs,
        override_var=override_var,
        environ=env,
        exact_numbers=exact_numbers,
        cache_dir=cache_dir,
        files=files,
        contents=contents,
        record=record,
    )
    templates.load_partials()
    templates.outputs = []
    report = templates.render(
        resolved,
        Path(target),
        continue_on_error=continue_on_error,
        check_runner=check_runner,
        trace=trace,
    )
    used = record.used_funcs | templates.used_funcs
    if report.ok and not record.warned and used <= DETERMINISTIC:
        bundle.put(run_key, templates.outputs)
        bundle.save()
    return report
