"""Labels, annotations and the os/arch table."""

from __future__ import annotations

import pytest

from carpool.appc import VALID_OS_ARCH, ImageManifest, PodManifest

from .documents import image, image_error, pod, pod_error, runtime_app


def labels(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in pairs]


def test_label_helpers() -> None:
    manifest = ImageManifest.from_json(
        image(labels=labels(("version", "1.0.0"), ("os", "linux"), ("arch", "amd64"), ("env", "x")))
    )
    assert manifest.label("env") == "x"
    assert manifest.label("missing") is None
    assert (manifest.version, manifest.os, manifest.arch) == ("1.0.0", "linux", "amd64")


def test_no_labels_means_no_version_os_arch() -> None:
    manifest = ImageManifest.from_json(image())
    assert (manifest.version, manifest.os, manifest.arch) == (None, None, None)
    assert manifest.labels == []


@pytest.mark.parametrize(
    ("os_name", "arch"), [(o, a) for o, archs in VALID_OS_ARCH.items() for a in archs]
)
def test_every_os_arch_pair_of_the_table(os_name: str, arch: str) -> None:
    manifest = ImageManifest.from_json(image(labels=labels(("os", os_name), ("arch", arch))))
    assert (manifest.os, manifest.arch) == (os_name, arch)


def test_os_arch_table_is_appcs() -> None:
    assert VALID_OS_ARCH == {
        "linux": (
            "amd64", "i386", "aarch64", "aarch64_be", "armv6l", "armv7l", "armv7b",
            "ppc64", "ppc64le", "s390x",
        ),
        "freebsd": ("amd64", "i386", "arm"),
        "darwin": ("x86_64", "i386"),
    }  # fmt: skip


def test_os_without_arch_and_arch_without_os_are_fine() -> None:
    assert ImageManifest.from_json(image(labels=labels(("os", "freebsd")))).arch is None
    # arch is only meaningful with os: alone it is not checked (appc's ValidateOSArch)
    assert ImageManifest.from_json(image(labels=labels(("arch", "sparc")))).arch == "sparc"


def test_unknown_os_is_rejected_at_its_label() -> None:
    doc = image(labels=labels(("version", "1"), ("os", "windows")))
    assert image_error(doc) == (
        'manifest: labels[1].value: bad os "windows" (must be one of: linux, freebsd, darwin)'
    )


def test_arch_not_valid_for_os_is_rejected_at_its_label() -> None:
    doc = image(labels=labels(("arch", "x86_64"), ("os", "linux")))
    assert image_error(doc).startswith(
        'manifest: labels[0].value: bad arch "x86_64" for linux (must be one of: amd64, i386,'
    )
    doc = image(labels=labels(("os", "darwin"), ("arch", "amd64")))
    assert image_error(doc) == (
        'manifest: labels[1].value: bad arch "amd64" for darwin (must be one of: x86_64, i386)'
    )


def test_duplicate_label() -> None:
    doc = image(labels=labels(("version", "1"), ("env", "a"), ("version", "2")))
    assert image_error(doc) == 'manifest: labels[2].name: duplicate label "version"'


def test_label_called_name_is_rejected() -> None:
    doc = image(labels=labels(("name", "x")))
    assert image_error(doc) == 'manifest: labels[0].name: "name" is not allowed as a label name'


def test_label_name_must_be_an_ac_identifier_and_value_a_string() -> None:
    assert image_error(image(labels=labels(("Version", "1")))).startswith(
        'manifest: labels[0].name: "Version" is not an AC Identifier'
    )
    doc = image(labels=[{"name": "version", "value": 1}])
    assert image_error(doc) == "manifest: labels[0].value: expected a string, got 1"
    assert image_error(image(labels=[{"name": "version"}])) == (
        "manifest: labels[0].value: is required"
    )


def test_dependency_and_pod_image_labels_follow_the_same_rules() -> None:
    doc = image(dependencies=[{"imageName": "example.com/base", "labels": labels(("os", "plan9"))}])
    assert image_error(doc).startswith('manifest: dependencies[0].labels[0].value: bad os "plan9"')
    app = runtime_app(image={"id": "sha512-ab", "labels": labels(("v", "1"), ("v", "2"))})
    assert pod_error(pod(apps=[app])) == 'pod: apps[0].image.labels[1].name: duplicate label "v"'


def test_annotations_lookup() -> None:
    doc = image(annotations=[{"name": "authors", "value": "Carly"}])
    manifest = ImageManifest.from_json(doc)
    assert manifest.annotation("authors") == "Carly"
    assert manifest.annotation("created") is None


def test_duplicate_annotation() -> None:
    doc = image(annotations=[{"name": "a", "value": "1"}, {"name": "a", "value": "2"}])
    assert image_error(doc) == 'manifest: annotations[1].name: duplicate annotation "a"'


@pytest.mark.parametrize(
    "created",
    ["2014-10-27T19:32:27.67021798Z", "2018-04-12T09:31:05+02:00", "2016-02-29T00:00:00-08:00"],
)
def test_valid_created_annotation(created: str) -> None:
    ImageManifest.from_json(image(annotations=[{"name": "created", "value": created}]))


@pytest.mark.parametrize(
    "created",
    [
        "2014-10-27",
        "2014-10-27 19:32:27Z",
        "2014-10-27T19:32:27",
        "2015-02-29T00:00:00Z",
        "2014-13-01T00:00:00Z",
        "yesterday",
    ],
)
def test_invalid_created_annotation(created: str) -> None:
    doc = image(annotations=[{"name": "x", "value": ""}, {"name": "created", "value": created}])
    assert image_error(doc) == (
        f'manifest: annotations[1].value: "{created}" is not an RFC 3339 timestamp'
    )


@pytest.mark.parametrize("name", ["homepage", "documentation"])
def test_url_annotations(name: str) -> None:
    for good in ("https://example.com", "http://example.com/docs?x=1"):
        ImageManifest.from_json(image(annotations=[{"name": name, "value": good}]))
    for bad in ("ftp://example.com", "example.com", "", "http//example.com"):
        doc = image(annotations=[{"name": name, "value": bad}])
        assert image_error(doc) == f'manifest: annotations[0].value: "{bad}" is not an http(s) URL'


def test_untyped_annotations_are_free_text() -> None:
    doc = image(annotations=[{"name": "authors", "value": "not a URL, not a date"}])
    ImageManifest.from_json(doc)


def test_pod_and_pod_app_annotations_are_checked() -> None:
    assert pod_error(pod(annotations=[{"name": "created", "value": "now"}])) == (
        'pod: annotations[0].value: "now" is not an RFC 3339 timestamp'
    )
    doc = pod(apps=[runtime_app(annotations=[{"name": "a", "value": "1"}] * 2)])
    assert pod_error(doc) == 'pod: apps[0].annotations[1].name: duplicate annotation "a"'
    manifest = PodManifest.from_json(pod(annotations=[{"name": "ip", "value": "10.0.0.1"}]))
    assert manifest.annotation("ip") == "10.0.0.1"
