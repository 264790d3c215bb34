"""nerve without ZooKeeper: config validation, embedded/file/console reporters."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from carpool.discovery.nerve.config import load_config, warmup_weight
from carpool.discovery.registry import RegistrySpec, WatchEvent, default_embedded_dir, open_registry
from tests.conftest import Cli
from tests.discovery.conftest import free_port, wait_for
from tests.discovery.nerve.conftest import HttpBackend, NerveFactory, go_config, go_service


def write(path: Path, config: Any) -> Path:
    path.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
    return path


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"services": [{"name": "x"}]}, "services[0].port: is required"),
        ({"services": [{"port": "http"}]}, "services[0].port: 'http' is not an integer"),
        ({"services": [{"port": 80, "weight": 300}]}, "services[0].weight: 300 is above 255"),
        (
            {"services": [{"port": 80, "checks": [{"type": "ftp"}]}]},
            "services[0].checks[0].type: unknown check type 'ftp'",
        ),
        (
            {"services": [{"port": 80, "checks": [{"type": "exec"}]}]},
            "services[0].checks[0].command: is required",
        ),
        (
            {"services": [{"port": 80, "reporters": [{"type": "zookeeper", "path": "/a"}]}]},
            "services[0].reporters[0].hosts: at least one host:port is required",
        ),
        (
            {"services": [{"port": 80, "reporters": [{"type": "zookeeper", "hosts": ["h:1"]}]}]},
            "services[0].reporters[0].path: is required",
        ),
        (
            {"services": [{"port": 80, "checks": [{"type": "http", "expectedStatus": "2xx"}]}]},
            "services[0].checks[0].expectedStatus: '2xx' is not a status",
        ),
        ({"services": [{"port": 80}, {"port": 80}]}, "services[1].name: '127.0.0.1:80' is used"),
        (
            {"instance_id": "i-1", "services": {"web": {"host": "h"}}},
            "services.web.port: is required",
        ),
        (
            {"instance_id": "i-1", "services": {"web": {"host": "h", "port": 1, "checks": []}}},
            "services.web.checks: at least one check",
        ),
        ("services: [\n  - port: 80\n  bad", "nerve.yml:"),
    ],
)
def test_bad_configs_fail_with_one_error_line(
    carpool: Cli, tmp_path: Path, config: Any, message: str
) -> None:
    path = write(tmp_path / "nerve.yml", config)
    result = carpool("nerve", "--check-config", path, check=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {path}")
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_check_config_accepts_go_nerve_example(carpool: Cli, tmp_path: Path) -> None:
    # go-nerve's examples/nerve-config-http-zookeeper.yml shape, including the
    # service-level rise/fall that go-nerve ignored
    config = """
logLevel: info
apiPort: 3454
services:
  - name: myapi
    port: 4242
    host: 127.0.0.1
    rise: 4
    fall: 3
    labels: {service: superApi}
    checks:
      - type: http
        path: /health
    reporters:
      - type: zookeeper
        hosts: ['{{ .ZK_HOST }}:2181']
        path: /services/api/myapi
      - type: console
"""
    path = write(tmp_path / "nerve.yml", config)
    result = carpool("nerve", "-k", path, env={"ZK_HOST": "10.1.2.3"})
    assert "go-nerve format, 1 service" in result.stdout
    loaded = load_config(path, env={"ZK_HOST": "10.1.2.3"})
    (service,) = loaded.services
    assert service.reporters[0].hosts == ("10.1.2.3:2181",)
    assert (service.checks[0].rise, service.checks[0].fall) == (4, 3)
    assert service.checks[0].path == "/health"
    assert service.checks[0].statuses.ranges == [(100, 499)]  # go-nerve: not 5xx


def test_airbnb_config_with_service_conf_dir(tmp_path: Path) -> None:
    conf_dir = tmp_path / "services"
    conf_dir.mkdir()
    write(
        conf_dir / "db.json",
        json.dumps(
            {
                "host": "10.0.0.9",
                "port": 5432,
                "zk_hosts": ["zk1:2181", "zk2:2181"],
                "zk_path": "/nerve/services/db",
                "checks": [{"type": "tcp", "timeout": 0.2, "rise": 2, "fall": 3}],
                "rate_limiting": {"average_rate": 2, "max_burst": 5},
            }
        ),
    )
    path = write(
        tmp_path / "nerve.conf.json",
        json.dumps({"instance_id": "i-7", "service_conf_dir": "services", "services": {}}),
    )
    loaded = load_config(path)
    assert loaded.format == "airbnb" and loaded.api_port == 0
    (db,) = loaded.services
    assert db.name == "db" and db.reporter_service_name == "i-7"
    assert db.first_result_decides and not db.warmup and not db.weight_configured
    assert db.checks[0].interval == 0.5 and db.checks[0].timeout == 0.2
    assert db.reporters[0].format == "airbnb"
    assert db.rate_limit is not None
    assert (db.rate_limit.average_rate, db.rate_limit.max_burst) == (2, 5)
    assert db.rate_limit.shadow  # Airbnb's default: only log


def test_warmup_ladder_matches_go_nerve() -> None:
    assert [warmup_weight(i, 255) for i in range(13)] == [
        1, 2, 3, 4, 6, 9, 15, 23, 38, 61, 98, 158, 255,
    ]  # fmt: skip


def test_embedded_reporter_across_processes_and_crash(
    http_backend: HttpBackend, nerve: NerveFactory
) -> None:
    """Two nerves register in the embedded registry; one crashes and its entry vanishes."""
    second_backend = HttpBackend()
    try:
        services = []
        for name, port in (("a", http_backend.port), ("b", second_backend.port)):
            service = go_service(port, warmup=False)
            service["name"] = name
            service["reporters"] = [{"type": "embedded", "path": "/services/web"}]
            services.append(service)
        first = nerve(go_config(services[0]))
        second = nerve(go_config(services[1]))
        registry = open_registry(
            RegistrySpec("embedded", data_dir=default_embedded_dir(nerve.data_dir))
        )
        seen: list[WatchEvent] = []
        registry.watch("/services/web", seen.append)
        try:
            wait_for(lambda: seen and len(seen[-1].nodes) == 2, timeout=15)
            ports = sorted(b.port for b in seen[-1].backends())
            assert ports == sorted([http_backend.port, second_backend.port])
            first.proc.send_signal(signal.SIGKILL)
            first.proc.wait()
            wait_for(lambda: [b.name for b in seen[-1].backends()] == ["b"], timeout=5)
            second_backend.stop()  # its check fails: deregistered
            wait_for(lambda: seen[-1].nodes == {}, timeout=10)
            assert second.terminate() == 0
        finally:
            registry.close()
    finally:
        second_backend.stop()


def test_file_and_console_reporters(
    http_backend: HttpBackend, nerve: NerveFactory, tmp_path: Path
) -> None:
    report = tmp_path / "nerve.report"
    log = tmp_path / "nerve.log"
    service = go_service(http_backend.port, warmup=False)
    service["checks"] = [{"type": "http", "rise": 1, "fall": 1, "checkIntervalInMilli": 100}]
    service["reporters"] = [
        {"type": "file", "path": str(report)},
        {"type": "file", "path": str(log), "append": True},
        {"type": "console"},
    ]
    proc = nerve(go_config(service))
    wait_for(lambda: report.exists() and report.read_bytes())
    expected = (
        b'{"available":true,"host":"127.0.0.1","port":%d,"name":"web","weight":255}'
        % http_backend.port
    )
    assert report.read_bytes() == expected
    http_backend.status = 500
    wait_for(lambda: report.read_bytes() == b"")  # replace mode: truncated when down
    assert proc.terminate() == 0
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["available"] for line in lines] == [True, False, False]
    assert "500" in lines[1]["unavailable_reason"]
    assert lines[2]["unavailable_reason"] == "Service is disabled"  # the shutdown drain
    assert expected.decode() in proc.stdout.read_text()


def test_api_port_in_use_is_an_error(nerve: NerveFactory, tmp_path: Path) -> None:
    import socket

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        config = go_config(go_service(free_port()))
        config["apiPort"] = busy.getsockname()[1]
        proc = nerve(config)
        assert proc.proc.wait(30) == 1
        err = proc.stderr.read_text().strip().splitlines()
        assert err[-1].startswith("error: ") and "apiPort: cannot listen" in err[-1]
    finally:
        busy.close()


def test_rate_limiting_defers_flapping(
    http_backend: HttpBackend, nerve: NerveFactory, tmp_path: Path
) -> None:
    report = tmp_path / "nerve.report"
    service = go_service(http_backend.port, warmup=False)
    service["checks"] = [{"type": "http", "rise": 1, "fall": 1, "checkIntervalInMilli": 50}]
    service["reporters"] = [{"type": "file", "path": str(report)}]
    service["rateLimiting"] = {"averageRate": 0.5, "maxBurst": 1, "shadowMode": False}
    proc = nerve(go_config(service))
    wait_for(lambda: report.exists() and report.read_bytes())
    http_backend.status = 500
    wait_for(lambda: report.read_bytes() == b"")  # the one token in the bucket
    http_backend.status = 200
    back = time.monotonic()
    time.sleep(1.0)
    assert report.read_bytes() == b""  # the recovery waits for a token (2 s at 0.5/s)
    wait_for(lambda: report.read_bytes() != b"", timeout=5)
    assert time.monotonic() - back >= 1.0
    assert proc.terminate() == 0
    assert "rate limited, deferred" in proc.logs()
