"""Reading CNI results of every version into what carpool shows and writes.

0.1.0/0.2.0 results carry ``ip4``/``ip6`` objects; 0.3.0 and later an
``interfaces`` list and ``ips`` pointing into it.  carpool keeps the raw result
(it is the ``prevResult`` of DEL and CHECK) and derives this summary from it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

# plain slotted classes, not dataclasses: they are on ``carpool run --net``'s path


class Address:
    """One address of the pod: ``10.2.0.7/24`` and its gateway, if the plugin gave one."""

    __slots__ = ("cidr", "gateway")

    def __init__(self, cidr: str, gateway: str | None) -> None:
        self.cidr = cidr
        self.gateway = gateway

    def __repr__(self) -> str:
        return f"Address({self.cidr!r}, {self.gateway!r})"

    @property
    def ip(self) -> str:
        return self.cidr.split("/")[0]

    @property
    def version(self) -> int:
        return ipaddress.ip_interface(self.cidr).version

    @property
    def netmask(self) -> str:
        return str(ipaddress.ip_interface(self.cidr).netmask)


class Dns:
    """The DNS settings of a CNI result."""

    __slots__ = ("domain", "nameservers", "options", "search")

    def __init__(
        self,
        nameservers: list[str] | None = None,
        domain: str | None = None,
        search: list[str] | None = None,
        options: list[str] | None = None,
    ) -> None:
        self.nameservers = nameservers if nameservers is not None else []
        self.domain = domain
        self.search = search if search is not None else []
        self.options = options if options is not None else []

    def __repr__(self) -> str:
        return f"Dns({self.nameservers!r}, {self.domain!r}, {self.search!r}, {self.options!r})"

    def empty(self) -> bool:
        return not (self.nameservers or self.domain or self.search or self.options)


class Summary:
    """What carpool shows of one attachment's result."""

    __slots__ = ("addresses", "dns", "host_ifname")

    def __init__(self, addresses: list[Address], dns: Dns, host_ifname: str | None = None) -> None:
        self.addresses = addresses
        self.dns = dns
        self.host_ifname = host_ifname

    def __repr__(self) -> str:
        return f"Summary({self.addresses!r}, {self.dns!r}, {self.host_ifname!r})"


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
