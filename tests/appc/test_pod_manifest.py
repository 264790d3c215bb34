"""The pod manifest: apps, images by ID, volumes, mounts, exposed ports."""

from __future__ import annotations

from typing import Any

import pytest

from carpool.appc import (
    ImageID,
    ImageManifest,
    Mount,
    PodManifest,
    RuntimeApp,
    RuntimeImage,
    Volume,
)

from .documents import SOME_ID, app, pod, pod_error, runtime_app


def test_minimal_pod() -> None:
    manifest = PodManifest.from_json(pod())
    assert manifest.ac_kind == "PodManifest" and manifest.ac_version == "0.8.11"
    (web,) = manifest.apps
    assert web.name == "web" and web.image.id == SOME_ID and isinstance(web.image.id, ImageID)
    assert web.image.name is None and web.image.labels == []
    assert web.app is None and web.read_only_root_fs is False
    assert web.mounts == [] and web.annotations == []
    assert manifest.volumes == [] and manifest.isolators == [] and manifest.ports == []
    assert manifest.user_annotations == {} and manifest.user_labels == {}


@pytest.mark.parametrize("missing", ["acKind", "acVersion", "apps"])
def test_required_top_level_fields(missing: str) -> None:
    doc = pod()
    del doc[missing]
    assert pod_error(doc) == f"pod: {missing}: is required"


def test_pod_without_apps_is_allowed() -> None:
    # rkt's mutable pods ("rkt app sandbox") start with no app at all
    assert PodManifest.from_json(pod(apps=[])).apps == []


def test_wrong_kind_and_version() -> None:
    assert pod_error(pod(acKind="ImageManifest")) == (
        'pod: acKind: must be "PodManifest", got "ImageManifest"'
    )
    assert pod_error(pod(acVersion="2.0.0")).startswith(
        'pod: acVersion: "2.0.0" is not in the supported appc series 0.x'
    )


def test_app_lookup_and_override() -> None:
    manifest = PodManifest.from_json(
        pod(
            apps=[
                runtime_app("web", app=app(exec=["/bin/web", "--port=80"]), readOnlyRootFS=True),
                runtime_app(
                    "sidecar",
                    image={
                        "name": "example.com/sidecar",
                        "id": SOME_ID,
                        "labels": [{"name": "version", "value": "2"}],
                    },
                ),
            ]
        )
    )
    web = manifest.app("web")
    assert web is not None and web.app is not None and web.app.exec == ["/bin/web", "--port=80"]
    assert web.read_only_root_fs
    sidecar = manifest.app("sidecar")
    assert sidecar is not None and sidecar.image.name == "example.com/sidecar"
    assert sidecar.image.label("version") == "2"
    assert manifest.app("missing") is None


def test_app_rules() -> None:
    assert pod_error(pod(apps=[runtime_app("web"), runtime_app("web")])) == (
        'pod: apps[1].name: duplicate app name "web"'
    )
    assert pod_error(pod(apps=[runtime_app("Web")])).startswith(
        'pod: apps[0].name: "Web" is not an AC Name'
    )
    assert pod_error(pod(apps=[{"name": "web", "image": {"name": "example.com/web"}}])) == (
        "pod: apps[0].image.id: is required"
    )
    assert pod_error(pod(apps=[runtime_app(image={"id": "sha512-XYZ"})])) == (
        'pod: apps[0].image.id: "sha512-XYZ" is not an image ID '
        "(expected sha512- and lowercase hex digits)"
    )
    assert pod_error(pod(apps=[runtime_app(app=app(user=""))])) == (
        "pod: apps[0].app.user: must not be empty"
    )
    assert pod_error(pod(apps=[{"image": {"id": SOME_ID}}])) == "pod: apps[0].name: is required"


def test_mounts() -> None:
    manifest = PodManifest.from_json(
        pod(
            apps=[
                runtime_app(
                    mounts=[
                        {"volume": "data", "path": "/var/lib/data"},
                        {
                            "volume": "scratch",
                            "path": "/tmp/scratch",
                            "appVolume": {"name": "scratch", "kind": "empty"},
                        },
                    ]
                )
            ],
            volumes=[{"name": "data", "kind": "host", "source": "/srv/data"}],
        )
    )
    data, scratch = manifest.apps[0].mounts
    assert (data.volume, data.path, data.app_volume) == ("data", "/var/lib/data", None)
    assert scratch.app_volume is not None and scratch.app_volume.kind == "empty"
    assert pod_error(pod(apps=[runtime_app(mounts=[{"volume": "data"}])])) == (
        "pod: apps[0].mounts[0].path: is required"
    )
    bad_inline = {"volume": "x", "path": "/x", "appVolume": {"name": "x", "kind": "host"}}
    assert pod_error(pod(apps=[runtime_app(mounts=[bad_inline])])) == (
        "pod: apps[0].mounts[0].appVolume.source: is required for a host volume"
    )


def test_host_volume() -> None:
    doc = pod(
        volumes=[
            {"name": "data", "kind": "host", "source": "/srv", "readOnly": True, "recursive": False}
        ]
    )
    volume = PodManifest.from_json(doc).volume("data")
    assert volume is not None
    assert (volume.kind, volume.source, volume.is_read_only, volume.recursive) == (
        "host",
        "/srv",
        True,
        False,
    )


def test_empty_volume_defaults() -> None:
    volume = PodManifest.from_json(pod(volumes=[{"name": "tmp", "kind": "empty"}])).volumes[0]
    assert (volume.mode, volume.uid, volume.gid) == (None, None, None)
    assert volume.mode_bits == 0o755 and volume.owner == (0, 0)
    assert not volume.is_read_only and volume.recursive is None
    explicit = {"name": "tmp", "kind": "empty", "mode": "1777", "uid": 1000, "gid": 100}
    volume = PodManifest.from_json(pod(volumes=[explicit])).volumes[0]
    assert volume.mode_bits == 0o1777 and volume.owner == (1000, 100)


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        ({"name": "v", "kind": "host"}, "source: is required for a host volume"),
        ({"name": "v", "kind": "host", "source": "srv"}, 'source: "srv" is not an absolute path'),
        (
            {"name": "v", "kind": "host", "source": "/s", "mode": "0755"},
            "mode: is not allowed for a host volume",
        ),
        (
            {"name": "v", "kind": "host", "source": "/s", "uid": 0},
            "uid: is not allowed for a host volume",
        ),
        (
            {"name": "v", "kind": "host", "source": "/s", "gid": 0},
            "gid: is not allowed for a host volume",
        ),
        (
            {"name": "v", "kind": "empty", "source": "/s"},
            "source: must be empty for an empty volume",
        ),
        ({"name": "v", "kind": "empty", "mode": "rwx"}, 'mode: "rwx" is not an octal file mode'),
        ({"name": "v", "kind": "empty", "mode": "0855"}, 'mode: "0855" is not an octal file mode'),
        (
            {"name": "v", "kind": "empty", "mode": "17777"},
            'mode: "17777" is not an octal file mode',
        ),
        ({"name": "v", "kind": "empty", "uid": -1}, "uid: -1 is not a user or group ID"),
        ({"name": "v", "kind": "empty", "gid": 2**32}, "gid: 4294967296 is not a user or group ID"),
        ({"name": "v", "kind": "nfs"}, 'kind: "nfs" is not a volume kind ("host" or "empty")'),
        ({"name": "v"}, "kind: is required"),
        (
            {"name": "V", "kind": "empty"},
            'name: "V" is not an AC Name (lowercase letters, digits and single dashes)',
        ),
        (
            {"name": "v", "kind": "empty", "readOnly": "yes"},
            'readOnly: expected a boolean, got "yes"',
        ),
    ],
)
def test_invalid_volumes(volume: dict[str, Any], message: str) -> None:
    doc = pod(volumes=[{"name": "ok", "kind": "empty"}, volume])
    assert pod_error(doc) == f"pod: volumes[1].{message}"


def test_volume_names_are_unique() -> None:
    doc = pod(
        volumes=[{"name": "v", "kind": "empty"}, {"name": "v", "kind": "host", "source": "/x"}]
    )
    assert pod_error(doc) == 'pod: volumes[1].name: duplicate volume name "v"'


def test_exposed_ports() -> None:
    manifest = PodManifest.from_json(
        pod(
            ports=[
                {"name": "http", "hostPort": 8080},
                {"name": "dns", "hostPort": 53, "hostIP": "127.0.0.1"},
                {"name": "v6", "hostPort": 443, "hostIP": "::1"},
                {
                    "name": "extra",
                    "hostPort": 9000,
                    "podPort": {"name": "extra", "protocol": "tcp", "port": 9000},
                },
            ]
        )
    )
    http, dns, v6, extra = manifest.ports
    assert (http.name, http.host_port, http.host_ip, http.pod_port) == ("http", 8080, None, None)
    assert (dns.host_ip, v6.host_ip) == ("127.0.0.1", "::1")
    assert extra.pod_port is not None and extra.pod_port.port == 9000


@pytest.mark.parametrize(
    ("port", "message"),
    [
        ({"name": "p", "hostPort": 0}, "hostPort: 0 is not a port"),
        ({"name": "p", "hostPort": 65536}, "hostPort: 65536 is not a port"),
        ({"name": "p"}, "hostPort: is required"),
        (
            {"name": "p", "hostPort": 80, "hostIP": "localhost"},
            'hostIP: "localhost" is not an IP address',
        ),
        (
            {"name": "p", "hostPort": 80, "podPort": {"name": "p", "protocol": "tcp", "port": 0}},
            "podPort.port: 0 is not a port",
        ),
    ],
)
def test_invalid_exposed_ports(port: dict[str, Any], message: str) -> None:
    assert pod_error(pod(ports=[port])) == f"pod: ports[0].{message}"


def test_exposed_port_names_are_unique() -> None:
    doc = pod(ports=[{"name": "p", "hostPort": 80}, {"name": "p", "hostPort": 81}])
    assert pod_error(doc) == 'pod: ports[1].name: duplicate exposed port name "p"'


def test_user_annotations_and_labels() -> None:
    manifest = PodManifest.from_json(pod(userAnnotations={"a": "1"}, userLabels={"b": "2"}))
    assert (manifest.user_annotations, manifest.user_labels) == ({"a": "1"}, {"b": "2"})


def test_python_construction_of_a_pod() -> None:
    image = ImageManifest.from_json(
        {"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/web"}
    )
    manifest = PodManifest(
        apps=[
            RuntimeApp(
                name="web",
                image=RuntimeImage(name=image.name, id=ImageID(SOME_ID)),
                mounts=[Mount(volume="data", path="/data")],
            )
        ],
        volumes=[Volume(name="data", kind="empty")],
    )
    assert manifest.to_dict() == {
        "acVersion": "0.8.11",
        "acKind": "PodManifest",
        "apps": [
            {
                "name": "web",
                "image": {"name": "example.com/web", "id": SOME_ID},
                "mounts": [{"volume": "data", "path": "/data"}],
            }
        ],
        "volumes": [{"name": "data", "kind": "empty"}],
    }
    assert PodManifest.from_json(manifest.to_json()) == manifest


def test_rkt_style_nulls_round_trip() -> None:
    doc = pod(volumes=None, isolators=None, annotations=None, ports=None)
    manifest = PodManifest.from_json(doc)
    assert manifest.volumes == [] and manifest.ports == []
    assert manifest.to_dict() == doc


def test_pod_app_replaces_the_image_app_and_overlays_annotations() -> None:
    image = ImageManifest.from_json(
        {
            "acKind": "ImageManifest",
            "acVersion": "0.8.11",
            "name": "example.com/web",
            "app": app(exec=["/bin/web"], environment=[{"name": "A", "value": "1"}]),
            "annotations": [{"name": "a", "value": "image"}, {"name": "b", "value": "image"}],
        }
    )
    plain, custom = PodManifest.from_json(
        pod(
            apps=[
                runtime_app("plain"),
                runtime_app(
                    "custom",
                    app=app(exec=["/bin/other"]),
                    annotations=[{"name": "b", "value": "pod"}, {"name": "c", "value": "pod"}],
                ),
            ]
        )
    ).apps
    assert plain.effective_app(image) == image.app
    replaced = custom.effective_app(image)
    assert replaced is not None and replaced.exec == ["/bin/other"] and replaced.environment == []
    assert plain.merged_annotations(image) == {"a": "image", "b": "image"}
    assert custom.merged_annotations(image) == {"a": "image", "b": "pod", "c": "pod"}
