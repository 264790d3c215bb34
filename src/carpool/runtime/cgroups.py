"""The pod's cgroup parent ``/carpool/<uuid>`` (cgroup v1 hierarchies and the v2 mount).

runc creates each app's cgroup below it (``/carpool/<uuid>/<app>``) and removes
that leaf on delete; carpool owns the parent: pod-wide limits go there, and
clean-up kills whatever is left in it and removes it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from carpool.oci.spec import Resources

CGROUP_ROOT = Path("/sys/fs/cgroup")
PARENT = "carpool"


def pod_cgroup(pod_uuid: str) -> str:
    return f"/{PARENT}/{pod_uuid}"


def _hierarchies() -> list[Path]:
    if (CGROUP_ROOT / "cgroup.controllers").exists():  # pure cgroup v2
        return [CGROUP_ROOT]
    try:
        return [p for p in CGROUP_ROOT.iterdir() if p.is_dir() and not p.is_symlink()]
    except FileNotFoundError:
        return []


def _dirs(pod_uuid: str) -> list[Path]:
    return [h / PARENT / pod_uuid for h in _hierarchies() if (h / PARENT / pod_uuid).is_dir()]


def apply_pod_limits(pod_uuid: str, resources: Resources) -> None:
    """Write pod-wide limits on the parent; the apps' cgroups are bounded by them."""
    writes: list[tuple[str, str, str]] = []
    if resources.memory_limit is not None:
        writes.append(("memory", "memory.limit_in_bytes", str(resources.memory_limit)))
    if resources.cpu_quota is not None:
        writes.append(("cpu", "cpu.cfs_period_us", str(resources.cpu_period or 100000)))
        writes.append(("cpu", "cpu.cfs_quota_us", str(resources.cpu_quota)))
    for controller, name, value in writes:
        path = CGROUP_ROOT / controller / PARENT / pod_uuid
        path.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(value)


def pids(pod_uuid: str) -> set[int]:
    found: set[int] = set()
    for base in _dirs(pod_uuid):
        for root, _subdirs, files in os.walk(base):
            if "cgroup.procs" in files:
                try:
                    text = Path(root, "cgroup.procs").read_text()
                except OSError:
                    continue
                found.update(int(p) for p in text.split())
    return found


def kill_all(pod_uuid: str, timeout: float = 5.0) -> None:
    """SIGKILL every process left in the pod's cgroups and wait for them to go."""
    deadline = time.monotonic() + timeout
    while True:
        left = pids(pod_uuid)
        if not left or time.monotonic() > deadline:
            return
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def remove(pod_uuid: str) -> list[str]:
    """Remove the pod's cgroup dirs (deepest first); what could not be removed."""
    failed = []
    for base in _dirs(pod_uuid):
        subdirs = sorted(
            (Path(root) for root, _d, _f in os.walk(base)),
            key=lambda p: len(p.parts),
            reverse=True,
        )
        for path in subdirs:
            try:
                path.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                failed.append(str(path))
    return failed
