"""The ZooKeeper registry backend against a real ZooKeeper."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from typing import Any

import pytest

from carpool.discovery.registry import RegistrySpec, WatchEvent, open_registry
from carpool.discovery.registry.zookeeper import ZooKeeperRegistry
from tests.discovery.conftest import ZooKeeperServer, expire_session, wait_for
from tests.discovery.nerve.conftest import zk_nodes


@pytest.fixture
def registry(zk: ZooKeeperServer) -> Iterator[ZooKeeperRegistry]:
    reg = open_registry(RegistrySpec("zookeeper", hosts=(zk.hosts,), session_timeout=2.0))
    assert isinstance(reg, ZooKeeperRegistry)
    try:
        yield reg
    finally:
        reg.close()


class Events:
    def __init__(self) -> None:
        self.queue: queue.Queue[WatchEvent] = queue.Queue()

    def __call__(self, event: WatchEvent) -> None:
        self.queue.put(event)

    def until(self, predicate: Any, timeout: float = 10.0) -> WatchEvent:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no matching watch event")
            try:
                event = self.queue.get(timeout=remaining)
            except queue.Empty:
                raise AssertionError("no matching watch event") from None
            if predicate(event):
                return event


def test_register_creates_ephemeral_sequential_node_and_parents(
    registry: ZooKeeperRegistry, kazoo_client: Any
) -> None:
    reg = registry.register("/it/a/services/web", "web_127.0.0.1_c_" + "ab" * 16, b'{"x":1}')
    assert reg.wait_registered(10)
    assert reg.node_name is not None
    assert reg.node_name.startswith("web_127.0.0.1_c_" + "ab" * 16)
    assert reg.node_name[-10:].isdigit()
    data, stat = kazoo_client.get(reg.path)
    assert data == b'{"x":1}'
    assert stat.ephemeralOwner == registry.session_id
    assert kazoo_client.get("/it/a/services")[0] == b""  # parents: persistent, empty
    reg.update(b'{"x":2}')
    assert reg.wait_registered(10)
    assert kazoo_client.get(reg.path)[0] == b'{"x":2}'
    path = reg.path
    reg.remove()
    wait_for(lambda: kazoo_client.exists(path) is None)


def test_watch_sees_children_and_data_changes(zk: ZooKeeperServer, registry: Any) -> None:
    other = open_registry(RegistrySpec("zookeeper", hosts=(zk.hosts,), session_timeout=2.0))
    try:
        events = Events()
        registry.watch("/it/b/svc", events)
        first = events.until(lambda e: e.reachable)
        assert dict(first.nodes) == {}
        r1 = other.register("/it/b/svc", "one_", b'{"host":"h","port":1}')
        e = events.until(lambda e: len(e.nodes) == 1)
        assert list(e.nodes.values()) == [b'{"host":"h","port":1}']
        r2 = other.register("/it/b/svc", "two_", b'{"host":"h","port":2}')
        events.until(lambda e: len(e.nodes) == 2)
        r1.update(b'{"host":"h","port":1,"weight":7}')  # in-place data change
        e = events.until(lambda e: b'{"host":"h","port":1,"weight":7}' in e.nodes.values())
        assert sorted(b.port for b in e.backends()) == [1, 2]
        r2.remove()
        e = events.until(lambda e: len(e.nodes) == 1)
        assert e.backends()[0].weight == 7
    finally:
        other.close()
    # closing the other session removes its nodes at once
    events.until(lambda e: len(e.nodes) == 0)


def test_session_expiry_re_registers(zk: ZooKeeperServer, registry: Any, kazoo_client: Any) -> None:
    reg = registry.register("/it/c/svc", "inst_", b"payload")
    assert reg.wait_registered(10)
    old_path, old_session = reg.path, registry.session_id
    expire_session(zk.hosts, registry.client)
    # (kazoo calls state listeners in no fixed order: wait for the new session's node)
    wait_for(lambda: reg.path != old_path and reg.wait_registered(0.1), timeout=15)
    assert registry.session_id != old_session
    nodes = zk_nodes(kazoo_client, "/it/c/svc")
    assert list(nodes.values()) == [b"payload"]  # exactly one node: no orphan
    assert kazoo_client.get(reg.path)[1].ephemeralOwner == registry.session_id


def test_zookeeper_restart_keeps_registration_and_signals_watchers(
    zk: ZooKeeperServer, registry: Any, kazoo_client: Any
) -> None:
    events = Events()
    registry.watch("/it/d/svc", events)
    reg = registry.register("/it/d/svc", "inst_", b"p")
    assert reg.wait_registered(10)
    events.until(lambda e: e.reachable and len(e.nodes) == 1)
    zk.stop()
    down = events.until(lambda e: not e.reachable)
    assert down.nodes == {}
    time.sleep(3)  # longer than the 2 s session: it expires once the server is back
    zk.start()
    events.until(lambda e: e.reachable and len(e.nodes) == 1, timeout=30)
    assert reg.wait_registered(20)
    client = zk.client()
    try:
        wait_for(lambda: list(zk_nodes(client, "/it/d/svc").values()) == [b"p"], timeout=20)
    finally:
        client.stop()
        client.close()


def test_register_while_zookeeper_is_down_does_not_block(zk: ZooKeeperServer) -> None:
    zk.stop()
    started = time.monotonic()
    reg_spec = RegistrySpec("zookeeper", hosts=(zk.hosts,), session_timeout=2.0)
    registry = open_registry(reg_spec)
    try:
        events = Events()
        registry.watch("/it/e/svc", events)
        reg = registry.register("/it/e/svc", "inst_", b"late")
        assert time.monotonic() - started < 1.0
        assert not events.until(lambda e: True, timeout=10).reachable
        zk.start()
        assert reg.wait_registered(20)
        events.until(lambda e: e.reachable and list(e.nodes.values()) == [b"late"], timeout=20)
    finally:
        registry.close()


def test_protected_create_adopts_own_node(registry: Any, kazoo_client: Any) -> None:
    """After an uncertain create, an existing node of this session is adopted, not doubled."""
    from carpool.discovery.registry.zookeeper import _ZkRegistration

    assert registry.wait_connected(10)
    session = registry.session_id
    path = registry.client.create(
        "/it/f/svc/inst_", b"old", ephemeral=True, sequence=True, makepath=True
    )
    assert kazoo_client.exists(path).ephemeralOwner == session
    # as if our create's reply had been lost: the node exists, we do not know its name
    reg = _ZkRegistration(registry, "/it/f/svc", "inst_", b"new")
    reg._uncertain_create = True
    reg.reconcile()
    assert reg.path == path
    assert zk_nodes(kazoo_client, "/it/f/svc") == {path.rsplit("/", 1)[1]: b"new"}


def test_short_outage_keeps_the_same_node(zk: ZooKeeperServer, kazoo_client: Any) -> None:
    """SUSPENDED is not LOST: a blip shorter than the session changes nothing (nerve#99)."""
    registry = open_registry(RegistrySpec("zookeeper", hosts=(zk.hosts,), session_timeout=10.0))
    try:
        reg = registry.register("/it/g/svc", "inst_", b"steady")
        assert reg.wait_registered(10)
        path, session = reg.path, registry.session_id
        kazoo_client.stop()
        zk.stop()
        zk.start()  # the server restores sessions from its log
        kazoo_client.start(timeout=15)
        wait_for(lambda: registry.connected, timeout=15)
        time.sleep(0.5)
        assert reg.path == path and registry.session_id == session
        assert zk_nodes(kazoo_client, "/it/g/svc") == {path.rsplit("/", 1)[1]: b"steady"}
    finally:
        registry.close()
