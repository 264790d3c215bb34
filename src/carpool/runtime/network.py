"""The pod network seam: ``host``, ``none``, and the place CNI networks plug in.

``none`` gives the pod a fresh network namespace with only ``lo`` (up); ``host``
joins the host's.  Other names (``default`` and CNI networks) are handled by a
:class:`NetworkBackend` registered with :func:`register_backend` (the CNI
package does this); it is called with the pod's pinned netns path after the
namespace exists and before any app starts, and again at teardown.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from carpool.errors import NetworkError


class NetworkBackend(Protocol):
    def setup(
        self, *, pod_uuid: str, netns: Path, networks: list[str], pod_dir: Path
    ) -> dict[str, Any]:
        """Attach the netns to ``networks``; returns what ``status`` shows (``net-info``)."""

    def teardown(self, *, pod_uuid: str, netns: Path | None, pod_dir: Path) -> None:
        """Undo :meth:`setup` (idempotent; the netns may already be gone)."""


_backend_factory: Callable[[], NetworkBackend] | None = None


def register_backend(factory: Callable[[], NetworkBackend]) -> None:
    global _backend_factory
    _backend_factory = factory


def _backend() -> NetworkBackend | None:
    if _backend_factory is None:
        try:  # the CNI package registers itself on import, when it exists
            importlib.import_module("carpool.network")
        except ImportError:
            return None
    return _backend_factory() if _backend_factory is not None else None


def uses_host_network(nets: list[str]) -> bool:
    return nets == ["host"]


def needs_backend(nets: list[str]) -> bool:
    return nets not in (["host"], ["none"])


def check_available(nets: list[str]) -> None:
    """Fail before anything is set up if ``nets`` cannot be provided."""
    if needs_backend(nets) and _backend() is None:
        raise NetworkError(
            f"--net {','.join(nets)}: CNI networking is not available yet; "
            "use --net host or --net none"
        )


def setup(pod_uuid: str, netns: Path | None, nets: list[str], pod_dir: Path) -> None:
    if not needs_backend(nets):
        return
    backend = _backend()
    if backend is None or netns is None:
        check_available(nets)
        return
    info = backend.setup(pod_uuid=pod_uuid, netns=netns, networks=nets, pod_dir=pod_dir)
    (pod_dir / "net-info.json").write_text(json.dumps(info))


def teardown(pod_uuid: str, nets: list[str], netns: Path | None, pod_dir: Path) -> None:
    if not needs_backend(nets):
        return
    backend = _backend()
    if backend is not None:
        backend.teardown(pod_uuid=pod_uuid, netns=netns, pod_dir=pod_dir)
