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
    """The file's content, or None to leave the image's own.

    Each part (servers, search domains, options) comes from the flags if given,
    else from the CNI result, else from the host's file: ``--dns-opt ndots:2``
    alone still leaves the pod with name servers.
    """
    if dns == ["none"]:
        return None
    host = _host_file()
    if dns == ["host"]:
        return host
    cni = cni_dns or {}
    cni_search = list(cni.get("search") or []) or ([cni["domain"]] if cni.get("domain") else [])
    if not (dns or search or options or cni.get("nameservers") or cni_search):
        return host
    parsed = _parse(host.decode(errors="replace") if host else "")
    return _render(
        dns or list(cni.get("nameservers") or []) or parsed["nameserver"],
        search or cni_search or parsed["search"],
        options or list(cni.get("options") or []) or parsed["options"],
    )


def _parse(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"nameserver": [], "search": [], "options": []}
    for line in text.splitlines():
        words = line.split("#")[0].split()
        if len(words) < 2:
            continue
        if words[0] == "nameserver":
            out["nameserver"].append(words[1])
        elif words[0] in ("search", "domain"):
            out["search"] = words[1:]
        elif words[0] == "options":
            out["options"] += words[1:]
    return out


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
