"""Snapshots of host state, to prove a test left nothing behind.

A test that leaks a mount, a network namespace, a veth, a cgroup, an iptables
rule or a process breaks the tests after it, so every test is checked in
teardown: host-wide for tests marked ``host``, and for the others the processes
they started and the mounts under the session's temporary dirs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _mountpoints(scope: str | None) -> frozenset[str]:
    points = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4]
            if scope is None or point.startswith(scope):
                points.add(point)
    return frozenset(points)


def _dir_entries(path: str) -> frozenset[str]:
    try:
        return frozenset(os.listdir(path))
    except FileNotFoundError:
        return frozenset()


def _carpool_cgroups() -> frozenset[str]:
    """Cgroups under carpool's parents; pods of other sessions may vanish mid-walk."""
    found: set[str] = set()
    if CGROUP_ROOT.is_dir():
        for controller in CGROUP_ROOT.iterdir():
            for name in ("carpool", "carpool.slice"):
                base = controller / name
                for dirpath, _, _ in os.walk(base, onerror=lambda _: None):
                    if dirpath != str(base):  # the shared parent may stay
                        found.add(dirpath)
    return frozenset(found)


def _descendants(pid: int) -> frozenset[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return frozenset(out)


def _iptables_rules() -> frozenset[str]:
    rules: set[str] = set()
    for tool in ("iptables-save", "ip6tables-save"):
        if shutil.which(tool) is None:
            continue
        proc = subprocess.run([tool], capture_output=True, text=True, check=False)
        rules.update(
            f"{tool}:{line}" for line in proc.stdout.splitlines() if line.startswith(("-A", ":"))
        )
    # counters on chain lines change with traffic; compare names only
    return frozenset(r.split(" [")[0] for r in rules)


@dataclass(frozen=True)
class HostSnapshot:
    mounts: frozenset[str]
    netns: frozenset[str]
    links: frozenset[str]
    runc: frozenset[str]
    cgroups: frozenset[str]
    processes: frozenset[int]
    iptables: frozenset[str]

    @classmethod
    def take(cls, *, host_wide: bool, mount_scope: str | None = None) -> HostSnapshot:
        """Snapshot processes and scoped mounts; with ``host_wide``, everything."""
        empty: frozenset[str] = frozenset()
        return cls(
            mounts=_mountpoints(None if host_wide else mount_scope),
            netns=_dir_entries("/run/netns") if host_wide else empty,
            links=_dir_entries("/sys/class/net") if host_wide else empty,
            runc=_dir_entries("/run/runc") if host_wide else empty,
            cgroups=_carpool_cgroups() if host_wide else empty,
            processes=_descendants(os.getpid()),
            iptables=_iptables_rules() if host_wide else empty,
        )

    def leaks_since(self, before: HostSnapshot) -> list[str]:
        """What exists now that did not exist in ``before``."""
        leaks = []
        for name in ("mounts", "netns", "links", "runc", "cgroups", "processes", "iptables"):
            new = getattr(self, name) - getattr(before, name)
            if new:
                leaks.append(f"{name}: {sorted(map(str, new))}")
        return leaks
