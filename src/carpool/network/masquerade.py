"""Masquerading a whole network once, instead of once per pod in the plugin.

``ptp`` and ``bridge`` with ``ipMasq`` give every pod its own nat chain: about
ten iptables calls at ADD and six at DEL, most of what the default network
used to add to ``carpool run``.  For carpool's built-in ``default`` network the
plugin runs with ``ipMasq: false`` and carpool keeps one chain per subnet
instead (same rules as the plugin's, for the subnet rather than one address)::

    -A POSTROUTING -s SUBNET -m comment --comment "carpool: masquerade SUBNET" -j CNI-CARPOOL-…
    -A CNI-CARPOOL-… -d SUBNET -j ACCEPT
    -A CNI-CARPOOL-… ! -d 224.0.0.0/4 -j MASQUERADE

The rules exist while some pod uses the subnet: each pod holds a reference, a
file ``/run/carpool/masquerade/<chain>/<pod>``, taken before its ADD and dropped
at its DEL; the last one out removes the rules.  Both happen under the host-wide
iptables lock.  ``/run`` is a tmpfs, so references and rules both end with a
reboot; ``gc``'s DEL of a pod whose reference is already gone is a no-op, and
still removes rules nobody references.  Networks from ``net.d`` with ``ipMasq``
keep the plugin's per-pod chains.

Removing the rules is the slowest step of a networked pod's teardown (~10-15 ms
against ~1.5 ms to install them), and not for iptables' sake: after any nf_tables
deletion, the kernel waits for an RCU grace period when the deleting process's
netlink socket is closed, i.e. when ``iptables-restore`` exits (the same with
``nft delete rule``).  Doing it all in one transaction pays that wait once; the
plugin's DEL runs meanwhile.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from pathlib import Path

from carpool import digests
from carpool.errors import NetworkError
from carpool.network import commands
from carpool.network.iptables import host_lock

REGISTRY = Path("/run/carpool/masquerade")
MULTICAST = {4: "224.0.0.0/4", 6: "ff00::/8"}


def chain(subnet: str) -> str:
    """``CNI-CARPOOL-`` and a hash of the subnet (iptables allows 28 characters)."""
    network = str(ipaddress.ip_network(subnet, strict=False))
    return "CNI-CARPOOL-" + digests.sha256(network.encode()).hexdigest()[:12]


def _tool(subnet: str, command: str) -> str:
    version = ipaddress.ip_network(subnet, strict=False).version
    return command if version == 4 else command.replace("iptables", "ip6tables")


def _jump(subnet: str) -> str:
    return (
        f"-A POSTROUTING -s {subnet} -m comment --comment "
        f'"carpool: masquerade {subnet}" -j {chain(subnet)}'
    )


def _jumps(subnet: str) -> list[str]:
    """The POSTROUTING jumps to the subnet's chain, as ``iptables -S`` prints them."""
    proc = commands.run([_tool(subnet, "iptables"), "-w", "-t", "nat", "-S", "POSTROUTING"])
    if proc.returncode != 0:
        raise NetworkError(f"masquerade {subnet}: iptables: {_message(proc)}")
    # chain names are never quoted, and a quoted comment would end in its quote
    jump = f" -j {chain(subnet)}"
    return [
        line for line in proc.stdout.decode(errors="replace").splitlines() if line.endswith(jump)
    ]


def _message(proc: commands.Completed) -> str:
    return proc.stderr.decode(errors="replace").strip()


def _restore(subnet: str, lines: list[str]) -> None:
    """One ``iptables-restore --noflush`` transaction on the nat table."""
    text = "\n".join(["*nat", *lines, "COMMIT", ""])
    proc = commands.run([_tool(subnet, "iptables-restore"), "-w", "--noflush"], input=text.encode())
    if proc.returncode != 0:
        raise NetworkError(f"masquerade {subnet}: iptables-restore: {_message(proc)}")


def _install(subnet: str) -> None:
    """The chain with its two rules (declaring it flushes a leftover) and exactly one jump."""
    name = chain(subnet)
    version = ipaddress.ip_network(subnet, strict=False).version
    jumps = _jumps(subnet)
    lines = [
        f":{name} - [0:0]",
        f"-A {name} -d {subnet} -j ACCEPT",
        f"-A {name} ! -d {MULTICAST[version]} -j MASQUERADE",
    ]
    lines += ["-D" + line[2:] for line in jumps[1:]]
    if not jumps:
        lines.append(_jump(subnet))
    _restore(subnet, lines)


def _remove(subnet: str) -> None:
    """Jump and chain in one transaction; if that fails, every jump found, then the chain."""
    name = chain(subnet)
    drop_chain = [f":{name} - [0:0]", f"-X {name}"]  # declaring flushes, so -X finds it empty
    try:
        # the usual case, one call: the jump carpool added, once (-X fails on any other)
        _restore(subnet, ["-D" + _jump(subnet)[2:], *drop_chain])
        return
    except NetworkError:
        pass
    lines = ["-D" + line[2:] for line in _jumps(subnet)]
    try:
        _restore(subnet, [*lines, *drop_chain])
    except NetworkError:
        # the chain is still referenced from elsewhere: only the jumps go
        if lines:
            _restore(subnet, lines)


def _users(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except FileNotFoundError:
        return []


def attach(subnet: str, pod: str) -> None:
    """Take ``pod``'s reference; the first one installs the rules."""
    directory = REGISTRY / chain(subnet)
    with host_lock():
        first = not _users(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / pod).touch()
        if first:
            _install(subnet)


def detach(subnet: str, pod: str) -> None:
    """Drop ``pod``'s reference; without references left, the rules go."""
    directory = REGISTRY / chain(subnet)
    with host_lock():
        (directory / pod).unlink(missing_ok=True)
        if _users(directory):
            return
        _remove(subnet)
        with contextlib.suppress(FileNotFoundError):
            directory.rmdir()
