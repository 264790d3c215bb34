"""AC Identifier, AC Name, environment variable names, sanitisers, SemVer."""

from __future__ import annotations

import pytest

from carpool.appc import (
    SemVer,
    app_name_from_image_name,
    is_ac_identifier,
    is_ac_name,
    is_env_name,
    sanitize_ac_name,
)

from .documents import image, image_error, image_with_app


@pytest.mark.parametrize(
    "name",
    [
        "a",
        "0",
        "example.com/reduce-worker",
        "coreos.com/rkt/stage1-coreos",
        "a.b_c~d-e/f",
        "appc.io/executor/supports-systemd-notify",
        "registry-1.docker.io/library/nginx",
    ],
)
def test_valid_ac_identifiers(name: str) -> None:
    assert is_ac_identifier(name)


@pytest.mark.parametrize(
    "name",
    ["", "A", "Example.com/app", "-a", "a-", "a//b", "a/", "/a", "a b", "a:b", "a..b", "é", "a_"],
)
def test_invalid_ac_identifiers(name: str) -> None:
    assert not is_ac_identifier(name)


@pytest.mark.parametrize("name", ["a", "web", "reduce-worker", "80-tcp", "a1-b2-c3"])
def test_valid_ac_names(name: str) -> None:
    assert is_ac_name(name)


@pytest.mark.parametrize("name", ["", "Web", "a_b", "a.b", "a/b", "-a", "a-", "a--b", "a b"])
def test_invalid_ac_names(name: str) -> None:
    assert not is_ac_name(name)


@pytest.mark.parametrize("name", ["PATH", "_", "a", "jvm.opts-xmx", "A_1", "x-y.z"])
def test_valid_env_names(name: str) -> None:
    assert is_env_name(name)


@pytest.mark.parametrize("name", ["", "1A", "-a", ".a", "A B", "A=B", "Ä"])
def test_invalid_env_names(name: str) -> None:
    assert not is_env_name(name)


@pytest.mark.parametrize(
    ("raw", "sanitized"),
    [
        ("etcd", "etcd"),
        ("My_App", "my-app"),
        ("--edge--", "edge"),
        ("a  b", "a-b"),
        ("reduce.worker", "reduce-worker"),
        ("Ünïcode", "n-code"),
    ],
)
def test_sanitize_ac_name(raw: str, sanitized: str) -> None:
    assert sanitize_ac_name(raw) == sanitized
    assert is_ac_name(sanitized)


def test_sanitize_ac_name_refuses_hopeless_input() -> None:
    with pytest.raises(ValueError, match="no character valid"):
        sanitize_ac_name("___")


@pytest.mark.parametrize(
    ("image_name", "app_name"),
    [
        ("coreos.com/etcd", "etcd"),
        ("example.com/reduce-worker", "reduce-worker"),
        ("aci.example.com/aci-zookeeper", "aci-zookeeper"),
        ("registry-1.docker.io/library/nginx", "nginx"),
        ("busybox", "busybox"),
        ("example.com/my_app.v2", "my-app-v2"),
    ],
)
def test_app_name_from_image_name(image_name: str, app_name: str) -> None:
    assert app_name_from_image_name(image_name) == app_name


def test_bad_image_name_is_reported_with_its_field() -> None:
    assert image_error(image(name="Example.com/App")) == (
        'manifest: name: "Example.com/App" is not an AC Identifier '
        "(lowercase letters, digits and -._~/, alphanumeric at both ends)"
    )


def test_bad_mount_point_name_is_reported_with_its_field() -> None:
    doc = image_with_app(mountPoints=[{"name": "data_dir", "path": "/data"}])
    assert image_error(doc) == (
        'manifest: app.mountPoints[0].name: "data_dir" is not an AC Name '
        "(lowercase letters, digits and single dashes)"
    )


@pytest.mark.parametrize("version", ["0.8.11", "0.1.0", "0.8.11+git", "0.9.0-rc.1", "0.0.0-alpha"])
def test_accepted_ac_versions(version: str) -> None:
    from carpool.appc import ImageManifest

    assert ImageManifest.from_json(image(acVersion=version)).ac_version == version


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("0.8", '"0.8" is not a semantic version'),
        ("v0.8.11", '"v0.8.11" is not a semantic version'),
        ("0.08.1", '"0.08.1" is not a semantic version'),
        ("0.0.0", "0.0.0 is not a valid appc version"),
        ("1.0.0", '"1.0.0" is not in the supported appc series 0.x (carpool implements 0.8.11)'),
    ],
)
def test_rejected_ac_versions(version: str, message: str) -> None:
    assert image_error(image(acVersion=version)) == f"manifest: acVersion: {message}"


def test_semver_parts() -> None:
    version = SemVer.parse("0.8.11-rc.1+git.abc")
    assert (version.major, version.minor, version.patch) == (0, 8, 11)
    assert (version.prerelease, version.build) == ("rc.1", "git.abc")
    assert str(version) == "0.8.11-rc.1+git.abc"
