"""Fixtures for network tests: private netns, a net.d per test, a fake pod dir.

Every test gets its own subnet (10.231.N.0/24 from a counter mixed with the
pid) through a test-local ``net.d`` that overrides ``default``, so tests of
other engineers on 172.16.28.0/24 never clash with ours.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.background import Background

_claimed: list[int] = []  # fds of the subnet locks this session holds
SUBNET_LOCKS = Path("/tmp/carpool-test-subnets")


@pytest.fixture(scope="session", autouse=True)
def iptables_tables_exist() -> None:
    """Have the (empty) nat and filter tables exist before any leak snapshot is taken.

    With the nftables backend a table appears the first time a rule goes into
    it and stays, empty, after its last rule is gone; its built-in chains would
    look like a leak of the first test on a fresh host.
    """
    for tool in ("iptables", "ip6tables"):
        for table in ("nat", "filter"):
            subprocess.run([tool, "-w", "-t", table, "-S"], capture_output=True, check=False)


def next_subnet() -> str:
    """A 10.231.N.0/24 no other test session (or checkout) on this host is using.

    Each subnet is claimed with a lock file held until the session ends, and one
    that has addresses on the host (a session that died) is skipped.
    """
    SUBNET_LOCKS.mkdir(exist_ok=True)
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    start = os.getpid() % 250
    for offset in range(250):
        n = (start + offset) % 250
        if f" 10.231.{n}." in used:
            continue
        fd = os.open(SUBNET_LOCKS / f"{n}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        _claimed.append(fd)
        return f"10.231.{n}.0/24"
    raise RuntimeError("no free 10.231.N.0/24 subnet for network tests")


def default_conflist(subnet: str, name: str = "default") -> dict[str, Any]:
    return {
        "cniVersion": "1.0.0",
        "name": name,
        "plugins": [
            {
                "type": "ptp",
                "ipMasq": True,
                "ipam": {"type": "host-local", "subnet": subnet, "routes": [{"dst": "0.0.0.0/0"}]},
            },
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
        ],
    }


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config"
    (path / "net.d").mkdir(parents=True)
    monkeypatch.setenv("CARPOOL_CONFIG", str(path))
    return path


@pytest.fixture
def subnet(config_dir: Path) -> str:
    """A fresh subnet for this test's ``default`` network."""
    net = next_subnet()
    (config_dir / "net.d" / "50-default.conflist").write_text(json.dumps(default_conflist(net)))
    return net


class Netns:
    """A named netns (``ip netns add``) standing in for a pod's pinned one."""

    def __init__(self) -> None:
        self.name = f"carpool-test-{uuid.uuid4().hex[:10]}"
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"], check=True)
        self.path = Path("/run/netns") / self.name

    def run(self, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.name, *args], capture_output=True, text=True, **kw
        )

    def addresses(self) -> dict[str, list[str]]:
        out = subprocess.run(
            ["ip", "-j", "-n", self.name, "addr"], capture_output=True, text=True, check=True
        ).stdout
        return {
            link["ifname"]: [f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])]
            for link in json.loads(out)
        }

    def delete(self) -> None:
        if self.path.exists():
            subprocess.run(["ip", "netns", "del", self.name], check=False)


@pytest.fixture
def make_netns() -> Iterator[Any]:
    made: list[Netns] = []

    def make() -> Netns:
        ns = Netns()
        made.append(ns)
        return ns

    yield make
    for ns in made:
        ns.delete()


class FakePod:
    """A pod dir laid out like the runtime's (``<data>/pods/run/<uuid>``)."""

    def __init__(self, data_dir: Path, manifest: dict[str, Any] | None = None) -> None:
        self.uuid = str(uuid.uuid4())
        self.path = data_dir / "pods" / "run" / self.uuid
        self.path.mkdir(parents=True)
        if manifest is not None:
            (self.path / "pod").write_text(json.dumps(manifest))


@pytest.fixture
def make_pod(data_dir: Path) -> Iterator[Any]:
    """Fake pods; whatever a failed test left attached is detached at the end."""
    from carpool.network.backend import CniBackend

    made: list[FakePod] = []

    def make(manifest: dict[str, Any] | None = None) -> FakePod:
        made.append(FakePod(data_dir, manifest))
        return made[-1]

    yield make
    for pod in made:
        CniBackend().teardown(pod_uuid=pod.uuid, netns=None, pod_dir=pod.path)


def leases(data_dir: Path) -> list[str]:
    """host-local's lease files (one per reserved address) under the data dir."""
    root = data_dir / "networks"
    if not root.is_dir():
        return []
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p.name[0].isdigit() and not p.name.startswith("last_reserved")
    )


def cni_rules(*pod_uuids: str) -> list[str]:
    """iptables lines of these pods' CNI chains (all CNI lines when no pod is named)."""
    from carpool.network.iptables import masquerade_chain

    marks = [u for u in pod_uuids] + [masquerade_chain(n, u) for u in pod_uuids for n in NETS]
    out = []
    for tool in ("iptables-save", "ip6tables-save"):
        text = subprocess.run([tool], capture_output=True, text=True, check=False).stdout
        for line in text.splitlines():
            if "CNI" in line and (not marks or any(m in line for m in marks)):
                out.append(line)
    return out


NETS = ("default", "mynet", "broken")


# -- whole pods through the CLI ------------------------------------------------


@pytest.fixture(scope="session")
def server_aci(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """busybox whose app serves one line on port 8080 (declared as port ``http``) forever."""
    from tests.runtime.images import build_aci

    return build_aci(
        tmp_path_factory.mktemp("network-images") / "server.aci",
        name="example.com/netserver",
        app={
            "exec": [
                "/bin/busybox",
                "nc",
                "-ll",
                "-p",
                "8080",
                "-e",
                "/bin/echo",
                "hello-from-pod",
            ],
            "ports": [{"name": "http", "port": 8080, "protocol": "tcp"}],
        },
    )


@pytest.fixture
def pod_subnet(carpool: Any) -> str:
    """A fresh subnet for ``default`` in the CLI's own config dir."""
    net = next_subnet()
    net_d = Path(carpool.env["CARPOOL_CONFIG"]) / "net.d"
    net_d.mkdir(parents=True, exist_ok=True)
    (net_d / "50-default.conflist").write_text(json.dumps(default_conflist(net)))
    return net


@pytest.fixture
def background(carpool: Any, tmp_path: Path) -> Iterator[Any]:
    started: list[Background] = []

    def start(*args: str) -> Background:
        started.append(Background(carpool, list(args), tmp_path))
        return started[-1]

    yield start
    # also after a SIGKILL of carpool run: the pod outlives it until stopped
    listed = carpool("list", "--full", "--format", "json", check=False).stdout or "[]"
    for pod in json.loads(listed):
        if pod["state"] == "running":
            carpool("stop", "--force", pod["name"], check=False)
    for bg in started:
        bg.close()
    carpool("gc", "--grace", "0s", check=False)


def assert_portmap_chains_pruned() -> None:
    """portmap's shared chains are gone, unless another session's pod forwards a port."""
    rules = cni_rules()
    if not any(r.startswith("-A CNI-HOSTPORT-DNAT ") for r in rules):
        assert not [r for r in rules if "HOSTPORT" in r]


def forward_port() -> int:
    """A host port for a forward that no other test session uses.

    portmap forwards with DNAT rules, never a listening socket, so a port that is
    free for ``bind`` may still be forwarded by another session: claim it with a
    lock file too.
    """
    import socket

    SUBNET_LOCKS.mkdir(exist_ok=True)
    start = (os.getpid() * 31) % 10000
    for offset in range(10000):
        port = 20000 + (start + offset) % 10000
        fd = os.open(SUBNET_LOCKS / f"port-{port}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("0.0.0.0", port))
            except OSError:
                os.close(fd)
                continue
        _claimed.append(fd)
        return port
    raise RuntimeError("no free host port for a forward")


# -- the built-in default network on a test subnet -----------------------------

# ``python -c LAUNCHER SUBNET ARGS…``: the carpool CLI with its built-in default on SUBNET
LAUNCHER = (
    "import sys, carpool.network.config as c; c.DEFAULT_SUBNET = sys.argv.pop(1); "
    "from carpool.cli.main import main; main()"
)


@pytest.fixture
def builtin_subnet(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """carpool's own ``default`` network (no net.d override), moved to a fresh subnet."""
    from carpool.network import config

    net = next_subnet()
    monkeypatch.setattr(config, "DEFAULT_SUBNET", net)
    return net


@pytest.fixture
def pod_builtin_subnet(carpool: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI (``carpool`` and background pods) with the built-in default on a fresh subnet."""
    import sys

    import tests.conftest

    net = next_subnet()
    monkeypatch.setattr(tests.conftest, "CARPOOL", [sys.executable, "-c", LAUNCHER, net])
    return net


def masquerade_rules(subnet: str) -> list[str]:
    """The nat lines of carpool's masquerading of ``subnet`` (jump and chain)."""
    from carpool.network.masquerade import chain

    text = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout
    return [line for line in text.splitlines() if chain(subnet) in line]


class Outside:
    """A netns standing for the world outside the host, behind a veth with its own subnet.

    It has no route to pod subnets: a pod's packets are only answered when the
    host masquerades them to its own address on this link.
    """

    def __init__(self) -> None:
        net = ipaddress.ip_network(next_subnet())
        self.host_address, self.address = (str(a) for a in list(net.hosts())[:2])
        self.ns = Netns()
        self.link = f"cpo{uuid.uuid4().hex[:8]}"
        subprocess.run(
            [
                "ip",
                "link",
                "add",
                self.link,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                self.ns.name,
            ],
            check=True,
        )
        subprocess.run(
            ["ip", "addr", "add", f"{self.host_address}/24", "dev", self.link], check=True
        )
        subprocess.run(["ip", "link", "set", self.link, "up"], check=True)
        ns_ip = ["ip", "-n", self.ns.name]
        subprocess.run([*ns_ip, "addr", "add", f"{self.address}/24", "dev", "eth0"], check=True)
        subprocess.run([*ns_ip, "link", "set", "eth0", "up"], check=True)

    def delete(self) -> None:
        subprocess.run(["ip", "link", "del", self.link], capture_output=True, check=False)
        self.ns.delete()


@pytest.fixture
def outside() -> Iterator[Outside]:
    world = Outside()
    yield world
    world.delete()
