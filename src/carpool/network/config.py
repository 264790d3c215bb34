"""CNI network configurations: carpool's built-in ``default`` and the user's ``net.d``.

Files in ``<config dir>/net.d/`` are read in file-name order: ``*.conflist``
(a named chain of plugins) and ``*.conf`` / ``*.json`` (a single plugin, the
CNI spec's older form).  A user network named like a built-in one replaces it,
as in rkt; when two files define the same name the first in file-name order wins
(libcni's rule).  Every error names the file and the field.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carpool.errors import NetworkError, UsageError

if TYPE_CHECKING:
    from carpool.network.specs import NetRequest

DEFAULT_CONFIG_DIR = "/etc/carpool"
DEFAULT_NETWORK = "default"
DEFAULT_SUBNET = "172.16.28.0/24"
# what Debian 12's containernetworking-plugins (1.1.1) answer to CNI_COMMAND=VERSION
SUPPORTED_VERSIONS = ("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0")
RESERVED_NAMES = ("host", "none")
NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$")
PLUGIN_TYPE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$")
SUFFIXES = (".conflist", ".conf", ".json")
# in the conflist recorded for a pod: the subnet carpool masquerades (never read from net.d)
MASQUERADE_KEY = "carpoolMasquerade"
GO_WITH_NETNS_KEY = "carpoolInterfacesGoWithNetns"


def copy_json(value: Any) -> Any:
    """A deep copy of JSON data (what :func:`copy.deepcopy` did, without importing it)."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value  # str, int, float, bool, None: immutable


class NetworkConfig:
    """One network: a name, a CNI version and the chain of plugins that attach a pod.

    A plain slotted class, not a dataclass: it is on ``carpool run --net``'s path,
    where importing :mod:`dataclasses` (and :mod:`inspect` with it) cost ~13 ms.
    Treated as immutable: :meth:`for_pod` makes a new one.
    """

    __slots__ = (
        "cni_version",
        "disable_check",
        "interfaces_go_with_netns",
        "masquerade",
        "name",
        "plugins",
        "portmap_on_demand",
        "source",
    )

    def __init__(
        self,
        name: str,
        cni_version: str,
        plugins: tuple[dict[str, Any], ...],
        source: str,
        disable_check: bool = False,
        masquerade: str | None = None,
        portmap_on_demand: bool = False,
        interfaces_go_with_netns: bool = False,
    ) -> None:
        self.name = name
        self.cni_version = cni_version
        self.plugins = plugins
        self.source = source
        self.disable_check = disable_check
        # built-in networks only: the subnet carpool masquerades once for every pod
        # (:mod:`carpool.network.masquerade`), and portmap only for pods that map ports
        self.masquerade = masquerade
        self.portmap_on_demand = portmap_on_demand
        # the chain's interfaces live only in the pod's netns (ptp's veth): a DEL just
        # before the netns is destroyed can leave them to the kernel (see backend.teardown)
        self.interfaces_go_with_netns = interfaces_go_with_netns

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NetworkConfig):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # the plugins are dicts

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"NetworkConfig({fields})"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "cniVersion": self.cni_version,
            "name": self.name,
            "disableCheck": self.disable_check,
            "plugins": [copy_json(p) for p in self.plugins],
        }
        if self.masquerade is not None:
            data[MASQUERADE_KEY] = self.masquerade
        if self.interfaces_go_with_netns:
            data[GO_WITH_NETNS_KEY] = True
        return data

    def for_pod(self, *, maps_ports: bool) -> NetworkConfig:
        """The chain one pod gets: the built-in default runs portmap only for port maps.

        portmap with no mappings changes nothing but still costs a process at ADD
        and at DEL; a user's chain is always run as written.
        """
        if maps_ports or not self.portmap_on_demand:
            return self
        plugins = tuple(p for p in self.plugins if p.get("type") != "portmap")
        return NetworkConfig(
            self.name,
            self.cni_version,
            plugins,
            self.source,
            disable_check=self.disable_check,
            masquerade=self.masquerade,
            portmap_on_demand=self.portmap_on_demand,
            interfaces_go_with_netns=self.interfaces_go_with_netns,
        )

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str) -> NetworkConfig:
        return _conflist(data, source)

    def capabilities(self) -> set[str]:
        """Capabilities (``portMappings``, ``dns`` …) some plugin of the chain accepts."""
        caps: set[str] = set()
        for plugin in self.plugins:
            for key, enabled in (plugin.get("capabilities") or {}).items():
                if enabled is True:
                    caps.add(key)
        return caps


def config_dir() -> Path:
    return Path(os.environ.get("CARPOOL_CONFIG", DEFAULT_CONFIG_DIR))


def builtin_networks() -> dict[str, NetworkConfig]:
    """rkt's ``default``: ptp + host-local on 172.16.28.0/24, masqueraded; plus portmap.

    Masquerading is carpool's, one chain for the subnet while any pod uses it,
    rather than ptp's ``ipMasq`` (a chain per pod, ~16 iptables calls per
    run/stop).  ``portmap`` with ``snat`` makes forwarded ports reachable from
    the host's own 127.0.0.1 (it sets ``route_localnet`` on the host-side veth
    and masquerades loopback sources), which rkt's own port forwarding never
    managed; it is chained only for pods that map ports.
    """
    default = NetworkConfig(
        name=DEFAULT_NETWORK,
        cni_version="1.0.0",
        plugins=(
            {
                "type": "ptp",
                "ipMasq": False,
                "ipam": {
                    "type": "host-local",
                    "subnet": DEFAULT_SUBNET,
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
        ),
        source="built-in",
        masquerade=DEFAULT_SUBNET,
        portmap_on_demand=True,
        interfaces_go_with_netns=True,
    )
    return {default.name: default}


def _fail(source: str, message: str) -> NetworkError:
    return NetworkError(f"{source}: {message}")


def _version(data: dict[str, Any], source: str) -> str:
    version = data.get("cniVersion", "0.1.0")
    if not isinstance(version, str) or version not in SUPPORTED_VERSIONS:
        raise _fail(
            source,
            f"cniVersion {version!r} is not supported (supported: {', '.join(SUPPORTED_VERSIONS)})",
        )
    return version


def _name(data: dict[str, Any], source: str) -> str:
    name = data.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise _fail(source, f"name {name!r} is not a valid network name")
    if name in RESERVED_NAMES:
        raise _fail(source, f"name {name!r} is reserved (--net {name} needs no config)")
    return name


def _plugin(plugin: Any, source: str, where: str) -> dict[str, Any]:
    if not isinstance(plugin, dict):
        raise _fail(source, f"{where} must be an object")
    kind = plugin.get("type")
    if not isinstance(kind, str) or not PLUGIN_TYPE.match(kind):
        raise _fail(source, f"{where}.type {kind!r} is not a plugin name")
    ipam = plugin.get("ipam")
    if ipam is not None:
        ipam_type = ipam.get("type") if isinstance(ipam, dict) else None
        if not isinstance(ipam_type, str) or not PLUGIN_TYPE.match(ipam_type):
            raise _fail(source, f"{where}.ipam.type {ipam_type!r} is not a plugin name")
    caps = plugin.get("capabilities")
    if caps is not None and not isinstance(caps, dict):
        raise _fail(source, f"{where}.capabilities must be an object")
    out = {k: v for k, v in plugin.items() if k not in ("name", "cniVersion")}
    return out


def _conflist(data: dict[str, Any], source: str) -> NetworkConfig:
    plugins = data.get("plugins")
    if not isinstance(plugins, list) or not plugins:
        raise _fail(source, "plugins must be a non-empty list")
    disable = data.get("disableCheck", False)
    if not isinstance(disable, bool):
        raise _fail(source, "disableCheck must be true or false")
    return NetworkConfig(
        name=_name(data, source),
        cni_version=_version(data, source),
        plugins=tuple(_plugin(p, source, f"plugins[{i}]") for i, p in enumerate(plugins)),
        source=source,
        disable_check=disable,
    )


def parse(data: Any, source: str, *, conflist: bool) -> NetworkConfig:
    """A ``.conflist`` document, or a single-plugin ``.conf`` one, as a :class:`NetworkConfig`."""
    if not isinstance(data, dict):
        raise _fail(source, "expected a JSON object")
    if conflist or "plugins" in data:
        return _conflist(data, source)
    return NetworkConfig(
        name=_name(data, source),
        cni_version=_version(data, source),
        plugins=(_plugin(data, source, "config"),),
        source=source,
    )


def load_file(path: Path) -> NetworkConfig:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise _fail(str(path), exc.strerror or str(exc)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _fail(str(path), f"not valid JSON: {exc}") from None
    return parse(data, str(path), conflist=path.suffix == ".conflist")


def load_all(directory: Path | None = None) -> dict[str, NetworkConfig]:
    """Every network known to carpool, user files first in file-name order, then built-ins."""
    net_d = (directory if directory is not None else config_dir()) / "net.d"
    found: dict[str, NetworkConfig] = {}
    try:
        entries = sorted(p for p in net_d.iterdir() if p.suffix in SUFFIXES and p.is_file())
    except FileNotFoundError:
        entries = []
    except OSError as exc:
        raise NetworkError(f"{net_d}: {exc.strerror}") from None
    for path in entries:
        conf = load_file(path)
        found.setdefault(conf.name, conf)
    for name, conf in builtin_networks().items():
        found.setdefault(name, conf)
    return found


def resolve(requests: list[NetRequest], known: dict[str, NetworkConfig]) -> list[NetworkConfig]:
    """The configuration of each ``--net`` request; unknown names are a usage error."""
    out = []
    for request in requests:
        conf = known.get(request.name)
        if conf is None:
            raise UsageError(
                f"--net {request.name}: no such network (known: {', '.join(sorted(known))}; "
                f"define others in {config_dir() / 'net.d'})"
            )
        out.append(conf)
    return out
