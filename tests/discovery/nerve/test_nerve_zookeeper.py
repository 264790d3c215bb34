"""``carpool nerve`` end to end: real nerve processes, real ZooKeeper, real backends."""

from __future__ import annotations

import json
import re
import signal
import socket
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from carpool.discovery.payload import parse_payload
from tests.discovery.conftest import (
    ZooKeeperServer,
    free_port,
    pause_process,
    wait_for,
)
from tests.discovery.nerve.conftest import (
    HttpBackend,
    NerveFactory,
    go_config,
    go_service,
    zk_nodes,
)

GO_NODE_RE = re.compile(r"^web_127\.0\.0\.1_c_[0-9a-f]{32}\d{10}$")


def one_node(client: Any, path: str, timeout: float = 15) -> tuple[str, dict[str, Any]]:
    nodes = wait_for(lambda: zk_nodes(client, path), timeout=timeout)
    assert len(nodes) == 1, nodes
    name, data = next(iter(nodes.items()))
    return name, json.loads(data)


def test_healthy_instance_appears_with_go_nerve_payload_and_node_name(
    zk: ZooKeeperServer, kazoo_client: Any, http_backend: HttpBackend, nerve: NerveFactory
) -> None:
    path = "/e2e/go/services/web"
    service = go_service(
        http_backend.port,
        zk_hosts=zk.hosts,
        path=path,
        weight=200,
        labels={"az": "eu-1"},
        haproxyServerOptions="backup",
        enableWarmupIntervalInMilli=20,
    )
    proc = nerve(go_config(service))
    name, _ = one_node(kazoo_client, path)
    assert GO_NODE_RE.match(name), name
    # after the warm-up ramp, the exact go-nerve bytes
    expected = (
        b'{"available":true,"host":"127.0.0.1","port":%d,"name":"web",'
        b'"haproxy_server_options":"backup","weight":200,"labels":{"az":"eu-1"}}'
        % http_backend.port
    )
    wait_for(lambda: zk_nodes(kazoo_client, path).get(name) == expected)
    _, stat = kazoo_client.get(f"{path}/{name}")
    assert stat.ephemeralOwner != 0
    # the ramp changed the data in place: same node, version bumped
    assert stat.version > 0
    assert kazoo_client.get("/e2e/go/services")[0] == b""
    assert proc.terminate() == 0
    assert zk_nodes(kazoo_client, path) == {}


def test_airbnb_format_option_writes_airbnb_payload_and_name(
    zk: ZooKeeperServer,
    kazoo_client: Any,
    http_backend: HttpBackend,
    nerve: NerveFactory,
    tmp_path: Path,
) -> None:
    path = "/e2e/airbnb/services/web"
    heartbeat = tmp_path / "heartbeat"
    config = {
        "instance_id": "i-0abc",
        "heartbeat_path": str(heartbeat),
        "services": {
            "web": {
                "host": "127.0.0.1",
                "port": http_backend.port,
                "check_interval": 0.1,
                "checks": [{"type": "http", "uri": "/health", "timeout": 0.5}],
                "zk_hosts": [zk.hosts],
                "zk_path": path,
                "weight": 2,
                "haproxy_server_options": "backup",
                "labels": {"az": "us-east-1a"},
            }
        },
    }
    proc = nerve(config)
    name, _ = one_node(kazoo_client, path)
    assert re.fullmatch(r"i-0abc_\d{10}", name), name
    assert heartbeat.exists()
    assert zk_nodes(kazoo_client, path)[name] == (
        b'{"host":"127.0.0.1","port":%d,"name":"i-0abc","weight":2,'
        b'"haproxy_server_options":"backup","labels":{"az":"us-east-1a"}}' % http_backend.port
    )
    # Airbnb semantics: the first failing check removes the node at once
    http_backend.paths["/health"] = (500, b"no")
    wait_for(lambda: zk_nodes(kazoo_client, path) == {})
    assert proc.terminate() == 0

    # the go-nerve config's reporter option does the same
    path2 = "/e2e/airbnb2/services/web"
    service = go_service(
        http_backend.port, zk_hosts=zk.hosts, path=path2, enableWarmupIntervalInMilli=100
    )
    service["reporters"][0]["format"] = "airbnb"
    proc2 = nerve(go_config(service, api=True))
    name2, data2 = one_node(kazoo_client, path2)
    assert re.fullmatch(r"web_\d{10}", name2), name2
    assert list(data2) == ["host", "port", "name", "weight"]
    # Airbnb consumers never see in-place changes: the target weight from the start,
    # not the warm-up ramp (which would leave them at weight 1)
    assert data2["weight"] == 255
    time.sleep(0.3)
    assert zk_nodes(kazoo_client, path2) == {
        name2: json.dumps(data2, separators=(",", ":")).encode()
    }
    # a real change: a new node (seen by Airbnb synapse), the old one removed
    assert proc2.api("PUT", "/weight/30")[0] == 200
    wait_for(lambda: name2 not in zk_nodes(kazoo_client, path2))
    name3, data3 = one_node(kazoo_client, path2)
    assert name3 != name2 and data3["weight"] == 30
    assert proc2.terminate() == 0

    # Airbnb's path encoding: the payload is also carried in the node name
    path3 = "/e2e/airbnb3/services/web"
    config["services"]["web"]["zk_path"] = path3
    config["services"]["web"]["use_path_encoding"] = True
    http_backend.paths.clear()
    proc3 = nerve(config)
    name4, data4 = one_node(kazoo_client, path3)
    assert name4.startswith("base64_")
    decoded = parse_payload(name4, b"")  # readable without a GET
    assert (decoded.host, decoded.port, decoded.name) == ("127.0.0.1", http_backend.port, "i-0abc")
    assert data4["name"] == "i-0abc" and decoded.sequence is not None
    assert proc3.terminate() == 0


def test_check_failure_removes_and_recovery_re_adds(
    zk: ZooKeeperServer, kazoo_client: Any, http_backend: HttpBackend, nerve: NerveFactory
) -> None:
    path = "/e2e/risefall/web"
    check = {"type": "http", "path": "/", "rise": 3, "fall": 2, "checkIntervalInMilli": 100}
    proc = nerve(
        go_config(go_service(http_backend.port, zk_hosts=zk.hosts, path=path, checks=[check]))
    )
    first, _ = one_node(kazoo_client, path)
    http_backend.status = 500
    went_down = time.monotonic()
    wait_for(lambda: zk_nodes(kazoo_client, path) == {}, timeout=10)
    # fall=2 at 100 ms: not before the second failure
    assert time.monotonic() - went_down >= 0.1
    http_backend.status = 200
    second, payload = one_node(kazoo_client, path)
    assert second != first and payload["available"] is True
    # one failure is not enough to go down (fall=2): flap once, node stays
    http_backend.fail_next = 1
    wait_for(lambda: http_backend.fail_next == 0)
    time.sleep(0.5)
    assert list(zk_nodes(kazoo_client, path)) == [second]
    assert proc.terminate() == 0


def test_expose_on_unavailable_keeps_node_marked_unavailable(
    zk: ZooKeeperServer, kazoo_client: Any, http_backend: HttpBackend, nerve: NerveFactory
) -> None:
    path = "/e2e/expose/web"
    service = go_service(http_backend.port, zk_hosts=zk.hosts, path=path, warmup=False)
    service["checks"] = [{"type": "http", "rise": 1, "fall": 1, "checkIntervalInMilli": 100}]
    service["reporters"][0]["exposeOnUnavailable"] = True
    proc = nerve(go_config(service))
    name, payload = one_node(kazoo_client, path)
    assert payload["available"] is True and payload["weight"] == 255
    http_backend.status = 503
    wait_for(lambda: json.loads(zk_nodes(kazoo_client, path)[name])["available"] is False)
    payload = json.loads(zk_nodes(kazoo_client, path)[name])
    assert payload["weight"] == 0 and "503" in payload["unavailable_reason"]
    assert proc.terminate() == 0
    assert zk_nodes(kazoo_client, path) == {}


def test_http_check_honours_path_host_header_status_and_body(
    zk: ZooKeeperServer, kazoo_client: Any, http_backend: HttpBackend, nerve: NerveFactory
) -> None:
    path = "/e2e/http/web"
    http_backend.status = 404  # everything else is 404
    http_backend.paths["/healthz"] = (204, b"")
    http_backend.paths["/deep"] = (200, b"status: READY")
    check = {
        "type": "http",
        "path": "/healthz",
        "hostHeader": "api.internal",
        "expectedStatus": "200-299",
        "rise": 1,
        "fall": 1,
        "checkIntervalInMilli": 100,
    }
    body_check = {
        "type": "http",
        "path": "/deep",
        "expect": "READY",
        "rise": 1,
        "fall": 1,
        "checkIntervalInMilli": 100,
    }
    service = go_service(
        http_backend.port, zk_hosts=zk.hosts, path=path, checks=[check, body_check], warmup=False
    )
    proc = nerve(go_config(service))
    one_node(kazoo_client, path)
    assert ("/healthz", "api.internal") in http_backend.requests
    assert not any(p == "/" for p, _ in http_backend.requests)  # go-nerve's path bug: fixed
    # a status outside the range fails (go-nerve's rule would have accepted 404)
    http_backend.paths["/healthz"] = (404, b"")
    wait_for(lambda: zk_nodes(kazoo_client, path) == {})
    http_backend.paths["/healthz"] = (200, b"")
    one_node(kazoo_client, path)
    # the body substring disappears: down
    http_backend.paths["/deep"] = (200, b"status: STARTING")
    wait_for(lambda: zk_nodes(kazoo_client, path) == {})
    assert proc.terminate() == 0


def test_exec_check(
    zk: ZooKeeperServer, kazoo_client: Any, nerve: NerveFactory, tmp_path: Path
) -> None:
    path = "/e2e/exec/web"
    flag = tmp_path / "healthy"
    flag.touch()
    check = {
        "type": "exec",
        "command": ["test", "-e", str(flag)],
        "rise": 1,
        "fall": 1,
        "checkIntervalInMilli": 100,
    }
    slow = {  # a hung check is killed at its timeout and counts as failed
        "type": "exec",
        "command": f"test -e {tmp_path}/hang && sleep 30; true",
        "timeoutInMilli": 300,
        "rise": 1,
        "fall": 1,
        "checkIntervalInMilli": 100,
    }
    port = free_port()
    proc = nerve(go_config(go_service(port, zk_hosts=zk.hosts, path=path, checks=[check, slow])))
    one_node(kazoo_client, path)
    flag.unlink()
    wait_for(lambda: zk_nodes(kazoo_client, path) == {})
    flag.touch()
    one_node(kazoo_client, path)
    (tmp_path / "hang").touch()
    wait_for(lambda: zk_nodes(kazoo_client, path) == {})
    assert proc.terminate() == 0


def test_session_expiry_re_registers(
    zk: ZooKeeperServer, kazoo_client: Any, http_backend: HttpBackend, nerve: NerveFactory
) -> None:
    path = "/e2e/expiry/web"
    service = go_service(http_backend.port, zk_hosts=zk.hosts, path=path, warmup=False)
    service["reporters"][0]["sessionTimeoutInMilli"] = 1000
    proc = nerve(go_config(service))
    first, _ = one_node(kazoo_client, path)
    owner = kazoo_client.get(f"{path}/{first}")[1].ephemeralOwner
    # freeze nerve past its session timeout: ZooKeeper expires the session
    pause_process(proc.pid, 3.0)
    wait_for(lambda: list(zk_nodes(kazoo_client, path)) not in ([], [first]), timeout=20)
    nodes = zk_nodes(kazoo_client, path)
    assert len(nodes) == 1
    (second,) = nodes
    assert second != first
    assert kazoo_client.get(f"{path}/{second}")[1].ephemeralOwner != owner
    assert json.loads(nodes[second])["available"] is True
    assert proc.terminate() == 0
    assert "session lost" in proc.logs()


def test_zookeeper_stopped_and_restarted_re_registers(
    zk: ZooKeeperServer, http_backend: HttpBackend, nerve: NerveFactory
) -> None:
    path = "/e2e/outage/web"
    service = go_service(http_backend.port, zk_hosts=zk.hosts, path=path, warmup=False)
    service["reporters"][0]["sessionTimeoutInMilli"] = 1000
    proc = nerve(go_config(service, api=True))
    client = zk.client()
    try:
        one_node(client, path)
    finally:
        client.stop()
        client.close()
    zk.stop()
    time.sleep(3)  # the session expires while ZooKeeper is away
    assert proc.proc.poll() is None  # nerve keeps running
    status, body = proc.api("GET", "/status")
    assert status == 200 and body[0]["Available"] is True
    zk.start()
    client = zk.client()
    try:
        name, payload = one_node(client, path, timeout=30)
        assert payload["available"] is True
        time.sleep(0.5)
        assert list(zk_nodes(client, path)) == [name]
    finally:
        client.stop()
        client.close()
    # stopping while ZooKeeper is unreachable neither hangs nor fails
    zk.stop()
    started = time.monotonic()
    assert proc.terminate(timeout=15) == 0
    assert time.monotonic() - started < 5


def test_api_disable_enable_weight(
    zk: ZooKeeperServer, kazoo_client: Any, http_backend: HttpBackend, nerve: NerveFactory
) -> None:
    path = "/e2e/api/web"
    service = go_service(
        http_backend.port,
        zk_hosts=zk.hosts,
        path=path,
        weight=100,
        enableWarmupIntervalInMilli=50,
        disableMinDurationInMilli=500,
    )
    proc = nerve(go_config(service, api=True))
    name, _ = one_node(kazoo_client, path)
    # the warm-up ramp: weights climb the ladder to 100
    weights: list[int] = []

    def ramped() -> bool:
        data = zk_nodes(kazoo_client, path).get(name)
        if data:
            weights.append(json.loads(data)["weight"])
        return bool(weights) and weights[-1] == 100

    wait_for(ramped, interval=0.01)
    assert weights == sorted(weights) and len(set(weights)) > 2
    status, body = proc.api("GET", "/services/web/status")
    assert status == 200
    assert body == {
        "Name": "web",
        "Host": "127.0.0.1",
        "Port": http_backend.port,
        "Status": "enabled",
        "MaxWeight": 100,
        "CurrentWeight": 100,
        "Available": True,
    }
    status, _ = proc.api("PUT", "/services/web/weight/40")
    assert status == 200
    wait_for(lambda: json.loads(zk_nodes(kazoo_client, path)[name])["weight"] == 40)
    assert proc.api("PUT", "/weight/0")[0] == 400
    assert proc.api("PUT", "/services/nope/disable")[0] == 404
    # disable blocks for the drain (disableMinDurationInMilli) and deregisters
    started = time.monotonic()
    status, body = proc.api("PUT", "/disable")
    assert status == 200 and body[0]["Status"] == "disabled"
    assert time.monotonic() - started >= 0.5
    assert zk_nodes(kazoo_client, path) == {}
    status, body = proc.api("GET", "/status")
    assert status == 503 and body[0]["Available"] is False
    # force-enable while the backend is down
    http_backend.stop()
    time.sleep(0.3)
    proc.api("PUT", "/services/web/enable?force=true")
    one_node(kazoo_client, path)
    assert proc.api("GET", "/status")[1][0]["Status"] == "forced"
    proc.api("PUT", "/enable")  # a plain enable obeys the checks again
    wait_for(lambda: zk_nodes(kazoo_client, path) == {})
    _, metrics = proc.api("GET", "/metrics")
    assert 'nerve_service_available{name="web"' in metrics
    assert proc.terminate() == 0


def test_sigterm_drains_then_deregisters(
    zk: ZooKeeperServer,
    kazoo_client: Any,
    http_backend: HttpBackend,
    nerve: NerveFactory,
    tmp_path: Path,
) -> None:
    path = "/e2e/sigterm/web"
    drained = tmp_path / "drained"
    service = go_service(
        http_backend.port,
        zk_hosts=zk.hosts,
        path=path,
        warmup=False,
        disableMinDurationInMilli=300,
        disableGracefullyDoneCommand=["test", "-e", str(drained)],
        disableGracefullyDoneIntervalInMilli=50,
        disableMaxDurationInMilli=10000,
    )
    service["reporters"][0]["exposeOnUnavailable"] = True
    proc = nerve(go_config(service))
    name, _ = one_node(kazoo_client, path)
    proc.proc.send_signal(15)
    # draining: still registered, but unavailable with weight 0
    wait_for(lambda: json.loads(zk_nodes(kazoo_client, path)[name])["available"] is False)
    payload = json.loads(zk_nodes(kazoo_client, path)[name])
    assert payload["weight"] == 0 and payload["unavailable_reason"] == "Service is disabled"
    time.sleep(0.5)
    assert proc.proc.poll() is None  # waits for the graceful-done command
    drained.touch()
    assert proc.proc.wait(10) == 0
    assert zk_nodes(kazoo_client, path) == {}
    # the session was closed: no ZooKeeper connection left from nerve
    assert "session lost" not in proc.logs()


def test_tcp_default_check_and_two_services(
    zk: ZooKeeperServer, kazoo_client: Any, nerve: NerveFactory
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    other = free_port()
    try:
        a = go_service(port, zk_hosts=zk.hosts, path="/e2e/tcp/a", warmup=False)
        b = go_service(other, zk_hosts=zk.hosts, path="/e2e/tcp/b", warmup=False)
        b["name"] = "other"
        proc = nerve(go_config(a, b))
        one_node(kazoo_client, "/e2e/tcp/a")
        time.sleep(0.5)
        assert zk_nodes(kazoo_client, "/e2e/tcp/b") == {}  # nothing listens there
        listener.close()
        wait_for(lambda: zk_nodes(kazoo_client, "/e2e/tcp/a") == {})
        assert proc.terminate() == 0
    finally:
        listener.close()


def test_digest_auth_protects_the_registration(
    zk: ZooKeeperServer, kazoo_client: Any, http_backend: HttpBackend, nerve: NerveFactory
) -> None:
    from kazoo.exceptions import NoAuthError

    path = "/e2e/auth/web"
    service = go_service(http_backend.port, zk_hosts=zk.hosts, path=path, warmup=False)
    service["reporters"][0]["auth"] = "nerve:s3cret"
    proc = nerve(go_config(service))
    name, payload = one_node(kazoo_client, path)  # anyone can read
    assert payload["available"] is True
    acls, _ = kazoo_client.get_acls(f"{path}/{name}")
    assert {(a.id.scheme, a.perms) for a in acls} == {("digest", 31), ("world", 1)}
    for attempt in (
        lambda: kazoo_client.delete(f"{path}/{name}"),
        lambda: kazoo_client.set(f"{path}/{name}", b"hijacked"),
    ):
        with pytest.raises(NoAuthError):
            attempt()
    parent_acls, _ = kazoo_client.get_acls(path)
    assert {(a.id.scheme, a.perms) for a in parent_acls} == {("digest", 31), ("world", 5)}
    assert proc.terminate() == 0
    assert zk_nodes(kazoo_client, path) == {}


def test_sighup_reloads_make_before_break(
    zk: ZooKeeperServer, kazoo_client: Any, http_backend: HttpBackend, nerve: NerveFactory
) -> None:
    path = "/e2e/reload/web"
    service = go_service(http_backend.port, zk_hosts=zk.hosts, path=path, warmup=False)
    proc = nerve(go_config(service, api=True))
    first, payload = one_node(kazoo_client, path)
    assert "labels" not in payload
    config = yaml.safe_load(proc.config_path.read_text())
    # a broken config is refused and the running one kept
    proc.config_path.write_text("services: [")
    proc.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload failed" in proc.logs())
    assert list(zk_nodes(kazoo_client, path)) == [first]
    # a changed service: the new registration appears, then the old one goes
    config["services"][0]["labels"] = {"az": "b"}
    other = go_service(http_backend.port, zk_hosts=zk.hosts, path="/e2e/reload/other")
    other["name"] = "other"
    config["services"].append(other)
    proc.config_path.write_text(yaml.safe_dump(config))
    proc.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: first not in zk_nodes(kazoo_client, path))
    second, payload = one_node(kazoo_client, path)
    assert payload["labels"] == {"az": "b"}
    one_node(kazoo_client, "/e2e/reload/other")
    status, body = proc.api("GET", "/status")
    assert status == 200 and [s["Name"] for s in body] == ["web", "other"]
    # a removed service deregisters
    config["services"] = config["services"][:1]
    proc.config_path.write_text(yaml.safe_dump(config))
    proc.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: zk_nodes(kazoo_client, "/e2e/reload/other") == {})
    assert list(zk_nodes(kazoo_client, path)) == [second]  # unchanged: untouched
    assert proc.terminate() == 0
