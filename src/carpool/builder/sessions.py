"""Build work dirs that never outlive their build, and clean-up after crashed builds.

A build mounts overlays, runs runc containers (with cgroups) and writes a work dir.
Each build owns a *session*: ``<data dir>/builds/<id>/`` plus ``<id>.lock``, which
the building process holds (``flock``) for its whole life; its containers are named
``carpool-build-<id>-<n>`` in the runc root ``<data dir>/build-runc`` and their
cgroups ``/carpool/carpool-build-<id>-<n>``.  When the session ends it removes all
of that itself (also on errors, SIGINT and SIGTERM).

A process that was SIGKILLed cannot; its lock, though, is released by the kernel.
:func:`recover_builds` (run at the start of every build and ``clean``, and fit for
``carpool gc``) finds the sessions whose lock nobody holds and removes what they
left: containers (``runc delete --force``), processes left in their cgroups, the
cgroups, overlay mounts, the work dir.  A session whose lock is held belongs to a
live build and is never touched.

:func:`project_lock` makes two builds of one project (one target dir) take turns.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from carpool.builder.container import remove_cgroups, remove_container, unmount_all
from carpool.builder.interrupts import deferred_signals
from carpool.locks import file_lock
from carpool.log import get_logger
from carpool.oci.runc import Runc
from carpool.progress import SILENT, Progress
from carpool.runtime import linux
from carpool.store import Store
from carpool.store.fsutil import remove_tree

log = get_logger(__name__)

BUILDS_DIR = "builds"
RUNC_DIR = "build-runc"
CONTAINER_PREFIX = "carpool-build-"
_LOCK_SUFFIX = ".lock"
_RECOVER_LOCK = ".recover.lock"
_PROJECTS_DIR = "projects"


def builds_dir(data_dir: Path) -> Path:
    return data_dir / BUILDS_DIR


def runc_root(data_dir: Path) -> Path:
    return data_dir / RUNC_DIR


@dataclass
class BuildSession:
    """One build's work dir and the names of its containers."""

    id: str
    work: Path
    runc_root: Path
    _count: int = field(default=0, repr=False)

    def new_container_id(self) -> str:
        self._count += 1
        return f"{CONTAINER_PREFIX}{self.id}-{self._count}"


def _session_of(container_id: str) -> str | None:
    """The session ID in a build container's name (older names: the whole suffix)."""
    if not container_id.startswith(CONTAINER_PREFIX):
        return None
    rest = container_id[len(CONTAINER_PREFIX) :]
    return rest.split("-", 1)[0] or None


def _locked_fd(path: Path, *, blocking: bool) -> int | None:
    """An fd holding an exclusive flock on ``path`` (created if missing); None if busy.

    Not :func:`carpool.locks.file_lock`: callers try without waiting first, and keep
    the fd beyond one ``with`` block (a session's lock, the re-entrant project lock).
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _new_locked_file(path: Path, content: bytes) -> int:
    """Create ``path`` already locked: nobody ever sees it unlocked."""
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, content)
        os.rename(temp, path)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return fd


@contextlib.contextmanager
def build_session(data_dir: Path, store_workspace: Path | None = None) -> Iterator[BuildSession]:
    """A fresh work dir, locked for this process; everything in it is removed at the end.

    ``store_workspace`` (a :meth:`Store.workspace` the build holds for the store's
    shared lock) is recorded so that it is removed too if this process is killed.
    """
    builds = builds_dir(data_dir)
    builds.mkdir(parents=True, exist_ok=True)
    session_id = uuid.uuid4().hex[:12]
    lock = builds / f"{session_id}{_LOCK_SUFFIX}"
    record = {"pid": os.getpid(), "store_workspace": str(store_workspace or "")}
    fd = _new_locked_file(lock, json.dumps(record).encode() + b"\n")
    session = BuildSession(session_id, builds / session_id, runc_root(data_dir))
    try:
        session.work.mkdir()
        yield session
    finally:
        try:
            with deferred_signals():
                try:
                    removed = _remove_session(data_dir, session_id, session.work)
                except Exception as exc:  # keep the build's own error; recovery retries
                    log.warning("cannot clean up build %s: %s", session_id, exc)
                    removed = False
                if removed:
                    lock.unlink(missing_ok=True)
        finally:
            os.close(fd)


def recover_builds(data_dir: Path) -> list[str]:
    """Remove what builds killed without a chance to clean up left; what was removed.

    Sessions held by a live process are skipped, so this is safe while other builds
    of the same data dir run.
    """
    builds = builds_dir(data_dir)
    root = runc_root(data_dir)
    if os.geteuid() != 0 or (not builds.is_dir() and not root.is_dir()):
        return []  # only root builds (mounts, containers), so only root cleans up
    builds.mkdir(parents=True, exist_ok=True)
    removed: list[str] = []
    with file_lock(builds / _RECOVER_LOCK):  # one recovery at a time
        candidates: set[str] = set()
        for entry in os.scandir(builds):
            name = entry.name
            if name.startswith("."):
                if ".lock." in name and _stale(entry.path):  # a creation that crashed
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                continue
            candidates.add(name[: -len(_LOCK_SUFFIX)] if name.endswith(_LOCK_SUFFIX) else name)
        for container_id in Runc.at(root).list_ids() if root.is_dir() else []:
            session_id = _session_of(container_id)
            if session_id is not None:
                candidates.add(session_id)
        for session_id in sorted(candidates - {_PROJECTS_DIR}):
            lock = builds / f"{session_id}{_LOCK_SUFFIX}"
            fd = _locked_fd(lock, blocking=False)
            if fd is None:
                continue  # a live build
            try:
                what = _describe(data_dir, session_id)
                if _remove_session(data_dir, session_id, builds / session_id):
                    _remove_store_workspace(data_dir, lock)
                    lock.unlink(missing_ok=True)
                    if what:
                        removed.append(f"build {session_id}: {', '.join(what)}")
            finally:
                os.close(fd)
        toolboxes = data_dir / "builder"
        for staging in sorted(toolboxes.glob(".toolbox-*")) if toolboxes.is_dir() else []:
            if _stale(str(staging), age=600):  # default_builder killed while staging it
                remove_tree(staging)
                removed.append(f"default builder staging: {staging.name}")
    for line in removed:
        log.info("removed the leftovers of an interrupted %s", line)
    return removed


def _remove_store_workspace(data_dir: Path, lock: Path) -> None:
    """The (empty) store workspace a killed build held, named in its lock file."""
    try:
        recorded = json.loads(lock.read_text()).get("store_workspace") or ""
    except (OSError, ValueError, AttributeError):
        return
    if not recorded:
        return
    workspace = Path(recorded)
    tmp = Store(data_dir).layout.tmp
    if workspace.parent == tmp and workspace.name.startswith("build-"):
        remove_tree(workspace)


def _stale(path: str, age: float = 60.0) -> bool:
    try:
        return time.time() - os.lstat(path).st_mtime > age
    except OSError:
        return False


def _describe(data_dir: Path, session_id: str) -> list[str]:
    what = []
    containers = _containers(data_dir, session_id)
    if containers:
        what.append(f"{len(containers)} container(s)")
    mounts = linux.mountpoints_under(str(builds_dir(data_dir) / session_id))
    if mounts:
        what.append(f"{len(mounts)} mount(s)")
    if (builds_dir(data_dir) / session_id).exists():
        what.append("work dir")
    return what


def _containers(data_dir: Path, session_id: str) -> list[str]:
    root = runc_root(data_dir)
    if not root.is_dir():
        return []
    return [c for c in Runc.at(root).list_ids() if _session_of(c) == session_id]


def _remove_session(data_dir: Path, session_id: str, work: Path) -> bool:
    """Containers, cgroups, mounts and work dir of one session; False if some remain."""
    clean = True
    for container_id in _containers(data_dir, session_id):
        clean &= remove_container(runc_root(data_dir), container_id)
    clean &= remove_cgroups(f"{CONTAINER_PREFIX}{session_id}")
    try:
        unmount_all(work)
    except OSError as exc:
        log.warning("cannot unmount the build mounts under %s: %s", work, exc)
    if linux.mountpoints_under(str(work)):
        log.warning("%s: still mounted; left for the next clean-up", work)
        return False  # never delete through a mount
    try:
        remove_tree(work)
    except OSError as exc:
        log.warning("cannot remove %s: %s", work, exc)
        return False
    return clean


# ------------------------------------------------------------------- project locks
_held: dict[Path, list[int]] = {}  # lock path -> [fd, depth]
_held_guard = threading.Lock()


@contextlib.contextmanager
def project_lock(data_dir: Path, target: Path, progress: Progress = SILENT) -> Iterator[None]:
    """One build of ``target`` at a time; others wait (re-entrant within a process).

    The lock files (``builds/projects/<hash of the target path>.lock``) stay: a few
    bytes per project, and deleting a lock file others may wait on is not safe.
    """
    key = hashlib.sha256(str(target.resolve()).encode()).hexdigest()[:24]
    path = builds_dir(data_dir) / _PROJECTS_DIR / f"{key}{_LOCK_SUFFIX}"
    with _held_guard:
        held = _held.get(path)
        if held is not None:
            held[1] += 1
    if held is None:
        fd = _acquire(path, target, progress)
        if fd is None:  # not root: can only reuse a cached build, nothing to guard
            yield
            return
        with _held_guard:
            _held[path] = held = [fd, 1]
    try:
        yield
    finally:
        with _held_guard:
            held[1] -= 1
            last = held[1] == 0
            if last:
                del _held[path]
        if last:
            os.close(held[0])


def _acquire(path: Path, target: Path, progress: Progress) -> int | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = _locked_fd(path, blocking=False)
    except PermissionError:
        return None
    if fd is None:
        progress.step(f"waiting for another build of {target} to finish")
        fd = _locked_fd(path, blocking=True)
    return fd


__all__ = ["BuildSession", "build_session", "project_lock", "recover_builds"]
