"""Service watchers: registry events in, the routable set of one service out.

A :class:`ServiceWatcher` subscribes to its service path on a shared registry connection
(ZooKeeper: children *and* data watches; embedded: the registry's files).  For every
reachable event it turns the nodes into the set routers should use:

* both payload formats are parsed (unreadable nodes skipped with a warning);
* ``available: false`` is honoured (Airbnb synapse routed such nodes);
* ``label_filters`` and ``backend_port_override`` are applied, duplicates (host, port,
  name) dropped, and the result sorted by ``serverSort``;
* ``default_servers`` fill an empty set (or are always merged with
  ``keep_default_servers``);
* an empty set keeps the previous one when ``use_previous_backends`` (the default of both
  originals), so a registry glitch that empties a path does not empty HAProxy.

An *unreachable* event changes nothing: routers keep the last known servers.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from carpool.discovery.payload import Backend
from carpool.discovery.registry import Registry, Watch, WatchEvent
from carpool.discovery.synapse.config import ServiceConfig
from carpool.log import get_logger

log = get_logger(__name__)

OnChange = Callable[[str, list[Backend]], None]


def routable(service: ServiceConfig, backends: list[Backend]) -> list[Backend]:
    """Filter, override, deduplicate and sort what a registry holds (see module doc)."""
    out: list[Backend] = []
    seen: set[tuple[str, int, str]] = set()
    for backend in backends:
        if not backend.available:
            continue
        if not all(f.accepts(backend.labels) for f in service.label_filters):
            continue
        if service.backend_port_override is not None:
            backend = replace(backend, port=service.backend_port_override)
        if not backend.name:
            backend = replace(backend, name=f"{backend.host}:{backend.port}")
        key = (backend.host, backend.port, backend.name)
        if key in seen:
            continue
        seen.add(key)
        out.append(backend)
    if service.server_sort == "random":
        random.shuffle(out)
    elif service.server_sort == "date":
        out.sort(key=lambda b: (b.sequence is None, b.sequence or 0))
    else:
        out.sort(key=lambda b: (b.name, b.host, b.port))
    if service.keep_default_servers or not out:
        keys = {(b.host, b.port) for b in out}
        out += [d for d in service.default_servers if (d.host, d.port) not in keys]
    return out


class ServiceWatcher:
    def __init__(self, service: ServiceConfig, registry: Registry, on_change: OnChange) -> None:
        self.service = service
        self.registry = registry
        self.on_change = on_change
        self._lock = threading.Lock()
        self._watch: Watch | None = None
        self.current: list[Backend] | None = None
        self.reachable = False
        self.seen = False
        self.source = "none"
        self.error = ""
        self.registered = 0
        self.unavailable = 0

    def seed(self, backends: list[Backend]) -> None:
        """The last known set (state file), used until the registry answers."""
        with self._lock:
            self.current = list(backends)
            self.source = "state-file"

    def start(self) -> None:
        self._watch = self.registry.watch(self.service.path, self._on_event)

    def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    def _on_event(self, event: WatchEvent) -> None:
        if not event.reachable:
            with self._lock:
                self.reachable = False
                self.error = event.error
            log.warning(
                "%s: registry unreachable (%s); keeping the last known servers",
                self.service.name,
                event.error or "no connection",
            )
            return
        parsed = event.backends()
        backends = routable(self.service, parsed)
        with self._lock:
            self.reachable = True
            self.seen = True
            self.error = ""
            self.registered = len(parsed)
            self.unavailable = sum(1 for b in parsed if not b.available)
            if not backends and self.service.use_previous_backends and self.current:
                log.warning(
                    "%s: no routable instance registered; keeping the previous %d server(s)",
                    self.service.name,
                    len(self.current),
                )
                self.source = "previous"
                return
            if backends == self.current and self.source == "registry":
                return
            self.current = backends
            self.source = "registry"
        log.info(
            "%s: %d server(s): %s",
            self.service.name,
            len(backends),
            " ".join(b.address for b in backends) or "-",
        )
        self.on_change(self.service.name, backends)

    def view(self) -> dict[str, Any]:
        with self._lock:
            return {
                "path": self.service.path,
                "registry": self.service.registry.describe(),
                "reachable": self.reachable,
                "seen": self.seen,
                "source": self.source,
                "error": self.error,
                "registered": self.registered,
                "unavailable": self.unavailable,
                "backends": [backend_view(b) for b in self.current or []],
            }


def backend_view(backend: Backend) -> dict[str, Any]:
    return {
        "name": backend.name,
        "host": backend.host,
        "port": backend.port,
        "weight": backend.weight,
        "available": backend.available,
        "labels": backend.labels,
        "haproxy_server_options": backend.haproxy_server_options,
        "node": backend.node_name,
    }


def backend_from_view(raw: dict[str, Any]) -> Backend:
    return Backend(
        host=str(raw["host"]),
        port=int(raw["port"]),
        name=str(raw.get("name") or ""),
        weight=None if raw.get("weight") is None else int(raw["weight"]),
        labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
        available=bool(raw.get("available", True)),
        haproxy_server_options=str(raw.get("haproxy_server_options") or ""),
        node_name=str(raw.get("node") or ""),
    )
