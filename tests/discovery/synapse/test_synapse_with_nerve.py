"""carpool nerve and carpool synapse together on a real ZooKeeper and HAProxy.

nerve's HTTP API drives the instance (weight, ``/disable`` with drain, SIGTERM), synapse
applies each step through HAProxy's runtime API, and clients see no failed request.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.discovery.conftest import ZooKeeperServer
from tests.discovery.nerve.conftest import NerveProcess, go_service
from tests.discovery.synapse.conftest import (
    LoadLoop,
    free_port,
    haproxy_router,
    http_get,
    wait_for,
    zk_service,
)


def test_nerve_weight_and_graceful_disable_through_haproxy_runtime_api(
    zk: ZooKeeperServer, backends: Any, synapse_factory: Any, tmp_path: Path
) -> None:
    path = "/services/together"
    a, b = backends("a"), backends("b")
    nerves: list[NerveProcess] = []
    try:
        for backend in (a, b):
            workdir = tmp_path / f"nerve-{backend.name}"
            workdir.mkdir()
            service = go_service(
                backend.port,
                zk_hosts=zk.hosts,
                path=path,
                name=f"web-{backend.name}",
                disableMinDurationInMilli=1000,
            )
            nerves.append(
                NerveProcess(
                    workdir,
                    {"apiPort": free_port(), "services": [service]},
                    tmp_path / "nerve-data",
                )
            )
        nerve_b = nerves[1]
        port = free_port()
        config = {
            "apiPort": free_port(),
            "routers": [haproxy_router(tmp_path, [zk_service("web", zk.hosts, path, port)])],
        }
        synapse = synapse_factory(config)
        synapse.start()
        wait_for(lambda: {http_get(port) for _ in range(10)} == {"a", "b"}, timeout=20)
        wait_for(lambda: {s.weight for s in synapse.servers("web") if s.port} >= {255})
        workers, reloads = synapse.worker_pids(), synapse.reloads()

        # weight through nerve's API: the warm-up ramp lands in HAProxy via the socket
        status, _ = nerve_b.api("PUT", "/services/web-b/weight/10")
        assert status == 200
        wait_for(lambda: {s.weight for s in synapse.servers("web") if s.port == b.port} == {10})

        with LoadLoop(port, interval=0.005) as load:
            time.sleep(0.5)
            started = time.monotonic()
            status, _ = nerve_b.api("PUT", "/services/web-b/disable")
            assert status == 200
            assert time.monotonic() - started >= 0.9  # /disable returns after the drain
            assert ("127.0.0.1", b.port) not in synapse.ready_servers("web")
            b.stop()  # safe to stop now
            assert nerve_b.terminate() == 0
            time.sleep(0.5)
        assert load.failures == [], load.failures[:3]
        assert load.bodies.get("a", 0) > 0 and load.bodies.get("b", 0) > 0
        assert synapse.worker_pids() == workers and synapse.reloads() == reloads
    finally:
        for process in nerves:
            process.kill()
