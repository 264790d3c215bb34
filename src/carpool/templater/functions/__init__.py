"""The function maps templates see, with dgr's precedence in each context.

dgr registers three function sets (``gtf``, ``sprig`` v2 and its own) in a different
order depending on what is being parsed; a later set overrides an earlier one:

``template`` (template files and the manifest)
    gtf, then sprig, then dgr's own: ``join``/``replace``/``split`` are dgr's (Go
    stdlib signatures), ``default``/``first``/``trim`` are sprig's.
``partial`` (``*.partial`` files)
    gtf and dgr's own only, so a partial calling a sprig-only function fails to
    parse.  Partials and template files share one Go template set: once a template
    file is parsed its functions (sprig included) are the ones every template of
    the set — partials too — *execute* with, exactly as in Go.
``attribute`` (string attribute values)
    dgr's own, then gtf: gtf wins, so ``join``/``replace``/``default`` have gtf's
    semantics there, and there is no sprig.

dgr's ``eq`` overrides Go's builtin ``eq`` in every context.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from carpool.templater.cache import Bundle

Context = Literal["template", "partial", "attribute"]

CONTEXTS: tuple[Context, ...] = ("template", "partial", "attribute")


@cache
def _dgr() -> dict[str, Callable[..., Any]]:
    from carpool.templater.functions import dgr

    return dgr.functions()


@cache
def _gtf() -> dict[str, Callable[..., Any]]:
    from carpool.templater.functions import gtf

    return gtf.functions()


@cache
def _sprig() -> dict[str, Callable[..., Any]]:
    from carpool.templater.functions import sprig

    return sprig.functions()


@cache
def _function_map(context: Context) -> dict[str, Callable[..., Any]]:
    if context == "template":
        return {**_gtf(), **_sprig(), **_dgr()}
    if context == "partial":
        return {**_gtf(), **_dgr()}
    if context == "attribute":
        return {**_dgr(), **_gtf()}
    raise ValueError(f"unknown function context {context!r}")


def function_map(context: Context = "template") -> dict[str, Callable[..., Any]]:
    """The functions a template parsed in ``context`` can call (a fresh copy)."""
    return dict(_function_map(context))


def shared_function_map(context: Context) -> dict[str, Callable[..., Any]]:
    """Like :func:`function_map` but the cached dict itself: do not modify it."""
    return _function_map(context)


def dgr_functions() -> dict[str, Callable[..., Any]]:
    return dict(_dgr())


def sprig_functions() -> dict[str, Callable[..., Any]]:
    return dict(_sprig())


def gtf_functions() -> dict[str, Callable[..., Any]]:
    return dict(_gtf())


def attribute_template(text: str, data: Any, *, cache: Bundle | None = None) -> str:
    """Render one attribute value as dgr does: a template named ``""``, dgr+gtf functions.

    ``cache``: a persistent cache bundle that may hold the parse of ``text``.
    """
    from carpool.templater.engine import Template

    template = Template("").funcs(_function_map("attribute"))
    template.parse(text, cache=cache)
    return template.execute(data)
