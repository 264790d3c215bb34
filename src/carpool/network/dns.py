"""``/etc/hosts`` and ``/etc/resolv.conf`` for a pod on CNI networks.

resolv.conf precedence (rkt's): ``--dns``/``--dns-search``/``--dns-opt`` flags,
then the DNS settings a CNI plugin returned, then the host's file.
``--dns=host`` copies the host's file, ``--dns=none`` leaves the image's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HOST_RESOLV_CONF = Path("/etc/resolv.conf")


def resolv_conf(
    dns: list[str], search: list[str], options: list[str], cni_dns: dict[str, Any] | None
) -> bytes | None:
    """The file's content, or None to leave the image's own."""
    if dns == ["none"]:
        return None
    if dns == ["host"]:
        return _host_file()
    if dns or search or options:
        return _render(dns, search, options)
    if cni_dns and (cni_dns.get("nameservers") or cni_dns.get("search")):
        search = list(cni_dns.get("search") or [])
        if not search and cni_dns.get("domain"):
            search = [cni_dns["domain"]]
        return _render(cni_dns.get("nameservers") or [], search, cni_dns.get("options") or [])
    return _host_file()


def _host_file() -> bytes | None:
    try:
        return HOST_RESOLV_CONF.read_bytes()
    except OSError:
        return None


def _render(servers: list[str], search: list[str], options: list[str]) -> bytes:
    lines = [f"nameserver {s}" for s in servers]
    if search:
        lines.append("search " + " ".join(search))
    if options:
        lines.append("options " + " ".join(options))
    return ("\n".join(lines) + "\n").encode()


def hosts(existing: str | None, hostname: str, addresses: list[str]) -> str:
    """The image's hosts file (or a stub) with ``hostname`` on the pod's addresses.

    Without an address (``--net none``) the hostname resolves to 127.0.0.1.
    """
    lines = [
        line
        for line in (existing or "").splitlines()
        if not (line.split() and hostname in line.split()[1:] and not line.startswith("#"))
    ]
    if not any(line.strip() for line in lines):
        lines = [
            "127.0.0.1\tlocalhost localhost.localdomain",
            "::1\tlocalhost ip6-localhost ip6-loopback",
        ]
    for address in addresses or ["127.0.0.1"]:
        lines.append(f"{address}\t{hostname}")
    return "\n".join(lines) + "\n"
