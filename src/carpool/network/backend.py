"""carpool's CNI network backend: what the runtime calls to attach and detach a pod.

The runtime hands over the pod's pinned netns; this module resolves ``--net``
names against ``net.d`` and the built-ins, gives each network an interface
(``eth0``, ``eth1`` … in ``--net`` order), passes port maps to the first network
whose chain accepts them, and records everything in the pod dir for DEL/CHECK.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from carpool.errors import NetworkError, UsageError
from carpool.network import attachments, config, iptables, specs
from carpool.network.attachments import Attachment, PodNetState
from carpool.network.config import resolve

NS_GET_NSTYPE = 0xB703
CLONE_NEWNET = 0x40000000
IPAM_DIR = "networks"


def data_dir_of(pod_dir: Path) -> Path:
    """``<data>/pods/<state>/<uuid>`` -> ``<data>`` (else ``CARPOOL_DIR``)."""
    if pod_dir.parent.parent.name == "pods":
        return pod_dir.parent.parent.parent
    return Path(os.environ.get("CARPOOL_DIR", "/var/lib/carpool"))


def is_netns(path: Path) -> bool:
    """Whether ``path`` is (a bind mount of) a live network namespace."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return fcntl.ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET
    except OSError:
        return False
    finally:
        os.close(fd)


def _manifest(pod_dir: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((pod_dir / "pod").read_text())
    except FileNotFoundError:
        return {}
    return data


def describe(state: PodNetState) -> dict[str, Any]:
    """``net-info``: per network its interface and addresses (rkt's status fields), DNS."""
    networks = []
    dns: dict[str, Any] = {}
    for att in state.attachments:
        summary = att.summary()
        v4 = [a for a in summary.addresses if a.version == 4]
        first = v4[0] if v4 else (summary.addresses[0] if summary.addresses else None)
        networks.append(
            {
                "netName": att.network,
                "ifName": att.ifname,
                "ip": first.ip if first else None,
                "mask": first.netmask if first else None,
                "hostIP": first.gateway if first else None,
                "ips": [a.cidr for a in summary.addresses],
                "hostIfName": summary.host_ifname,
                "args": att.args.removeprefix(specs.IGNORE_UNKNOWN).lstrip(";"),
                "portMappings": att.runtime_config.get("portMappings", []),
            }
        )
        if not dns and not summary.dns.empty():
            dns = {
                "nameservers": summary.dns.nameservers,
                "domain": summary.dns.domain,
                "search": summary.dns.search,
                "options": summary.dns.options,
            }
    return {"networks": networks, "dns": dns}


class CniBackend:
    """The :class:`carpool.runtime.network.NetworkBackend` for CNI networks."""

    def prepare(
        self, *, pod_uuid: str, netns: Path, networks: list[str], pod_dir: Path
    ) -> Callable[[], dict[str, Any]]:
        """Everything before the first ADD; returns the attaching, which returns ``net-info``.

        The runtime calls this in its own thread and runs what it returns in another,
        alongside its mounts: that thread's first act is to start the first plugin,
        the long pole of a networked start.  (A thread that wants the GIL back while
        the runtime's thread computes waits up to the interpreter's switch interval,
        5 ms, each time, so the attaching thread does as little Python as it can.)
        Errors in the requests (``--port`` without ``portMappings``) are raised here.
        """
        requests = specs.parse_nets(networks)
        confs = resolve(requests, config.load_all())
        mappings = specs.port_mappings(_manifest(pod_dir))
        port_target = None
        if mappings:
            port_target = next((c.name for c in confs if "portMappings" in c.capabilities()), None)
            if port_target is None:
                raise UsageError(
                    "--port: none of the pod's networks "
                    f"({', '.join(r.name for r in requests)}) has a plugin with the "
                    "portMappings capability (portmap)"
                )
        ipam_dir = data_dir_of(pod_dir) / IPAM_DIR
        todo = []
        for index, (request, conf) in enumerate(zip(requests, confs, strict=True)):
            forwards = conf.name == port_target
            todo.append(
                Attachment(
                    network=conf.name,
                    ifname=f"eth{index}",
                    args=request.cni_args(),
                    config=attachments.prepare_config(conf.for_pod(maps_ports=forwards), ipam_dir),
                    runtime_config={"portMappings": mappings} if forwards else {},
                )
            )
        state = PodNetState(pod_uuid, str(netns), [todo[0]])
        state.save(pod_dir)  # before ADD: a crash mid-ADD still gets its DEL

        def attach() -> dict[str, Any]:
            try:
                for att in todo:
                    if att is not state.attachments[-1]:
                        state.attachments.append(att)
                        state.save(pod_dir)  # as above
                    att.result = attachments.add(state, att)
                    state.save(pod_dir)
            except BaseException:
                # the ADD error is the one to report; on failure the state stays for gc
                with contextlib.suppress(NetworkError):
                    self.teardown(pod_uuid=pod_uuid, netns=netns, pod_dir=pod_dir)
                raise
            return describe(state)

        return attach

    def setup(
        self, *, pod_uuid: str, netns: Path, networks: list[str], pod_dir: Path
    ) -> dict[str, Any]:
        """:meth:`prepare` and attach, in one go; returns ``net-info``."""
        return self.prepare(pod_uuid=pod_uuid, netns=netns, networks=networks, pod_dir=pod_dir)()

    def teardown(
        self, *, pod_uuid: str, netns: Path | None, pod_dir: Path, netns_dies: bool = False
    ) -> None:
        """DEL every network the pod was attached to (idempotent).

        ``netns_dies``: the caller destroys the netns right after.  Networks whose
        interfaces exist only in the netns (the built-in default's ptp veth) then
        get DEL without it, which releases the lease and leaves the veth pair to
        the kernel's netns clean-up, off the caller's clock; deleting a veth in
        place waits about 30 ms for the kernel.
        """
        state = PodNetState.load(pod_dir)
        if state is None:
            return
        live = str(netns) if netns is not None and is_netns(netns) else ""
        problems: list[str] = []
        for att in reversed(state.attachments):
            in_netns = "" if netns_dies and att.interfaces_go_with_netns else live
            failures = attachments.delete(state, att, in_netns)
            if att.result is not None:
                # an ADD that failed cleaned up after itself (CNI spec), and a config
                # that breaks ADD often breaks DEL too: only attached networks count
                problems += failures
        # portmap only touches iptables for a pod with port mappings
        forwarded = any(att.runtime_config.get("portMappings") for att in state.attachments)
        firewalled = any(att.uses("firewall") for att in state.attachments)
        if forwarded or firewalled:
            with iptables.host_lock():
                if forwarded:
                    iptables.prune_portmap_chains()
                if firewalled:
                    iptables.prune_firewall_chains()
        if problems:
            raise NetworkError("; ".join(problems))
        PodNetState.forget(pod_dir)

    def check(self, *, pod_dir: Path) -> None:
        """CNI CHECK of every network of a running pod; raises :class:`NetworkError`."""
        state = PodNetState.load(pod_dir)
        if state is None:
            raise NetworkError(f"pod {pod_dir.name} has no CNI networks")
        for att in state.attachments:
            attachments.check(state, att)


def info(pod_dir: Path) -> dict[str, Any] | None:
    """The recorded networks of a pod (None when it never had CNI networks)."""
    state = PodNetState.load(pod_dir)
    return describe(state) if state is not None else None
