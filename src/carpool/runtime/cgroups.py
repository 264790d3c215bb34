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
from functools import cache
from pathlib import Path

from carpool.oci.spec import Resources

CGROUP_ROOT = Path("/sys/fs/cgroup")
PARENT = "carpool"


def pod_cgroup(pod_uuid: str) -> str:
    return f"/{PARENT}/{pod_uuid}"


@cache  # mounted at boot; looked up once per process (teardown needs it twice)
def _hierarchies() -> tuple[str, ...]:
    if os.path.exists(f"{CGROUP_ROOT}/cgroup.controllers"):  # pure cgroup v2
        return (str(CGROUP_ROOT),)
    try:
        with os.scandir(CGROUP_ROOT) as entries:  # cpu, cpuacct … are symlinks: skipped
            return tuple(e.path for e in entries if e.is_dir(follow_symlinks=False))
    except FileNotFoundError:
        return ()


def _dirs(pod_uuid: str) -> list[str]:
    found = (f"{h}/{PARENT}/{pod_uuid}" for h in _hierarchies())
    return [d for d in found if os.path.isdir(d)]


def _tree(base: str) -> list[str]:
    """``base`` and the cgroups below it, parents first."""
    out = [base]
    for directory in out:  # grows while it is walked
        try:
            with os.scandir(directory) as entries:
                out += [e.path for e in entries if e.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            pass
    return out


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
        for cgroup in _tree(base):
            try:
                with open(f"{cgroup}/cgroup.procs", "rb") as f:
                    found.update(int(p) for p in f.read().split())
            except OSError:
                continue
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
        for path in reversed(_tree(base)):  # children first
            try:
                os.rmdir(path)
            except FileNotFoundError:
                pass
            except OSError:
                failed.append(path)
    return failed
