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
"""

from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from types import FrameType

from carpool.discovery.nerve.api import NerveApi
from carpool.discovery.nerve.config import NerveConfig
from carpool.discovery.nerve.reporters import RegistryPool, make_reporter
from carpool.discovery.nerve.service import Service
from carpool.errors import DiscoveryError

log = logging.getLogger(__name__)


def quiet_kazoo() -> None:
    """kazoo logs every reconnection attempt; carpool reports connection states itself."""
    kazoo = logging.getLogger("kazoo")
    if not logging.getLogger("carpool").isEnabledFor(logging.DEBUG):
        kazoo.setLevel(logging.CRITICAL)
    kazoo.propagate = False
    kazoo.handlers[:] = logging.getLogger("carpool").handlers


class Nerve:
    def __init__(self, config: NerveConfig) -> None:
        self.config = config
        self.pool = RegistryPool()
        self.services: list[Service] = []
        self.api: NerveApi | None = None
        self._stopping = threading.Event()
        self._hurry = threading.Event()

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

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    def wait(self) -> None:
        heartbeat = self.config.heartbeat_path
        while True:
            if heartbeat is not None:
                try:
                    heartbeat.touch()
                except OSError as exc:
                    log.warning("heartbeat_path %s: %s", heartbeat, exc.strerror or exc)
            if self._stopping.wait(10.0 if heartbeat is not None else 1.0):
                return

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
