"""The few Linux system calls Python's standard library lacks (mount, umount, unshare).

Calling them through ctypes keeps ``carpool run`` free of helper subprocesses.  ctypes
is imported on the first call (~3 ms on a slow host): a lone container's ``carpool
run`` makes no mount itself (runc mounts its rootfs) and never loads it.
"""

from __future__ import annotations

import errno
import os
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ctypes

MS_RDONLY = 1
MS_BIND = 4096
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
UMOUNT_NOFOLLOW = 8
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000


@cache
def _libc() -> ctypes.CDLL:
    # The C library Python itself is linked against (dlopen(NULL)): looking it up with
    # ctypes.util.find_library would run ``ldconfig -p`` in a subprocess on every run.
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _errno() -> int:
    import ctypes

    return ctypes.get_errno()


def _check(result: int, what: str) -> None:
    if result != 0:
        code = _errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    import ctypes

    _check(
        _libc().mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def umount(target: str, *, detach: bool = False) -> bool:
    """Unmount ``target``; False if nothing was mounted there."""
    import ctypes

    flags = UMOUNT_NOFOLLOW | (MNT_DETACH if detach else 0)
    if _libc().umount2(target.encode(), ctypes.c_int(flags)) == 0:
        return True
    code = _errno()
    if code in (errno.EINVAL, errno.ENOENT):
        return False
    raise OSError(code, f"umount {target}: {os.strerror(code)}")


def unshare(flags: int) -> None:
    import ctypes

    _check(_libc().unshare(ctypes.c_int(flags)), "unshare")


def mountpoints_under(prefix: str) -> list[str]:
    """Mount points at or below ``prefix``, deepest first (the order to unmount them)."""
    prefix = prefix.rstrip("/")
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                found.append(point)
    return sorted(set(found), key=lambda p: p.count("/"), reverse=True)
