"""Manifests as rkt, dgr, acbuild and docker2aci write them: read, understood, written back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carpool.appc import (
    CapabilitiesRetainSet,
    ImageManifest,
    OOMScoreAdj,
    PodManifest,
    ResourceCPU,
    ResourceMemory,
    SeccompRetainSet,
    Sysctl,
)

from .documents import FIXTURES


def _kind(path: Path) -> str:
    kind: str = json.loads(path.read_text())["acKind"]
    return kind


IMAGES = sorted(p.name for p in FIXTURES.glob("*.json") if _kind(p) == "ImageManifest")
PODS = sorted(p.name for p in FIXTURES.glob("*.json") if _kind(p) == "PodManifest")


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_fixtures_are_there() -> None:
    assert len(IMAGES) >= 5 and len(PODS) >= 2


@pytest.mark.parametrize("name", IMAGES)
def test_image_manifests_round_trip_unchanged(name: str) -> None:
    manifest = ImageManifest.from_json(load(name), source=name)
    assert manifest.to_dict() == json.loads(load(name))
    assert ImageManifest.from_json(manifest.to_json()) == manifest


@pytest.mark.parametrize("name", PODS)
def test_pod_manifests_round_trip_unchanged(name: str) -> None:
    manifest = PodManifest.from_json(load(name), source=name)
    assert manifest.to_dict() == json.loads(load(name))
    assert PodManifest.from_json(manifest.to_json()) == manifest


def test_rkt_written_pod_is_byte_identical() -> None:
    # rkt writes compact JSON in Go field order, which is what to_json() writes too
    data = load("rkt-run-pod.json").decode().strip()
    assert PodManifest.from_json(data).to_json() == data


def test_spec_example_image() -> None:
    manifest = ImageManifest.from_json(load("spec-reduce-worker.json"))
    assert manifest.name == "example.com/reduce-worker"
    assert (manifest.version, manifest.os, manifest.arch) == ("1.0.0", "linux", "amd64")
    app = manifest.app
    assert app is not None
    assert app.supplementary_gids == [400, 500]
    assert app.working_directory == "/opt/work"
    assert [h.name for h in app.event_handlers] == ["pre-start", "post-stop"]
    cpu, memory, caps = (isolator.typed for isolator in app.isolators)
    assert (
        isinstance(cpu, ResourceCPU) and cpu.request is not None and cpu.request.milli_value == 250
    )
    assert isinstance(memory, ResourceMemory) and memory.limit is not None
    assert memory.limit.value == 2 * 10**9
    assert caps == CapabilitiesRetainSet(("CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"))
    assert app.ports[0].socket_activated
    (dependency,) = manifest.dependencies
    assert dependency.image_id is not None and dependency.image_id.is_full
    assert dependency.size == 3812352 and dependency.label("env") == "canary"
    assert manifest.path_whitelist[-1] == "/etc/systemd/system/"
    assert manifest.annotation("homepage") == "https://example.com"


def test_dgr_image_with_dependencies_and_isolators() -> None:
    manifest = ImageManifest.from_json(load("dgr-aci-zookeeper.json"))
    assert [(d.image_name, d.label("version")) for d in manifest.dependencies] == [
        ("aci.example.com/aci-debian", "9.4-1"),
        ("aci.example.com/aci-java", "1.8.172-1"),
    ]
    java = manifest.dependencies[1].image_id
    assert java is not None and not java.is_full and java == java.key  # rkt's 71-char key
    app = manifest.app
    assert app is not None
    assert (app.user, app.group, app.supplementary_gids) == ("zookeeper", "zookeeper", [4])
    pre_start = app.event_handler("pre-start")
    assert pre_start is not None and pre_start.exec == ["/dgr/bin/prestart"]
    assert app.env("jvm.opts-xmx") == "512m"
    assert app.unknown_isolators() == ["blablacar.com/unknown-isolator"]
    seccomp = app.isolator("os/linux/seccomp-retain-set")
    assert seccomp is not None
    assert seccomp.typed == SeccompRetainSet(
        ("@rkt/default-whitelist", "mount", "umount2"), "ENOTSUP"
    )
    oom = app.isolator("os/linux/oom-score-adj")
    assert oom is not None and oom.typed == OOMScoreAdj(-500)
    memory = app.isolator("resource/memory")
    assert memory is not None and isinstance(memory.typed, ResourceMemory)
    assert memory.typed.request is not None and memory.typed.request.value == 2**30
    quorum = app.ports[1]
    assert (quorum.port, quorum.last_port) == (2888, 2889)
    assert app.mount_points[1].read_only is False
    assert "readOnly" not in manifest.to_dict()["app"]["mountPoints"][1]


def test_docker2aci_image() -> None:
    manifest = ImageManifest.from_json(load("docker2aci-nginx.json"))
    assert manifest.app is not None and manifest.app.exec[0] == "nginx"  # PATH lookup
    assert manifest.app.ports[0].name == "80-tcp"
    assert manifest.annotation("appc.io/docker/cmd") == '["nginx","-g","daemon off;"]'


def test_stage1_image_has_no_app() -> None:
    manifest = ImageManifest.from_json(load("rkt-stage1-coreos.json"))
    assert manifest.app is None
    assert manifest.annotation("coreos.com/rkt/stage1/run") == "/init"


def test_spec_example_pod() -> None:
    manifest = PodManifest.from_json(load("spec-pod.json"))
    assert [a.name for a in manifest.apps] == ["reduce-worker", "backup", "register"]
    backup = manifest.app("backup")
    assert backup is not None and backup.app is not None and backup.app.user == "nobody"
    inline = backup.mounts[1].app_volume
    assert inline is not None and inline.mode_bits == 0o700 and inline.owner == (65534, 65534)
    worklib = manifest.volume("worklib")
    assert worklib is not None and worklib.is_read_only and worklib.recursive
    scratch = manifest.volume("scratch")
    assert scratch is not None and scratch.mode_bits == 0o755
    sysctl = manifest.isolator("os/unix/sysctl")
    assert sysctl is not None and isinstance(sysctl.typed, Sysctl)
    assert sysctl.typed.parameters["net.core.somaxconn"] == "1024"
    assert manifest.ports[0].host_ip == "10.1.2.3"
    assert manifest.user_labels == {"team": "data"}


def test_fixture_files_are_all_covered() -> None:
    names = {p.name for p in Path(FIXTURES).glob("*.json")}
    assert names == set(IMAGES) | set(PODS)
