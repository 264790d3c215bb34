"""``config.json`` for one container, from settings the runtime has already decided.

The runtime resolves users, environment, volumes and isolators; this module only
knows how the OCI runtime spec (1.0.2, as runc 1.1 reads it) spells them.

The settings are plain classes, not dataclasses: this module is on ``carpool run``'s
path, where importing :mod:`dataclasses` (and :mod:`inspect` with it) plus generating
each class's methods cost ~15 ms (and a ``NamedTuple`` compiles a forward reference per
field, ~0.2 ms each on a slow host).
"""

from __future__ import annotations

from typing import Any

from carpool.appc.capabilities import DEFAULT_CAPABILITIES as APPC_DEFAULT_CAPABILITIES

OCI_VERSION = "1.0.2"


# Every capability Linux defines, by number (capability.h); used when
# --insecure-options=capabilities lifts the restriction.
ALL_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)

# rkt's protected paths (stage1/init/common/app.go) plus runc's own defaults.
READONLY_PATHS: tuple[str, ...] = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
    "/sys/block",
    "/sys/bus",
    "/sys/class",
    "/sys/dev",
    "/sys/devices",
    "/sys/kernel",
)
MASKED_PATHS: tuple[str, ...] = (
    "/proc/acpi",
    "/proc/asound",
    "/proc/config.gz",
    "/proc/kallsyms",
    "/proc/kcore",
    "/proc/keys",
    "/proc/kmem",
    "/proc/latency_stats",
    "/proc/mem",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/firmware",
    "/sys/fs",
    "/sys/hypervisor",
    "/sys/module",
    "/sys/power",
)


class Mount:
    """One entry of ``mounts``."""

    __slots__ = ("destination", "options", "source", "type")

    def __init__(
        self, destination: str, source: str, type: str = "bind", options: list[str] | None = None
    ) -> None:
        self.destination = destination
        self.source = source
        self.type = type
        self.options = [] if options is None else options

    def _key(self) -> tuple[str, str, str, list[str]]:
        return (self.destination, self.source, self.type, self.options)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mount):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return "Mount(destination={!r}, source={!r}, type={!r}, options={!r})".format(*self._key())

    def to_json(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "type": self.type,
            "source": self.source,
            "options": list(self.options),
        }


def bind_mount(source: str, destination: str, *, read_only: bool, recursive: bool) -> Mount:
    options = ["rbind" if recursive else "bind", "rprivate", "ro" if read_only else "rw"]
    return Mount(destination=destination, source=source, options=options)


def default_mounts() -> list[Mount]:
    """The filesystems every Linux app sees (appc OS-SPEC; runc's defaults)."""
    return [
        Mount("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
        Mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        Mount(
            "/dev/pts",
            "devpts",
            "devpts",
            ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        ),
        Mount(
            "/dev/shm", "shm", "tmpfs", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]
        ),
        Mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
        Mount("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
        Mount(
            "/sys/fs/cgroup", "cgroup", "cgroup", ["nosuid", "noexec", "nodev", "relatime", "ro"]
        ),
    ]


class Namespace:
    """A namespace the container gets: a new one, or the one at ``path``."""

    __slots__ = ("path", "type")

    def __init__(self, type: str, path: str | None = None) -> None:
        self.type = type
        self.path = path

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Namespace):
            return NotImplemented
        return (self.type, self.path) == (other.type, other.path)

    def __hash__(self) -> int:
        return hash((self.type, self.path))

    def __repr__(self) -> str:
        return f"Namespace({self.type!r}, {self.path!r})"

    def to_json(self) -> dict[str, str]:
        return {"type": self.type} if self.path is None else {"type": self.type, "path": self.path}


class Seccomp:
    """A seccomp filter: the default action and syscalls with another action."""

    __slots__ = (
        "default_action",
        "default_errno",
        "syscall_action",
        "syscall_errno",
        "syscalls",
    )

    def __init__(
        self,
        default_action: str,
        syscalls: list[str],
        syscall_action: str,
        default_errno: int | None = None,
        syscall_errno: int | None = None,
    ) -> None:
        self.default_action = default_action
        self.syscalls = syscalls
        self.syscall_action = syscall_action
        self.default_errno = default_errno
        self.syscall_errno = syscall_errno

    def __repr__(self) -> str:
        return f"Seccomp({self.to_json()!r})"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "defaultAction": self.default_action,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        }
        if self.default_errno is not None:
            out["defaultErrnoRet"] = self.default_errno
        if self.syscalls:
            rule: dict[str, Any] = {"names": sorted(self.syscalls), "action": self.syscall_action}
            if self.syscall_errno is not None:
                rule["errnoRet"] = self.syscall_errno
            out["syscalls"] = [rule]
        return out


class Resources:
    """cgroup limits (None: not limited)."""

    __slots__ = ("cpu_period", "cpu_quota", "cpu_shares", "memory_limit", "memory_reservation")

    def __init__(
        self,
        memory_limit: int | None = None,
        memory_reservation: int | None = None,
        cpu_quota: int | None = None,
        cpu_period: int | None = None,
        cpu_shares: int | None = None,
    ) -> None:
        self.memory_limit = memory_limit
        self.memory_reservation = memory_reservation
        self.cpu_quota = cpu_quota
        self.cpu_period = cpu_period
        self.cpu_shares = cpu_shares

    def _key(self) -> tuple[int | None, ...]:
        return (
            self.memory_limit,
            self.memory_reservation,
            self.cpu_quota,
            self.cpu_period,
            self.cpu_shares,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resources):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (
            "Resources(memory_limit={!r}, memory_reservation={!r}, cpu_quota={!r}, "
            "cpu_period={!r}, cpu_shares={!r})".format(*self._key())
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"devices": [{"allow": False, "access": "rwm"}]}
        memory: dict[str, int] = {}
        if self.memory_limit is not None:
            memory["limit"] = self.memory_limit
        if self.memory_reservation is not None:
            memory["reservation"] = self.memory_reservation
        if memory:
            out["memory"] = memory
        cpu: dict[str, int] = {}
        if self.cpu_quota is not None:
            cpu["quota"] = self.cpu_quota
            cpu["period"] = self.cpu_period or 100000
        if self.cpu_shares is not None:
            cpu["shares"] = self.cpu_shares
        if cpu:
            out["cpu"] = cpu
        return out


class ContainerSettings:
    """Everything that goes into one container's config.json (None: the default)."""

    __slots__ = (
        "additional_gids",
        "annotations",
        "args",
        "capabilities",
        "cgroups_path",
        "cwd",
        "env",
        "gid",
        "hostname",
        "masked_paths",
        "mounts",
        "namespaces",
        "no_new_privileges",
        "oom_score_adj",
        "read_only_rootfs",
        "readonly_paths",
        "resources",
        "rootfs",
        "seccomp",
        "sysctl",
        "terminal",
        "uid",
    )

    def __init__(
        self,
        rootfs: str,
        args: list[str],
        env: list[str],
        cwd: str = "/",
        uid: int = 0,
        gid: int = 0,
        additional_gids: list[int] | None = None,
        read_only_rootfs: bool = False,
        terminal: bool = False,
        capabilities: list[str] | None = None,
        no_new_privileges: bool = False,
        oom_score_adj: int | None = None,
        mounts: list[Mount] | None = None,
        namespaces: list[Namespace] | None = None,
        hostname: str | None = None,
        cgroups_path: str | None = None,
        resources: Resources | None = None,
        seccomp: Seccomp | None = None,
        masked_paths: list[str] | None = None,
        readonly_paths: list[str] | None = None,
        sysctl: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> None:
        self.rootfs = rootfs
        self.args = args
        self.env = env
        self.cwd = cwd
        self.uid = uid
        self.gid = gid
        self.additional_gids = [] if additional_gids is None else additional_gids
        self.read_only_rootfs = read_only_rootfs
        self.terminal = terminal
        self.capabilities = (
            list(APPC_DEFAULT_CAPABILITIES) if capabilities is None else capabilities
        )
        self.no_new_privileges = no_new_privileges
        self.oom_score_adj = oom_score_adj
        self.mounts = default_mounts() if mounts is None else mounts
        self.namespaces = [] if namespaces is None else namespaces
        self.hostname = hostname
        self.cgroups_path = cgroups_path
        self.resources = Resources() if resources is None else resources
        self.seccomp = seccomp
        self.masked_paths = list(MASKED_PATHS) if masked_paths is None else masked_paths
        self.readonly_paths = list(READONLY_PATHS) if readonly_paths is None else readonly_paths
        self.sysctl = {} if sysctl is None else sysctl
        self.annotations = {} if annotations is None else annotations

    def replace(self, **changes: Any) -> ContainerSettings:
        """A copy with ``changes`` (what :func:`dataclasses.replace` did for it)."""
        values = {name: getattr(self, name) for name in self.__slots__}
        return ContainerSettings(**{**values, **changes})


def build_config(s: ContainerSettings) -> dict[str, Any]:
    """The OCI ``config.json`` document for ``s``."""
    caps = list(s.capabilities)
    # Like rkt: the set bounds everyone; only root also gets it effective.
    granted = caps if s.uid == 0 else []
    process: dict[str, Any] = {
        "terminal": s.terminal,
        "user": {"uid": s.uid, "gid": s.gid},
        "args": list(s.args),
        "env": list(s.env),
        "cwd": s.cwd,
        "capabilities": {
            "bounding": caps,
            "effective": granted,
            "permitted": granted,
            "inheritable": granted,
        },
        "noNewPrivileges": s.no_new_privileges,
    }
    if s.additional_gids:
        process["user"]["additionalGids"] = list(s.additional_gids)
    if s.oom_score_adj is not None:
        process["oomScoreAdj"] = s.oom_score_adj
    linux: dict[str, Any] = {
        "namespaces": [ns.to_json() for ns in s.namespaces],
        "resources": s.resources.to_json(),
        "maskedPaths": list(s.masked_paths),
        "readonlyPaths": list(s.readonly_paths),
    }
    if s.cgroups_path:
        linux["cgroupsPath"] = s.cgroups_path
    if s.seccomp is not None:
        linux["seccomp"] = s.seccomp.to_json()
    if s.sysctl:
        linux["sysctl"] = dict(s.sysctl)
    config: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": s.rootfs, "readonly": s.read_only_rootfs},
        "mounts": [m.to_json() for m in s.mounts],
        "linux": linux,
    }
    if s.hostname is not None:
        config["hostname"] = s.hostname
    if s.annotations:
        config["annotations"] = dict(s.annotations)
    return config
