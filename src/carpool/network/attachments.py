"""Attaching a pod's netns to CNI networks, and detaching it, with state kept on disk.

Each attachment is recorded in the pod dir *before* its ADD runs, with the exact
configuration used (IPAM ``dataDir`` filled in) and, once ADD succeeded, the
result.  DEL and CHECK use that record, never ``net.d`` again, so editing or
removing a network config cannot strand a pod's lease or rules, and a
``carpool run`` killed in the middle of ADD is still cleaned up by ``gc``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from carpool.errors import NetworkError
from carpool.fsutil import atomic_write_text
from carpool.network import iptables, masquerade, plugin
from carpool.network.config import GO_WITH_NETNS_KEY, MASQUERADE_KEY, NetworkConfig, copy_json
from carpool.network.result import Summary, summarize

STATE_FILE = "net/attachments.json"
# DEL and CHECK get prevResult from 0.4.0 on (CHECK does not exist before)
PREV_RESULT_VERSIONS = ("0.4.0", "1.0.0")


class Attachment:
    """One network of a pod: the exact conflist used, its interface, and the ADD result.

    Plain classes here, not dataclasses: they are on ``carpool run --net``'s path.
    """

    __slots__ = ("args", "config", "ifname", "network", "result", "runtime_config")

    def __init__(
        self,
        network: str,
        ifname: str,
        args: str,
        config: dict[str, Any],
        runtime_config: dict[str, Any],
        result: dict[str, Any] | None = None,
    ) -> None:
        self.network = network
        self.ifname = ifname
        self.args = args
        self.config = config
        self.runtime_config = runtime_config
        self.result = result

    def __repr__(self) -> str:
        return f"Attachment({self.network!r}, {self.ifname!r}, {self.args!r}, ...)"

    def to_json(self) -> dict[str, Any]:
        return {
            "network": self.network,
            "ifname": self.ifname,
            "args": self.args,
            "config": self.config,
            "runtimeConfig": self.runtime_config,
            "result": self.result,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attachment:
        return cls(
            network=data["network"],
            ifname=data["ifname"],
            args=data.get("args", ""),
            config=data["config"],
            runtime_config=data.get("runtimeConfig") or {},
            result=data.get("result"),
        )

    def summary(self) -> Summary:
        return summarize(self.result, self.ifname)

    def uses(self, plugin_type: str) -> bool:
        return any(p.get("type") == plugin_type for p in self.config["plugins"])

    @property
    def interfaces_go_with_netns(self) -> bool:
        return self.config.get(GO_WITH_NETNS_KEY) is True

    @property
    def masqueraded_subnet(self) -> str | None:
        """The subnet carpool (not the plugin) masquerades for this network, if any."""
        subnet = self.config.get(MASQUERADE_KEY)
        return subnet if isinstance(subnet, str) else None


class PodNetState:
    """A pod's attachments as recorded in ``net/attachments.json``."""

    __slots__ = ("attachments", "container_id", "netns")

    def __init__(self, container_id: str, netns: str, attachments: list[Attachment]) -> None:
        self.container_id = container_id
        self.netns = netns
        self.attachments = attachments

    def save(self, pod_dir: Path) -> None:
        path = pod_dir / STATE_FILE
        path.parent.mkdir(exist_ok=True)
        data = {
            "containerId": self.container_id,
            "netns": self.netns,
            "attachments": [a.to_json() for a in self.attachments],
        }
        # atomic, not fsynced: what it guards against is a killed carpool, not a
        # power loss (after a reboot the netns and rules are gone; host-local's
        # own lease files are not fsynced either)
        atomic_write_text(path, json.dumps(data), durable=False)

    @classmethod
    def load(cls, pod_dir: Path) -> PodNetState | None:
        try:
            data = json.loads((pod_dir / STATE_FILE).read_text())
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError) as exc:
            raise NetworkError(f"{pod_dir / STATE_FILE}: unreadable ({exc})") from None
        return cls(
            container_id=data["containerId"],
            netns=data.get("netns", ""),
            attachments=[Attachment.from_json(a) for a in data.get("attachments", [])],
        )

    @staticmethod
    def forget(pod_dir: Path) -> None:
        (pod_dir / STATE_FILE).unlink(missing_ok=True)


def prepare_config(conf: NetworkConfig, ipam_dir: Path) -> dict[str, Any]:
    """The conflist as it will be used: host-local leases under carpool's data dir.

    Every invocation for a network (ADD, CHECK, DEL, by any pod) must use the
    same ``dataDir``: host-local's lock and lease files live there, which is what
    keeps two pods started at once from getting the same address.
    """
    data = conf.to_json()
    for p in data["plugins"]:
        ipam = p.get("ipam")
        if isinstance(ipam, dict) and ipam.get("type") == "host-local":
            ipam.setdefault("dataDir", str(ipam_dir))
    return data


def _plugin_conf(
    attachment: Attachment, index: int, prev_result: dict[str, Any] | None
) -> dict[str, Any]:
    """What one plugin of the chain gets on stdin (the CNI spec's "network configuration")."""
    config = attachment.config
    conf: dict[str, Any] = copy_json(config["plugins"][index])
    conf["cniVersion"] = config["cniVersion"]
    conf["name"] = config["name"]
    runtime = {
        key: value
        for key, value in attachment.runtime_config.items()
        if (conf.get("capabilities") or {}).get(key) is True
    }
    if runtime:
        conf["runtimeConfig"] = runtime
    if prev_result is not None:
        conf["prevResult"] = prev_result
    return conf


def _invoke(
    command: str, state: PodNetState, attachment: Attachment, conf: dict[str, Any], netns: str
) -> dict[str, Any] | None:
    def run() -> dict[str, Any] | None:
        return plugin.invoke(
            command,
            conf,
            container_id=state.container_id,
            netns=netns,
            ifname=attachment.ifname,
            args=attachment.args,
            path=plugin.search_path(),
        )

    if conf["type"] in ("portmap", "firewall"):
        with iptables.host_lock():  # never interleaved with pruning the shared chains
            return run()
    return run()


def add(state: PodNetState, attachment: Attachment) -> dict[str, Any]:
    """ADD the chain, plugin by plugin, each getting the previous one's result.

    carpool's masquerading of the network (if it does it) is set up meanwhile in a
    thread: both mostly wait for the kernel.
    """
    with _alongside(masquerade.attach, attachment.masqueraded_subnet, state.container_id) as masq:
        prev: dict[str, Any] | None = None
        for index in range(len(attachment.config["plugins"])):
            conf = _plugin_conf(attachment, index, prev)
            result = _invoke("ADD", state, attachment, conf, state.netns)
            if result is None:
                raise NetworkError(
                    f"network {attachment.network}: {conf['type']} ADD returned no result"
                )
            prev = result
    if masq:
        raise masq[0]
    assert prev is not None
    return prev


@contextmanager
def _alongside(
    work: Callable[[str, str], None], subnet: str | None, pod: str
) -> Iterator[list[NetworkError]]:
    """Run ``work(subnet, pod)`` in a thread during the block (not at all without a subnet).

    The thread is always joined before the block's own exception, if any,
    propagates; the list holds the thread's error once the block is left.
    """
    errors: list[NetworkError] = []
    if subnet is None:
        yield errors
        return

    def run() -> None:
        try:
            work(subnet, pod)
        except NetworkError as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"masquerade-{pod}")
    thread.start()
    try:
        yield errors
    finally:
        thread.join()


def delete(state: PodNetState, attachment: Attachment, netns: str) -> list[str]:
    """DEL the chain in reverse order; every plugin is tried, failures are returned.

    carpool's masquerading reference is dropped meanwhile, in a thread.
    """
    version = attachment.config["cniVersion"]
    prev = attachment.result if version in PREV_RESULT_VERSIONS else None
    problems = []
    with _alongside(masquerade.detach, attachment.masqueraded_subnet, state.container_id) as masq:
        for index in reversed(range(len(attachment.config["plugins"]))):
            conf = _plugin_conf(attachment, index, prev)
            try:
                _invoke("DEL", state, attachment, conf, netns)
            except NetworkError as exc:
                problems.append(str(exc))
    problems += [str(exc) for exc in masq]
    masquerading = any(
        p.get("type") in ("ptp", "bridge") and p.get("ipMasq") for p in attachment.config["plugins"]
    )
    if masquerading:
        # ptp/bridge find the masqueraded address on the pod's interface: without the
        # netns, or once the interface is gone, their chain stays behind
        families = {a.version for a in attachment.summary().addresses} or {4, 6}
        iptables.remove_masquerade(attachment.network, state.container_id, families)
    return problems


def check(state: PodNetState, attachment: Attachment) -> None:
    """CHECK the chain against the recorded result (CNI >= 0.4.0 and not disabled)."""
    config = attachment.config
    if config["cniVersion"] not in PREV_RESULT_VERSIONS or config.get("disableCheck"):
        return
    if attachment.result is None:
        raise NetworkError(f"network {attachment.network}: was never attached")
    for index in range(len(config["plugins"])):
        conf = _plugin_conf(attachment, index, attachment.result)
        _invoke("CHECK", state, attachment, conf, state.netns)
