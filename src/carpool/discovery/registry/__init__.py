"""Registry backends: where nerve registers instances and synapse watches them.

A registry is a tree of *service paths* (``/services/api``), each holding *nodes*
(``<node_name> -> payload bytes``) that exist only while their registrant lives.
Two backends implement the same contract:

* :mod:`~carpool.discovery.registry.zookeeper` for fleets (kazoo, ephemeral sequential
  znodes, interoperable with Airbnb's and BlaBlaCar's nerve/synapse);
* :mod:`~carpool.discovery.registry.embedded` for a single host, with no server: files in
  the data dir, registrant liveness through a lock held for the process's life.

The contract, for both:

* :meth:`Registry.register` returns at once with a :class:`Registration`; the backend
  creates the node in the background and **re-creates it** whenever it is lost (session
  expiry, server restart), until :meth:`Registration.remove`.  ``node_name_hint`` is the
  name prefix; the backend appends a 10-digit sequence number, exactly as ZooKeeper's
  sequential nodes do.
* :meth:`Registry.watch` calls ``callback`` from a dedicated thread (never the backend's
  I/O thread, so the callback may block) with a :class:`WatchEvent`: either the **full
  current set** of nodes of the path after any change (a child added or removed, or a
  child's data changed), or ``reachable=False`` when the registry cannot be read, in which
  case consumers keep the last set they had.  Events are coalesced: a burst of changes
  may be delivered as one event carrying the latest state.
* :meth:`Registry.close` stops every watch and registration (removing the nodes).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from carpool.discovery.payload import Backend, PayloadError, parse_payload
from carpool.errors import DiscoveryError
from carpool.log import get_logger

log = get_logger(__name__)

RegistryKind = Literal["zookeeper", "embedded"]


@dataclass(frozen=True)
class WatchEvent:
    """What a watch delivers: the whole current set of a path, or "unreachable".

    ``nodes`` maps child names to their raw data.  When ``reachable`` is false, ``nodes``
    is empty and means nothing: keep the previous set.  ``error`` says why.
    """

    path: str
    nodes: Mapping[str, bytes] = field(default_factory=dict)
    reachable: bool = True
    error: str = ""

    def backends(self) -> list[Backend]:
        """Parse every node (both payload formats); unreadable nodes are logged and skipped."""
        out: list[Backend] = []
        for name in sorted(self.nodes):
            try:
                out.append(parse_payload(name, self.nodes[name]))
            except PayloadError as exc:
                log.warning("%s: skipping node: %s", self.path, exc)
        return out


WatchCallback = Callable[[WatchEvent], None]


class Registration(ABC):
    """A node this process keeps registered until :meth:`remove`."""

    @property
    @abstractmethod
    def node_name(self) -> str | None:
        """The current child name (None while not (yet) created)."""

    @property
    @abstractmethod
    def path(self) -> str:
        """The full path of the current node (``""`` while not created)."""

    @abstractmethod
    def update(self, payload: bytes) -> None:
        """Replace the node's data in place (re-created with it if lost)."""

    @abstractmethod
    def remove(self) -> None:
        """Delete the node and stop maintaining it.  Idempotent; does not block long."""

    @abstractmethod
    def wait_registered(self, timeout: float) -> bool:
        """Block until the node exists with the latest payload (True) or timeout (False)."""


class Watch(ABC):
    """A running watch; :meth:`cancel` stops deliveries."""

    @abstractmethod
    def cancel(self) -> None: ...


class DeliveringWatch(Watch):
    """What both backends' watches share: the contract's delivery rules.

    An event equal to the last one delivered is dropped (a poll or a re-list that found
    nothing new), and a failing callback is logged, never allowed to end the watch.
    """

    def __init__(self, path: str, callback: WatchCallback) -> None:
        self.path = path
        self._callback = callback
        self._last: WatchEvent | None = None

    def _deliver(self, event: WatchEvent) -> None:
        last = self._last
        if (
            last is not None
            and last.reachable == event.reachable
            and (not event.reachable or dict(last.nodes) == dict(event.nodes))
        ):
            return
        self._last = event
        try:
            self._callback(event)
        except Exception:
            log.exception("watch callback for %s failed", self.path)


class Registry(ABC):
    """One connection to a registry (one ZooKeeper session, or one embedded session)."""

    @abstractmethod
    def register(self, service_path: str, node_name_hint: str, payload: bytes) -> Registration:
        """Keep an ephemeral node ``<service_path>/<hint><seq>`` holding ``payload``."""

    @abstractmethod
    def watch(self, service_path: str, callback: WatchCallback) -> Watch:
        """Deliver the full node set of ``service_path`` on every change (see module doc)."""

    @property
    @abstractmethod
    def connected(self) -> bool:
        """Whether the registry is reachable right now."""

    @abstractmethod
    def close(self) -> None:
        """Cancel watches, remove registrations, end the session.  Idempotent."""

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class RegistrySpec:
    """How to reach a registry; hashable so one connection can be shared per spec.

    ``zookeeper``: ``hosts`` (``host:port`` each) and ``session_timeout`` seconds.
    ``embedded``: ``data_dir``, the directory holding the registry files.
    """

    kind: RegistryKind
    hosts: tuple[str, ...] = ()
    session_timeout: float = 10.0
    data_dir: Path | None = None
    poll_interval: float = 0.1
    #: how often registrations are re-checked even without a connection event
    refresh_interval: float = 30.0
    #: ZooKeeper auth as ``(scheme, credential)`` pairs, e.g. ``("digest", "user:pw")``;
    #: with auth, registered nodes are writable by their creator only (world-readable)
    auth: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        if self.kind == "zookeeper":
            return "zookeeper " + ",".join(self.hosts)
        return f"embedded {self.data_dir}"


def normalize_path(path: str, what: str = "path") -> str:
    """``/a/b``: absolute, no trailing or doubled slashes, no ``.``/``..`` components."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise DiscoveryError(f"{what}: {path!r} is not an absolute path like /services/api")
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise DiscoveryError(f"{what}: {path!r} contains . or ..")
    return "/" + "/".join(parts)


def open_registry(spec: RegistrySpec) -> Registry:
    """Connect (in the background: this never blocks on the network) to a registry."""
    if spec.kind == "zookeeper":
        from carpool.discovery.registry.zookeeper import ZooKeeperRegistry

        if not spec.hosts:
            raise DiscoveryError("zookeeper registry: hosts: at least one host:port is needed")
        return ZooKeeperRegistry(
            spec.hosts,
            session_timeout=spec.session_timeout,
            refresh_interval=spec.refresh_interval,
            auth=spec.auth,
        )
    if spec.kind == "embedded":
        from carpool.discovery.registry.embedded import EmbeddedRegistry

        if spec.data_dir is None:
            raise DiscoveryError("embedded registry: a data dir is needed")
        return EmbeddedRegistry(spec.data_dir, poll_interval=spec.poll_interval)
    raise DiscoveryError(f"registry: unknown kind {spec.kind!r} (zookeeper or embedded)")


class RegistryPool:
    """One connection per :class:`RegistrySpec`, shared by whatever needs that registry.

    nerve's reporters and synapse's watchers of one ensemble (or embedded dir) then share
    one session, as the originals did, instead of one per service.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registries: dict[RegistrySpec, Registry] = {}

    def get(self, spec: RegistrySpec) -> Registry:
        with self._lock:
            registry = self._registries.get(spec)
            if registry is None:
                registry = open_registry(spec)
                self._registries[spec] = registry
            return registry

    def registries(self) -> list[Registry]:
        with self._lock:
            return list(self._registries.values())

    def close(self) -> None:
        with self._lock:
            registries = list(self._registries.values())
            self._registries.clear()
        for registry in registries:
            registry.close()


def default_embedded_dir(carpool_data_dir: Path) -> Path:
    """Where the embedded registry lives inside carpool's data dir."""
    return carpool_data_dir / "discovery" / "registry"


__all__ = [
    "DeliveringWatch",
    "Registration",
    "Registry",
    "RegistryKind",
    "RegistryPool",
    "RegistrySpec",
    "Watch",
    "WatchCallback",
    "WatchEvent",
    "default_embedded_dir",
    "normalize_path",
    "open_registry",
]
