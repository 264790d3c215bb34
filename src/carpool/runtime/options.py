"""What the user asked for a pod, before images are resolved: apps, volumes, env, network.

Parsers here turn rkt's flag syntax (``--volume NAME,kind=host,source=PATH``,
``--mount volume=NAME,target=PATH``, ``--set-env-file``) into plain data; errors
name the flag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carpool.errors import UsageError

AC_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
INSECURE_OPTIONS = ("capabilities", "paths", "seccomp", "image", "all")
NETWORK_MODES = ("default", "host", "none")


@dataclass
class AppOptions:
    """One app of ``carpool run``/``prepare``: an image and its overrides."""

    image: str
    name: str | None = None
    exec: str | None = None
    args: list[str] | None = None
    user: str | None = None
    group: str | None = None
    env: list[tuple[str, str]] = field(default_factory=list)
    mounts: list[dict[str, str]] = field(default_factory=list)


@dataclass
class PodOptions:
    """Pod-wide settings that go into the pod manifest."""

    apps: list[AppOptions] = field(default_factory=list)
    env: list[tuple[str, str]] = field(default_factory=list)
    volumes: list[dict[str, Any]] = field(default_factory=list)
    ports: list[str] = field(default_factory=list)
    pod_manifest: Path | None = None


@dataclass
class RunOptions:
    """Settings that only matter while the pod runs (rkt's run-prepared flags)."""

    net: list[str] = field(default_factory=lambda: ["default"])
    hostname: str | None = None
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_opt: list[str] = field(default_factory=list)
    interactive: bool = False
    insecure: frozenset[str] = frozenset()
    stop_timeout: float = 10.0

    def to_json(self) -> dict[str, Any]:
        return {
            "net": self.net,
            "hostname": self.hostname,
            "dns": self.dns,
            "dnsSearch": self.dns_search,
            "dnsOpt": self.dns_opt,
            "interactive": self.interactive,
            "insecureOptions": sorted(self.insecure),
            "stopTimeout": self.stop_timeout,
        }


def parse_env(item: str, flag: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not ENV_NAME.match(name):
        raise UsageError(f"{flag} {item!r}: expected NAME=VALUE")
    return name, value


def read_env_file(path: Path, flag: str = "--set-env-file") -> list[tuple[str, str]]:
    """Lines ``NAME=VALUE``; blank lines and ``#``/``;`` comments ignored (rkt's format)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"{flag} {path}: {exc.strerror}") from None
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        out.append(parse_env(stripped, f"{flag} {path}:{number}:"))
    return out


def _pairs(spec: str, flag: str) -> tuple[str, dict[str, str]]:
    parts = spec.split(",")
    name = parts[0]
    pairs: dict[str, str] = {}
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        if not sep:
            raise UsageError(f"{flag} {spec!r}: expected KEY=VALUE, got {part!r}")
        pairs[key] = value
    return name, pairs


def _bool(value: str, flag: str) -> bool:
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise UsageError(f"{flag}: {value!r} is not a boolean")


def parse_volume(spec: str) -> dict[str, Any]:
    """``NAME,kind=host,source=PATH[,readOnly=B][,recursive=B]`` or ``NAME,kind=empty[…]``."""
    flag = "--volume"
    name, pairs = _pairs(spec, flag)
    if not AC_NAME.match(name):
        raise UsageError(f"{flag} {spec!r}: {name!r} is not a valid volume name")
    kind = pairs.pop("kind", None)
    volume: dict[str, Any] = {"name": name, "kind": kind}
    if "readOnly" in pairs:
        volume["readOnly"] = _bool(pairs.pop("readOnly"), f"{flag} {spec!r} readOnly")
    if kind == "host":
        source = pairs.pop("source", "")
        if not source.startswith("/"):
            raise UsageError(f"{flag} {spec!r}: kind=host needs an absolute source=PATH")
        volume["source"] = source
        if "recursive" in pairs:
            volume["recursive"] = _bool(pairs.pop("recursive"), f"{flag} {spec!r} recursive")
    elif kind == "empty":
        mode = pairs.pop("mode", "0755")
        if not re.fullmatch(r"0?[0-7]{3,4}", mode):
            raise UsageError(f"{flag} {spec!r}: mode={mode!r} is not an octal mode")
        volume["mode"] = mode
        for key in ("uid", "gid"):
            value = pairs.pop(key, "0")
            if not value.isdigit():
                raise UsageError(f"{flag} {spec!r}: {key}={value!r} is not a number")
            volume[key] = int(value)
    else:
        raise UsageError(f"{flag} {spec!r}: kind must be host or empty")
    if pairs:
        raise UsageError(f"{flag} {spec!r}: unknown key(s) {', '.join(sorted(pairs))}")
    return volume


def parse_mount(spec: str) -> dict[str, str]:
    """``volume=NAME,target=PATH``."""
    flag = "--mount"
    pairs: dict[str, str] = {}
    for part in spec.split(","):
        key, sep, value = part.partition("=")
        if not sep:
            raise UsageError(f"{flag} {spec!r}: expected volume=NAME,target=PATH")
        pairs[key] = value
    volume, target = pairs.pop("volume", ""), pairs.pop("target", "")
    if not AC_NAME.match(volume) or not target:
        raise UsageError(f"{flag} {spec!r}: expected volume=NAME,target=PATH")
    if pairs:
        raise UsageError(f"{flag} {spec!r}: unknown key(s) {', '.join(sorted(pairs))}")
    return {"volume": volume, "path": target}


def parse_insecure(values: list[str]) -> frozenset[str]:
    out: set[str] = set()
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            if item not in INSECURE_OPTIONS:
                raise UsageError(
                    f"--insecure-options: unknown option {item!r} "
                    f"(known: {', '.join(INSECURE_OPTIONS)})"
                )
            out.add(item)
    if "all" in out:
        out |= {"capabilities", "paths", "seccomp", "image"}
    return frozenset(out)


def parse_dns(servers: list[str], search: list[str]) -> tuple[list[str], list[str]]:
    """``--dns`` IPs (or ``host``/``none`` alone) and ``--dns-search`` domains."""
    import ipaddress

    if any(s in ("host", "none") for s in servers) and len(servers) > 1:
        raise UsageError("--dns host and --dns none cannot be combined with servers")
    for server in servers:
        if server in ("host", "none"):
            continue
        try:
            ipaddress.ip_address(server)
        except ValueError:
            raise UsageError(f"--dns {server!r}: not an IP address (or host, none)") from None
    for domain in search:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", domain):
            raise UsageError(f"--dns-search {domain!r}: not a domain name")
    return servers, search


def parse_net(values: list[str]) -> list[str]:
    nets: list[str] = []
    for value in values:
        nets.extend(n.strip() for n in value.split(",") if n.strip())
    if not nets:
        return ["default"]
    if ("host" in nets or "none" in nets) and len(nets) > 1:
        raise UsageError("--net: host and none cannot be combined with other networks")
    return nets
