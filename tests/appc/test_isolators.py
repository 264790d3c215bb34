"""Isolators: typed values, validation with exact paths, conflicts, unknown ones."""

from __future__ import annotations

from typing import Any

import pytest

from carpool.appc import (
    DEFAULT_CAPABILITIES,
    KNOWN_ISOLATORS,
    AppArmorProfile,
    CapabilitiesRemoveSet,
    CapabilitiesRetainSet,
    CPUShares,
    ImageManifest,
    Isolator,
    IsolatorValue,
    NoNewPrivileges,
    OOMScoreAdj,
    PodManifest,
    Quantity,
    ResourceBlockBandwidth,
    ResourceBlockIOPS,
    ResourceCPU,
    ResourceMemory,
    ResourceNetworkBandwidth,
    SeccompRemoveSet,
    SeccompRetainSet,
    SELinuxContext,
    Sysctl,
)

from .documents import image_error, image_with_app, pod, pod_error


def isolator(name: str, value: Any) -> dict[str, Any]:
    return {"name": name, "value": value}


def parse(*isolators: dict[str, Any]) -> list[Isolator]:
    manifest = ImageManifest.from_json(image_with_app(isolators=list(isolators)))
    assert manifest.app is not None
    return manifest.app.isolators


def error(*isolators: dict[str, Any]) -> str:
    return image_error(image_with_app(isolators=list(isolators)))


def test_default_capability_set() -> None:
    assert DEFAULT_CAPABILITIES == (
        "CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
        "CAP_KILL", "CAP_MKNOD", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE", "CAP_SETUID",
        "CAP_SETGID", "CAP_SETPCAP", "CAP_SETFCAP", "CAP_SYS_CHROOT",
    )  # fmt: skip


def test_known_isolator_names() -> None:
    assert len(KNOWN_ISOLATORS) == 15
    assert "os/unix/sysctl" in KNOWN_ISOLATORS


# -- resources -----------------------------------------------------------------------


def test_cpu_request_and_limit() -> None:
    (cpu,) = parse(isolator("resource/cpu", {"request": "250m", "limit": "0.5"}))
    assert cpu.known
    assert cpu.typed == ResourceCPU(request=Quantity("250m"), limit=Quantity("500m"))
    assert isinstance(cpu.typed, ResourceCPU)
    assert cpu.typed.limit is not None and cpu.typed.limit.milli_value == 500


def test_memory_request_defaults_to_limit() -> None:
    (memory,) = parse(isolator("resource/memory", {"limit": "128Mi"}))
    assert isinstance(memory.typed, ResourceMemory)
    assert memory.typed.request == memory.typed.limit == Quantity("134217728")
    assert memory.typed.limit is not None and memory.typed.limit.value == 128 * 2**20


def test_memory_with_only_a_request() -> None:
    (memory,) = parse(isolator("resource/memory", {"request": "1G"}))
    assert isinstance(memory.typed, ResourceMemory)
    assert memory.typed.limit is None and memory.typed.request == Quantity("1G")


def test_quantities_may_be_json_numbers() -> None:
    (cpu,) = parse(isolator("resource/cpu", {"limit": 2}))
    assert isinstance(cpu.typed, ResourceCPU)
    assert cpu.typed.limit is not None and cpu.typed.limit.milli_value == 2000


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"limit": "2X"}, 'value.limit: "2X" is not a quantity'),
        ({"request": True}, "value.request: true is not a quantity"),
        ({"limit": "-1"}, 'value.limit: "-1" is negative'),
        ({"default": True, "limit": "1"}, "value.default: must be false"),
        ({"default": "yes", "limit": "1"}, 'value.default: expected a boolean, got "yes"'),
        ({}, "value: needs a request or a limit"),
        ({"request": "2", "limit": "1"}, "value.request: request 2 is above the limit 1"),
        ("1G", 'value: expected an object, got "1G"'),
    ],
)
def test_invalid_cpu_and_memory(value: Any, message: str) -> None:
    for name in ("resource/cpu", "resource/memory"):
        assert error(isolator(name, value)) == f"manifest: app.isolators[0].{message}"


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("resource/block-bandwidth", ResourceBlockBandwidth),
        ("resource/block-iops", ResourceBlockIOPS),
        ("resource/network-bandwidth", ResourceNetworkBandwidth),
    ],
)
def test_bandwidth_like_resources(name: str, cls: type) -> None:
    (parsed,) = parse(isolator(name, {"default": True, "limit": "10M"}))
    assert parsed.typed == cls(limit=Quantity("10M"))
    assert error(isolator(name, {"limit": "10M"})) == (
        "manifest: app.isolators[0].value.default: must be true"
    )
    assert error(isolator(name, {"default": True, "request": "1", "limit": "10M"})) == (
        "manifest: app.isolators[0].value.request: is not supported by this isolator"
    )
    assert error(isolator(name, {"default": True})) == (
        "manifest: app.isolators[0].value.limit: is required"
    )


# -- capabilities ----------------------------------------------------------------------


def test_capabilities_retain_set() -> None:
    (caps,) = parse(isolator("os/linux/capabilities-retain-set", {"set": ["CAP_NET_ADMIN"]}))
    assert caps.typed == CapabilitiesRetainSet(("CAP_NET_ADMIN",))
    assert isinstance(caps.typed, CapabilitiesRetainSet)
    assert caps.typed.bounding_set() == ("CAP_NET_ADMIN",)


def test_capabilities_remove_set() -> None:
    value = {"set": ["CAP_NET_RAW", "CAP_MKNOD"]}
    (caps,) = parse(isolator("os/linux/capabilities-remove-set", value))
    assert isinstance(caps.typed, CapabilitiesRemoveSet)
    bounding = caps.typed.bounding_set()
    assert len(bounding) == 12 and "CAP_NET_RAW" not in bounding and "CAP_CHOWN" in bounding


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"set": []}, "value.set: must not be empty"),
        ({}, "value.set: is required"),
        ({"set": "CAP_CHOWN"}, 'value.set: expected a list, got "CAP_CHOWN"'),
        ({"set": ["CAP_CHOWN", "chown"]}, 'value.set[1]: "chown" is not a capability name (CAP_…)'),
        ({"set": ["CAP_CHOWN", 3]}, "value.set[1]: expected a non-empty string, got 3"),
    ],
)
def test_invalid_capability_sets(value: Any, message: str) -> None:
    for name in ("os/linux/capabilities-retain-set", "os/linux/capabilities-remove-set"):
        assert error(isolator(name, value)) == f"manifest: app.isolators[0].{message}"


def test_capability_retain_and_remove_sets_conflict() -> None:
    assert error(
        isolator("os/linux/capabilities-remove-set", {"set": ["CAP_KILL"]}),
        isolator("os/linux/capabilities-retain-set", {"set": ["CAP_CHOWN"]}),
    ) == (
        'manifest: app.isolators[1].name: "os/linux/capabilities-retain-set" cannot be '
        'combined with "os/linux/capabilities-remove-set"'
    )


# -- seccomp -------------------------------------------------------------------------


def test_seccomp_sets() -> None:
    (retain,) = parse(
        isolator("os/linux/seccomp-retain-set", {"set": ["@rkt/default-whitelist", "mount"]})
    )
    assert retain.typed == SeccompRetainSet(("@rkt/default-whitelist", "mount"), "")
    (remove,) = parse(
        isolator("os/linux/seccomp-remove-set", {"set": ["reboot"], "errno": "EPERM"})
    )
    assert remove.typed == SeccompRemoveSet(("reboot",), "EPERM")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"set": []}, "value.set: must not be empty"),
        (
            {"set": ["x"], "errno": "eperm"},
            'value.errno: "eperm" is not an errno name (E…, upper case)',
        ),
        (
            {"set": ["x"], "errno": "PERM"},
            'value.errno: "PERM" is not an errno name (E…, upper case)',
        ),
        ({"set": ["x"], "errno": 1}, "value.errno: expected a string, got 1"),
        ({"set": [""]}, 'value.set[0]: expected a non-empty string, got ""'),
    ],
)
def test_invalid_seccomp_sets(value: Any, message: str) -> None:
    for name in ("os/linux/seccomp-retain-set", "os/linux/seccomp-remove-set"):
        assert error(isolator(name, value)) == f"manifest: app.isolators[0].{message}"


def test_seccomp_retain_and_remove_sets_conflict() -> None:
    assert error(
        isolator("os/linux/seccomp-retain-set", {"set": ["read"]}),
        isolator("os/linux/seccomp-remove-set", {"set": ["reboot"]}),
    ) == (
        'manifest: app.isolators[1].name: "os/linux/seccomp-remove-set" cannot be combined '
        'with "os/linux/seccomp-retain-set"'
    )


# -- single values ---------------------------------------------------------------------


def test_no_new_privileges() -> None:
    (nnp,) = parse(isolator("os/linux/no-new-privileges", True))
    assert nnp.typed == NoNewPrivileges(True)
    assert error(isolator("os/linux/no-new-privileges", "true")) == (
        'manifest: app.isolators[0].value: expected a boolean, got "true"'
    )


@pytest.mark.parametrize("score", [-1000, 0, 1000])
def test_oom_score_adj_range(score: int) -> None:
    (oom,) = parse(isolator("os/linux/oom-score-adj", score))
    assert oom.typed == OOMScoreAdj(score)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1001, "1001 is not a valid OOM score adjustment (-1000..1000)"),
        (-1001, "-1001 is not a valid OOM score adjustment (-1000..1000)"),
        ("5", 'expected an integer, got "5"'),
        (True, "expected an integer, got true"),
        (1.5, "expected an integer, got 1.5"),
    ],
)
def test_invalid_oom_score_adj(value: Any, message: str) -> None:
    assert error(isolator("os/linux/oom-score-adj", value)) == (
        f"manifest: app.isolators[0].value: {message}"
    )


@pytest.mark.parametrize("shares", [2, 1024, 262144])
def test_cpu_shares_range(shares: int) -> None:
    (parsed,) = parse(isolator("os/linux/cpu-shares", shares))
    assert parsed.typed == CPUShares(shares)


@pytest.mark.parametrize("shares", [0, 1, 262145])
def test_invalid_cpu_shares(shares: int) -> None:
    assert error(isolator("os/linux/cpu-shares", shares)) == (
        f"manifest: app.isolators[0].value: {shares} is not a valid CPU shares value (2..262144)"
    )


def test_selinux_context() -> None:
    value = {"user": "system_u", "role": "system_r", "type": "svirt_lxc_net_t", "level": "s0:c1,c2"}
    (selinux,) = parse(isolator("os/linux/selinux-context", value))
    assert selinux.typed == SELinuxContext("system_u", "system_r", "svirt_lxc_net_t", "s0:c1,c2")
    assert str(selinux.typed) == "system_u:system_r:svirt_lxc_net_t:s0:c1,c2"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"user": "u", "role": "r", "type": "t"}, "value.level: is required"),
        ({"user": "", "role": "r", "type": "t", "level": "s0"}, "value.user: must not be empty"),
        (
            {"user": "u:x", "role": "r", "type": "t", "level": "s0"},
            "value.user: \"u:x\" must not contain ':'",
        ),
        (
            {"user": "u", "role": 1, "type": "t", "level": "s0"},
            "value.role: expected a string, got 1",
        ),
    ],
)
def test_invalid_selinux_context(value: Any, message: str) -> None:
    assert error(isolator("os/linux/selinux-context", value)) == (
        f"manifest: app.isolators[0].{message}"
    )


def test_apparmor_profile() -> None:
    (profile,) = parse(isolator("os/linux/apparmor-profile", {"profile": "docker-default"}))
    assert profile.typed == AppArmorProfile("docker-default")
    assert error(isolator("os/linux/apparmor-profile", {"profile": ""})) == (
        "manifest: app.isolators[0].value.profile: must not be empty"
    )


def test_sysctl_at_pod_level() -> None:
    value = {"net.ipv4.ip_forward": "1", "net.core.somaxconn": "1024"}
    manifest = PodManifest.from_json(pod(isolators=[isolator("os/unix/sysctl", value)]))
    sysctl = manifest.isolator("os/unix/sysctl")
    assert sysctl is not None and sysctl.typed == Sysctl(value)
    assert pod_error(pod(isolators=[isolator("os/unix/sysctl", {"net.x": 1})])) == (
        "pod: isolators[0].value.net.x: expected a string, got 1"
    )


# -- lists ---------------------------------------------------------------------------


def test_bounding_capabilities_as_rkt_computes_them() -> None:
    def bounding(*isolators: dict[str, Any]) -> tuple[str, ...]:
        manifest = ImageManifest.from_json(image_with_app(isolators=list(isolators)))
        assert manifest.app is not None
        return manifest.app.bounding_capabilities()

    assert bounding() == DEFAULT_CAPABILITIES
    retain = "os/linux/capabilities-retain-set"
    remove = "os/linux/capabilities-remove-set"
    assert bounding(
        isolator(retain, {"set": ["CAP_NET_ADMIN", "CAP_CHOWN"]}),
        isolator(retain, {"set": ["CAP_CHOWN", "CAP_KILL"]}),
    ) == ("CAP_NET_ADMIN", "CAP_CHOWN", "CAP_KILL")
    assert bounding(
        isolator(remove, {"set": ["CAP_NET_RAW"]}), isolator(remove, {"set": ["CAP_MKNOD"]})
    ) == tuple(c for c in DEFAULT_CAPABILITIES if c not in ("CAP_NET_RAW", "CAP_MKNOD"))


def test_no_new_privileges_last_one_wins() -> None:
    nnp = "os/linux/no-new-privileges"
    for values, expected in [((), False), ((True,), True), ((True, False), False)]:
        doc = image_with_app(isolators=[isolator(nnp, value) for value in values])
        manifest = ImageManifest.from_json(doc)
        assert manifest.app is not None and manifest.app.no_new_privileges() is expected


def test_known_isolators_appear_once() -> None:
    assert (
        error(
            isolator("resource/memory", {"limit": "1G"}),
            isolator("os/linux/oom-score-adj", 5),
            isolator("resource/memory", {"limit": "2G"}),
        )
        == 'manifest: app.isolators[2].name: more than one "resource/memory" isolator'
    )


def test_unknown_isolators_are_kept_and_flagged() -> None:
    value = {"anything": [1, {"x": None}]}
    manifest = ImageManifest.from_json(
        image_with_app(
            isolators=[
                isolator("example.com/gpu", value),
                isolator("os/linux/oom-score-adj", 100),
                isolator("example.com/gpu", 3),
            ]
        )
    )
    assert manifest.app is not None
    gpu = manifest.app.isolators[0]
    assert not gpu.known and gpu.typed is None and gpu.value == value
    assert manifest.app.unknown_isolators() == ["example.com/gpu", "example.com/gpu"]
    assert manifest.to_dict()["app"]["isolators"][0] == isolator("example.com/gpu", value)


def test_isolator_name_must_be_an_ac_identifier() -> None:
    assert error(isolator("Resource/CPU", {"limit": "1"})).startswith(
        'manifest: app.isolators[0].name: "Resource/CPU" is not an AC Identifier'
    )


def test_isolator_value_is_required() -> None:
    assert error({"name": "resource/cpu"}) == "manifest: app.isolators[0].value: is required"


def test_isolators_built_from_typed_values() -> None:
    values: list[IsolatorValue] = [
        ResourceCPU(limit=Quantity("2"), request=Quantity("500m")),
        ResourceMemory(limit=Quantity("1Gi")),
        ResourceNetworkBandwidth(limit=Quantity("1M")),
        CapabilitiesRetainSet(("CAP_CHOWN",)),
        NoNewPrivileges(True),
        SeccompRemoveSet(("reboot",), "EPERM"),
        SELinuxContext("u", "r", "t", "s0"),
        AppArmorProfile("p"),
        OOMScoreAdj(-5),
        CPUShares(512),
        Sysctl({"net.core.somaxconn": "1024"}),
    ]
    for value in values:
        built = Isolator.of(value)
        assert built.known
        expected: IsolatorValue = value
        if isinstance(value, ResourceMemory):  # request defaults to the limit when parsed
            expected = ResourceMemory(limit=Quantity("1Gi"), request=Quantity("1Gi"))
        assert built.typed == expected
        assert Isolator.from_json(built.to_json(), source="isolator") == built


def test_pod_isolators_are_validated_and_found() -> None:
    manifest = PodManifest.from_json(pod(isolators=[isolator("resource/memory", {"limit": "4G"})]))
    memory = manifest.isolator("resource/memory")
    assert memory is not None and isinstance(memory.typed, ResourceMemory)
    assert manifest.unknown_isolators() == []
    assert pod_error(pod(isolators=[isolator("resource/cpu", {"limit": "lots"})])) == (
        'pod: isolators[0].value.limit: "lots" is not a quantity'
    )
