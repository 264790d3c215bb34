"""What the user asked for a pod, before images are resolved: apps, volumes, env, network.

Parsers here turn rkt's flag syntax (``--volume NAME,kind=host,source=PATH``,
``--mount volume=NAME,target=PATH``, ``--set-env-file``) into plain data; errors
name the flag.

The option records are plain classes with ``__slots__``, not dataclasses: every
``carpool run`` builds them, and importing :mod:`dataclasses` (it imports
:mod:`inspect`) plus generating the classes' methods costs ~15 ms on a slow host.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from carpool.errors import UsageError

AC_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"  # compiled (by re's cache) when --set-env is given
INSECURE_OPTIONS = ("capabilities", "paths", "seccomp", "image", "all")
NETWORK_MODES = ("default", "host", "none")


def _repr(record: Any) -> str:
    fields = ", ".join(f"{name}={getattr(record, name)!r}" for name in record.__slots__)
    return f"{type(record).__name__}({fields})"


class AppOptions:
    """One app of ``carpool run``/``prepare``: an image and its overrides."""

    __slots__ = ("args", "env", "exec", "group", "image", "mounts", "name", "user")

    def __init__(
        self,
        image: str,
        name: str | None = None,
        exec: str | None = None,
        args: list[str] | None = None,
        user: str | None = None,
        group: str | None = None,
        env: list[tuple[str, str]] | None = None,
        mounts: list[dict[str, str]] | None = None,
    ) -> None:
        self.image = image
        self.name = name
        self.exec = exec
        self.args = args
        self.user = user
        self.group = group
        self.env: list[tuple[str, str]] = [] if env is None else env
        self.mounts: list[dict[str, str]] = [] if mounts is None else mounts

    __repr__ = _repr


class PodOptions:
    """Pod-wide settings that go into the pod manifest."""

    __slots__ = ("apps", "env", "pod_manifest", "ports", "volumes")

    def __init__(
        self,
        apps: list[AppOptions] | None = None,
        env: list[tuple[str, str]] | None = None,
        volumes: list[dict[str, Any]] | None = None,
        ports: list[str] | None = None,
        pod_manifest: Path | None = None,
    ) -> None:
        self.apps: list[AppOptions] = [] if apps is None else apps
        self.env: list[tuple[str, str]] = [] if env is None else env
        self.volumes: list[dict[str, Any]] = [] if volumes is None else volumes
        self.ports: list[str] = [] if ports is None else ports
        self.pod_manifest = pod_manifest

    __repr__ = _repr


class RunOptions:
    """Settings that only matter while the pod runs (rkt's run-prepared flags)."""

    __slots__ = (
        "dns",
        "dns_opt",
        "dns_search",
        "hostname",
        "insecure",
        "interactive",
        "net",
        "stop_timeout",
    )

    def __init__(
        self,
        net: list[str] | None = None,
        hostname: str | None = None,
        dns: list[str] | None = None,
        dns_search: list[str] | None = None,
        dns_opt: list[str] | None = None,
        interactive: bool = False,
        insecure: frozenset[str] = frozenset(),
        stop_timeout: float = 10.0,
    ) -> None:
        self.net: list[str] = ["default"] if net is None else net
        self.hostname = hostname
        self.dns: list[str] = [] if dns is None else dns
        self.dns_search: list[str] = [] if dns_search is None else dns_search
        self.dns_opt: list[str] = [] if dns_opt is None else dns_opt
        self.interactive = interactive
        self.insecure = insecure
        self.stop_timeout = stop_timeout

    __repr__ = _repr

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
    if not sep or not re.match(ENV_NAME, name):
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
    if any(s in ("host", "none") for s in servers) and len(servers) > 1:
        raise UsageError("--dns host and --dns none cannot be combined with servers")
    for server in servers:
        if server in ("host", "none"):
            continue
        import ipaddress

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
