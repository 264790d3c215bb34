"""carpool.runtime.namespaces: a pod's pinned namespaces are its own, the host's stay as they were.

Pinning unshares in a thread of carpool's (these namespaces belong to each thread),
so what the thread sets must land in the pod's namespaces and nowhere else.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from carpool.errors import RuntimeFailure
from carpool.runtime import namespaces

pytestmark = pytest.mark.host

SYSCTL = {"net.ipv4.ip_unprivileged_port_start": "77", "kernel.shmmni": "1234"}


def read(path: str) -> str:
    return Path(path).read_text().strip()


def test_pinned_namespaces_get_hostname_lo_and_sysctls_the_host_keeps_its_own(
    tmp_path: Path,
) -> None:
    host = (socket.gethostname(), *(read("/proc/sys/" + k.replace(".", "/")) for k in SYSCTL))
    ns = tmp_path / "ns"
    namespaces.pin(ns, kinds=["uts", "ipc", "net"], hostname="pinned-pod", sysctl=SYSCTL)
    try:
        script = (
            "hostname; cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmni;"
            " ip -o link"
        )
        proc = subprocess.run(
            [
                "nsenter",
                f"--net={ns}/net",
                f"--uts={ns}/uts",
                f"--ipc={ns}/ipc",
                "sh",
                "-c",
                script,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        namespaces.release(ns)
    hostname, port_start, shmmni, *links = proc.stdout.splitlines()
    assert (hostname, port_start, shmmni) == ("pinned-pod", "77", "1234")
    assert len(links) == 1 and links[0].startswith("1: lo: <LOOPBACK,UP,")  # only lo, up
    after = (socket.gethostname(), *(read("/proc/sys/" + k.replace(".", "/")) for k in SYSCTL))
    assert after == host
    assert not ns.exists() or list(ns.iterdir()) == []


def test_a_failure_in_the_pinning_thread_is_reported_and_undone(tmp_path: Path) -> None:
    ns = tmp_path / "ns"
    with pytest.raises(RuntimeFailure, match="cannot create pod namespaces"):
        namespaces.pin(ns, kinds=["uts", "net"], hostname="x", sysctl={"no.such.key": "1"})
    assert list(ns.iterdir()) == []  # nothing left mounted or pinned
    assert socket.gethostname() != "x"
