"""Pod state on disk, rkt's way: the directory a pod is in, and whether it is locked.

``pods/<state>/<uuid>/`` with states ``embryo``, ``prepare``, ``prepared``,
``run``, ``exited-garbage``, ``garbage``.  Transitions are atomic renames made
while holding an exclusive ``flock`` on the pod directory; a ``run`` pod is
running exactly while some process holds that lock (``carpool run`` and the
``runc run`` processes it starts inherit it, so the pod still counts as running
if ``carpool run`` itself was killed).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from pathlib import Path
from typing import Any

from carpool.errors import RuntimeFailure, UsageError
from carpool.fsutil import atomic_write_bytes

STATES = ("embryo", "prepare", "prepared", "run", "exited-garbage", "garbage")


class PodNotFoundError(UsageError):
    """No pod matches a UUID (prefix)."""

    exit_code = 254


class PodLock:
    """An exclusive or shared ``flock`` on a pod directory (survives renames).

    Not :func:`carpool.locks.file_lock`: this one locks the directory itself (no lock
    file to create), can be tried without waiting, and its ``fd`` outlives any ``with``
    block: it is handed to the ``runc`` children (``pass_fds``) so that the pod stays
    locked, hence running, even if ``carpool run`` is killed.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def acquire(cls, path: Path, *, shared: bool = False, block: bool = False) -> PodLock | None:
        """The lock, or None if someone else holds it (and ``block`` is False)."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        flags = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if block else fcntl.LOCK_NB)
        try:
            fcntl.flock(fd, flags)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return None
            raise
        return cls(fd)

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def is_locked(path: Path) -> bool:
    lock = PodLock.acquire(path, shared=True)
    if lock is None:
        return path.exists()
    lock.release()
    return False


def new_uuid() -> str:
    """A random (version 4) UUID string, as ``str(uuid.uuid4())`` makes it.

    Without :mod:`uuid`, whose import (it imports :mod:`platform`) costs ~3 ms of
    ``carpool run``'s start-up on a slow host.
    """
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Pod:
    """A pod directory as found on disk (a plain class: no dataclasses on the run path)."""

    __slots__ = ("path", "state_dir", "uuid")

    def __init__(self, uuid: str, state_dir: str, path: Path) -> None:
        self.uuid = uuid
        self.state_dir = state_dir
        self.path = path

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pod):
            return NotImplemented
        return (self.uuid, self.state_dir, self.path) == (other.uuid, other.state_dir, other.path)

    __hash__ = None  # type: ignore[assignment]  # mutable: moves change state_dir and path

    def __repr__(self) -> str:
        return f"Pod(uuid={self.uuid!r}, state_dir={self.state_dir!r}, path={self.path!r})"

    @property
    def state(self) -> str:
        """rkt's state string (``running``, ``exited``, ``prepared`` …)."""
        locked = is_locked(self.path)
        return {
            "embryo": "embryo",
            "prepare": "preparing" if locked else "aborted prepare",
            "prepared": "prepared",
            "run": "running" if locked else "exited",
            "exited-garbage": "exited deleting" if locked else "exited garbage",
            "garbage": "deleting" if locked else "garbage",
        }[self.state_dir]

    def manifest(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads((self.path / "pod").read_text())
        except FileNotFoundError:
            raise RuntimeFailure(f"pod {self.uuid} has no manifest (state {self.state})") from None
        return data

    def runtime(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads((self.path / "runtime.json").read_text())
        except FileNotFoundError:
            return {}
        return data

    def app_names(self) -> list[str]:
        try:
            return [a["name"] for a in self.manifest().get("apps", [])]
        except RuntimeFailure:
            return []

    def pick_app(self, app: str | None) -> str:
        """The app named ``app`` (``--app``), or the pod's only app when ``app`` is None."""
        names = self.app_names()
        if app is None:
            if len(names) != 1:
                raise UsageError(f"pod has apps {', '.join(names)}: choose one with --app")
            return names[0]
        if app not in names:
            raise UsageError(f"--app {app}: pod has apps {', '.join(names)}")
        return app

    def created(self) -> float | None:
        return _mtime(self.path / "pod-created")

    def started(self) -> float | None:
        return _mtime(self.path / "started")

    def app_dir(self, app: str) -> Path:
        return self.path / "apps" / app

    def exit_code(self, app: str) -> int | None:
        try:
            return int((self.app_dir(app) / "exit").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def write_atomic(path: Path, data: str | bytes) -> None:
    """Pod state files: atomic, not fsynced (a reboot ends every pod anyway)."""
    atomic_write_bytes(path, data.encode() if isinstance(data, str) else data, durable=False)


class PodStore:
    """The ``pods/`` tree of one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.root = data_dir / "pods"

    def create_embryo(self) -> tuple[Pod, PodLock]:
        """A new pod in ``prepare/``, exclusively locked by the caller."""
        pod_uuid = new_uuid()
        embryo = self.root / "embryo" / pod_uuid
        try:
            embryo.mkdir(mode=0o700)
        except FileNotFoundError:  # a new data dir: make every state dir once
            for state in STATES:
                (self.root / state).mkdir(parents=True, exist_ok=True)
            embryo.mkdir(mode=0o700)
        (embryo / "pod-created").touch()
        lock = PodLock.acquire(embryo)
        if lock is None:  # pragma: no cover - nobody else knows this uuid yet
            raise RuntimeFailure(f"cannot lock new pod {pod_uuid}")
        pod = Pod(pod_uuid, "embryo", embryo)
        self.move(pod, "prepare")
        return pod, lock

    def move(self, pod: Pod, state: str) -> None:
        """Rename ``pod`` into ``state`` (the caller holds its lock)."""
        target = self.root / state / pod.uuid
        try:
            os.rename(pod.path, target)
        except FileNotFoundError:  # no state dir yet (or no pod: then this raises again)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(pod.path, target)
        pod.path = target
        pod.state_dir = state

    def all(self) -> list[Pod]:
        pods = []
        for state in STATES:
            try:
                entries = list(os.scandir(self.root / state))
            except FileNotFoundError:
                continue
            for entry in entries:
                if entry.is_dir() and not entry.name.startswith("."):
                    pods.append(Pod(entry.name, state, Path(entry.path)))
        return sorted(pods, key=lambda p: (p.created() or 0, p.uuid))

    def find(self, prefix: str) -> Pod:
        """The pod whose UUID starts with ``prefix`` (rkt accepts any unambiguous prefix)."""
        prefix = prefix.strip().lower()
        if not prefix:
            raise PodNotFoundError("no pod UUID given")
        matches = [p for p in self.all() if p.uuid.startswith(prefix)]
        if not matches:
            raise PodNotFoundError(f"no pod matches UUID {prefix!r}")
        if len({p.uuid for p in matches}) > 1:
            raise PodNotFoundError(f"UUID prefix {prefix!r} matches several pods")
        return matches[0]

    def refind(self, pod: Pod) -> Pod | None:
        """Where ``pod`` is now (another process may have moved it)."""
        for state in STATES:
            path = self.root / state / pod.uuid
            if path.is_dir():
                return Pod(pod.uuid, state, path)
        return None
