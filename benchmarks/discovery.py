"""Discovery failover: how long clients of a local HAProxy see errors when backends go.

Runs ``carpool synapse`` (its own HAProxy, master-worker) on the embedded registry,
three local HTTP backends on 127.0.0.1 registered in go-nerve's format, and a bounded
load loop (two client threads) against the HAProxy frontend.  HAProxy checks every
200 ms (``check inter 200 fall 1``).  Measured:

1. **death**: a backend's listening socket closes abruptly (a crash) while its
   registration stays (nerve has not noticed yet).  Figure: time from the death to the
   last failed request, and failures.  Once with ``retry-on all-retryable-errors`` +
   ``option redispatch`` (what the demo and tests use) and once without (checks only).
2. **graceful churn**: five rolling replacements: start a new instance, register it,
   wait until it serves; drain the old one (``available: false`` as go-nerve's disable
   writes it), wait until HAProxy stopped using it, stop it, deregister.  Figure: failed
   requests (target 0) and how many HAProxy reloads the churn cost.

Targets: last failure under 500 ms after a death; zero failed requests during a graceful
drain.  Everything runs on loopback, bounded in time, and is stopped by pid at the end.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from carpool.discovery.payload import encode_go_nerve  # noqa: E402
from carpool.discovery.registry import RegistrySpec, open_registry  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Backend:
    def __init__(self, name: str) -> None:
        self.name = name
        body = name.encode()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.alive = True

    def kill(self) -> None:
        if self.alive:
            self.server.shutdown()
            self.server.server_close()
            self.alive = False


class Load:
    """Two client threads hammering the frontend, bounded to ``max_seconds``."""

    def __init__(self, port: int, threads: int = 2, max_seconds: float = 60) -> None:
        self.port = port
        self.max_seconds = max_seconds
        self.ok = 0
        #: (sent, answered) monotonic times of each failed request
        self.failures: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        url = f"http://127.0.0.1:{self.port}/"
        while not self._stop.is_set() and time.monotonic() < deadline:
            sent = time.monotonic()
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    answer.read()
                self.ok += 1
            except (urllib.error.URLError, OSError):
                self.failures.append((sent, time.monotonic()))

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)


class Synapse:
    def __init__(self, work: Path, registry_dir: Path, retry_on: bool) -> None:
        self.work = work
        self.port = free_port()
        self.api = free_port()
        defaults = [
            "mode http",
            "timeout connect 500ms",
            "timeout client 10s",
            "timeout server 10s",
        ]
        if retry_on:
            defaults += ["option redispatch", "retries 3", "retry-on all-retryable-errors"]
        config = {
            "apiPort": self.api,
            "routers": [
                {
                    "type": "haproxy",
                    "configPath": str(work / "haproxy.cfg"),
                    "eventsBufferDurationInMilli": 100,
                    "global": ["maxconn 2000"],
                    "defaults": defaults,
                    "services": [
                        {
                            "name": "bench",
                            "watcher": {
                                "type": "embedded",
                                "path": "/services/bench",
                                "dataDir": str(registry_dir),
                            },
                            "port": self.port,
                            "serverOptions": "check inter 200 rise 1 fall 1",
                            "slots": 8,
                        }
                    ],
                }
            ],
        }
        (work / "synapse.yml").write_text(yaml.safe_dump(config))
        self.log = open(work / "synapse.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "carpool",
                "--dir",
                str(work / "data"),
                "synapse",
                str(work / "synapse.yml"),
                "--state-dir",
                str(work / "state"),
            ],
            stdout=self.log,
            stderr=self.log,
            env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        )

    def view(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.api}/status"
        with urllib.request.urlopen(url, timeout=2) as answer:
            return dict(json.load(answer))

    def servers(self) -> set[int]:
        try:
            svc = self.view()["routers"][0]["services"]["bench"]
        except (OSError, KeyError, IndexError, ValueError):
            return set()
        return {s["port"] for s in svc["servers"] if s["state"] == "active"}

    def reloads(self) -> int:
        return int(self.view()["routers"][0]["haproxy"]["reloads"])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def wait_until(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise SystemExit("benchmark: condition not reached in time")


def payload(backend: Backend, available: bool = True) -> bytes:
    return encode_go_nerve(
        host="127.0.0.1",
        port=backend.port,
        name=backend.name,
        available=available,
        weight=255 if available else 0,
    )


def death(retry_on: bool) -> tuple[float | None, float | None, int, int]:
    with tempfile.TemporaryDirectory(prefix="carpool-bench-") as tmp:
        work = Path(tmp)
        registry = open_registry(RegistrySpec("embedded", data_dir=work / "registry"))
        backends = [Backend(f"b{i}") for i in range(3)]
        synapse = Synapse(work, work / "registry", retry_on)
        try:
            for b in backends:
                registry.register("/services/bench", f"{b.name}_", payload(b))
            wait_until(lambda: synapse.servers() == {b.port for b in backends})
            time.sleep(0.5)
            with Load(synapse.port) as load:
                time.sleep(1.0)
                died = time.monotonic()
                backends[0].kill()
                time.sleep(3.0)
            after = [(s, a) for s, a in load.failures if a >= died]
            if not after:
                return None, None, len(load.failures), load.ok
            sent, answered = max(after)
            return sent - died, answered - died, len(load.failures), load.ok
        finally:
            synapse.stop()
            registry.close()
            for b in backends:
                b.kill()


def churn(cycles: int = 5) -> tuple[int, int, int]:
    with tempfile.TemporaryDirectory(prefix="carpool-bench-") as tmp:
        work = Path(tmp)
        registry = open_registry(RegistrySpec("embedded", data_dir=work / "registry"))
        live = [Backend(f"v0-{i}") for i in range(2)]
        regs = {
            b.name: registry.register("/services/bench", f"{b.name}_", payload(b)) for b in live
        }
        synapse = Synapse(work, work / "registry", retry_on=False)
        made = list(live)
        try:
            wait_until(lambda: synapse.servers() == {b.port for b in live})
            reloads = synapse.reloads()
            with Load(synapse.port, max_seconds=120) as load:
                for cycle in range(1, cycles + 1):
                    new = Backend(f"v{cycle}")
                    made.append(new)
                    regs[new.name] = registry.register(
                        "/services/bench", f"{new.name}_", payload(new)
                    )
                    wait_until(lambda new=new: new.port in synapse.servers())
                    old = live.pop(0)
                    regs[old.name].update(payload(old, available=False))
                    wait_until(lambda old=old: old.port not in synapse.servers())
                    time.sleep(0.3)  # nerve's disableMinDuration: in-flight requests finish
                    old.kill()
                    regs.pop(old.name).remove()
                    live.append(new)
                    time.sleep(0.3)
            return len(load.failures), load.ok, synapse.reloads() - reloads
        finally:
            synapse.stop()
            registry.close()
            for b in made:
                b.kill()


def main() -> None:
    print("discovery benchmark: synapse + HAProxy 2.6 on loopback, checks every 200 ms")
    for retry_on in (True, False):
        last, answered, failures, ok = death(retry_on)
        label = "retry-on + redispatch" if retry_on else "checks only (no retry-on)"
        if last is None or answered is None:
            shown = "no failed request after the death"
        else:
            shown = (
                f"last failed request sent {last * 1000:.0f} ms after the death "
                f"(its error came at {answered * 1000:.0f} ms)"
            )
        verdict = "OK" if last is None or last < 0.5 else "MISSED"
        print(f"  death, {label}: {shown}; {failures} failed / {ok} ok; target < 500 ms: {verdict}")
    failures, ok, reloads = churn()
    verdict = "OK" if failures == 0 else "MISSED"
    print(
        f"  graceful churn, 5 replacements: {failures} failed / {ok} ok, "
        f"{reloads} HAProxy reload(s); target 0 failed: {verdict}"
    )


if __name__ == "__main__":
    main()
