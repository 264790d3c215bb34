"""synapse without ZooKeeper: config errors, Airbnb configs, the embedded watcher, the
template and console routers, and a user-supplied reloadCommand."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from carpool.discovery.payload import Backend, encode_airbnb, encode_go_nerve
from carpool.discovery.registry import RegistrySpec, open_registry
from carpool.discovery.synapse.config import load_config, split_listen_lines
from carpool.discovery.synapse.haproxy.render import server_options
from carpool.discovery.synapse.routers import TemplateRouter
from tests.discovery.synapse.conftest import free_port, haproxy_router, http_get, wait_for


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"routers": [{"type": "nginx", "services": []}]}, "routers[0].type: unknown router"),
        ({"routers": [{"type": "haproxy", "services": []}]}, "routers[0].configPath: is required"),
        (
            {"routers": [{"type": "console", "services": [{"name": "x"}]}]},
            "routers[0].services[0].watcher: is required",
        ),
        (
            {
                "routers": [
                    {
                        "type": "console",
                        "services": [
                            {"watcher": {"type": "zookeeper", "path": "/a", "hosts": ["nope"]}}
                        ],
                    }
                ]
            },
            "routers[0].services[0].watcher.hosts: 'nope' is not host:port",
        ),
        (
            {
                "routers": [
                    {
                        "type": "console",
                        "services": [
                            {"watcher": {"type": "zookeeper", "hosts": ["h:1"], "path": "rel"}}
                        ],
                    }
                ]
            },
            "routers[0].services[0].watcher.path",
        ),
        (
            {
                "routers": [
                    {
                        "type": "console",
                        "services": [
                            {"watcher": {"type": "embedded", "path": "/a"}, "port": "eighty"}
                        ],
                    }
                ]
            },
            "routers[0].services[0].port: 'eighty' is not an integer",
        ),
        (
            {"routers": [{"type": "template", "destinationFile": "/tmp/x", "services": []}]},
            "routers[0].template: exactly one of template and templateFile",
        ),
        (
            {"services": {"web": {"discovery": {"method": "zookeeper"}}}, "haproxy": {}},
            "haproxy.global: is required",
        ),
        ({"apiPort": 1}, "routers: is required"),
    ],
)
def test_bad_configs_fail_with_one_error_line(
    carpool: Any, tmp_path: Path, config: dict[str, Any], message: str
) -> None:
    path = tmp_path / "synapse.yml"
    path.write_text(yaml.safe_dump(config))
    result = carpool("synapse", path, "--check-config", check=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"error: {path}: "), result.stderr
    assert message in lines[-1], result.stderr
    assert "Traceback" not in result.stderr


def test_airbnb_config_is_read(tmp_path: Path) -> None:
    conf_dir = tmp_path / "services"
    conf_dir.mkdir()
    (conf_dir / "search.json").write_text(
        json.dumps(
            {
                "discovery": {
                    "method": "zookeeper",
                    "hosts": ["127.0.0.1:2181"],
                    "path": "/n/search",
                },
                "haproxy": {
                    "port": 3214,
                    "server_options": "check inter 2s cookie %{name}",
                    "listen": ["mode http", "option httpchk GET /health", "maxconn 50"],
                },
            }
        )
    )
    path = tmp_path / "synapse.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "service_conf_dir": str(conf_dir),
                "services": {
                    "api": {
                        "discovery": {
                            "method": "zookeeper",
                            "hosts": ["127.0.0.1:2181"],
                            "path": "/n/api",
                        },
                        "default_servers": [{"name": "fallback", "host": "10.0.0.1", "port": 80}],
                        "label_filters": [{"label": "az", "value": "a"}],
                        "haproxy": {
                            "port": 3213,
                            "backend_name": "api_be",
                            "frontend": ["option httplog"],
                        },
                    }
                },
                "haproxy": {
                    "global": ["daemon"],
                    "defaults": ["mode http"],
                    "config_file_path": str(tmp_path / "haproxy.cfg"),
                    "reload_command": "systemctl reload haproxy",
                    "socket_file_path": str(tmp_path / "haproxy.sock"),
                },
            }
        )
    )
    config = load_config(path)
    assert config.format == "airbnb"
    services = {s.name: s for s in config.services}
    assert services["api"].haproxy_backend == "api_be"
    assert services["api"].default_servers[0].host == "10.0.0.1"
    assert services["search"].port == 3214
    assert "option httpchk GET /health" in services["search"].backend
    assert "maxconn 50" in services["search"].frontend
    assert config.routers[0].haproxy is not None
    assert config.routers[0].haproxy.reload_command == ["sh", "-c", "systemctl reload haproxy"]
    backend = Backend(host="10.0.0.2", port=8080, name="i-1", haproxy_server_options="backup")
    assert server_options(services["search"].server_options, backend) == (
        "check inter 2s cookie i-1 backup"
    )


def test_airbnb_file_output_writes_one_json_file_per_service(tmp_path: Path) -> None:
    path = tmp_path / "synapse.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "services": {
                    "web": {
                        "discovery": {
                            "method": "zookeeper",
                            "hosts": ["127.0.0.1:2181"],
                            "path": "/n/web",
                        },
                        "haproxy": {"port": 3215},
                    }
                },
                "haproxy": {
                    "global": ["daemon"],
                    "defaults": ["mode http"],
                    "config_file_path": str(tmp_path / "haproxy.cfg"),
                },
                "file_output": {"output_directory": str(tmp_path / "out")},
            }
        )
    )
    router_config = load_config(path).routers[1]
    assert router_config.type == "template"
    router = TemplateRouter(router_config)
    backend = Backend(host="10.0.0.2", port=8080, name="i-1")
    router.current = {"web": [backend]}
    router.apply({"web": [backend]}, initial=True)
    written = json.loads((tmp_path / "out" / "web.json").read_text())
    assert [(b["host"], b["port"], b["name"]) for b in written] == [("10.0.0.2", 8080, "i-1")]


def test_listen_lines_split_by_keyword() -> None:
    front, back = split_listen_lines(["mode http", "bind :80", "balance roundrobin"])
    assert front == ["mode http", "bind :80"]
    assert back == ["mode http", "balance roundrobin"]


def test_embedded_watcher_with_template_and_console_routers(
    tmp_path: Path, backends: Any, synapse_factory: Any
) -> None:
    registry_dir = tmp_path / "registry"
    out = tmp_path / "out" / "backends.txt"
    service = {
        "name": "web",
        "watcher": {"type": "embedded", "path": "/services/web", "dataDir": str(registry_dir)},
    }
    config = {
        "apiPort": free_port(),
        "routers": [
            {
                "type": "template",
                "eventsBufferDurationInMilli": 50,
                "destinationFile": str(out),
                "template": "{{range .}}{{.Name}}:{{range .Reports}}"
                " {{.Host}}:{{.Port}}/{{.Weight}}{{end}}\n{{end}}",
                "services": [service],
            },
            {"type": "console", "eventsBufferDurationInMilli": 50, "services": [service]},
        ],
    }
    synapse = synapse_factory(config)
    registry = open_registry(RegistrySpec("embedded", data_dir=registry_dir))
    try:
        a, b = backends("a"), backends("b")
        registry.register(
            "/services/web",
            "a_",
            encode_go_nerve(host="127.0.0.1", port=a.port, name="a", weight=10),
        )
        registration = registry.register(
            "/services/web", "b_", encode_airbnb(host="127.0.0.1", port=b.port, name="b")
        )
        synapse.start(wait=False)
        expected = f"web: 127.0.0.1:{a.port}/10 127.0.0.1:{b.port}/255\n"
        wait_for(lambda: out.exists() and out.read_text() == expected, timeout=15)
        registration.remove()
        wait_for(lambda: out.read_text() == f"web: 127.0.0.1:{a.port}/10\n", timeout=15)
        view = synapse.view()
        assert [x["port"] for x in view["services"]["web"]["backends"]] == [a.port]
        wait_for(lambda: '"service": "web"' in synapse.log.read_text())
    finally:
        registry.close()
        synapse.stop()
    console = [
        json.loads(line) for line in synapse.log.read_text().splitlines() if line.startswith("{")
    ]
    assert [len(line["servers"]) for line in console][-1] == 1


def test_reload_command_is_honoured(tmp_path: Path, backends: Any, synapse_factory: Any) -> None:
    """With reloadCommand synapse does not run HAProxy: it writes the config and calls it."""
    registry_dir = tmp_path / "registry"
    calls = tmp_path / "calls"
    script = tmp_path / "reload.sh"
    script.write_text(f'#!/bin/sh\necho "$HAP_CONFIG" >> {calls}\n')
    script.chmod(0o755)
    port = free_port()
    router = haproxy_router(
        tmp_path,
        [
            {
                "name": "web",
                "port": port,
                "watcher": {
                    "type": "embedded",
                    "path": "/services/web",
                    "dataDir": str(registry_dir),
                },
            }
        ],
        reloadCommand=[str(script)],
    )
    synapse = synapse_factory({"apiPort": free_port(), "routers": [router]})
    registry = open_registry(RegistrySpec("embedded", data_dir=registry_dir))
    try:
        a = backends("a")
        registry.register(
            "/services/web", "a_", encode_go_nerve(host="127.0.0.1", port=a.port, name="a")
        )
        synapse.start(wait=False)
        config = tmp_path / "haproxy.cfg"
        wait_for(
            lambda: config.exists() and f"127.0.0.1:{a.port}" in config.read_text(), timeout=15
        )
        wait_for(lambda: calls.exists() and str(config) in calls.read_text())
        text = config.read_text()
        assert f"bind 127.0.0.1:{port}" in text and "level admin" in text
        time.sleep(0.3)
        assert http_get(port).startswith("ERROR"), "synapse must not start its own HAProxy"
    finally:
        registry.close()
        synapse.stop()


def test_a_killed_synapse_leaves_haproxy_serving_and_the_next_one_takes_it_over(
    tmp_path: Path, backends: Any, synapse_factory: Any
) -> None:
    registry_dir = tmp_path / "registry"
    port = free_port()
    service = {
        "name": "web",
        "port": port,
        "watcher": {"type": "embedded", "path": "/services/web", "dataDir": str(registry_dir)},
    }
    synapse = synapse_factory(
        {"apiPort": free_port(), "routers": [haproxy_router(tmp_path, [service])]}
    )
    registry = open_registry(RegistrySpec("embedded", data_dir=registry_dir))
    try:
        a = backends("a")
        registry.register(
            "/services/web", "a_", encode_go_nerve(host="127.0.0.1", port=a.port, name="a")
        )
        synapse.start()
        wait_for(lambda: http_get(port) == "a", timeout=15)
        master = synapse.master.show_proc().master_pid
        assert synapse.proc is not None
        synapse.proc.kill()  # no cleanup at all
        synapse.proc.wait(timeout=10)
        assert http_get(port) == "a", "HAProxy keeps serving without synapse"
        synapse.start()
        b = backends("b")
        registry.register(
            "/services/web", "b_", encode_go_nerve(host="127.0.0.1", port=b.port, name="b")
        )
        wait_for(lambda: {http_get(port) for _ in range(6)} == {"a", "b"}, timeout=15)
        assert synapse.master.show_proc().master_pid == master
    finally:
        registry.close()
        synapse.stop()
    assert http_get(port).startswith("ERROR")


def test_api_ready_and_metrics(tmp_path: Path, backends: Any, synapse_factory: Any) -> None:
    registry_dir = tmp_path / "registry"
    service = {
        "name": "web",
        "port": free_port(),
        "watcher": {"type": "embedded", "path": "/services/web", "dataDir": str(registry_dir)},
    }
    api = free_port()
    synapse = synapse_factory({"apiPort": api, "routers": [haproxy_router(tmp_path, [service])]})
    registry = open_registry(RegistrySpec("embedded", data_dir=registry_dir))
    try:
        a = backends("a")
        registry.register(
            "/services/web", "a_", encode_go_nerve(host="127.0.0.1", port=a.port, name="a")
        )
        synapse.start()

        def get(route: str) -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{api}{route}", timeout=2) as r:
                return str(r.read().decode())

        wait_for(lambda: get("/ready").strip() == "true", timeout=15)
        wait_for(lambda: 'synapse_service_available_count{service="web"} 1' in get("/metrics"))
        assert 'synapse_watcher_reachable{service="web"} 1' in get("/metrics")
        servers = wait_for(lambda: synapse.view()["routers"][0]["services"]["web"]["servers"])
        (server,) = servers
        assert server["port"] == a.port and server["state"] == "active"
    finally:
        registry.close()
        synapse.stop()


def test_a_config_haproxy_rejects_is_an_error_line(carpool: Any, tmp_path: Path) -> None:
    router = haproxy_router(
        tmp_path,
        [
            {
                "name": "web",
                "port": free_port(),
                "watcher": {"type": "embedded", "path": "/s", "dataDir": str(tmp_path / "r")},
            }
        ],
    )
    router["defaults"].append("no-such-keyword 1")
    path = tmp_path / "synapse.yml"
    path.write_text(yaml.safe_dump({"apiPort": 0, "routers": [router]}))
    result = carpool("synapse", path, "--state-dir", tmp_path / "state", check=False, timeout=60)
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert (
        last.startswith("error: haproxy rejected the configuration") and "no-such-keyword" in last
    ), last
    assert not (tmp_path / "haproxy.cfg").exists(), "a rejected config is never installed"
