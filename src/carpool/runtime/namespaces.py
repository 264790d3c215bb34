"""The pod's shared namespaces, pinned by bind mounts instead of a pause process.

A short-lived thread unshares UTS, IPC and (unless ``--net host``) network
namespaces, sets the hostname, brings ``lo`` up, applies pod sysctls and
bind-mounts its ``/proc/self/ns/*`` onto files in the pod dir, then exits.
The namespaces live as long as those mounts (or a member process) do, so apps join
them by path and no extra process sits in the pod.  The PID namespace cannot be
pinned this way: each app has its own (a deliberate difference from rkt).

A thread, not a forked child: these three namespaces belong to each thread (task)
on its own, so the rest of carpool keeps the host's, and forking carpool's
interpreter cost ~2 ms more (its page tables are copied).  The thread is started
with :mod:`_thread`, so pods that attach no network do not import :mod:`threading`.
"""

from __future__ import annotations

import _thread
import fcntl
import socket
import struct
from pathlib import Path

from carpool.errors import RuntimeFailure
from carpool.runtime import linux

KINDS = {"uts": linux.CLONE_NEWUTS, "ipc": linux.CLONE_NEWIPC, "net": linux.CLONE_NEWNET}
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def _write_sysctl(key: str, value: str) -> None:
    with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
        f.write(value)


def pin(ns_dir: Path, *, kinds: list[str], hostname: str, sysctl: dict[str, str]) -> None:
    """Create and pin new namespaces of ``kinds`` under ``ns_dir/<kind>``."""
    ns_dir.mkdir(parents=True, exist_ok=True)
    for kind in kinds:
        (ns_dir / kind).touch()
    flags = 0
    for kind in kinds:
        flags |= KINDS[kind]
    errors: list[BaseException] = []
    done = _thread.allocate_lock()
    done.acquire()

    def unshare_and_pin() -> None:  # in a thread of its own, which then ends
        try:
            linux.unshare(flags)
            if "uts" in kinds:
                socket.sethostname(hostname)
            if "net" in kinds:
                _loopback_up()
            for key, value in sysctl.items():
                _write_sysctl(key, value)  # /proc/sys follows the writing thread's namespaces
            for kind in kinds:
                source = f"/proc/thread-self/ns/{kind}"
                linux.mount(source, str(ns_dir / kind), None, linux.MS_BIND, None)
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.release()

    _thread.start_new_thread(unshare_and_pin, ())
    done.acquire()
    if errors:
        release(ns_dir)
        raise RuntimeFailure(f"cannot create pod namespaces: {errors[0]}")


def release(ns_dir: Path) -> None:
    """Unmount the pinned namespace files; the kernel frees them with their last user."""
    if not ns_dir.is_dir():
        return
    for entry in ns_dir.iterdir():
        linux.umount(str(entry), detach=True)
        entry.unlink(missing_ok=True)
