"""Shared fixtures for discovery tests: a real ZooKeeper per test module, loopback HTTP.

The server is Debian's ``zookeeper`` package (jars in ``/usr/share/java``), started with
``java`` on a free loopback port with a short ``tickTime`` so that sessions can be as short
as 1 s.  Tests can stop and restart it (outages) and expire sessions.

The JVM is started *detached* (double fork), so that a restart inside one test is not
counted as a process leaked by that test; the fixture still stops it by pid, always.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

JAVA_DIR = Path("/usr/share/java")
ZK_JARS = [
    "zookeeper.jar",
    "zookeeper-jute.jar",
    "slf4j-api.jar",
    "slf4j-nop.jar",
    "netty-handler.jar",
    "netty-common.jar",
    "netty-buffer.jar",
    "netty-transport.jar",
    "netty-codec.jar",
    "netty-resolver.jar",
    "netty-transport-native-epoll.jar",
    "netty-transport-native-unix-common.jar",
    "metrics-core.jar",
    "snappy-java.jar",
    "commons-cli.jar",
    "commons-io.jar",
]
TICK_MS = 500

#: every detached ZooKeeper still running, stopped at interpreter exit as a last resort
#: (e.g. after a KeyboardInterrupt that skipped fixture teardown)
_RUNNING: set[int] = set()


@atexit.register
def _stop_leftovers() -> None:
    for pid in list(_RUNNING):
        stop_pid(pid, timeout=5)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie (detached children are reaped by init)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; returns once the process is gone."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(0.05)


class LoopbackHttpServer:
    """A real HTTP server on 127.0.0.1 in its own thread; subclasses say what a GET answers."""

    def __init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                status, body = owner.answer(self.path, self.headers.get("Host", ""))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        self.running = True

    def answer(self, path: str, host: str) -> tuple[int, bytes]:
        """Status and body for a GET of ``path`` with ``Host: host``."""
        raise NotImplementedError

    def stop(self) -> None:
        """Die like a crashed instance: the port refuses connections at once."""
        if self.running:
            self.server.shutdown()
            self.server.server_close()
            self.running = False


class ZooKeeperServer:
    """A standalone ZooKeeper on ``127.0.0.1:port`` with its own data dir."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.data_dir = workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config = workdir / "zoo.cfg"
        self.log = workdir / "zookeeper.log"
        self.config.write_text(
            f"tickTime={TICK_MS}\n"
            f"dataDir={self.data_dir}\n"
            f"clientPort={self.port}\n"
            "clientPortAddress=127.0.0.1\n"
            "admin.enableServer=false\n"
            "maxClientCnxns=0\n"
            f"minSessionTimeout={2 * TICK_MS}\n"
            f"maxSessionTimeout={40 * TICK_MS}\n"
            "4lw.commands.whitelist=ruok,stat,srvr,cons,dump\n"
            "snapCount=100000\n"
        )
        self.pid: int | None = None

    @property
    def hosts(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        """Start the JVM detached and wait until it answers ``ruok``."""
        assert self.pid is None or not pid_alive(self.pid), "already running"
        classpath = ":".join(str(JAVA_DIR / jar) for jar in ZK_JARS)
        argv = [
            "java",
            "-Xmx128m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Dzookeeper.admin.enableServer=false",
            "-cp",
            classpath,
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            str(self.config),
        ]
        quoted = " ".join("'" + a.replace("'", "'\\''") + "'" for a in argv)
        # sh starts java in the background and exits: java is re-parented (detached)
        out = subprocess.run(
            ["sh", "-c", f"{quoted} >>'{self.log}' 2>&1 </dev/null & echo $!"],
            capture_output=True,
            text=True,
            check=True,
            start_new_session=True,
        )
        self.pid = int(out.stdout.strip())
        _RUNNING.add(self.pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.four_letter("ruok") == "imok" and "Mode" in self.four_letter("srvr"):
                return
            if not pid_alive(self.pid):
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"ZooKeeper did not start; log:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Stop the server (sessions survive in its data dir until they time out)."""
        if self.pid is not None:
            stop_pid(self.pid)
            _RUNNING.discard(self.pid)
            self.pid = None

    def four_letter(self, word: str) -> str:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(word.encode())
                chunks = []
                while chunk := s.recv(65536):
                    chunks.append(chunk)
                return b"".join(chunks).decode(errors="replace")
        except OSError:
            return ""

    def client(self, **kwargs: Any) -> Any:
        """A started kazoo client (caller stops it)."""
        from kazoo.client import KazooClient

        client = KazooClient(hosts=self.hosts, timeout=kwargs.pop("timeout", 5.0), **kwargs)
        client.start(timeout=15)
        return client


def expire_session(hosts: str, client: Any, timeout: float = 15.0) -> None:
    """Expire ``client``'s session server-side (kazoo's own harness trick).

    A second client attaches to the same session id and password and closes it; the
    original client then learns on its next contact that its session expired.
    """
    from kazoo.client import KazooClient, KazooState

    lost = threading.Event()

    def listener(state: str) -> None:
        if state == KazooState.LOST:
            lost.set()

    client.add_listener(listener)
    session_id, password = client.client_id
    twin = KazooClient(hosts=hosts, client_id=(session_id, password), timeout=5.0)
    twin.start(timeout=15)
    twin.stop()
    twin.close()
    assert lost.wait(timeout), "session did not expire"
    client.remove_listener(listener)


def pause_process(pid: int, seconds: float) -> None:
    """SIGSTOP a process long enough for its ZooKeeper session to expire, then SIGCONT."""
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        os.kill(pid, signal.SIGCONT)


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until truthy; return its value or fail with the last one."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")


@pytest.fixture(scope="module")
def zookeeper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZooKeeperServer]:
    """One real ZooKeeper per test module, stopped by pid at module end."""
    server = ZooKeeperServer(tmp_path_factory.mktemp("zookeeper"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def zk(zookeeper: ZooKeeperServer) -> Iterator[ZooKeeperServer]:
    """The module's ZooKeeper, guaranteed running at the start and end of a test."""
    if zookeeper.pid is None or not pid_alive(zookeeper.pid):
        zookeeper.start()
    yield zookeeper
    if zookeeper.pid is None or not pid_alive(zookeeper.pid):
        zookeeper.start()


@pytest.fixture
def kazoo_client(zk: ZooKeeperServer) -> Iterator[Any]:
    """A kazoo client on the module's ZooKeeper for inspecting the tree."""
    client = zk.client()
    try:
        yield client
    finally:
        client.stop()
        client.close()
