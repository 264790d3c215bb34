"""The CNI backend against the real plugins in /usr/lib/cni, on netns made by the test."""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from carpool.errors import NetworkError, UsageError
from carpool.network.attachments import PodNetState
from carpool.network.backend import CniBackend, info
from carpool.network.iptables import masquerade_chain
from tests.network.conftest import (
    assert_portmap_chains_pruned,
    cni_rules,
    forward_port,
    leases,
    next_subnet,
)

pytestmark = pytest.mark.host


def host_links() -> set[str]:
    return {p.name for p in Path("/sys/class/net").iterdir()}


def test_default_network_attach_and_detach(
    subnet: str, make_netns: Any, make_pod: Any, data_dir: Path
) -> None:
    ns, pod = make_netns(), make_pod()
    links_before = host_links()
    net = CniBackend().setup(
        pod_uuid=pod.uuid, netns=ns.path, networks=["default"], pod_dir=pod.path
    )
    [entry] = net["networks"]
    assert entry["netName"] == "default" and entry["ifName"] == "eth0"
    assert ipaddress.ip_address(entry["ip"]) in ipaddress.ip_network(subnet)
    assert entry["hostIP"] == str(next(ipaddress.ip_network(subnet).hosts()))
    assert f"{entry['ip']}/24" in ns.addresses()["eth0"]
    assert entry["hostIfName"] in host_links() - links_before
    assert leases(data_dir) == [f"default/{entry['ip']}"]
    assert any(masquerade_chain("default", pod.uuid) in r for r in cni_rules())
    # the pod reaches the host side of its veth, over the network the test created
    ping = ns.run("busybox", "ping", "-c1", "-W2", entry["hostIP"])
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert info(pod.path) == net

    CniBackend().teardown(pod_uuid=pod.uuid, netns=ns.path, pod_dir=pod.path)
    assert host_links() == links_before
    assert leases(data_dir) == []
    assert cni_rules(pod.uuid) == []
    assert "eth0" not in ns.addresses()
    assert info(pod.path) is None
    # idempotent: a second teardown (gc after stop) is a no-op
    CniBackend().teardown(pod_uuid=pod.uuid, netns=ns.path, pod_dir=pod.path)


def test_teardown_when_the_netns_is_gone(
    subnet: str, make_netns: Any, make_pod: Any, data_dir: Path
) -> None:
    """ptp cannot find the pod's addresses without the netns; carpool still drops its rules."""
    ns, pod = make_netns(), make_pod()
    CniBackend().setup(pod_uuid=pod.uuid, netns=ns.path, networks=["default"], pod_dir=pod.path)
    ns.delete()
    assert cni_rules(pod.uuid)
    CniBackend().teardown(pod_uuid=pod.uuid, netns=ns.path, pod_dir=pod.path)
    assert leases(data_dir) == []
    assert cni_rules(pod.uuid) == []


def test_teardown_after_a_crash_in_the_middle_of_add(
    subnet: str, make_netns: Any, make_pod: Any, data_dir: Path
) -> None:
    """A record written before ADD, no result: DEL without prevResult still frees everything."""
    ns, pod = make_netns(), make_pod()
    attach_as_if_killed_mid_add(ns, pod)
    CniBackend().teardown(pod_uuid=pod.uuid, netns=ns.path, pod_dir=pod.path)
    assert leases(data_dir) == [] and cni_rules(pod.uuid) == []
    assert "eth0" not in ns.addresses()


def _serve_once(ns: Any, port: int, text: str) -> subprocess.Popen[str]:
    server = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            ns.name,
            "busybox",
            "nc",
            "-l",
            "-p",
            str(port),
            "-e",
            "echo",
            text,
        ],
        text=True,
    )
    for _ in range(50):
        listening = ns.run("busybox", "netstat", "-ltn").stdout
        if f":{port} " in listening:
            break
        time.sleep(0.05)
    return server


def _fetch(host: str, port: int) -> str:
    with socket.create_connection((host, port), timeout=5) as conn:
        return conn.makefile().read().strip()


def attach_as_if_killed_mid_add(ns: Any, pod: Any) -> None:
    """Attach ``pod`` to ``default``, then drop the ADD result from its record: what a
    carpool killed between writing the record and getting the result leaves."""
    CniBackend().setup(pod_uuid=pod.uuid, netns=ns.path, networks=["default"], pod_dir=pod.path)
    state = PodNetState.load(pod.path)
    assert state is not None
    state.attachments[0].result = None
    state.save(pod.path)


def forwarding_pod(make_netns: Any, make_pod: Any) -> tuple[Any, Any, int, dict[str, Any]]:
    """A pod on ``default`` whose app port 8080 is forwarded from a free host port:
    ``(netns, pod, host port, its network entry)``."""
    host_port = forward_port()
    manifest = {
        "apps": [
            {"name": "web", "app": {"ports": [{"name": "http", "port": 8080, "protocol": "tcp"}]}}
        ],
        "ports": [{"name": "http", "hostPort": host_port}],
    }
    ns, pod = make_netns(), make_pod(manifest)
    net = CniBackend().setup(
        pod_uuid=pod.uuid, netns=ns.path, networks=["default"], pod_dir=pod.path
    )
    [entry] = net["networks"]
    return ns, pod, host_port, entry


def assert_forwarded(ns: Any, host_port: int, entry: dict[str, Any]) -> None:
    """The forwarded port answers on the host's loopback and on the pod's gateway."""
    for host in ("127.0.0.1", entry["hostIP"]):
        server = _serve_once(ns, 8080, f"hello via {host}")
        try:
            assert _fetch(host, host_port) == f"hello via {host}"
        finally:
            server.kill()
            server.wait()


def test_port_forward_reachable_on_loopback_and_gateway(
    subnet: str, make_netns: Any, make_pod: Any
) -> None:
    ns, pod, host_port, entry = forwarding_pod(make_netns, make_pod)
    assert entry["portMappings"] == [
        {"hostPort": host_port, "containerPort": 8080, "protocol": "tcp"}
    ]
    try:
        assert_forwarded(ns, host_port, entry)
    finally:
        CniBackend().teardown(pod_uuid=pod.uuid, netns=ns.path, pod_dir=pod.path)
    assert cni_rules(pod.uuid) == []
    # portmap's shared chains are gone with the last forward
    assert_portmap_chains_pruned()
    with pytest.raises(OSError):
        _fetch("127.0.0.1", host_port)


def test_port_needs_a_declared_app_port(subnet: str, make_netns: Any, make_pod: Any) -> None:
    manifest = {"apps": [{"name": "a", "app": {}}], "ports": [{"name": "http", "hostPort": 1}]}
    ns, pod = make_netns(), make_pod(manifest)
    with pytest.raises(UsageError, match="--port http"):
        CniBackend().setup(pod_uuid=pod.uuid, netns=ns.path, networks=["default"], pod_dir=pod.path)


def test_two_networks_with_a_static_address_on_a_bridge(
    subnet: str, config_dir: Path, make_netns: Any, make_pod: Any, data_dir: Path
) -> None:
    bridge_net = next_subnet()
    base = str(ipaddress.ip_network(bridge_net).network_address)
    static = base[:-1] + "77"
    bridge = f"cpt{pod_suffix()}"
    conflist = {
        "cniVersion": "0.4.0",
        "name": "mynet",
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "ipMasq": True,
                "ipam": {"type": "host-local", "subnet": bridge_net},
            },
            {"type": "tuning", "sysctl": {"net.ipv4.conf.eth1.rp_filter": "2"}},
        ],
    }
    (config_dir / "net.d" / "10-mynet.conflist").write_text(json.dumps(conflist))
    ns, pod = make_netns(), make_pod()
    net = CniBackend().setup(
        pod_uuid=pod.uuid,
        netns=ns.path,
        networks=["default", f"mynet:IP={static}"],
        pod_dir=pod.path,
    )
    try:
        default, mynet = net["networks"]
        assert (default["ifName"], mynet["ifName"]) == ("eth0", "eth1")
        assert mynet["ip"] == static
        assert f"{static}/24" in ns.addresses()["eth1"]
        sysctl = ns.run("cat", "/proc/sys/net/ipv4/conf/eth1/rp_filter").stdout.strip()
        assert sysctl == "2"
        CniBackend().check(pod_dir=pod.path)  # CHECK of a healthy 0.4.0 and 1.0.0 chain
        ns.run("ip", "link", "del", "eth1", check=True)
        with pytest.raises(NetworkError, match="mynet"):
            CniBackend().check(pod_dir=pod.path)
    finally:
        CniBackend().teardown(pod_uuid=pod.uuid, netns=ns.path, pod_dir=pod.path)
        subprocess.run(["ip", "link", "del", bridge], check=False, capture_output=True)
    assert leases(data_dir) == []
    assert cni_rules(pod.uuid) == []


def pod_suffix() -> str:
    import uuid

    return uuid.uuid4().hex[:8]


def test_failed_add_undoes_the_networks_already_attached(
    subnet: str, config_dir: Path, make_netns: Any, make_pod: Any, data_dir: Path
) -> None:
    broken = {
        "cniVersion": "1.0.0",
        "name": "broken",
        "type": "ptp",
        "ipam": {"type": "host-local"},
    }
    (config_dir / "net.d" / "20-broken.conf").write_text(json.dumps(broken))
    ns, pod = make_netns(), make_pod()
    with pytest.raises(NetworkError, match="network broken: ptp ADD failed"):
        CniBackend().setup(
            pod_uuid=pod.uuid, netns=ns.path, networks=["default", "broken"], pod_dir=pod.path
        )
    assert leases(data_dir) == [] and cni_rules(pod.uuid) == []
    assert set(ns.addresses()) == {"lo"}
    assert PodNetState.load(pod.path) is None


def test_parallel_attaches_never_share_an_address(
    subnet: str, make_netns: Any, make_pod: Any, data_dir: Path
) -> None:
    pods = [(make_netns(), make_pod()) for _ in range(8)]
    results: dict[str, Any] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(pods))

    def attach(ns: Any, pod: Any) -> None:
        try:
            barrier.wait()
            net = CniBackend().setup(
                pod_uuid=pod.uuid, netns=ns.path, networks=["default"], pod_dir=pod.path
            )
            results[pod.uuid] = net["networks"][0]["ip"]
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=attach, args=p) for p in pods]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors, errors
        assert len(set(results.values())) == len(pods)
        assert len(leases(data_dir)) == len(pods)
    finally:
        for ns, pod in pods:
            CniBackend().teardown(pod_uuid=pod.uuid, netns=ns.path, pod_dir=pod.path)
    assert leases(data_dir) == [] and cni_rules(*(pod.uuid for _, pod in pods)) == []


@pytest.mark.parametrize("version", ["0.2.0", "0.3.1"])
def test_older_cni_versions(
    version: str, config_dir: Path, make_netns: Any, make_pod: Any, data_dir: Path
) -> None:
    """A plain ``.conf`` of an older version: results in that version's format, DEL without
    prevResult, no CHECK (it does not exist before 0.4.0)."""
    subnet = next_subnet()
    conf = {
        "cniVersion": version,
        "name": "old",
        "type": "ptp",
        "ipMasq": True,
        "ipam": {"type": "host-local", "subnet": subnet},
    }
    (config_dir / "net.d" / "40-old.conf").write_text(json.dumps(conf))
    ns, pod = make_netns(), make_pod()
    net = CniBackend().setup(pod_uuid=pod.uuid, netns=ns.path, networks=["old"], pod_dir=pod.path)
    [entry] = net["networks"]
    assert ipaddress.ip_address(entry["ip"]) in ipaddress.ip_network(subnet)
    state = PodNetState.load(pod.path)
    assert state is not None and state.attachments[0].result is not None
    assert state.attachments[0].result["cniVersion"] == version
    CniBackend().check(pod_dir=pod.path)  # a no-op before 0.4.0
    CniBackend().teardown(pod_uuid=pod.uuid, netns=ns.path, pod_dir=pod.path)
    assert leases(data_dir) == [] and cni_rules(pod.uuid) == []
    assert "eth0" not in ns.addresses()


def test_missing_plugin_is_named(config_dir: Path, make_netns: Any, make_pod: Any) -> None:
    conf = {"cniVersion": "1.0.0", "name": "exotic", "type": "no-such-plugin"}
    (config_dir / "net.d" / "40-exotic.conf").write_text(json.dumps(conf))
    ns, pod = make_netns(), make_pod()
    with pytest.raises(NetworkError, match="CNI plugin 'no-such-plugin' not found in /usr/lib/cni"):
        CniBackend().setup(pod_uuid=pod.uuid, netns=ns.path, networks=["exotic"], pod_dir=pod.path)
    assert PodNetState.load(pod.path) is None
