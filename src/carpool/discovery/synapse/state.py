"""The last-known-servers file: what synapse routes to when the registry is down at start.

Written (atomically) whenever a service's routable set changes; read at start-up, so a
synapse started while ZooKeeper is unreachable serves its last state instead of nothing
(Airbnb synapse exited, go-synapse declared no service until ZooKeeper answered).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from carpool.discovery.payload import Backend
from carpool.discovery.synapse.watcher import backend_from_view, backend_view
from carpool.fsutil import atomic_write_text
from carpool.log import get_logger

log = get_logger(__name__)

VERSION = 1


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._services: dict[str, list[Backend]] = {}

    def load(self) -> dict[str, list[Backend]]:
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable state file ignored: %s", self.path, exc)
            return {}
        services: dict[str, list[Backend]] = {}
        try:
            for name, items in dict(raw.get("services", {})).items():
                services[str(name)] = [backend_from_view(item) for item in items]
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            log.warning("%s: malformed state file ignored: %s", self.path, exc)
            return {}
        with self._lock:
            self._services = dict(services)
        return services

    def save(self, service: str, backends: list[Backend]) -> None:
        with self._lock:
            self._services[service] = list(backends)
            data = {
                "version": VERSION,
                "services": {
                    name: [backend_view(b) for b in items]
                    for name, items in sorted(self._services.items())
                },
            }
            try:
                atomic_write_text(
                    self.path,
                    json.dumps(data, indent=1, sort_keys=True) + "\n",
                    mode=0o600,
                    parents=True,
                )
            except OSError as exc:
                log.warning("%s: cannot write state file: %s", self.path, exc)
