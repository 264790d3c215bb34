"""dgr's prestart templating, done on the host into the app's upper layer.

For images with ``/dgr/templates`` and no pre-start handler of their own, the
runtime runs ``prestart-early`` scripts in the container, then this step, then
``prestart-late`` scripts (see :mod:`carpool.runtime.setup`).  Attributes are the
merged ``/dgr/attributes`` of the app's rootfs, with ``TEMPLATER_OVERRIDE`` (or
``TEMPLATER_OVERRIDE_BASE64``) from the app's environment on top.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from carpool.errors import RuntimeFailure

if TYPE_CHECKING:
    from carpool.runtime.setup import AppPlan


def _render_function() -> Any:
    try:
        module = importlib.import_module("carpool.templater")
    except ImportError:
        module = None
    fn = getattr(module, "render_dir", None) if module is not None else None
    if fn is None:
        raise RuntimeFailure(
            "this image needs dgr prestart templating, but carpool's templater "
            "has no render_dir yet"
        )
    return fn


def render_templates(plan: AppPlan) -> None:
    """Render ``/dgr/templates`` of ``plan``'s rootfs in place (errors stop the pod)."""
    render = _render_function()
    render(plan.rootfs / "dgr", target=plan.rootfs, environ=dict(plan.env))
