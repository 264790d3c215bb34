"""The nerve process: services, reporters, the API, and a clean shutdown.

On SIGTERM or SIGINT every check stops; each service with ``setServiceAsDownOnShutdown``
(the default) runs the disable flow in parallel with the others: it reports
``available:false, weight:0`` (the registry node is deleted, or kept as unavailable with
``exposeOnUnavailable``), runs ``disableShutdownCommand``, waits for
``disableGracefullyDoneCommand`` within ``disableMaxDurationInMilli`` and at least
``disableMinDurationInMilli``.  Then every node is deleted and the registry sessions are
closed for real (go-nerve's ``Close`` was a no-op).  A second signal skips the remaining
wait.  Airbnb nerve deregistered at once with no drain; its configs keep that
(``disable_min`` 0) unless told otherwise.

SIGHUP reloads the configuration as Airbnb nerve does (go-nerve had no reload), for both
formats; the API address is not changed by a reload.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import FrameType

from carpool.discovery.nerve.api import NerveApi
from carpool.discovery.nerve.config import NerveConfig
from carpool.discovery.nerve.reporters import make_reporter
from carpool.discovery.nerve.service import Service
from carpool.discovery.registry import RegistryPool
from carpool.errors import CarpoolError, DiscoveryError
from carpool.log import get_logger, stdlib_logger

log = get_logger(__name__)


def quiet_kazoo() -> None:
    """kazoo logs every reconnection attempt; carpool reports connection states itself."""
    carpool_logger = stdlib_logger("carpool")
    kazoo = logging.getLogger("kazoo")
    if not log.isEnabledFor(logging.DEBUG):
        kazoo.setLevel(logging.CRITICAL)
    kazoo.propagate = False
    kazoo.handlers[:] = carpool_logger.handlers


class Nerve:
    def __init__(
        self, config: NerveConfig, reload_config: Callable[[], NerveConfig] | None = None
    ) -> None:
        self.config = config
        self.reload_config = reload_config
        self.pool = RegistryPool()
        self.services: list[Service] = []
        self.api: NerveApi | None = None
        self._stopping = threading.Event()
        self._hurry = threading.Event()
        self._wake = threading.Event()
        self._reload = threading.Event()

    def start(self) -> None:
        try:
            for sc in self.config.services:
                reporters = [make_reporter(rc, sc, self.pool) for rc in sc.reporters]
                self.services.append(Service(sc, reporters))
            if self.config.api_port:
                try:
                    self.api = NerveApi(self.services, self.config.api_host, self.config.api_port)
                except OSError as exc:
                    where = f"{self.config.api_host or '*'}:{self.config.api_port}"
                    raise DiscoveryError(
                        f"{self.config.source}: apiPort: cannot listen on {where}: "
                        f"{exc.strerror or exc}"
                    ) from None
                self.api.start()
                host, port = self.api.address
                log.info("nerve api listening on %s:%d", host, port)
        except BaseException:
            self.pool.close()
            raise
        for service in self.services:
            service.start()
        log.info("nerve watching %d service(s)", len(self.services))

    def request_stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        if self._stopping.is_set():
            self._hurry.set()
            return
        log.info("nerve: stopping%s", f" on signal {signum}" if signum else "")
        self._stopping.set()
        self._wake.set()

    def request_reload(self, signum: int = 0, frame: FrameType | None = None) -> None:
        self._reload.set()
        self._wake.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        if self.reload_config is not None:
            signal.signal(signal.SIGHUP, self.request_reload)

    def wait(self) -> None:
        """The main loop: heartbeat, reloads, until asked to stop."""
        while not self._stopping.is_set():
            heartbeat = self.config.heartbeat_path
            if heartbeat is not None:
                try:
                    heartbeat.touch()
                except OSError as exc:
                    log.warning("heartbeat_path %s: %s", heartbeat, exc.strerror or exc)
            self._wake.wait(10.0 if heartbeat is not None else 1.0)
            self._wake.clear()
            if self._reload.is_set() and not self._stopping.is_set():
                self._reload.clear()
                self.reload()

    def reload(self) -> None:
        """Airbnb nerve's SIGHUP: apply a new config, make-before-break per service.

        New services start, removed ones deregister, and a changed one is replaced by a
        new instance that must report once (30 s at most) before the old one goes.  A bad
        config is logged and the running one kept.
        """
        assert self.reload_config is not None
        try:
            new = self.reload_config()
        except CarpoolError as exc:
            log.error("reload failed, keeping the running configuration: %s", exc)
            return
        current = {s.config.name: s for s in self.services}
        kept: list[Service] = []
        started: list[tuple[Service, Service | None]] = []
        for sc in new.services:
            old = current.pop(sc.name, None)
            if old is not None and old.config == sc:
                kept.append(old)
                continue
            reporters = [make_reporter(rc, sc, self.pool) for rc in sc.reporters]
            service = Service(sc, reporters)
            service.start()
            started.append((service, old))
        deadline = time.monotonic() + 30
        for service, old in started:
            if old is not None:
                service.wait_first_report(max(0.0, deadline - time.monotonic()))
                self._retire(old)
        for old in current.values():
            self._retire(old)
        order = {sc.name: i for i, sc in enumerate(new.services)}
        services = kept + [service for service, _ in started]
        self.services[:] = sorted(services, key=lambda s: order[s.config.name])
        self.config.services = new.services
        self.config.heartbeat_path = new.heartbeat_path
        replaced = sum(1 for _, old in started if old is not None)
        log.info(
            "nerve: reloaded: %d unchanged, %d new, %d replaced, %d removed",
            len(kept),
            len(started) - replaced,
            replaced,
            len(current),
        )

    @staticmethod
    def _retire(service: Service) -> None:
        service.stop()
        service.deregister()

    def shutdown(self) -> None:
        """Drain (bounded), deregister, close sessions."""
        for service in self.services:
            service.stop_checks()
        draining = [s for s in self.services if s.config.set_down_on_shutdown]
        if draining:
            pool = ThreadPoolExecutor(max_workers=len(draining))
            futures = [pool.submit(s.disable, True) for s in draining]
            for future in futures:
                while not future.done() and not self._hurry.is_set():
                    self._hurry.wait(0.05)
            pool.shutdown(wait=False, cancel_futures=True)
        for service in self.services:
            service.stop()
        for service in self.services:
            service.deregister()
        if self.api is not None:
            self.api.stop()
        self.pool.close()
        log.info("nerve: stopped")

    def run(self) -> None:
        quiet_kazoo()
        self.install_signal_handlers()
        self.start()
        try:
            self.wait()
        finally:
            self.shutdown()
