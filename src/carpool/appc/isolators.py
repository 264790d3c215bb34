"""Isolators: ``{"name": <AC Identifier>, "value": <JSON>}`` with typed, validated values.

Every isolator the spec (and rkt) defines is parsed into a frozen value object
(:class:`ResourceMemory`, :class:`CapabilitiesRetainSet`, …) available as
:attr:`Isolator.typed`.  Unknown isolators are kept and written back unchanged, with
:attr:`Isolator.known` false, so the runtime can report them as ignored (the spec lets an
executor ignore them as long as it says so; Go's appc library refuses them instead).

The original JSON value is what gets serialised, so manifests round-trip byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, JsonValue, PrivateAttr, model_validator

from carpool.appc._model import AppcModel, invalid, show
from carpool.appc.capabilities import DEFAULT_CAPABILITIES
from carpool.appc.names import ACIdentifier
from carpool.appc.quantity import Quantity

RESOURCE_CPU = "resource/cpu"
RESOURCE_MEMORY = "resource/memory"
RESOURCE_BLOCK_BANDWIDTH = "resource/block-bandwidth"
RESOURCE_BLOCK_IOPS = "resource/block-iops"
RESOURCE_NETWORK_BANDWIDTH = "resource/network-bandwidth"
CAPABILITIES_RETAIN_SET = "os/linux/capabilities-retain-set"
CAPABILITIES_REMOVE_SET = "os/linux/capabilities-remove-set"
NO_NEW_PRIVILEGES = "os/linux/no-new-privileges"
SECCOMP_RETAIN_SET = "os/linux/seccomp-retain-set"
SECCOMP_REMOVE_SET = "os/linux/seccomp-remove-set"
SELINUX_CONTEXT = "os/linux/selinux-context"
APPARMOR_PROFILE = "os/linux/apparmor-profile"
OOM_SCORE_ADJ = "os/linux/oom-score-adj"
CPU_SHARES = "os/linux/cpu-shares"
SYSCTL = "os/unix/sysctl"


Scope = Literal["app", "pod"]

#: Where the spec says each isolator may appear (informational: not enforced, rkt doesn't).
ISOLATOR_SCOPES: dict[str, frozenset[Scope]] = {
    RESOURCE_CPU: frozenset({"app", "pod"}),
    RESOURCE_MEMORY: frozenset({"app", "pod"}),
    RESOURCE_BLOCK_BANDWIDTH: frozenset({"app", "pod"}),
    RESOURCE_BLOCK_IOPS: frozenset({"app", "pod"}),
    RESOURCE_NETWORK_BANDWIDTH: frozenset({"app", "pod"}),
    CAPABILITIES_RETAIN_SET: frozenset({"app"}),
    CAPABILITIES_REMOVE_SET: frozenset({"app"}),
    NO_NEW_PRIVILEGES: frozenset({"app"}),
    SECCOMP_RETAIN_SET: frozenset({"app"}),
    SECCOMP_REMOVE_SET: frozenset({"app"}),
    SELINUX_CONTEXT: frozenset({"app", "pod"}),
    APPARMOR_PROFILE: frozenset({"app", "pod"}),
    OOM_SCORE_ADJ: frozenset({"app"}),
    CPU_SHARES: frozenset({"app"}),
    SYSCTL: frozenset({"pod"}),
}

_CAPABILITY_RE = re.compile(r"^CAP_[A-Z0-9_]+$")
_ERRNO_RE = re.compile(r"^E[A-Z0-9]+$")


class _Problem(Exception):
    """A bad isolator value; ``subpath`` is relative to the value."""

    def __init__(self, message: str, *subpath: str | int) -> None:
        super().__init__(message)
        self.message = message
        self.subpath = subpath


# -- typed values --------------------------------------------------------------------


@dataclass(frozen=True)
class _Resource:
    """Common shape of ``resource/*`` isolators."""

    name: ClassVar[str]
    limit: Quantity | None
    request: Quantity | None = None
    default: bool = False

    def to_json(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {}
        if self.default:
            out["default"] = True
        if self.request is not None and (self.limit is None or self.request != self.limit):
            out["request"] = self.request.raw
        if self.limit is not None:
            out["limit"] = self.limit.raw
        return out


@dataclass(frozen=True)
class ResourceCPU(_Resource):
    """CPU in cores (``"500m"`` is half a core); :attr:`request` defaults to :attr:`limit`."""

    name: ClassVar[str] = RESOURCE_CPU


@dataclass(frozen=True)
class ResourceMemory(_Resource):
    """Memory in bytes; :attr:`request` defaults to :attr:`limit`."""

    name: ClassVar[str] = RESOURCE_MEMORY


@dataclass(frozen=True)
class ResourceBlockBandwidth(_Resource):
    """Block device bandwidth limit in bytes per second (``default`` is always true)."""

    name: ClassVar[str] = RESOURCE_BLOCK_BANDWIDTH
    default: bool = True


@dataclass(frozen=True)
class ResourceBlockIOPS(_Resource):
    """Block device operations per second (``default`` is always true)."""

    name: ClassVar[str] = RESOURCE_BLOCK_IOPS
    default: bool = True


@dataclass(frozen=True)
class ResourceNetworkBandwidth(_Resource):
    """Network bandwidth limit in bytes per second, not counting localhost."""

    name: ClassVar[str] = RESOURCE_NETWORK_BANDWIDTH
    default: bool = True


@dataclass(frozen=True)
class _CapabilitySet:
    name: ClassVar[str]
    capabilities: tuple[str, ...]

    def to_json(self) -> dict[str, JsonValue]:
        return {"set": list(self.capabilities)}


@dataclass(frozen=True)
class CapabilitiesRetainSet(_CapabilitySet):
    """The bounding set is exactly :attr:`capabilities`."""

    name: ClassVar[str] = CAPABILITIES_RETAIN_SET

    def bounding_set(self) -> tuple[str, ...]:
        return self.capabilities


@dataclass(frozen=True)
class CapabilitiesRemoveSet(_CapabilitySet):
    """The bounding set is :data:`DEFAULT_CAPABILITIES` minus :attr:`capabilities`."""

    name: ClassVar[str] = CAPABILITIES_REMOVE_SET

    def bounding_set(self) -> tuple[str, ...]:
        return tuple(cap for cap in DEFAULT_CAPABILITIES if cap not in self.capabilities)


@dataclass(frozen=True)
class NoNewPrivileges:
    """Whether the app runs with ``PR_SET_NO_NEW_PRIVS``."""

    name: ClassVar[str] = NO_NEW_PRIVILEGES
    enabled: bool

    def to_json(self) -> JsonValue:
        return self.enabled


@dataclass(frozen=True)
class _SeccompSet:
    name: ClassVar[str]
    syscalls: tuple[str, ...]
    errno: str = ""

    def to_json(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {"set": list(self.syscalls)}
        if self.errno:
            out["errno"] = self.errno
        return out


@dataclass(frozen=True)
class SeccompRetainSet(_SeccompSet):
    """Syscall whitelist; others fail with :attr:`errno` (empty: killed by SIGSYS)."""

    name: ClassVar[str] = SECCOMP_RETAIN_SET


@dataclass(frozen=True)
class SeccompRemoveSet(_SeccompSet):
    """Syscall blacklist; listed calls fail with :attr:`errno` (empty: killed by SIGSYS)."""

    name: ClassVar[str] = SECCOMP_REMOVE_SET


@dataclass(frozen=True)
class SELinuxContext:
    name: ClassVar[str] = SELINUX_CONTEXT
    user: str
    role: str
    type: str
    level: str

    def to_json(self) -> dict[str, JsonValue]:
        return {"user": self.user, "role": self.role, "type": self.type, "level": self.level}

    def __str__(self) -> str:
        return f"{self.user}:{self.role}:{self.type}:{self.level}"


@dataclass(frozen=True)
class AppArmorProfile:
    name: ClassVar[str] = APPARMOR_PROFILE
    profile: str

    def to_json(self) -> dict[str, JsonValue]:
        return {"profile": self.profile}


@dataclass(frozen=True)
class OOMScoreAdj:
    name: ClassVar[str] = OOM_SCORE_ADJ
    score: int

    def to_json(self) -> JsonValue:
        return self.score


@dataclass(frozen=True)
class CPUShares:
    name: ClassVar[str] = CPU_SHARES
    shares: int

    def to_json(self) -> JsonValue:
        return self.shares


@dataclass(frozen=True)
class Sysctl:
    """Kernel parameters for the pod (``{"net.ipv4.ip_forward": "1"}``)."""

    name: ClassVar[str] = SYSCTL
    parameters: Mapping[str, str] = field(default_factory=dict, hash=False)

    def to_json(self) -> dict[str, JsonValue]:
        return dict(self.parameters)


IsolatorValue = (
    ResourceCPU
    | ResourceMemory
    | ResourceBlockBandwidth
    | ResourceBlockIOPS
    | ResourceNetworkBandwidth
    | CapabilitiesRetainSet
    | CapabilitiesRemoveSet
    | NoNewPrivileges
    | SeccompRetainSet
    | SeccompRemoveSet
    | SELinuxContext
    | AppArmorProfile
    | OOMScoreAdj
    | CPUShares
    | Sysctl
)

# -- parsers -------------------------------------------------------------------------


def _object(value: JsonValue) -> dict[str, JsonValue]:
    if not isinstance(value, dict):
        raise _Problem(f"expected an object, got {show(value)}")
    return value


def _bool(value: JsonValue, *subpath: str | int) -> bool:
    if not isinstance(value, bool):
        raise _Problem(f"expected a boolean, got {show(value)}", *subpath)
    return value


def _int(value: JsonValue, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Problem(f"expected an integer, got {show(value)}")
    if not low <= value <= high:
        raise _Problem(f"{value} is not a valid {what} ({low}..{high})")
    return value


def _string(obj: Mapping[str, JsonValue], key: str) -> str:
    value = obj.get(key)
    if value is None:
        raise _Problem("is required", key)
    if not isinstance(value, str):
        raise _Problem(f"expected a string, got {show(value)}", key)
    if not value:
        raise _Problem("must not be empty", key)
    return value


def _quantity(obj: Mapping[str, JsonValue], key: str) -> Quantity | None:
    raw = obj.get(key)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _Problem(f"{show(raw)} is not a quantity", key)
    try:
        quantity = Quantity(raw)
    except ValueError:
        raise _Problem(f"{show(raw)} is not a quantity", key) from None
    if quantity.amount < 0:
        raise _Problem(f"{show(raw)} is negative", key)
    return quantity


def _resource_parser(cls: type[_Resource], *, default: bool) -> Callable[[JsonValue], _Resource]:
    def parse(value: JsonValue) -> _Resource:
        obj = _object(value)
        given_default = _bool(obj.get("default", False), "default")
        if given_default != default:
            raise _Problem(f"must be {str(default).lower()}", "default")
        request = _quantity(obj, "request")
        limit = _quantity(obj, "limit")
        if default:  # bandwidth-like: a limit only
            if request is not None:
                raise _Problem("is not supported by this isolator", "request")
            if limit is None:
                raise _Problem("is required", "limit")
            return cls(limit=limit, request=None, default=True)
        if request is None and limit is None:
            raise _Problem("needs a request or a limit")
        if request is not None and limit is not None and request > limit:
            raise _Problem(f"request {request} is above the limit {limit}", "request")
        return cls(limit=limit, request=request if request is not None else limit)

    return parse


def _set(obj: Mapping[str, JsonValue], pattern: re.Pattern[str] | None) -> tuple[str, ...]:
    items = obj.get("set")
    if items is None:
        raise _Problem("is required", "set")
    if not isinstance(items, list):
        raise _Problem(f"expected a list, got {show(items)}", "set")
    if not items:
        raise _Problem("must not be empty", "set")
    for index, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise _Problem(f"expected a non-empty string, got {show(item)}", "set", index)
        if pattern is not None and pattern.fullmatch(item) is None:
            raise _Problem(f"{show(item)} is not a capability name (CAP_…)", "set", index)
    return tuple(str(item) for item in items)


def _capabilities(cls: type[_CapabilitySet]) -> Callable[[JsonValue], _CapabilitySet]:
    def parse(value: JsonValue) -> _CapabilitySet:
        return cls(_set(_object(value), _CAPABILITY_RE))

    return parse


def _seccomp(cls: type[_SeccompSet]) -> Callable[[JsonValue], _SeccompSet]:
    def parse(value: JsonValue) -> _SeccompSet:
        obj = _object(value)
        syscalls = _set(obj, None)
        errno = obj.get("errno", "")
        if not isinstance(errno, str):
            raise _Problem(f"expected a string, got {show(errno)}", "errno")
        if errno and _ERRNO_RE.fullmatch(errno) is None:
            raise _Problem(f"{show(errno)} is not an errno name (E…, upper case)", "errno")
        return cls(syscalls, errno)

    return parse


def _selinux(value: JsonValue) -> SELinuxContext:
    obj = _object(value)
    parts = {key: _string(obj, key) for key in ("user", "role", "type", "level")}
    for key in ("user", "role", "type"):
        if ":" in parts[key]:
            raise _Problem(f"{show(parts[key])} must not contain ':'", key)
    return SELinuxContext(**parts)


def _apparmor(value: JsonValue) -> AppArmorProfile:
    return AppArmorProfile(_string(_object(value), "profile"))


def _sysctl(value: JsonValue) -> Sysctl:
    obj = _object(value)
    for key, item in obj.items():
        if not key:
            raise _Problem("sysctl names must not be empty")
        if not isinstance(item, str):
            raise _Problem(f"expected a string, got {show(item)}", key)
    return Sysctl({key: str(item) for key, item in obj.items()})


_PARSERS: dict[str, Callable[[JsonValue], IsolatorValue]] = {
    RESOURCE_CPU: _resource_parser(ResourceCPU, default=False),  # type: ignore[dict-item]
    RESOURCE_MEMORY: _resource_parser(ResourceMemory, default=False),  # type: ignore[dict-item]
    RESOURCE_BLOCK_BANDWIDTH: _resource_parser(  # type: ignore[dict-item]
        ResourceBlockBandwidth, default=True
    ),
    RESOURCE_BLOCK_IOPS: _resource_parser(ResourceBlockIOPS, default=True),  # type: ignore[dict-item]
    RESOURCE_NETWORK_BANDWIDTH: _resource_parser(  # type: ignore[dict-item]
        ResourceNetworkBandwidth, default=True
    ),
    CAPABILITIES_RETAIN_SET: _capabilities(CapabilitiesRetainSet),  # type: ignore[dict-item]
    CAPABILITIES_REMOVE_SET: _capabilities(CapabilitiesRemoveSet),  # type: ignore[dict-item]
    NO_NEW_PRIVILEGES: lambda value: NoNewPrivileges(_bool(value)),
    SECCOMP_RETAIN_SET: _seccomp(SeccompRetainSet),  # type: ignore[dict-item]
    SECCOMP_REMOVE_SET: _seccomp(SeccompRemoveSet),  # type: ignore[dict-item]
    SELINUX_CONTEXT: _selinux,
    APPARMOR_PROFILE: _apparmor,
    OOM_SCORE_ADJ: lambda value: OOMScoreAdj(_int(value, -1000, 1000, "OOM score adjustment")),
    CPU_SHARES: lambda value: CPUShares(_int(value, 2, 262144, "CPU shares value")),
    SYSCTL: _sysctl,
}

#: Names of the isolators carpool understands.
KNOWN_ISOLATORS: frozenset[str] = frozenset(_PARSERS)

# -- the model -----------------------------------------------------------------------


class Isolator(AppcModel):
    """One isolator; :attr:`typed` holds the parsed value of a known isolator."""

    name: ACIdentifier
    value: JsonValue

    _typed: IsolatorValue | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _parse_value(self) -> Isolator:
        parser = _PARSERS.get(self.name)
        if parser is not None:
            try:
                self._typed = parser(self.value)
            except _Problem as problem:
                raise invalid(problem.message, "value", *problem.subpath) from None
        return self

    @classmethod
    def of(cls, value: IsolatorValue) -> Isolator:
        """The isolator carrying a typed value (e.g. ``Isolator.of(OOMScoreAdj(-500))``)."""
        return cls(name=value.name, value=value.to_json())

    @property
    def known(self) -> bool:
        """Whether carpool understands this isolator (unknown ones are only carried along)."""
        return self._typed is not None

    @property
    def typed(self) -> IsolatorValue | None:
        """The parsed value, or ``None`` for an unknown isolator."""
        return self._typed


#: Isolators Go's appc lets appear several times (rkt unions capability sets; for
#: no-new-privileges the last one wins).  Every other known isolator appears at most once.
MULTIPLE_ALLOWED: frozenset[str] = frozenset(
    {CAPABILITIES_RETAIN_SET, CAPABILITIES_REMOVE_SET, NO_NEW_PRIVILEGES}
)

_EXCLUSIVE = {
    CAPABILITIES_REMOVE_SET: CAPABILITIES_RETAIN_SET,
    CAPABILITIES_RETAIN_SET: CAPABILITIES_REMOVE_SET,
    SECCOMP_REMOVE_SET: SECCOMP_RETAIN_SET,
    SECCOMP_RETAIN_SET: SECCOMP_REMOVE_SET,
}


def _check_isolators(isolators: list[Isolator]) -> list[Isolator]:
    seen: set[str] = set()
    for index, isolator in enumerate(isolators):
        if not isolator.known:
            continue
        if isolator.name in seen and isolator.name not in MULTIPLE_ALLOWED:
            raise invalid(f"more than one {show(isolator.name)} isolator", index, "name")
        rival = _EXCLUSIVE.get(isolator.name)
        if rival in seen:
            raise invalid(
                f"{show(isolator.name)} cannot be combined with {show(rival)}", index, "name"
            )
        seen.add(isolator.name)
    return isolators


Isolators = Annotated[list[Isolator], AfterValidator(_check_isolators)]


def find_isolator(isolators: list[Isolator], name: str) -> Isolator | None:
    """The isolator called ``name`` in a list, if any."""
    for isolator in isolators:
        if isolator.name == name:
            return isolator
    return None


def bounding_capabilities(isolators: list[Isolator]) -> tuple[str, ...]:
    """The app's capability bounding set: the retain sets' union, or the default set minus
    the remove sets' union, or :data:`DEFAULT_CAPABILITIES` (as rkt computes it)."""
    retained: dict[str, None] = {}
    removed: set[str] = set()
    any_retain = False
    for isolator in isolators:
        typed = isolator.typed
        if isinstance(typed, CapabilitiesRetainSet):
            any_retain = True
            retained.update(dict.fromkeys(typed.capabilities))
        elif isinstance(typed, CapabilitiesRemoveSet):
            removed.update(typed.capabilities)
    if any_retain:
        return tuple(retained)
    return tuple(cap for cap in DEFAULT_CAPABILITIES if cap not in removed)


def no_new_privileges(isolators: list[Isolator]) -> bool:
    """Whether ``os/linux/no-new-privileges`` is on (the last one wins; default off)."""
    enabled = False
    for isolator in isolators:
        if isinstance(isolator.typed, NoNewPrivileges):
            enabled = isolator.typed.enabled
    return enabled


def unknown_isolators(isolators: list[Isolator]) -> list[str]:
    """Names of isolators carpool does not understand, in order (to report them)."""
    return [isolator.name for isolator in isolators if not isolator.known]


def typed_isolators(isolators: list[Isolator]) -> list[IsolatorValue]:
    """The typed values of the known isolators, in order."""
    return [isolator.typed for isolator in isolators if isolator.typed is not None]
