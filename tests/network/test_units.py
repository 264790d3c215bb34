"""Config loading, flag parsing, CNI results of every version and the DNS files: no host state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carpool.errors import NetworkError, UsageError
from carpool.network import config, dns, masquerade, specs
from carpool.network.attachments import Attachment, _plugin_conf, prepare_config
from carpool.network.iptables import masquerade_chain
from carpool.network.result import summarize


def write(net_d: Path, name: str, data: object) -> Path:
    net_d.mkdir(parents=True, exist_ok=True)
    path = net_d / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_builtin_default_is_rkts_network_with_portmap(tmp_path: Path) -> None:
    nets = config.load_all(tmp_path)
    default = nets["default"]
    assert default.source == "built-in" and default.cni_version in config.SUPPORTED_VERSIONS
    ptp, portmap = default.plugins
    # masqueraded like rkt's, but by carpool once for the subnet, not by ptp per pod
    assert ptp["type"] == "ptp" and ptp["ipMasq"] is False
    assert default.masquerade == "172.16.28.0/24"
    assert ptp["ipam"] == {
        "type": "host-local",
        "subnet": "172.16.28.0/24",
        "routes": [{"dst": "0.0.0.0/0"}],
    }
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True}
    assert "portMappings" in default.capabilities()
    recorded = default.to_json()
    assert recorded[config.MASQUERADE_KEY] == "172.16.28.0/24"
    assert recorded[config.GO_WITH_NETNS_KEY] is True


def test_builtin_default_chains_portmap_only_for_port_maps(tmp_path: Path) -> None:
    default = config.load_all(tmp_path)["default"]
    assert [p["type"] for p in default.for_pod(maps_ports=False).plugins] == ["ptp"]
    assert default.for_pod(maps_ports=True) == default
    assert default.for_pod(maps_ports=False).masquerade == default.masquerade


def test_user_configs_run_as_written(tmp_path: Path) -> None:
    """No carpool masquerading or portmap pruning for net.d files, whatever keys they carry."""
    net_d = tmp_path / "net.d"
    chain = {
        "cniVersion": "1.0.0",
        "name": "default",
        config.MASQUERADE_KEY: "10.1.0.0/24",
        config.GO_WITH_NETNS_KEY: True,
        "plugins": [
            {
                "type": "ptp",
                "ipMasq": True,
                "ipam": {"type": "host-local", "subnet": "10.1.0.0/24"},
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    write(net_d, "50-default.conflist", chain)
    user = config.load_all(tmp_path)["default"]
    assert user.masquerade is None and not user.interfaces_go_with_netns
    assert user.for_pod(maps_ports=False) == user
    recorded = user.to_json()
    assert config.MASQUERADE_KEY not in recorded and config.GO_WITH_NETNS_KEY not in recorded
    assert recorded["plugins"][0]["ipMasq"] is True


def test_user_configs_override_builtins_first_file_wins(tmp_path: Path) -> None:
    net_d = tmp_path / "net.d"
    write(net_d, "10-a.conf", {"cniVersion": "0.3.1", "name": "default", "type": "bridge"})
    write(net_d, "20-b.conflist", {"name": "default", "plugins": [{"type": "ptp"}]})
    write(net_d, "30-c.json", {"cniVersion": "0.4.0", "name": "other", "type": "macvlan"})
    write(net_d, "README", "not a config")
    nets = config.load_all(tmp_path)
    assert nets["default"].source == str(net_d / "10-a.conf")
    assert nets["default"].plugins == ({"type": "bridge"},)
    assert nets["default"].cni_version == "0.3.1"
    assert nets["other"].plugins[0]["type"] == "macvlan"
    assert set(nets) == {"default", "other"}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.conf", "{oops", "not valid JSON"),
        ("a.conf", [1], "expected a JSON object"),
        ("a.conf", {"name": "x", "type": "ptp", "cniVersion": "9.9.9"}, "cniVersion '9.9.9'"),
        ("a.conf", {"name": "bad name", "type": "ptp"}, "name 'bad name'"),
        ("a.conf", {"name": "host", "type": "ptp"}, "reserved"),
        ("a.conf", {"name": "x", "type": "../../bin/sh"}, "type '../../bin/sh'"),
        ("a.conf", {"name": "x", "type": "ptp", "ipam": {}}, "ipam.type"),
        ("a.conflist", {"name": "x", "plugins": []}, "plugins must be a non-empty list"),
        ("a.conflist", {"name": "x", "plugins": ["ptp"]}, "plugins[0] must be an object"),
    ],
)
def test_bad_configs_name_the_file_and_field(
    tmp_path: Path, name: str, content: object, message: str
) -> None:
    path = write(tmp_path / "net.d", name, content)
    with pytest.raises(NetworkError) as err:
        config.load_all(tmp_path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_net_and_port_flags() -> None:
    assert specs.parse_net("default") == specs.NetRequest("default")
    req = specs.parse_net("mynet:IP=10.1.2.3;K8S_X=y")
    assert req.args == (("IP", "10.1.2.3"), ("K8S_X", "y"))
    assert req.cni_args() == "IgnoreUnknown=1;IP=10.1.2.3;K8S_X=y"
    for bad in ("mynet:IP", ":IP=1", "mynet:1X=2"):
        with pytest.raises(UsageError, match="--net"):
            specs.parse_net(bad)
    with pytest.raises(UsageError, match="given twice"):
        specs.parse_nets(["a", "a:IP=1"])
    assert specs.parse_port("http:8080") == {"name": "http", "hostPort": 8080}
    assert specs.parse_port("http:127.0.0.1:80") == {
        "name": "http",
        "hostPort": 80,
        "hostIP": "127.0.0.1",
    }
    assert specs.parse_port("dns:[::1]:53")["hostIP"] == "::1"
    for bad in ("http", "http:0", "http:65536", "http:x", "Bad:80", "http:1.2.3:80"):
        with pytest.raises(UsageError, match="--port"):
            specs.parse_port(bad)


def test_port_mappings_from_the_pod_manifest() -> None:
    manifest = {
        "apps": [
            {"name": "a", "app": {"ports": [{"name": "http", "port": 80, "protocol": "tcp"}]}},
            {"name": "b", "app": {"ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}},
        ],
        "ports": [
            {"name": "http", "hostPort": 8080, "hostIP": "127.0.0.1"},
            {"name": "dns", "hostPort": 5353},
        ],
    }
    assert specs.port_mappings(manifest) == [
        {"hostPort": 8080, "containerPort": 80, "protocol": "tcp", "hostIP": "127.0.0.1"},
        {"hostPort": 5353, "containerPort": 53, "protocol": "udp"},
    ]
    manifest["ports"].append({"name": "http", "hostPort": 8080, "hostIP": "127.0.0.1"})
    with pytest.raises(UsageError, match="mapped twice"):
        specs.port_mappings(manifest)
    with pytest.raises(UsageError, match="no app of the pod declares a port 'ssh'"):
        specs.port_mappings({"apps": [], "ports": [{"name": "ssh", "hostPort": 22}]})


def test_results_of_every_version() -> None:
    old = {
        "cniVersion": "0.2.0",
        "ip4": {"ip": "10.1.0.5/16", "gateway": "10.1.0.1"},
        "dns": {"nameservers": ["10.1.0.1"]},
    }
    summary = summarize(old, "eth0")
    assert [(a.ip, a.gateway, a.netmask) for a in summary.addresses] == [
        ("10.1.0.5", "10.1.0.1", "255.255.0.0")
    ]
    assert summary.dns.nameservers == ["10.1.0.1"]
    new = {
        "cniVersion": "1.0.0",
        "interfaces": [
            {"name": "veth1"},
            {"name": "eth0", "sandbox": "/run/netns/x"},
            {"name": "eth9", "sandbox": "/run/netns/x"},
        ],
        "ips": [
            {"interface": 0, "address": "10.9.0.1/32"},
            {"interface": 1, "address": "10.2.0.7/24", "gateway": "10.2.0.1"},
            {"interface": 1, "address": "fd00::7/64"},
            {"interface": 2, "address": "10.3.0.7/24"},
        ],
        "dns": {},
    }
    summary = summarize(new, "eth0")
    assert [a.cidr for a in summary.addresses] == ["10.2.0.7/24", "fd00::7/64"]
    assert summary.host_ifname == "veth1" and summary.dns.empty()
    legacy = {"cniVersion": "0.3.1", "ips": [{"version": "4", "address": "10.4.0.2/24"}]}
    assert [a.ip for a in summarize(legacy, "eth0").addresses] == ["10.4.0.2"]
    assert summarize(None, "eth0").addresses == []


def test_plugin_stdin_follows_the_spec(tmp_path: Path) -> None:
    conf = config.builtin_networks()["default"]
    prepared = prepare_config(conf, tmp_path / "ipam")
    assert prepared["plugins"][0]["ipam"]["dataDir"] == str(tmp_path / "ipam")
    assert "dataDir" not in conf.plugins[0]["ipam"]  # the loaded config is untouched
    maps = [{"hostPort": 1, "containerPort": 2, "protocol": "tcp"}]
    att = Attachment("default", "eth0", "", prepared, {"portMappings": maps, "dns": {}})
    ptp = _plugin_conf(att, 0, None)
    assert ptp["name"] == "default" and ptp["cniVersion"] == conf.cni_version
    assert "runtimeConfig" not in ptp and "prevResult" not in ptp
    portmap = _plugin_conf(att, 1, {"cniVersion": "1.0.0"})
    assert portmap["runtimeConfig"] == {"portMappings": maps}  # only declared capabilities
    assert portmap["prevResult"] == {"cniVersion": "1.0.0"}


def test_masquerade_chain_name_matches_the_plugins() -> None:
    # seen on this host: ptp named the chain of network "exp", container "abc" so
    assert masquerade_chain("exp", "abc") == "CNI-063f875b5d88161df4d522c9"


def test_carpools_masquerade_chain_name() -> None:
    name = masquerade.chain("172.16.28.0/24")
    assert name.startswith("CNI-CARPOOL-") and len(name) <= 28  # iptables' limit
    assert masquerade.chain("172.16.28.7/24") == name  # the network, however written
    assert masquerade.chain("172.16.29.0/24") != name


def test_resolv_conf_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    host = tmp_path / "resolv.conf"
    host.write_text("# host\nnameserver 10.0.0.53\nsearch corp.example\noptions edns0\n")
    monkeypatch.setattr(dns, "HOST_RESOLV_CONF", host)
    cni = {"nameservers": ["10.2.0.1"], "domain": "pods.example", "options": ["ndots:3"]}
    assert dns.resolv_conf([], [], [], None) == host.read_bytes()
    assert dns.resolv_conf(["host"], ["x"], [], cni) == host.read_bytes()
    assert dns.resolv_conf(["none"], [], [], cni) is None
    assert dns.resolv_conf([], [], [], cni) == (
        b"nameserver 10.2.0.1\nsearch pods.example\noptions ndots:3\n"
    )
    assert dns.resolv_conf(["10.9.9.9"], [], [], cni) == (
        b"nameserver 10.9.9.9\nsearch pods.example\noptions ndots:3\n"
    )
    assert dns.resolv_conf([], ["a.example"], ["ndots:1"], None) == (
        b"nameserver 10.0.0.53\nsearch a.example\noptions ndots:1\n"
    )


def test_hosts_file() -> None:
    stub = dns.hosts(None, "web-1", ["10.2.0.7"])
    assert stub.splitlines() == [
        "127.0.0.1\tlocalhost localhost.localdomain",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "10.2.0.7\tweb-1",
    ]
    image = "127.0.0.1 localhost\n127.0.1.1 web-1 web\n10.0.0.1 db\n"
    assert dns.hosts(image, "web-1", []).splitlines() == [
        "127.0.0.1 localhost",
        "10.0.0.1 db",
        "127.0.0.1\tweb-1",
    ]
