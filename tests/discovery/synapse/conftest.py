"""Fixtures for synapse tests: local HTTP backends, ``carpool synapse`` subprocesses, and
direct access to the HAProxy they run (stats socket, master socket, real HTTP requests)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from carpool.discovery.synapse.haproxy.runtime import (
    MasterSocket,
    ServerState,
    StatsSocket,
    parse_servers_state,
)
from tests.discovery.conftest import LoopbackHttpServer, free_port, pid_alive, stop_pid, wait_for

REPO = Path(__file__).resolve().parents[3]


class Backend(LoopbackHttpServer):
    """A real HTTP server on 127.0.0.1 answering its own name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.hits = 0
        super().__init__()

    def answer(self, path: str, host: str) -> tuple[int, bytes]:
        self.hits += 1
        return 200, self.name.encode()


@pytest.fixture
def backends() -> Iterator[Any]:
    made: list[Backend] = []

    def make(name: str) -> Backend:
        backend = Backend(name)
        made.append(backend)
        return backend

    try:
        yield make
    finally:
        for backend in made:
            backend.stop()


def http_get(port: int, timeout: float = 2.0) -> str:
    """One request through the HAProxy frontend; the body, or ``ERROR …``."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=timeout) as answer:
            return str(answer.read().decode())
    except (urllib.error.URLError, OSError) as exc:
        return f"ERROR {exc}"


class LoadLoop:
    """Requests in a loop through the frontend (bounded), counting failures."""

    def __init__(self, port: int, interval: float = 0.01, max_seconds: float = 120) -> None:
        self.port = port
        self.interval = interval
        self.max_seconds = max_seconds
        self.ok = 0
        self.failures: list[tuple[float, str]] = []
        self.bodies: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            body = http_get(self.port)
            if body.startswith("ERROR"):
                self.failures.append((time.monotonic(), body))
            else:
                self.ok += 1
                self.bodies[body] = self.bodies.get(body, 0) + 1
            time.sleep(self.interval)

    def __enter__(self) -> LoadLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


class SynapseProcess:
    """``carpool synapse CONFIG`` as a real subprocess, with its HAProxy."""

    def __init__(self, workdir: Path, config: dict[str, Any]) -> None:
        self.workdir = workdir
        self.state_dir = workdir / "state"
        self.config_path = workdir / "synapse.yml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.api_port = int(config.get("apiPort", 0))
        self.log = workdir / "synapse.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.haproxy_pids: set[int] = set()

    @property
    def stats(self) -> StatsSocket:
        return StatsSocket(self.state_dir / "haproxy-stats.sock")

    @property
    def master(self) -> MasterSocket:
        return MasterSocket(self.state_dir / "haproxy-master.sock")

    def start(self, wait: bool = True) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "carpool",
                    "--dir",
                    str(self.workdir / "data"),
                    "synapse",
                    str(self.config_path),
                    "--state-dir",
                    str(self.state_dir),
                ],
                stdout=log,
                stderr=log,
                env=env,
            )
        if wait:
            wait_for(lambda: self._up(), timeout=20)

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"synapse exited {self.proc.returncode}:\n{self.log_text()}")
        if self.api_port:
            try:
                self.view()
            except OSError:
                return False
        with contextlib.suppress(Exception):
            info = self.master.show_proc()
            self.haproxy_pids.add(info.master_pid)
            return bool(info.workers)
        return False

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]

    def view(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.api_port}/status"
        with urllib.request.urlopen(url, timeout=2) as answer:
            return dict(json.load(answer))

    def servers(self, backend: str) -> list[ServerState]:
        return parse_servers_state(self.stats.command(f"show servers state {backend}"))

    def ready_servers(self, backend: str) -> set[tuple[str, int]]:
        """(address, port) of the servers HAProxy would route to (not maint/drain)."""
        return {(s.addr, s.port) for s in self.servers(backend) if not s.maint and not s.drain}

    def worker_pids(self) -> list[int]:
        return self.master.show_proc().workers

    def reloads(self) -> int:
        return self.master.show_proc().reloads

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(Exception):
            self.haproxy_pids.add(self.master.show_proc().master_pid)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        # HAProxy must be gone with synapse; make sure in any case (by pid)
        for pid in self.haproxy_pids:
            if pid and pid_alive(pid):
                stop_pid(pid, timeout=2)
        self.haproxy_pids.clear()


@pytest.fixture
def synapse_factory(tmp_path: Path) -> Iterator[Any]:
    made: list[SynapseProcess] = []

    def make(config: dict[str, Any], name: str = "synapse") -> SynapseProcess:
        workdir = tmp_path / name
        workdir.mkdir(exist_ok=True)
        process = SynapseProcess(workdir, config)
        made.append(process)
        return process

    try:
        yield make
    finally:
        for process in made:
            process.stop()


def haproxy_router(
    tmp_path: Path,
    services: list[dict[str, Any]],
    *,
    buffer_ms: int = 100,
    **extra: Any,
) -> dict[str, Any]:
    """A go-synapse HAProxy router section with sane test defaults."""
    return {
        "type": "haproxy",
        "configPath": str(tmp_path / "haproxy.cfg"),
        "eventsBufferDurationInMilli": buffer_ms,
        "reloadMinIntervalInMilli": 100,
        "global": ["maxconn 2000"],
        "defaults": [
            "mode http",
            "timeout connect 500ms",
            "timeout client 10s",
            "timeout server 10s",
            "option redispatch",
            "retries 3",
            "retry-on all-retryable-errors",
        ],
        "services": services,
        **extra,
    }


def zk_service(name: str, hosts: str, path: str, port: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "watcher": {
            "type": "zookeeper",
            "hosts": [hosts],
            "path": path,
            "sessionTimeoutInMilli": 4000,
        },
        "port": port,
        "serverOptions": "check inter 200 rise 1 fall 1",
        **extra,
    }


__all__ = ["free_port", "http_get", "wait_for"]
