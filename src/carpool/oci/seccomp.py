"""Seccomp filters from appc's retain/remove sets, with rkt's named groups.

A remove-set (blacklist) allows everything but the listed syscalls; a retain-set
(whitelist) denies everything else.  With no seccomp isolator carpool applies
:data:`DEFAULT_BLACKLIST` (rkt's ``@rkt/default-blacklist``, which docker's
default profile also blocks), answering EPERM.
"""

from __future__ import annotations

import errno as errno_module
from collections.abc import Iterable

from carpool.errors import ValidationError
from carpool.oci.spec import Seccomp

DEFAULT_BLACKLIST: tuple[str, ...] = (
    "_sysctl",
    "acct",
    "add_key",
    "adjtimex",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "get_kernel_syms",
    "get_mempolicy",
    "init_module",
    "ioperm",
    "iopl",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mbind",
    "mount",
    "move_pages",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "perf_event_open",
    "personality",
    "pivot_root",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "query_module",
    "quotactl",
    "reboot",
    "request_key",
    "set_mempolicy",
    "setns",
    "settimeofday",
    "stime",
    "swapoff",
    "swapon",
    "sysfs",
    "umount",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "ustat",
    "vm86",
    "vm86old",
)

GROUPS: dict[str, tuple[str, ...]] = {
    "@rkt/default-blacklist": DEFAULT_BLACKLIST,
    "@docker/default-blacklist": DEFAULT_BLACKLIST,
}
ALL = "@appc.io/all"
EMPTY = "@appc.io/empty"


def parse_errno(name: str | None, field: str) -> int | None:
    """``"EPERM"`` -> 1; ``None``/empty -> None (kill with SIGSYS, as appc says)."""
    if not name:
        return None
    number = getattr(errno_module, name, None)
    if not name.startswith("E") or not isinstance(number, int):
        raise ValidationError(f"{field}: unknown errno {name!r}")
    return number


def _expand(names: Iterable[str], field: str) -> list[str]:
    out: list[str] = []
    for name in names:
        if name.startswith("@"):
            if name in (ALL, EMPTY):
                continue
            group = GROUPS.get(name)
            if group is None:
                known = ", ".join(sorted([*GROUPS, ALL, EMPTY]))
                raise ValidationError(f"{field}: unknown seccomp group {name!r} (known: {known})")
            out.extend(group)
        else:
            out.append(name)
    return sorted(set(out))


def default_filter() -> Seccomp:
    return Seccomp(
        default_action="SCMP_ACT_ALLOW",
        syscalls=list(DEFAULT_BLACKLIST),
        syscall_action="SCMP_ACT_ERRNO",
        syscall_errno=errno_module.EPERM,
    )


def remove_set(names: list[str], errno_name: str | None, field: str) -> Seccomp | None:
    """Block ``names``; ``@appc.io/empty`` alone means the default filter only."""
    number = parse_errno(errno_name, field)
    syscalls = _expand(names, field)
    if EMPTY in names:
        syscalls = sorted(set(syscalls) | set(DEFAULT_BLACKLIST))
    return Seccomp(
        default_action="SCMP_ACT_ALLOW",
        syscalls=syscalls,
        syscall_action="SCMP_ACT_KILL" if number is None else "SCMP_ACT_ERRNO",
        syscall_errno=number,
    )


def retain_set(names: list[str], errno_name: str | None, field: str) -> Seccomp | None:
    """Allow only ``names``; ``@appc.io/all`` disables filtering (None)."""
    if ALL in names:
        return None
    number = parse_errno(errno_name, field)
    return Seccomp(
        default_action="SCMP_ACT_KILL" if number is None else "SCMP_ACT_ERRNO",
        default_errno=number,
        syscalls=_expand(names, field),
        syscall_action="SCMP_ACT_ALLOW",
    )
