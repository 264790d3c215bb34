"""What ``--net`` and ``--port`` ask for: network names with CNI_ARGS, and port maps.

``--net`` follows rkt: ``NAME[:KEY=VALUE[;KEY=VALUE…]]``, several names separated
by commas (split by the runtime's option parser).  ``--port`` is
``NAME:[HOSTIP:]HOSTPORT`` where NAME is a port an app declares in its image.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from carpool.errors import UsageError

ARG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=[^;]*$")
IGNORE_UNKNOWN = "IgnoreUnknown=1"
PORT_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class NetRequest:
    """One ``--net`` name with its ``CNI_ARGS`` (a plain class: no dataclasses on the run path)."""

    __slots__ = ("args", "name")

    def __init__(self, name: str, args: tuple[tuple[str, str], ...] = ()) -> None:
        self.name = name
        self.args = args

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NetRequest):
            return NotImplemented
        return (self.name, self.args) == (other.name, other.args)

    def __hash__(self) -> int:
        return hash((self.name, self.args))

    def __repr__(self) -> str:
        return f"NetRequest({self.name!r}, {self.args!r})"

    def cni_args(self) -> str:
        """``CNI_ARGS``: unknown keys must not fail plugins that parse strictly."""
        return ";".join([IGNORE_UNKNOWN, *(f"{k}={v}" for k, v in self.args)])


def parse_net(spec: str) -> NetRequest:
    name, sep, rest = spec.partition(":")
    if not name:
        raise UsageError(f"--net {spec!r}: missing network name")
    args: list[tuple[str, str]] = []
    if sep:
        for item in rest.split(";"):
            if not item:
                continue
            if not ARG.match(item):
                raise UsageError(f"--net {spec!r}: expected KEY=VALUE, got {item!r}")
            key, _, value = item.partition("=")
            args.append((key, value))
    return NetRequest(name, tuple(args))


def parse_nets(specs: list[str]) -> list[NetRequest]:
    requests = [parse_net(s) for s in specs]
    names = [r.name for r in requests]
    for name in names:
        if names.count(name) > 1:
            raise UsageError(f"--net: network {name!r} is given twice")
    return requests


def parse_port(spec: str) -> dict[str, Any]:
    """``NAME:[HOSTIP:]HOSTPORT`` as an appc pod manifest ``ports`` entry."""
    name, sep, rest = spec.partition(":")
    if not sep or not PORT_NAME.match(name):
        raise UsageError(f"--port {spec!r}: expected NAME:[HOSTIP:]HOSTPORT")
    host_ip, _, port = rest.rpartition(":")
    host_ip = host_ip.strip("[]")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--port {spec!r}: host port {port!r} is not a port number")
    entry: dict[str, Any] = {"name": name, "hostPort": int(port)}
    if host_ip:
        try:
            ipaddress.ip_address(host_ip)
        except ValueError:
            raise UsageError(f"--port {spec!r}: {host_ip!r} is not an IP address") from None
        entry["hostIP"] = host_ip
    return entry


def port_mappings(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod manifest's exposed ports as CNI ``portMappings`` (app ports by name)."""
    declared: dict[str, dict[str, Any]] = {}
    for ra in manifest.get("apps") or []:
        for port in (ra.get("app") or {}).get("ports") or []:
            declared.setdefault(port["name"], port)
    mappings: list[dict[str, Any]] = []
    seen: set[tuple[str, str, int]] = set()
    for exposed in manifest.get("ports") or []:
        name = exposed["name"]
        port = declared.get(name)
        if port is None:
            known = ", ".join(sorted(declared)) or "none"
            raise UsageError(f"--port {name}: no app of the pod declares a port {name!r} ({known})")
        protocol = str(port.get("protocol", "tcp")).lower()
        host_ip = exposed.get("hostIP") or ""
        key = (protocol, host_ip, int(exposed["hostPort"]))
        if key in seen:
            raise UsageError(f"--port {name}: host port {key[2]}/{protocol} is mapped twice")
        seen.add(key)
        mapping: dict[str, Any] = {
            "hostPort": int(exposed["hostPort"]),
            "containerPort": int(port["port"]),
            "protocol": protocol,
        }
        if host_ip:
            mapping["hostIP"] = host_ip
        mappings.append(mapping)
    return mappings
