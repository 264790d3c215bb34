"""synapse end to end: real ZooKeeper (kazoo-written nodes), real HAProxy, real HTTP."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from carpool.discovery.payload import encode_airbnb, encode_go_nerve
from tests.discovery.conftest import ZooKeeperServer
from tests.discovery.synapse.conftest import (
    LoadLoop,
    free_port,
    haproxy_router,
    http_get,
    wait_for,
    zk_service,
)


def register(client: Any, path: str, prefix: str, data: bytes) -> str:
    return str(
        client.create(f"{path}/{prefix}", data, ephemeral=True, sequence=True, makepath=True)
    )


def go_payload(backend: Any, **kw: Any) -> bytes:
    return encode_go_nerve(host="127.0.0.1", port=backend.port, name=backend.name, **kw)


def start(
    synapse_factory: Any, tmp_path: Path, zk: ZooKeeperServer, path: str, **service: Any
) -> tuple[Any, int]:
    port = free_port()
    config = {
        "apiPort": free_port(),
        "routers": [haproxy_router(tmp_path, [zk_service("web", zk.hosts, path, port, **service)])],
    }
    synapse = synapse_factory(config)
    synapse.start()
    return synapse, port


def served(port: int, n: int = 12) -> set[str]:
    return {http_get(port) for _ in range(n)}


def test_membership_and_weights_change_without_reload(
    zk: ZooKeeperServer, kazoo_client: Any, backends: Any, synapse_factory: Any, tmp_path: Path
) -> None:
    path = "/services/membership"
    a, b, c = backends("a"), backends("b"), backends("c")
    node_a = register(kazoo_client, path, "a_127.0.0.1_c_", go_payload(a))
    register(kazoo_client, path, "b_127.0.0.1_c_", go_payload(b))
    synapse, port = start(synapse_factory, tmp_path, zk, path, slots=4)
    wait_for(lambda: served(port) == {"a", "b"}, timeout=15)
    assert synapse.ready_servers("web") == {("127.0.0.1", a.port), ("127.0.0.1", b.port)}
    workers, reloads = synapse.worker_pids(), synapse.reloads()

    # a new instance fits a free slot: runtime API only
    node_c = register(kazoo_client, path, "c_127.0.0.1_c_", go_payload(c))
    wait_for(lambda: served(port) == {"a", "b", "c"}, timeout=10)
    # in-place weight change (go-nerve's warm-up): seen through the data watch
    kazoo_client.set(node_c, go_payload(c, weight=7))
    wait_for(lambda: {s.weight for s in synapse.servers("web") if s.port == c.port} == {7})
    kazoo_client.set(node_c, go_payload(c, weight=100))
    wait_for(lambda: {s.weight for s in synapse.servers("web") if s.port == c.port} == {100})
    # available:false in place: out of the pool
    kazoo_client.set(node_a, go_payload(a, available=False, weight=0))
    wait_for(lambda: ("127.0.0.1", a.port) not in synapse.ready_servers("web"))
    assert served(port, 20) == {"b", "c"}
    # a deleted node (nerve deregistered): out of the pool
    kazoo_client.delete(node_c)
    wait_for(lambda: synapse.ready_servers("web") == {("127.0.0.1", b.port)})
    assert served(port, 10) == {"b"}
    assert synapse.worker_pids() == workers, "membership changes must not reload HAProxy"
    assert synapse.reloads() == reloads

    # more instances than slots: HAProxy grows its slots with one hitless reload
    # (a reload under load: the master hands the listeners over, nothing is refused)
    more = [backends(f"m{i}") for i in range(4)]
    with LoadLoop(port, interval=0.005) as load:
        for m in more:
            register(kazoo_client, path, f"{m.name}_127.0.0.1_c_", go_payload(m))
        wanted = {"b"} | {m.name for m in more}
        wait_for(lambda: set(load.bodies) >= wanted, timeout=15)
        assert synapse.reloads() > reloads
        assert synapse.worker_pids() != workers
        time.sleep(0.5)
    assert load.failures == [], load.failures[:3]
    assert served(port, 30) == wanted
    view = synapse.view()
    assert view["routers"][0]["services"]["web"]["slots"] >= 5
    assert view["services"]["web"]["reachable"] is True


def test_airbnb_and_go_nerve_payloads_are_both_routed(
    zk: ZooKeeperServer, kazoo_client: Any, backends: Any, synapse_factory: Any, tmp_path: Path
) -> None:
    path = "/nerve/services/mixed/services"
    airbnb, gonerve, filtered = backends("airbnb"), backends("gonerve"), backends("filtered")
    # Airbnb nerve: only configured keys, no "available"; options for this server only
    register(
        kazoo_client,
        path,
        "i-0abc_",
        encode_airbnb(
            host="127.0.0.1",
            port=airbnb.port,
            name="i-0abc",
            weight=2,
            haproxy_server_options="maxconn 7",
            labels={"az": "a"},
        ),
    )
    register(
        kazoo_client,
        path,
        "api_127.0.0.1_c_" + "0" * 32,
        encode_go_nerve(
            host="127.0.0.1", port=gonerve.port, name="api", weight=255, labels={"az": "a"}
        ),
    )
    register(
        kazoo_client,
        path,
        "other_",
        encode_go_nerve(host="127.0.0.1", port=filtered.port, name="other", labels={"az": "b"}),
    )
    synapse, port = start(
        synapse_factory,
        tmp_path,
        zk,
        path,
        labelFilters=[{"label": "az", "value": "a", "condition": "equals"}],
    )
    wait_for(lambda: served(port, 30) == {"airbnb", "gonerve"}, timeout=15)
    by_port = {s.port: s for s in synapse.servers("web")}
    assert by_port[airbnb.port].weight == 2
    assert by_port[gonerve.port].weight == 255
    assert filtered.port not in by_port or by_port[filtered.port].maint
    # haproxy_server_options reach the server line (session limit in show stat)
    stat = synapse.stats.command("show stat -1 4 -1")
    header = stat.splitlines()[0][2:].split(",")
    rows = [dict(zip(header, line.split(","), strict=False)) for line in stat.splitlines()[1:]]
    limits = {r["svname"]: r["slim"] for r in rows if r.get("pxname") == "web"}
    airbnb_slot = by_port[airbnb.port].name
    assert limits[airbnb_slot] == "7"


def test_killed_backend_leaves_the_pool(
    zk: ZooKeeperServer, kazoo_client: Any, backends: Any, synapse_factory: Any, tmp_path: Path
) -> None:
    path = "/services/killed"
    a, b = backends("a"), backends("b")
    register(kazoo_client, path, "a_", go_payload(a))
    owner = zk.client()  # the "nerve" of b: its session ends when b dies
    try:
        register(owner, path, "b_", go_payload(b))
        synapse, port = start(synapse_factory, tmp_path, zk, path)
        wait_for(lambda: served(port) == {"a", "b"}, timeout=15)
        with LoadLoop(port) as load:
            time.sleep(0.3)
            b.stop()  # the instance dies; its registration still exists for now
            time.sleep(1.0)
            ok_after_death = load.ok
            owner.stop()  # and now its nerve goes too: the node disappears
            wait_for(lambda: synapse.ready_servers("web") == {("127.0.0.1", a.port)})
            time.sleep(0.3)
        assert load.ok > ok_after_death > 0
        # HAProxy's own checks (inter 200) and redispatch hide the death from clients
        assert load.failures == [], load.failures[:3]
        assert served(port) == {"a"}
    finally:
        owner.stop()
        owner.close()


def test_zookeeper_down_30s_while_requests_flow_then_changes_resume(
    zk: ZooKeeperServer, kazoo_client: Any, backends: Any, synapse_factory: Any, tmp_path: Path
) -> None:
    path = "/services/outage"
    a, b = backends("a"), backends("b")
    register(kazoo_client, path, "a_", go_payload(a))
    register(kazoo_client, path, "b_", go_payload(b))
    synapse, port = start(synapse_factory, tmp_path, zk, path)
    wait_for(lambda: served(port) == {"a", "b"}, timeout=15)
    with LoadLoop(port, interval=0.02) as load:
        zk.stop()
        wait_for(lambda: synapse.view()["services"]["web"]["reachable"] is False, timeout=15)
        time.sleep(30)
        assert synapse.ready_servers("web") == {("127.0.0.1", a.port), ("127.0.0.1", b.port)}
        zk.start()
    assert load.failures == [], load.failures[:3]
    assert load.ok > 500 and set(load.bodies) == {"a", "b"}
    # after the outage, watches work again (a new session re-lists the path)
    c = backends("c")
    client = zk.client()
    try:
        register(client, path, "c_", go_payload(c))
        wait_for(lambda: "c" in served(port, 20), timeout=30)
    finally:
        client.stop()
        client.close()


def test_cold_start_with_zookeeper_down_serves_the_state_file(
    zk: ZooKeeperServer, kazoo_client: Any, backends: Any, synapse_factory: Any, tmp_path: Path
) -> None:
    path = "/services/coldstart"
    a, b = backends("a"), backends("b")
    register(kazoo_client, path, "a_", go_payload(a))
    register(kazoo_client, path, "b_", go_payload(b))
    synapse, port = start(synapse_factory, tmp_path, zk, path)
    wait_for(lambda: served(port) == {"a", "b"}, timeout=15)
    synapse.stop()
    assert http_get(port).startswith("ERROR"), "HAProxy must stop with synapse"
    zk.stop()
    synapse.start()
    assert served(port, 20) == {"a", "b"}
    assert synapse.view()["services"]["web"]["source"] == "state-file"
    zk.start()


def test_graceful_drain_loses_no_request(
    zk: ZooKeeperServer, kazoo_client: Any, backends: Any, synapse_factory: Any, tmp_path: Path
) -> None:
    path = "/services/drain"
    a, b = backends("a"), backends("b")
    register(kazoo_client, path, "a_", go_payload(a))
    node_b = register(kazoo_client, path, "b_", go_payload(b))
    synapse, port = start(synapse_factory, tmp_path, zk, path)
    wait_for(lambda: served(port) == {"a", "b"}, timeout=15)
    with LoadLoop(port, interval=0.005) as load:
        time.sleep(0.5)
        # nerve's disable: available false (go-nerve exposeOnUnavailable) then wait
        kazoo_client.set(node_b, go_payload(b, available=False, weight=0))
        wait_for(lambda: ("127.0.0.1", b.port) not in synapse.ready_servers("web"))
        time.sleep(0.3)
        b.stop()
        kazoo_client.delete(node_b)
        time.sleep(1.0)
    assert load.failures == [], load.failures[:3]
    assert load.bodies.get("b", 0) > 0 and load.bodies.get("a", 0) > 0


def test_session_expiry_keeps_serving_and_rewatches(
    zk: ZooKeeperServer, kazoo_client: Any, backends: Any, tmp_path: Path
) -> None:
    """synapse in-process, so that its ZooKeeper session can be expired from here."""
    from carpool.discovery.synapse.config import load_config
    from carpool.discovery.synapse.daemon import Synapse
    from tests.discovery.conftest import expire_session

    path = "/services/expiry"
    a, b = backends("a"), backends("b")
    register(kazoo_client, path, "a_", go_payload(a))
    port = free_port()
    config_path = tmp_path / "synapse.yml"
    import yaml

    config_path.write_text(
        yaml.safe_dump(
            {
                "apiPort": 0,
                "routers": [haproxy_router(tmp_path, [zk_service("web", zk.hosts, path, port)])],
            }
        )
    )
    synapse = Synapse(load_config(config_path), tmp_path / "state")
    try:
        synapse.start()
        wait_for(lambda: http_get(port) == "a", timeout=15)
        (registry,) = synapse.pool.registries()
        with LoadLoop(port) as load:
            expire_session(zk.hosts, registry.client)  # type: ignore[attr-defined]
            time.sleep(0.5)
            register(kazoo_client, path, "b_", go_payload(b))
            wait_for(lambda: set(load.bodies) == {"a", "b"}, timeout=20)
        assert load.failures == [], load.failures[:3]
    finally:
        synapse.stop()
