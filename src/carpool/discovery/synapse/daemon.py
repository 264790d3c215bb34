"""``carpool synapse``: watchers feeding routers, a state file, an HTTP API.

One registry connection per distinct registry (one ZooKeeper session per ensemble), one
watcher per service, routers as configured.  At start the state file's last known servers
are handed to the routers first, so HAProxy serves at once even with ZooKeeper down; the
registry's answers replace them as they arrive.  SIGTERM/SIGINT stop everything, HAProxy
included (soft stop: connections in flight finish).
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

from carpool.discovery.payload import Backend
from carpool.discovery.registry import RegistryPool
from carpool.discovery.synapse.config import RouterConfig, SynapseConfig
from carpool.discovery.synapse.router import Router
from carpool.discovery.synapse.state import StateFile
from carpool.discovery.synapse.watcher import ServiceWatcher
from carpool.errors import DiscoveryError
from carpool.log import get_logger

log = get_logger(__name__)


def make_router(config: RouterConfig, state_dir: Path, index: int) -> Router:
    if config.type == "haproxy":
        from carpool.discovery.synapse.haproxy.router import HaproxyRouter

        directory = state_dir if index == 0 else state_dir / f"router{index}"
        return HaproxyRouter(config, directory)
    if config.type == "template":
        from carpool.discovery.synapse.routers import TemplateRouter

        return TemplateRouter(config)
    from carpool.discovery.synapse.routers import ConsoleRouter

    return ConsoleRouter(config)


class Synapse:
    def __init__(self, config: SynapseConfig, state_dir: Path) -> None:
        self.config = config
        self.state_dir = state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        explicit = [
            r.haproxy.state_path for r in config.routers if r.haproxy and r.haproxy.state_path
        ]
        self.state = StateFile(explicit[0] if explicit else state_dir / "synapse-state.json")
        self.routers: list[Router] = []
        self.pool = RegistryPool()
        self.watchers: dict[str, ServiceWatcher] = {}
        self.api: Any = None
        self._stop = threading.Event()
        self._started = False

    def start(self) -> None:
        last = self.state.load()
        for service in self.config.services:
            if service.name in self.watchers:
                continue  # the same service in several routers: one watcher feeds them all
            watcher = ServiceWatcher(service, self.pool.get(service.registry), self._on_change)
            if last.get(service.name):
                watcher.seed(last[service.name])
                log.info(
                    "%s: starting from %d last known server(s) in %s",
                    service.name,
                    len(last[service.name]),
                    self.state.path,
                )
            self.watchers[service.name] = watcher
        try:
            for index, router_config in enumerate(self.config.routers):
                router = make_router(router_config, self.state_dir, index)
                self.routers.append(router)
                router.start({n: b for n, b in last.items() if n in router.services})
            for watcher in self.watchers.values():
                watcher.start()
            if self.config.api_port:
                from carpool.discovery.synapse.api import SynapseApi

                try:
                    self.api = SynapseApi(
                        self.config.api_host,
                        self.config.api_port,
                        self.view,
                        self.ready,
                        self.metrics,
                    )
                except OSError as exc:
                    raise DiscoveryError(
                        f"apiPort: cannot listen on {self.config.api_host}:"
                        f"{self.config.api_port}: {exc.strerror}"
                    ) from None
                self.api.start()
        except BaseException:
            self.stop()
            raise
        self._started = True

    def _on_change(self, service: str, backends: list[Backend]) -> None:
        self.state.save(service, backends)
        for router in self.routers:
            router.update(service, backends)

    def run(self) -> None:
        """Start, serve until SIGTERM/SIGINT, stop."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._stop.set())
        self.start()
        log.info("synapse running (%d service(s))", len(self.watchers))
        try:
            while not self._stop.wait(1.0):
                pass
        finally:
            log.info("synapse stopping")
            self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self.api is not None:
            self.api.stop()
            self.api = None
        for watcher in self.watchers.values():
            watcher.stop()
        self.pool.close()
        for router in self.routers:
            try:
                router.stop()
            except Exception:
                log.exception("stopping router %s", router.name)
        self.routers.clear()

    # ------------------------------------------------------------------ views

    def ready(self) -> bool:
        return all(w.seen or w.source == "state-file" for w in self.watchers.values())

    def view(self) -> dict[str, Any]:
        return {
            "ready": self.ready(),
            "services": {name: w.view() for name, w in self.watchers.items()},
            "routers": [r.view() for r in self.routers],
        }

    def metrics(self) -> str:
        lines = [
            "# TYPE synapse_service_available_count gauge",
            "# TYPE synapse_service_unavailable_count gauge",
            "# TYPE synapse_watcher_reachable gauge",
            "# TYPE synapse_router_update_failure counter",
        ]
        for name, watcher in self.watchers.items():
            view = watcher.view()
            lines.append(
                f'synapse_service_available_count{{service="{name}"}} {len(view["backends"])}'
            )
            lines.append(
                f'synapse_service_unavailable_count{{service="{name}"}} {view["unavailable"]}'
            )
            lines.append(f'synapse_watcher_reachable{{service="{name}"}} {int(view["reachable"])}')
        for router in self.routers:
            lines.append(f'synapse_router_update_failure{{type="{router.name}"}} {router.errors}')
        return "\n".join(lines) + "\n"
