"""appc isolators -> OCI settings, with a warning for each one carpool cannot enforce.

The spec lets an executor ignore isolators it does not know but asks it to say
so; carpool reports every ignored isolator instead of dropping it silently.
"""

from __future__ import annotations

from typing import Any

from carpool.appc.capabilities import DEFAULT_CAPABILITIES as APPC_DEFAULT_CAPABILITIES
from carpool.errors import ValidationError
from carpool.log import get_logger
from carpool.oci import seccomp
from carpool.oci.spec import ALL_CAPABILITIES, Resources, Seccomp

log = get_logger(__name__)

# Keys that live in a namespace the pod owns (so setting them touches no host state).
NAMESPACED_SYSCTL_PREFIXES = ("net.", "kernel.shm", "kernel.msg", "kernel.sem", "fs.mqueue.")
UNENFORCED = {
    "resource/block-bandwidth": "block bandwidth limits are not enforced",
    "resource/block-iops": "block IOPS limits are not enforced",
    "resource/network-bandwidth": "network bandwidth limits are not enforced",
    "os/linux/selinux-context": "SELinux is not enabled on this host",
}


class AppIsolation:
    """What the isolators of one app turn into (filled in by :func:`app_isolation`).

    Plain classes here, not dataclasses: they are on ``carpool run``'s path.
    """

    def __init__(self) -> None:
        self.capabilities = list(APPC_DEFAULT_CAPABILITIES)
        self.no_new_privileges = False
        self.oom_score_adj: int | None = None
        self.resources = Resources()
        self.seccomp: Seccomp | None = None
        self.warnings: list[str] = []


def _quantity(value: Any, field_name: str) -> Any:
    from carpool.appc.quantity import Quantity

    try:
        return Quantity.parse(str(value))
    except ValueError as exc:  # not a quantity, or out of range
        raise ValidationError(f"{field_name}: {value!r} is not a quantity ({exc})") from None


def _set(value: Any, field_name: str) -> list[str]:
    items = value.get("set") if isinstance(value, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise ValidationError(f"{field_name}: set must be a non-empty list of names")
    return list(items)


def app_isolation(
    app_name: str, isolators: list[dict[str, Any]], insecure: frozenset[str]
) -> AppIsolation:
    out = AppIsolation()
    have_seccomp = False
    caps_given = [i["name"] for i in isolators if i["name"].startswith("os/linux/capabilities-")]
    if len(caps_given) > 1:
        raise ValidationError(
            f"app {app_name}: isolators: capabilities retain-set and remove-set conflict"
        )
    for index, isolator in enumerate(isolators):
        name = isolator["name"]
        value: Any = isolator.get("value")
        if value is None:
            value = {}
        where = f"app {app_name}: isolators[{index}] {name}"
        if name == "resource/memory":
            if value.get("limit") is not None:
                out.resources.memory_limit = _quantity(value["limit"], where).value
            if value.get("request") is not None:
                out.resources.memory_reservation = _quantity(value["request"], where).value
        elif name == "resource/cpu":
            if value.get("limit") is not None:
                milli = _quantity(value["limit"], where).milli_value
                out.resources.cpu_quota = max(1000, milli * 100)
                out.resources.cpu_period = 100000
            if value.get("request") is not None and out.resources.cpu_shares is None:
                out.resources.cpu_shares = max(
                    2, _quantity(value["request"], where).milli_value * 1024 // 1000
                )
        elif name == "os/linux/cpu-shares":
            out.resources.cpu_shares = int(value)
        elif name == "os/linux/oom-score-adj":
            out.oom_score_adj = int(value)
        elif name == "os/linux/no-new-privileges":
            out.no_new_privileges = bool(value)
        elif name == "os/linux/capabilities-retain-set":
            out.capabilities = _set(value, where)
        elif name == "os/linux/capabilities-remove-set":
            removed = set(_set(value, where))
            out.capabilities = [c for c in APPC_DEFAULT_CAPABILITIES if c not in removed]
        elif name in ("os/linux/seccomp-retain-set", "os/linux/seccomp-remove-set"):
            if have_seccomp:
                raise ValidationError(f"{where}: only one seccomp isolator per app")
            have_seccomp = True
            names, errno_name = _set(value, where), value.get("errno")
            if name.endswith("retain-set"):
                out.seccomp = seccomp.retain_set(names, errno_name, where)
            else:
                out.seccomp = seccomp.remove_set(names, errno_name, where)
        elif name == "os/linux/apparmor-profile":
            out.warnings.append(f"{where}: AppArmor profiles are not applied")
        elif name in UNENFORCED:
            out.warnings.append(f"{where}: {UNENFORCED[name]}")
        else:
            out.warnings.append(f"{where}: unknown isolator, ignored")
    if not have_seccomp:
        out.seccomp = seccomp.default_filter()
    available = host_capabilities()
    if "capabilities" in insecure:
        out.capabilities = available
    missing = [c for c in out.capabilities if c not in available]
    if missing:
        out.warnings.append(
            f"app {app_name}: carpool itself lacks {', '.join(missing)}; the app will not get them"
        )
        out.capabilities = [c for c in out.capabilities if c in available]
    if "seccomp" in insecure:
        out.seccomp = None
    return out


def host_capabilities() -> list[str]:
    """Every capability carpool itself may hand on (its own bounding set)."""
    mask = (1 << len(ALL_CAPABILITIES)) - 1
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    mask = int(line.split()[1], 16)
    except OSError:
        pass
    return [name for bit, name in enumerate(ALL_CAPABILITIES) if mask & (1 << bit)]


class PodIsolation:
    """What the pod's isolators turn into (filled in by :func:`pod_isolation`)."""

    def __init__(self) -> None:
        self.sysctl: dict[str, str] = {}
        self.resources = Resources()
        self.warnings: list[str] = []


def pod_isolation(isolators: list[dict[str, Any]], *, host_network: bool) -> PodIsolation:
    out = PodIsolation()
    for index, isolator in enumerate(isolators):
        name, value = isolator["name"], isolator.get("value")
        where = f"pod isolators[{index}] {name}"
        if name == "os/unix/sysctl":
            if not isinstance(value, dict):
                raise ValidationError(f"{where}: value must be an object of key: value")
            for key, val in value.items():
                if not key.startswith(NAMESPACED_SYSCTL_PREFIXES):
                    raise ValidationError(f"{where}: {key} is not a namespaced sysctl")
                if key.startswith("net.") and host_network:
                    raise ValidationError(f"{where}: {key} would change the host (--net host)")
                if "/" in key or ".." in key:
                    raise ValidationError(f"{where}: {key} is not a sysctl name")
                out.sysctl[key] = str(val)
        elif name in ("resource/memory", "resource/cpu"):
            app = app_isolation("(pod)", [isolator], frozenset())
            if app.resources.memory_limit is not None:
                out.resources.memory_limit = app.resources.memory_limit
            if app.resources.cpu_quota is not None:
                out.resources.cpu_quota = app.resources.cpu_quota
                out.resources.cpu_period = app.resources.cpu_period
        elif name in UNENFORCED:
            out.warnings.append(f"{where}: {UNENFORCED[name]}")
        else:
            out.warnings.append(f"{where}: not a pod isolator carpool applies, ignored")
    return out
