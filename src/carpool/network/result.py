"""Reading CNI results of every version into what carpool shows and writes.

0.1.0/0.2.0 results carry ``ip4``/``ip6`` objects; 0.3.0 and later an
``interfaces`` list and ``ips`` pointing into it.  carpool keeps the raw result
(it is the ``prevResult`` of DEL and CHECK) and derives this summary from it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Address:
    cidr: str
    gateway: str | None

    @property
    def ip(self) -> str:
        return self.cidr.split("/")[0]

    @property
    def version(self) -> int:
        return ipaddress.ip_interface(self.cidr).version

    @property
    def netmask(self) -> str:
        return str(ipaddress.ip_interface(self.cidr).netmask)


@dataclass
class Dns:
    nameservers: list[str] = field(default_factory=list)
    domain: str | None = None
    search: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.nameservers or self.domain or self.search or self.options)


@dataclass
class Summary:
    addresses: list[Address]
    dns: Dns
    host_ifname: str | None = None


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def summarize(result: dict[str, Any] | None, ifname: str) -> Summary:
    """The pod's addresses on ``ifname``, the DNS settings and the host-side interface."""
    if not result:
        return Summary([], Dns())
    raw_dns = result.get("dns") or {}
    dns = Dns(
        nameservers=_strings(raw_dns.get("nameservers")),
        domain=raw_dns.get("domain") or None,
        search=_strings(raw_dns.get("search")),
        options=_strings(raw_dns.get("options")),
    )
    addresses: list[Address] = []
    host_ifname = None
    if "ips" in result or "interfaces" in result:
        interfaces = result.get("interfaces") or []
        for iface in interfaces:
            if not iface.get("sandbox") and host_ifname is None:
                host_ifname = iface.get("name")
        for ip in result.get("ips") or []:
            index = ip.get("interface")
            if isinstance(index, int) and 0 <= index < len(interfaces):
                iface = interfaces[index]
                if not iface.get("sandbox"):
                    continue  # an address on the host side
                if iface.get("name") and iface["name"] != ifname:
                    continue
            addresses.append(Address(str(ip["address"]), ip.get("gateway")))
    else:  # 0.1.0 / 0.2.0
        for key in ("ip4", "ip6"):
            block = result.get(key)
            if isinstance(block, dict) and block.get("ip"):
                addresses.append(Address(str(block["ip"]), block.get("gateway")))
    return Summary(addresses, dns, host_ifname)
