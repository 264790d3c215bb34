"""The embedded registry: ZooKeeper's contract on one host, with no server.

Layout under the registry directory (``<data dir>/discovery/registry`` by default)::

    sessions/<session id>.lock   held with flock(LOCK_EX) for the registrant's life
    tree/<service path>/.lock    serializes sequence numbers and writes in that path
    tree/<service path>/.sequence
    tree/<service path>/<node>   "<session id>\\n" + payload bytes

*Ephemeral* nodes: a node belongs to a session, and a session is alive exactly while
some process holds the lock on its file.  The kernel drops the lock when the process
dies, however it dies, so a crashed nerve's nodes vanish from every watcher's view at
the next poll and are garbage-collected by whoever notices.  The session file is locked
*before* it gets its final name, so nobody can see it unlocked while its owner lives.

Writes are atomic (temp file + rename); watchers poll (``poll_interval``, 0.1 s by
default) and deliver the full set when it changed, like the ZooKeeper watch.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
import uuid
from pathlib import Path

from carpool.discovery.registry import (
    DeliveringWatch,
    Registration,
    Registry,
    Watch,
    WatchCallback,
    WatchEvent,
    normalize_path,
)
from carpool.errors import DiscoveryError
from carpool.fsutil import atomic_write_bytes
from carpool.locks import file_lock
from carpool.log import get_logger

log = get_logger(__name__)


def session_alive(sessions_dir: Path, session_id: str) -> bool:
    """True while some process holds the session's lock."""
    if not session_id or "/" in session_id or session_id.startswith("."):
        return False
    try:
        fd = os.open(sessions_dir / f"{session_id}.lock", os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return True
        raise
    finally:
        os.close(fd)
    return False


class EmbeddedRegistry(Registry):
    """A file-based registry in ``root`` shared by every process of the host."""

    def __init__(self, root: Path, *, poll_interval: float = 0.1, refresh_interval: float = 1.0):
        self.root = Path(root)
        self.poll_interval = poll_interval
        self.refresh_interval = refresh_interval
        self.sessions_dir = self.root / "sessions"
        self.tree = self.root / "tree"
        self._lock = threading.Lock()
        self._session_id: str | None = None
        self._session_fd: int | None = None
        self._registrations: list[_EmbeddedRegistration] = []
        self._watches: list[_EmbeddedWatch] = []
        self._closed = threading.Event()
        self._refresher: threading.Thread | None = None

    @property
    def connected(self) -> bool:
        return os.access(self.root, os.R_OK | os.X_OK) or not self.root.exists()

    @property
    def session_id(self) -> str | None:
        return self._session_id

    def service_dir(self, service_path: str) -> Path:
        return self.tree.joinpath(*normalize_path(service_path).strip("/").split("/"))

    def _ensure_session(self) -> str:
        with self._lock:
            if self._session_id is not None:
                return self._session_id
            try:
                self.sessions_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DiscoveryError(f"embedded registry {self.root}: {exc.strerror}") from exc
            session_id = uuid.uuid4().hex
            tmp = self.sessions_dir / f".tmp-{session_id}"
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, f"{os.getpid()}\n".encode())
            os.replace(tmp, self.sessions_dir / f"{session_id}.lock")
            self._session_id, self._session_fd = session_id, fd
            self._refresher = threading.Thread(
                target=self._refresh_loop, name="embedded-registry-refresh", daemon=True
            )
            self._refresher.start()
            return session_id

    def _refresh_loop(self) -> None:
        """Re-create nodes someone removed (e.g. a wrongly run cleanup)."""
        while not self._closed.wait(self.refresh_interval):
            with self._lock:
                registrations = list(self._registrations)
            for registration in registrations:
                try:
                    registration.ensure()
                except Exception as exc:
                    log.warning("embedded registry: %s: %s", registration.prefix, exc)

    def register(self, service_path: str, node_name_hint: str, payload: bytes) -> Registration:
        if self._closed.is_set():
            raise DiscoveryError("embedded registry is closed")
        if not node_name_hint or "/" in node_name_hint or node_name_hint.startswith("."):
            raise DiscoveryError(f"node name {node_name_hint!r}: not usable as a file name")
        session_id = self._ensure_session()
        registration = _EmbeddedRegistration(
            self, self.service_dir(service_path), node_name_hint, payload, session_id
        )
        registration.ensure()
        with self._lock:
            self._registrations.append(registration)
        return registration

    def forget(self, registration: _EmbeddedRegistration) -> None:
        with self._lock:
            if registration in self._registrations:
                self._registrations.remove(registration)

    def watch(self, service_path: str, callback: WatchCallback) -> Watch:
        watch = _EmbeddedWatch(self, normalize_path(service_path), callback)
        with self._lock:
            self._watches.append(watch)
        watch.start()
        return watch

    def read(self, service_path: str) -> dict[str, bytes]:
        """The live nodes of a path (dead sessions' nodes are dropped and collected)."""
        directory = self.service_dir(service_path)
        try:
            names = [n for n in os.listdir(directory) if not n.startswith(".")]
        except FileNotFoundError:
            return {}
        except NotADirectoryError:
            return {}
        alive: dict[str, bool] = {}
        nodes: dict[str, bytes] = {}
        dead: list[tuple[str, str]] = []
        for name in sorted(names):
            try:
                content = (directory / name).read_bytes()
            except (FileNotFoundError, IsADirectoryError):
                continue
            session_id, sep, payload = content.partition(b"\n")
            if not sep:
                continue
            owner = session_id.decode("ascii", "replace")
            if owner not in alive:
                alive[owner] = session_alive(self.sessions_dir, owner)
            if alive[owner]:
                nodes[name] = payload
            else:
                dead.append((name, owner))
        if dead:
            self._collect(directory, dead)
        return nodes

    def _collect(self, directory: Path, dead: list[tuple[str, str]]) -> None:
        try:
            with file_lock(directory / ".lock"):
                for name, owner in dead:
                    path = directory / name
                    try:
                        if path.read_bytes().partition(b"\n")[0].decode() != owner:
                            continue
                        if session_alive(self.sessions_dir, owner):
                            continue
                        path.unlink()
                    except FileNotFoundError:
                        continue
                    with contextlib.suppress(FileNotFoundError):
                        (self.sessions_dir / f"{owner}.lock").unlink()
        except OSError as exc:
            log.debug("embedded registry: collecting %s: %s", directory, exc)

    def close(self) -> None:
        if self._closed.is_set():
            return
        with self._lock:
            watches = list(self._watches)
            registrations = list(self._registrations)
        for watch in watches:
            watch.cancel()
        for registration in registrations:
            registration.remove()
        self._closed.set()
        if self._refresher is not None:
            self._refresher.join(timeout=5)
        with self._lock:
            if self._session_fd is not None and self._session_id is not None:
                with contextlib.suppress(FileNotFoundError):
                    (self.sessions_dir / f"{self._session_id}.lock").unlink()
                os.close(self._session_fd)
                self._session_fd = None


class _EmbeddedRegistration(Registration):
    def __init__(
        self,
        registry: EmbeddedRegistry,
        directory: Path,
        hint: str,
        payload: bytes,
        session_id: str,
    ) -> None:
        self._registry = registry
        self._directory = directory
        self.prefix = str(directory / hint)
        self._hint = hint
        self._payload = payload
        self._session_id = session_id
        self._lock = threading.Lock()
        self._node: Path | None = None
        self._removed = False

    @property
    def node_name(self) -> str | None:
        return self._node.name if self._node else None

    @property
    def path(self) -> str:
        if self._node is None:
            return ""
        return "/" + str(self._node.relative_to(self._registry.tree))

    def _content(self) -> bytes:
        return self._session_id.encode() + b"\n" + self._payload

    def ensure(self) -> None:
        with self._lock:
            if self._removed:
                return
            if self._node is not None:
                try:
                    if self._node.read_bytes() == self._content():
                        return
                except FileNotFoundError:
                    pass
            self._directory.mkdir(parents=True, exist_ok=True)
            with file_lock(self._directory / ".lock"):
                if self._node is None:
                    seq_file = self._directory / ".sequence"
                    try:
                        seq = int(seq_file.read_text().strip() or "0")
                    except (FileNotFoundError, ValueError):
                        seq = 0
                    atomic_write_bytes(seq_file, f"{seq + 1}\n".encode())
                    self._node = self._directory / f"{self._hint}{seq:010d}"
                atomic_write_bytes(self._node, self._content())

    def update(self, payload: bytes) -> None:
        with self._lock:
            self._payload = payload
        self.ensure()

    def wait_registered(self, timeout: float) -> bool:
        with self._lock:
            node = self._node
            if node is None or self._removed:
                return False
            try:
                return node.read_bytes() == self._content()
            except FileNotFoundError:
                return False

    def remove(self) -> None:
        with self._lock:
            self._removed = True
            node, self._node = self._node, None
        if node is not None:
            with contextlib.suppress(FileNotFoundError):
                node.unlink()
        self._registry.forget(self)


class _EmbeddedWatch(DeliveringWatch):
    def __init__(self, registry: EmbeddedRegistry, path: str, callback: WatchCallback) -> None:
        super().__init__(path, callback)
        self._registry = registry
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"embedded-watch{path}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._cancelled.set()
        if threading.current_thread() is not self._thread and self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._cancelled.is_set():
            try:
                event = WatchEvent(self.path, nodes=self._registry.read(self.path))
            except OSError as exc:
                event = WatchEvent(self.path, reachable=False, error=str(exc))
            except Exception as exc:  # never let a watch die silently
                log.exception("watch %s failed", self.path)
                event = WatchEvent(self.path, reachable=False, error=repr(exc))
            self._deliver(event)
            self._cancelled.wait(self._registry.poll_interval)
