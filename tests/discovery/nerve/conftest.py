"""Fixtures for nerve tests: real HTTP backends, nerve subprocesses, ZooKeeper tree reads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.discovery.conftest import LoopbackHttpServer, free_port

REPO = Path(__file__).resolve().parents[3]


class HttpBackend(LoopbackHttpServer):
    """A real HTTP server on 127.0.0.1 whose answers tests can change on the fly."""

    def __init__(self) -> None:
        self.status = 200
        self.body = b"OK healthy"
        self.paths: dict[str, tuple[int, bytes]] = {}
        self.requests: list[tuple[str, str]] = []  # (path, Host header)
        self.fail_next = 0  # answer this many next requests with 500
        super().__init__()

    def answer(self, path: str, host: str) -> tuple[int, bytes]:
        self.requests.append((path, host))
        status, body = self.paths.get(path, (self.status, self.body))
        if self.fail_next > 0:
            self.fail_next -= 1
            status = 500
        return status, body


@pytest.fixture
def http_backend() -> Iterator[HttpBackend]:
    backend = HttpBackend()
    try:
        yield backend
    finally:
        backend.stop()


class NerveProcess:
    """``carpool nerve CONFIG`` as a real subprocess."""

    def __init__(self, workdir: Path, config: dict[str, Any], data_dir: Path) -> None:
        self.workdir = workdir
        self.config_path = workdir / "nerve.yml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.stdout = workdir / "nerve.stdout"
        self.stderr = workdir / "nerve.stderr"
        self.api_port: int | None = config.get("apiPort") or config.get("api_port")
        env = {**os.environ, "CARPOOL_DIR": str(data_dir), "PYTHONPATH": str(REPO / "src")}
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "carpool", "nerve", str(self.config_path)],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=env,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def logs(self) -> str:
        return self.stderr.read_text() + self.stdout.read_text()

    def api(self, method: str, path: str, timeout: float = 30) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.api_port}{path}",
            method=method,
            data=b"" if method == "PUT" else None,
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            status = exc.code
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode()

    def terminate(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


class NerveFactory:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.data_dir = tmp_path / "carpool-data"
        self.data_dir.mkdir(exist_ok=True)
        self.processes: list[NerveProcess] = []

    def __call__(self, config: dict[str, Any]) -> NerveProcess:
        workdir = self.tmp_path / f"nerve{len(self.processes)}"
        workdir.mkdir()
        process = NerveProcess(workdir, config, self.data_dir)
        self.processes.append(process)
        return process

    def cleanup(self) -> None:
        for process in self.processes:
            process.kill()


@pytest.fixture
def nerve(tmp_path: Path) -> Iterator[NerveFactory]:
    """Start nerve subprocesses; every one is killed by pid in teardown."""
    factory = NerveFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.cleanup()


def zk_nodes(client: Any, path: str) -> dict[str, bytes]:
    """Children of ``path`` with their data ({} when the path does not exist)."""
    from kazoo.exceptions import NoNodeError

    try:
        children = client.get_children(path)
    except NoNodeError:
        return {}
    out: dict[str, bytes] = {}
    for child in children:
        try:
            out[child] = client.get(f"{path}/{child}")[0]
        except NoNodeError:
            continue
    return out


def go_service(
    port: int,
    *,
    zk_hosts: str | None = None,
    path: str = "/services/web",
    checks: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A go-nerve service block with fast checks and no warm-up delay by default."""
    service: dict[str, Any] = {
        "name": "web",
        "port": port,
        "checks": checks
        if checks is not None
        else [{"type": "tcp", "rise": 1, "fall": 1, "checkIntervalInMilli": 100}],
        "reporters": [{"type": "zookeeper", "hosts": [zk_hosts], "path": path}] if zk_hosts else [],
        "enableWarmupIntervalInMilli": 20,
        "disableMinDurationInMilli": 0,
        "disableMaxDurationInMilli": 5000,
    }
    service.update(extra)
    return service


def go_config(*services: dict[str, Any], api: bool = False) -> dict[str, Any]:
    return {
        "apiHost": "127.0.0.1",
        "apiPort": free_port() if api else 0,
        "services": list(services),
    }
