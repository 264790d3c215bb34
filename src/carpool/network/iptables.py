"""The iptables state CNI plugins leave behind, and removing it.

Two gaps in the plugins' own DEL: ``ptp``/``bridge`` only remove their
masquerade chain when the pod's netns still exists (after a reboot or a lost
pin it does not), and ``portmap`` never removes its shared ``CNI-HOSTPORT-*``
chains and the jumps to them (nor ``firewall`` its ``CNI-FORWARD`` and
``CNI-ADMIN``).  carpool cleans both, so a host that ran pods
has exactly the rules it had before.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from carpool import digests
from carpool.locks import file_lock
from carpool.network import commands

HOST_LOCK = Path("/run/carpool/network.lock")
PORTMAP_CHAINS = ("CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK")
FIREWALL_CHAINS = ("CNI-FORWARD", "CNI-ADMIN")
TOOLS = ("iptables", "ip6tables")


def host_lock() -> AbstractContextManager[None]:
    """Host-wide: iptables is one per host, whatever carpool data dir a pod uses."""
    return file_lock(HOST_LOCK, mode=0o600)


def _run(tool: str, *args: str) -> commands.Completed:
    return commands.run([tool, "-w", *args], timeout=60)


def _installed(tool: str) -> bool:
    import shutil  # only the clean-up paths, never a plain --net default run

    return shutil.which(tool) is not None


def _rules(tool: str, table: str) -> list[str]:
    if not _installed(tool):
        return []
    proc = _run(tool, "-t", table, "-S")
    return proc.stdout.decode(errors="replace").splitlines() if proc.returncode == 0 else []


def _delete_rule(tool: str, table: str, line: str) -> None:
    import shlex  # as _installed: rare paths only

    words = shlex.split(line)
    if words and words[0] == "-A":
        _run(tool, "-t", table, "-D", *words[1:])


def _drop_chain(tool: str, table: str, chain: str, rules: list[str]) -> None:
    """Remove every jump to ``chain``, then the chain itself."""
    for line in rules:
        if line.startswith("-A ") and line.endswith(f" -j {chain}"):
            _delete_rule(tool, table, line)
    _run(tool, "-t", table, "-F", chain)
    _run(tool, "-t", table, "-X", chain)


def masquerade_chain(network: str, container_id: str) -> str:
    """The per-pod chain name ptp and bridge use (``utils.FormatChainName``)."""
    return "CNI-" + digests.sha512((network + container_id).encode()).hexdigest()[:24]


def remove_masquerade(network: str, container_id: str, families: set[int]) -> None:
    """Drop the pod's masquerade chain if it is still there (one cheap probe per family)."""
    chain = masquerade_chain(network, container_id)
    for tool, family in (("iptables", 4), ("ip6tables", 6)):
        if family not in families or not _installed(tool):
            continue
        if _run(tool, "-t", "nat", "-S", chain).returncode != 0:
            continue  # no such chain: the plugin removed it
        _drop_chain(tool, "nat", chain, _rules(tool, "nat"))


def prune_portmap_chains() -> None:
    """Drop portmap's shared chains once no pod on the host forwards a port."""
    for tool in TOOLS:
        rules = _rules(tool, "nat")
        if "-N CNI-HOSTPORT-DNAT" not in rules:
            continue
        if any(line.startswith("-A CNI-HOSTPORT-DNAT ") for line in rules):
            continue
        for chain in PORTMAP_CHAINS:
            if f"-N {chain}" in rules:
                _drop_chain(tool, "nat", chain, rules)


def prune_firewall_chains() -> None:
    """Drop the firewall plugin's shared chains once no pod uses them and no admin rule is set."""
    for tool in TOOLS:
        rules = _rules(tool, "filter")
        if "-N CNI-FORWARD" not in rules:
            continue
        in_use = [
            line
            for line in rules
            if line.startswith(("-A CNI-FORWARD ", "-A CNI-ADMIN "))
            and line != "-A CNI-FORWARD -j CNI-ADMIN"
            and not line.endswith("-j CNI-ADMIN")
        ]
        if in_use:
            continue
        for chain in FIREWALL_CHAINS:
            if f"-N {chain}" in rules:
                _drop_chain(tool, "filter", chain, rules)
