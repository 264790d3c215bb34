"""The pod network seam: ``host``, ``none``, and the CNI networks of :mod:`carpool.network`.

``none`` gives the pod a fresh network namespace with only ``lo`` (up); ``host``
joins the host's.  Other names (``default`` and the networks of ``net.d``) go to
a :class:`NetworkBackend`, by default carpool's CNI backend; it is called with
the pod's pinned netns path after the namespace exists and before any app
starts, and again at teardown.  What it returns is kept as ``net-info.json`` in
the pod dir: ``status``/``list`` show it and ``/etc/hosts`` and
``/etc/resolv.conf`` are written from it.

Attaching runs in a thread while the runtime mounts the apps' root filesystems
and writes their bundles (the CNI plugins spend most of their time in iptables
and netlink); :func:`hosts` and :func:`resolv_conf`, which every app's setup
calls before it can start, wait for it and raise its error.  The backend is
imported and its :meth:`NetworkBackend.prepare` run before that thread starts,
so that the thread starts the first plugin at once instead of competing with the
runtime's thread for the GIL (errors in the request are raised from
:func:`setup` itself).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from carpool.errors import UsageError
from carpool.fsutil import atomic_write_text

if TYPE_CHECKING:
    import threading

NET_INFO = "net-info.json"
CNI_STATE_DIR = "net"  # where the CNI backend records a pod's attachments


class NetworkBackend(Protocol):
    def prepare(
        self, *, pod_uuid: str, netns: Path, networks: list[str], pod_dir: Path
    ) -> Callable[[], dict[str, Any]]:
        """Check and record what attaching the netns to ``networks`` takes (caller's thread).

        Returns the attaching itself, run in a thread of its own, which returns what
        ``status`` shows (``net-info``).
        """

    def teardown(
        self, *, pod_uuid: str, netns: Path | None, pod_dir: Path, netns_dies: bool
    ) -> None:
        """Undo :meth:`setup` (idempotent; the netns may already be gone).

        ``netns_dies``: the runtime destroys the netns right after (it always does:
        :func:`teardown` is called just before the pod's namespaces are released),
        so interfaces that exist only in it may be left to the kernel.
        """


_backend_factory: Callable[[], NetworkBackend] | None = None


def register_backend(factory: Callable[[], NetworkBackend]) -> None:
    """Replace the CNI backend (tests, other network implementations)."""
    global _backend_factory
    _backend_factory = factory


def _backend() -> NetworkBackend:
    if _backend_factory is not None:
        return _backend_factory()
    from carpool.network.backend import CniBackend

    return CniBackend()


def uses_host_network(nets: list[str]) -> bool:
    return nets == ["host"]


def needs_backend(nets: list[str]) -> bool:
    return nets not in (["host"], ["none"])


def check_available(nets: list[str]) -> None:
    """Fail before anything is set up if ``nets`` cannot be provided (names, args, configs)."""
    if not needs_backend(nets):
        return
    from carpool.network import config, specs  # not the backend: its imports wait for ADD

    config.resolve(specs.parse_nets(nets), config.load_all())


def port_entries(port_specs: list[str]) -> list[dict[str, Any]]:
    """``--port NAME:[HOSTIP:]HOSTPORT`` values as the pod manifest's ``ports`` entries."""
    if not port_specs:
        return []  # without importing carpool.network (ipaddress, dataclasses …)
    from carpool.network.specs import parse_port

    return [parse_port(spec) for spec in port_specs]


def _exposed_ports(pod_dir: Path) -> list[Any]:
    try:
        manifest = json.loads((pod_dir / "pod").read_text())
    except (OSError, json.JSONDecodeError):
        return []
    return list(manifest.get("ports") or [])


def setup(pod_uuid: str, netns: Path | None, nets: list[str], pod_dir: Path) -> None:
    if not needs_backend(nets) or netns is None:
        if _exposed_ports(pod_dir):
            raise UsageError(f"--port cannot be used with --net {','.join(nets)}")
        (pod_dir / NET_INFO).unlink(missing_ok=True)
        return
    import threading  # here: --net none and host never start the thread

    errors: list[BaseException] = []
    # imported and prepared in this thread: the attaching thread only runs the plugins
    backend = _backend()
    attach_all = backend.prepare(pod_uuid=pod_uuid, netns=netns, networks=nets, pod_dir=pod_dir)

    def attach() -> None:
        try:
            info = attach_all()
            atomic_write_text(pod_dir / NET_INFO, json.dumps(info), durable=False)
        except BaseException as exc:  # handed to the thread that waits
            errors.append(exc)

    # daemon: a carpool killed mid-ADD leaves the attachment record for gc
    thread = threading.Thread(target=attach, name=f"cni-{pod_uuid}", daemon=True)
    _pending[pod_dir] = (thread, errors)
    thread.start()


_pending: dict[Path, tuple[threading.Thread, list[BaseException]]] = {}


def wait_ready(pod_dir: Path) -> None:
    """Wait for :func:`setup` of ``pod_dir`` to finish; raise its error, if any."""
    entry = _pending.pop(pod_dir, None)
    if entry is None:
        return
    thread, errors = entry
    thread.join()
    if errors:
        raise errors[0]


def teardown(pod_uuid: str, nets: list[str], netns: Path | None, pod_dir: Path) -> None:
    """Detach the pod from its networks; run for every pod, whatever its ``--net``.

    The backend acts on what it recorded in the pod dir, so a pod whose options
    were lost, or whose ``carpool run`` was killed mid-setup, is detached too.
    The caller releases the pod's namespaces next (``runtime.setup.teardown``),
    which destroys the netns and with it the pod's side of every veth.
    """
    entry = _pending.pop(pod_dir, None)
    if entry is not None:
        entry[0].join()  # never DEL while ADD runs; its error was or will not be reported
    if _backend_factory is None and not (pod_dir / CNI_STATE_DIR).exists():
        return  # never attached to a CNI network: nothing to undo
    _backend().teardown(pod_uuid=pod_uuid, netns=netns, pod_dir=pod_dir, netns_dies=True)


def _info(pod_dir: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((pod_dir / NET_INFO).read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data


def describe(pod_dir: Path, nets: list[str]) -> list[dict[str, Any]]:
    """Each network of the pod (rkt's status JSON: ``netName``, ``ifName``, ``ip`` …)."""
    recorded = _info(pod_dir).get("networks")
    if recorded:
        return list(recorded)
    return [{"netName": name.partition(":")[0]} for name in nets]


def describe_text(networks: list[dict[str, Any]]) -> str:
    """rkt's ``networks=`` form: ``default:ip4=172.16.28.2,mynet:ip4=10.1.0.5``."""
    parts = []
    for net in networks:
        ip = net.get("ip")
        if ip:
            family = "ip6" if ":" in ip else "ip4"
            parts.append(f"{net['netName']}:{family}={ip}")
        else:
            parts.append(str(net["netName"]))
    return ",".join(parts)


def pod_addresses(pod_dir: Path) -> list[str]:
    """The pod's first address on each network, for ``/etc/hosts``."""
    return [n["ip"] for n in _info(pod_dir).get("networks") or [] if n.get("ip")]


def resolv_conf(
    dns: list[str], search: list[str], options: list[str], nets: list[str], pod_dir: Path
) -> bytes | None:
    """``/etc/resolv.conf`` content: flags, else the CNI DNS result, else the host's.

    None leaves the image's file: ``--dns none``, or ``--net none`` without flags
    (no name server is reachable from there).
    """
    from carpool.network.dns import resolv_conf as render

    wait_ready(pod_dir)
    if nets == ["none"] and not (dns or search or options):
        return None
    return render(dns, search, options, _info(pod_dir).get("dns"))


def hosts(existing: str | None, hostname: str, pod_dir: Path) -> str:
    """``/etc/hosts``: the image's (or a stub) with the hostname on the pod's addresses."""
    from carpool.network.dns import hosts as render

    wait_ready(pod_dir)
    return render(existing, hostname, pod_addresses(pod_dir))
