"""Pods on CNI networks through the real ``carpool`` CLI, runc and /usr/lib/cni."""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.network.conftest import (
    assert_portmap_chains_pruned,
    cni_rules,
    forward_port,
    leases,
    masquerade_rules,
    next_subnet,
)

pytestmark = pytest.mark.host

BUSYBOX = ("--exec", "/bin/busybox", "--")


def fetch(host: str, port: int, timeout: float = 10) -> str:
    """One line from ``host:port``, retrying until the pod's server listens."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=2) as conn:
                text = conn.makefile().read().strip()
                if text:
                    return text
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing answered on {host}:{port}")
        time.sleep(0.05)


def status(carpool: Any, uuid: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(carpool("status", "--format", "json", uuid).stdout)
    return data


def wait_network(carpool: Any, uuid: str, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = status(carpool, uuid)
        if info["state"] == "running" and info["networks"] and info["networks"][0].get("ip"):
            return list(info["networks"])
        time.sleep(0.05)
    raise AssertionError(f"pod {uuid} never got an address")


def links() -> set[str]:
    return {p.name for p in Path("/sys/class/net").iterdir()}


def test_pod_ip_hosts_resolv_and_status(
    carpool: Any, server_aci: Path, pod_subnet: str, tmp_path: Path
) -> None:
    uuid_file = tmp_path / "uuid"
    script = (
        "busybox ip -o -4 addr show eth0; echo ---; cat /etc/hosts; echo ---; cat /etc/resolv.conf"
    )
    proc = carpool(
        "run",
        "--uuid-file-save",
        uuid_file,
        "--hostname",
        "web-1",
        "--dns-search",
        "pods.example",
        "--dns-opt",
        "ndots:2",
        server_aci,
        "--exec",
        "/bin/sh",
        "--",
        "-c",
        script,
    )
    uuid = uuid_file.read_text().strip()
    addr, hosts, resolv = proc.stdout.split("---\n")
    ip = addr.split()[3].split("/")[0]
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(pod_subnet)
    assert f"{ip}\tweb-1" in hosts.splitlines()
    assert "127.0.0.1\tlocalhost localhost.localdomain" in hosts.splitlines()
    host_servers = [
        line
        for line in Path("/etc/resolv.conf").read_text().splitlines()
        if line.startswith("nameserver")
    ]
    assert resolv.splitlines() == [*host_servers, "search pods.example", "options ndots:2"]

    [net] = status(carpool, uuid)["networks"]
    assert (net["netName"], net["ifName"], net["ip"]) == ("default", "eth0", ip)
    assert net["hostIP"] == str(next(ipaddress.ip_network(pod_subnet).hosts()))
    text = carpool("status", uuid).stdout.splitlines()
    assert f"networks=default:ip4={ip}" in text
    assert f"default:ip4={ip}" in carpool("list").stdout
    # the pod exited: its lease and rules went with it
    assert leases(carpool.data_dir) == [] and cni_rules(uuid) == []

    explicit = carpool(
        "run", "--dns", "10.9.9.9", server_aci, "--exec", "/bin/cat", "--", "/etc/resolv.conf"
    )
    assert explicit.stdout == "nameserver 10.9.9.9\n"


def test_port_forward_and_pod_to_pod(
    carpool: Any, server_aci: Path, pod_subnet: str, background: Any
) -> None:
    """rkt#1256: a forwarded port answers on the host's 127.0.0.1, not only from outside."""
    host_port = forward_port()
    server = background("--port", f"http:{host_port}", str(server_aci))
    uuid = server.uuid()
    [net] = wait_network(carpool, uuid)
    assert net["portMappings"] == [
        {"hostPort": host_port, "containerPort": 8080, "protocol": "tcp"}
    ]
    assert fetch("127.0.0.1", host_port) == "hello-from-pod"
    assert fetch(net["hostIP"], host_port) == "hello-from-pod"  # the host's end of the veth
    assert fetch(net["ip"], 8080) == "hello-from-pod"  # straight to the pod

    client = carpool(
        "run", server_aci, "--exec", "/bin/busybox", "--", "nc", "-w", "5", net["ip"], "8080"
    )
    assert client.stdout.strip() == "hello-from-pod"  # pod to pod on the default network
    # from another machine's point of view: a packet that enters the host (here from
    # another pod's veth, through PREROUTING, not OUTPUT) for the host port
    outside = carpool("run", server_aci, *BUSYBOX, "nc", "-w", "5", net["hostIP"], str(host_port))
    assert outside.stdout.strip() == "hello-from-pod"

    carpool("stop", "--force", uuid)
    server.proc.wait(30)
    assert cni_rules(uuid) == [] and leases(carpool.data_dir) == []
    assert_portmap_chains_pruned()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", host_port), timeout=2).close()


def test_net_none_and_host(carpool: Any, server_aci: Path) -> None:
    none = carpool("run", "--net", "none", server_aci, *BUSYBOX, "cat", "/proc/net/dev")
    names = {line.split(":")[0].strip() for line in none.stdout.splitlines()[2:]}
    assert names == {"lo"}
    host = carpool("run", "--net", "host", server_aci, *BUSYBOX, "cat", "/proc/net/dev")
    names = {line.split(":")[0].strip() for line in host.stdout.splitlines()[2:]}
    assert names == {
        line.split(":")[0].strip() for line in Path("/proc/net/dev").read_text().splitlines()[2:]
    }
    port = carpool("run", "--net", "host", "--port", "http:1", server_aci, check=False)
    assert port.returncode == 254 and "--port" in port.stderr


def test_named_bridge_network_and_several_networks(
    carpool: Any, server_aci: Path, pod_subnet: str
) -> None:
    subnet = next_subnet()
    static = str(ipaddress.ip_network(subnet).network_address + 77)
    bridge = f"cpb{int(time.time() * 1000) % 10**8}"
    conflist = {
        "cniVersion": "1.0.0",
        "name": "mynet",
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "ipMasq": True,
                "ipam": {"type": "host-local", "subnet": subnet},
            },
            {"type": "firewall", "backend": "iptables"},
        ],
    }
    net_d = Path(carpool.env["CARPOOL_CONFIG"]) / "net.d"
    (net_d / "10-mynet.conflist").write_text(json.dumps(conflist))
    try:
        only = carpool("run", "--net", "mynet", server_aci, *BUSYBOX, "ip", "-o", "-4", "addr")
        assert " eth0 " in only.stdout and subnet.rsplit(".", 1)[0] in only.stdout
        both = carpool(
            "run",
            f"--net=default,mynet:IP={static}",
            server_aci,
            *BUSYBOX,
            "ip",
            "-o",
            "-4",
            "addr",
        )
        lines = [line.split() for line in both.stdout.splitlines()]
        found = {words[1]: words[3] for words in lines}
        assert found["eth1"] == f"{static}/24"
        assert ipaddress.ip_interface(found["eth0"]) in ipaddress.ip_network(pod_subnet)
        assert leases(carpool.data_dir) == []
    finally:
        subprocess.run(["ip", "link", "del", bridge], capture_output=True, check=False)
    # the firewall plugin's shared chains went with its last pod (unless another
    # session's pod still uses them)
    rules = cni_rules()
    if not [r for r in rules if r.startswith("-A CNI-FORWARD ") and "CNI-ADMIN" not in r]:
        assert not [r for r in rules if "CNI-FORWARD" in r or "CNI-ADMIN" in r]


def test_bad_network_requests(carpool: Any, server_aci: Path, pod_subnet: str) -> None:
    unknown = carpool("run", "--net", "nosuch", server_aci, check=False)
    assert unknown.returncode == 254
    assert unknown.stderr.startswith("error: --net nosuch: no such network")
    port = carpool("run", "--port", "ftp:2121", server_aci, check=False)
    assert port.returncode == 254 and "--port ftp" in port.stderr
    bad_port = carpool("run", "--port", "http:99999", server_aci, check=False)
    assert bad_port.returncode == 254 and "--port" in bad_port.stderr
    broken = Path(carpool.env["CARPOOL_CONFIG"]) / "net.d" / "30-broken.conf"
    broken.write_text("{not json")
    bad = carpool("run", server_aci, check=False)
    assert bad.returncode == 254 and str(broken) in bad.stderr
    assert len(bad.stderr.splitlines()) == 1
    assert leases(carpool.data_dir) == []


def test_parallel_runs_never_share_an_address(
    carpool: Any, server_aci: Path, pod_subnet: str
) -> None:
    def run(_: int) -> str:
        proc = carpool("run", server_aci, *BUSYBOX, "ip", "-o", "-4", "addr", "show", "eth0")
        return proc.stdout.split()[3]

    with ThreadPoolExecutor(6) as pool:
        addresses = list(pool.map(run, range(6)))
    assert len(set(addresses)) == 6, addresses
    assert leases(carpool.data_dir) == []


def links_on(subnet: str) -> set[str]:
    """Host links with an address in ``subnet`` (ptp puts the gateway on each pod's veth)."""
    out = subprocess.run(["ip", "-j", "-4", "addr"], capture_output=True, text=True, check=True)
    network = ipaddress.ip_network(subnet)
    return {
        link["ifname"]
        for link in json.loads(out.stdout)
        for addr in link.get("addr_info", [])
        if ipaddress.ip_address(addr["local"]) in network
    }


def links_gone(subnet: str, timeout: float = 5) -> bool:
    """No host link on ``subnet`` left, allowing for the kernel's clean-up of dead netns.

    On the built-in network a stopped pod's veth goes with its netns, which the
    kernel destroys in the background shortly after the pod's namespaces are released.
    """
    deadline = time.monotonic() + timeout
    while links_on(subnet) and time.monotonic() < deadline:
        time.sleep(0.02)
    return links_on(subnet) == set()


def subnet_rules(subnet: str) -> list[str]:
    prefix = subnet.rsplit(".", 1)[0] + "."
    return [r for r in cni_rules() if prefix in r]


def _cycles(carpool: Any, server_aci: Path, background: Any, subnet: str, count: int) -> None:
    """run/stop cycles; every third ``carpool run`` is SIGKILLed, then ``stop`` and ``gc``.

    Other engineers' pods may come and go on the host meanwhile: links and rules
    are compared for this test's subnet and pods, the rest only has to be as before
    when nobody else changed it.
    """
    links_before, rules_before = links(), cni_rules()
    assert links_on(subnet) == set() and subnet_rules(subnet) == []
    host_port = forward_port()
    uuids = []
    for i in range(count):
        if i % 3 == 0:
            pod = background("--port", f"http:{host_port}", str(server_aci))
            uuids.append(pod.uuid())
            wait_network(carpool, uuids[-1])
            pod.kill()  # SIGKILL: no teardown from carpool run itself
            carpool("stop", "--force", uuids[-1])  # the pod outlived it: stop, then gc
            carpool("gc", "--grace", "0s")
        elif i % 3 == 1:
            pod = background("--port", f"http:{host_port}", str(server_aci))
            uuids.append(pod.uuid())
            assert fetch("127.0.0.1", host_port) == "hello-from-pod"
            carpool("stop", "--force", uuids[-1])  # nc as pid 1 ignores SIGTERM
            pod.proc.wait(30)
        else:
            carpool("run", server_aci, "--exec", "/bin/true")
    carpool("gc", "--grace", "0s")
    assert links_gone(subnet)
    assert subnet_rules(subnet) == [] and cni_rules(*uuids) == []
    assert masquerade_rules(subnet) == []
    assert leases(carpool.data_dir) == []
    assert [p for p in (carpool.data_dir / "pods").glob("*/*")] == []
    others_busy = {n for n in links() ^ links_before if n.startswith("veth")}
    if not others_busy:
        assert links() == links_before
        assert cni_rules() == rules_before


def test_run_stop_kill_cycles_leave_nothing(
    carpool: Any, server_aci: Path, pod_subnet: str, background: Any
) -> None:
    _cycles(carpool, server_aci, background, pod_subnet, 9)


def test_run_stop_kill_cycles_on_the_builtin_network_leave_nothing(
    carpool: Any, server_aci: Path, pod_builtin_subnet: str, background: Any
) -> None:
    _cycles(carpool, server_aci, background, pod_builtin_subnet, 9)


@pytest.mark.slow
def test_hundred_cycles_leave_nothing(
    carpool: Any, server_aci: Path, pod_builtin_subnet: str, background: Any
) -> None:
    """On the network ``carpool run`` uses unless told otherwise: the built-in default."""
    _cycles(carpool, server_aci, background, pod_builtin_subnet, 100)


def test_builtin_network_through_the_cli(
    carpool: Any, server_aci: Path, pod_builtin_subnet: str, background: Any
) -> None:
    """One masquerade rule while pods run, portmap only for the pod that forwards a port."""
    subnet = pod_builtin_subnet
    host_port = forward_port()
    server = background("--port", f"http:{host_port}", str(server_aci))
    plain = background(str(server_aci))
    uuids = [server.uuid(), plain.uuid()]
    nets = [wait_network(carpool, u) for u in uuids]
    for [net] in nets:
        assert net["netName"] == "default"
        assert ipaddress.ip_address(net["ip"]) in ipaddress.ip_network(subnet)
    assert [n[0]["portMappings"] for n in nets] == [
        [{"hostPort": host_port, "containerPort": 8080, "protocol": "tcp"}],
        [],
    ]
    assert len(masquerade_rules(subnet)) == 4  # chain, jump and its two rules
    assert fetch("127.0.0.1", host_port) == "hello-from-pod"
    carpool("stop", "--force", uuids[0])
    server.proc.wait(30)
    assert len(masquerade_rules(subnet)) == 4  # the other pod still uses the network
    carpool("stop", "--force", uuids[1])
    plain.proc.wait(30)
    assert masquerade_rules(subnet) == [] and subnet_rules(subnet) == []
    assert leases(carpool.data_dir) == []
    assert links_gone(subnet)
    assert_portmap_chains_pruned()
