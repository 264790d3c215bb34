"""The built-in default network: one masquerade rule per subnet, portmap only for port maps.

Against the real plugins and iptables, on netns made by the test; the "outside"
is a netns behind its own veth with no route back to pod subnets, so a pod's
ping to it is answered only when the host masquerades.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from carpool.network import masquerade
from carpool.network.attachments import PodNetState
from carpool.network.backend import CniBackend
from carpool.network.iptables import masquerade_chain
from tests.network.conftest import Outside, cni_rules, leases, masquerade_rules, next_subnet

pytestmark = pytest.mark.host


def host_links() -> set[str]:
    return {p.name for p in Path("/sys/class/net").iterdir()}


def pings(ns: Any, address: str) -> bool:
    return bool(ns.run("busybox", "ping", "-c1", "-W2", address).returncode == 0)


def expected_rules(subnet: str) -> list[str]:
    chain = masquerade.chain(subnet)
    return [
        f"-A POSTROUTING -s {subnet} -m comment --comment "
        f'"carpool: masquerade {subnet}" -j {chain}',
        f"-A {chain} -d {subnet} -j ACCEPT",
        f"-A {chain} ! -d 224.0.0.0/4 -j MASQUERADE",
    ]


def test_one_rule_for_the_subnet_while_any_pod_uses_it(
    builtin_subnet: str, make_netns: Any, make_pod: Any, outside: Outside, data_dir: Path
) -> None:
    subnet = builtin_subnet
    assert masquerade_rules(subnet) == []
    (ns1, pod1), (ns2, pod2) = (make_netns(), make_pod()), (make_netns(), make_pod())
    for ns, pod in ((ns1, pod1), (ns2, pod2)):
        CniBackend().setup(pod_uuid=pod.uuid, netns=ns.path, networks=["default"], pod_dir=pod.path)
    state = PodNetState.load(pod1.path)
    assert state is not None
    [att] = state.attachments
    # ptp does not masquerade, portmap is not chained without port maps
    assert [(p["type"], p.get("ipMasq")) for p in att.config["plugins"]] == [("ptp", False)]
    assert att.masqueraded_subnet == subnet
    chain_lines = [f":{masquerade.chain(subnet)} - [0:0]"]
    assert sorted(masquerade_rules(subnet)) == sorted(chain_lines + expected_rules(subnet))
    assert not [r for r in cni_rules(pod1.uuid, pod2.uuid) if "CNI-CARPOOL" not in r]
    # both pods reach the outside, which only knows the host's address
    assert pings(ns1, outside.address) and pings(ns2, outside.address)

    CniBackend().teardown(pod_uuid=pod1.uuid, netns=ns1.path, pod_dir=pod1.path)
    assert sorted(masquerade_rules(subnet)) == sorted(chain_lines + expected_rules(subnet))
    assert pings(ns2, outside.address)

    CniBackend().teardown(pod_uuid=pod2.uuid, netns=ns2.path, pod_dir=pod2.path)
    assert masquerade_rules(subnet) == []
    assert not (masquerade.REGISTRY / masquerade.chain(subnet)).exists()
    assert leases(data_dir) == []


def test_a_user_config_with_ipmasq_still_masquerades_per_pod(
    subnet: str, make_netns: Any, make_pod: Any, outside: Outside
) -> None:
    """A net.d chain is run as written: ptp's own chain per pod, no carpool rule."""
    ns, pod = make_netns(), make_pod()
    CniBackend().setup(pod_uuid=pod.uuid, netns=ns.path, networks=["default"], pod_dir=pod.path)
    assert masquerade_rules(subnet) == []
    assert any(masquerade_chain("default", pod.uuid) in r for r in cni_rules())
    assert pings(ns, outside.address)
    CniBackend().teardown(pod_uuid=pod.uuid, netns=ns.path, pod_dir=pod.path)
    assert cni_rules(pod.uuid) == []


def test_without_masquerading_the_outside_does_not_answer(
    builtin_subnet: str, make_netns: Any, make_pod: Any, outside: Outside
) -> None:
    """The check above can fail: with carpool's rule gone, the ping goes unanswered."""
    ns, pod = make_netns(), make_pod()
    CniBackend().setup(pod_uuid=pod.uuid, netns=ns.path, networks=["default"], pod_dir=pod.path)
    try:
        assert pings(ns, outside.address)
        chain = masquerade.chain(builtin_subnet)
        subprocess.run(["iptables", "-w", "-t", "nat", "-F", chain], check=True)
        assert not pings(ns, outside.address)
    finally:
        CniBackend().teardown(pod_uuid=pod.uuid, netns=ns.path, pod_dir=pod.path)
    assert masquerade_rules(builtin_subnet) == []


def test_port_maps_chain_portmap_on_the_builtin_network(
    builtin_subnet: str, make_netns: Any, make_pod: Any
) -> None:
    from tests.network.test_backend import assert_forwarded, forwarding_pod

    ns, pod, host_port, entry = forwarding_pod(make_netns, make_pod)
    state = PodNetState.load(pod.path)
    assert state is not None
    assert [p["type"] for p in state.attachments[0].config["plugins"]] == ["ptp", "portmap"]
    try:
        assert_forwarded(ns, host_port, entry)
    finally:
        CniBackend().teardown(pod_uuid=pod.uuid, netns=ns.path, pod_dir=pod.path)
    assert cni_rules(pod.uuid) == [] and masquerade_rules(builtin_subnet) == []


def test_teardown_before_the_netns_dies_leaves_the_veth_to_the_kernel(
    builtin_subnet: str, make_netns: Any, make_pod: Any, data_dir: Path
) -> None:
    ns, pod = make_netns(), make_pod()
    before = host_links()
    net = CniBackend().setup(
        pod_uuid=pod.uuid, netns=ns.path, networks=["default"], pod_dir=pod.path
    )
    veth = net["networks"][0]["hostIfName"]
    CniBackend().teardown(pod_uuid=pod.uuid, netns=ns.path, pod_dir=pod.path, netns_dies=True)
    assert leases(data_dir) == [] and masquerade_rules(builtin_subnet) == []
    assert veth in host_links()  # not deleted in place: the netns is about to go
    ns.delete()
    deadline = time.monotonic() + 5
    while veth in host_links() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert host_links() == before


def test_gc_after_a_crash_drops_the_reference_and_the_rule(
    builtin_subnet: str, make_netns: Any, make_pod: Any, data_dir: Path
) -> None:
    """killed mid-ADD (record without result), netns gone: gc's DEL still ends the masquerade."""
    from tests.network.test_backend import attach_as_if_killed_mid_add

    ns, pod = make_netns(), make_pod()
    attach_as_if_killed_mid_add(ns, pod)
    ns.delete()
    assert masquerade_rules(builtin_subnet)
    CniBackend().teardown(pod_uuid=pod.uuid, netns=None, pod_dir=pod.path)
    assert masquerade_rules(builtin_subnet) == [] and leases(data_dir) == []


def test_leftover_rules_are_replaced_and_removed() -> None:
    """Rules nobody references (a crash between install and reference): one clean set, then none."""
    subnet = next_subnet()
    chain = masquerade.chain(subnet)
    jump = ["-s", subnet, "-m", "comment", "--comment", f"carpool: masquerade {subnet}"]
    subprocess.run(["iptables", "-w", "-t", "nat", "-N", chain], check=True)
    for _ in range(2):
        cmd = ["iptables", "-w", "-t", "nat", "-A", "POSTROUTING", *jump, "-j", chain]
        subprocess.run(cmd, check=True)
    subprocess.run(["iptables", "-w", "-t", "nat", "-A", chain, "-j", "RETURN"], check=True)
    try:
        masquerade.attach(subnet, "pod-a")
        assert sorted(masquerade_rules(subnet)) == sorted(
            [f":{chain} - [0:0]", *expected_rules(subnet)]
        )
        # a second jump appears (someone's restore of an old dump): the last detach drops both
        cmd = ["iptables", "-w", "-t", "nat", "-A", "POSTROUTING", *jump, "-j", chain]
        subprocess.run(cmd, check=True)
    finally:
        masquerade.detach(subnet, "pod-a")
    assert masquerade_rules(subnet) == []
    masquerade.detach(subnet, "pod-a")  # idempotent
    assert masquerade_rules(subnet) == []
