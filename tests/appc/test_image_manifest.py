"""The image manifest document: top-level fields, parsing entry points, error format."""

from __future__ import annotations

import json
from typing import Any

import pytest

from carpool.appc import APPC_SPEC_VERSION, Dependency, ImageManifest, Label
from carpool.errors import ValidationError

from .documents import SOME_ID, image, image_error


def test_minimal_manifest() -> None:
    manifest = ImageManifest.from_json(image())
    assert manifest.ac_kind == "ImageManifest"
    assert manifest.ac_version == "0.8.11"
    assert manifest.name == "example.com/app"
    assert manifest.labels == [] and manifest.annotations == []
    assert manifest.dependencies == [] and manifest.path_whitelist == []
    assert manifest.app is None


@pytest.mark.parametrize("as_type", [bytes, str, dict])
def test_from_json_accepts_bytes_text_and_objects(as_type: type) -> None:
    doc = image(labels=[{"name": "version", "value": "1"}])
    forms: dict[type, bytes | str | dict[str, Any]] = {
        bytes: json.dumps(doc).encode(),
        str: json.dumps(doc),
        dict: doc,
    }
    data = forms[as_type]
    assert ImageManifest.from_json(data).version == "1"


@pytest.mark.parametrize("missing", ["acKind", "acVersion", "name"])
def test_required_top_level_fields(missing: str) -> None:
    doc = image()
    del doc[missing]
    assert image_error(doc) == f"manifest: {missing}: is required"


def test_wrong_kind() -> None:
    assert image_error(image(acKind="PodManifest")) == (
        'manifest: acKind: must be "ImageManifest", got "PodManifest"'
    )


def test_source_prefixes_the_message() -> None:
    assert image_error(image(name=""), source="etcd.aci").startswith('etcd.aci: name: "" is not')
    with pytest.raises(ValidationError, match=r"^name: "):
        ImageManifest.from_json(image(name="_"), source="")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"{",
            "manifest: invalid JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
        (b"", "manifest: invalid JSON: Expecting value: line 1 column 1 (char 0)"),
        (b"\xff\xfe", "manifest: not UTF-8 text (invalid start byte)"),
        (b"[]", "manifest: expected a JSON object, got []"),
        (b'"x"', 'manifest: expected a JSON object, got "x"'),
        (b'{"acKind": NaN}', "manifest: invalid JSON: NaN is not valid JSON"),
    ],
)
def test_unreadable_documents(data: bytes, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        ImageManifest.from_json(data)
    assert str(info.value) == message


def test_dependencies() -> None:
    manifest = ImageManifest.from_json(
        image(
            dependencies=[
                {"imageName": "example.com/base", "labels": [{"name": "version", "value": "1"}]},
                {"imageName": "example.com/tools", "imageID": SOME_ID, "size": 1024},
            ]
        )
    )
    base, tools = manifest.dependencies
    assert (base.image_name, base.image_id, base.size, base.label("version")) == (
        "example.com/base",
        None,
        None,
        "1",
    )
    assert (tools.image_name, tools.image_id, tools.size, tools.labels) == (
        "example.com/tools",
        SOME_ID,
        1024,
        [],
    )


def test_dependency_rules() -> None:
    assert image_error(image(dependencies=[{"labels": []}])) == (
        "manifest: dependencies[0].imageName: is required"
    )
    assert image_error(image(dependencies=[{"imageName": "b", "size": -1}])) == (
        "manifest: dependencies[0].size: -1 is not a size in bytes"
    )
    assert image_error(image(dependencies=[{"imageName": "b", "size": "1k"}])) == (
        'manifest: dependencies[0].size: expected an integer, got "1k"'
    )
    assert image_error(image(dependencies={"imageName": "b"})) == (
        'manifest: dependencies: expected a list, got {"imageName": "b"}'
    )
    assert image_error(image(dependencies=["example.com/base"])) == (
        'manifest: dependencies[0]: expected an object, got "example.com/base"'
    )


def test_path_whitelist() -> None:
    manifest = ImageManifest.from_json(image(pathWhitelist=["/etc/hosts", "/usr/bin/"]))
    assert manifest.path_whitelist == ["/etc/hosts", "/usr/bin/"]
    assert image_error(image(pathWhitelist=["/etc", "usr/bin"])) == (
        'manifest: pathWhitelist[1]: "usr/bin" is not an absolute path'
    )


def test_python_construction_writes_kind_and_version() -> None:
    manifest = ImageManifest(
        name="aci.example.com/aci-foo",
        labels=[Label(name="version", value="1.0-1")],
        dependencies=[Dependency(image_name="aci.example.com/aci-base")],
    )
    assert manifest.to_dict() == {
        "acKind": "ImageManifest",
        "acVersion": APPC_SPEC_VERSION,
        "name": "aci.example.com/aci-foo",
        "labels": [{"name": "version", "value": "1.0-1"}],
        "dependencies": [{"imageName": "aci.example.com/aci-base"}],
    }
    assert ImageManifest.from_json(manifest.to_json()) == manifest


def test_output_is_deterministic_and_in_go_field_order() -> None:
    doc = image(
        pathWhitelist=["/a"],
        dependencies=[{"size": 1, "imageName": "b"}],
        annotations=[{"value": "x", "name": "authors"}],
        app={"group": "0", "user": "0", "exec": ["/x"]},
        labels=[{"value": "1", "name": "version"}],
    )
    doc = dict(reversed(list(doc.items())))
    text = ImageManifest.from_json(doc).to_json()
    assert text == (
        '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/app",'
        '"labels":[{"name":"version","value":"1"}],'
        '"app":{"exec":["/x"],"user":"0","group":"0"},'
        '"annotations":[{"name":"authors","value":"x"}],'
        '"dependencies":[{"imageName":"b","size":1}],'
        '"pathWhitelist":["/a"]}'
    )
    assert ImageManifest.from_json(text).to_json() == text


def test_indented_output() -> None:
    manifest = ImageManifest.from_json(image())
    assert manifest.to_json(indent=2).startswith('{\n  "acKind": "ImageManifest",')
    assert json.loads(manifest.to_json(indent=2)) == manifest.to_dict()


def test_unknown_keys_are_kept_everywhere() -> None:
    doc = image(
        x_top={"nested": [1]},
        labels=[{"name": "version", "value": "1", "comment": "kept"}],
        app={"exec": ["/x"], "user": "0", "group": "0", "futureField": True},
    )
    manifest = ImageManifest.from_json(doc)
    assert manifest.to_dict() == doc


def test_snake_case_keys_in_json_are_not_fields() -> None:
    manifest = ImageManifest.from_json(image(path_whitelist=["relative"]))
    assert manifest.path_whitelist == []
    assert manifest.to_dict()["path_whitelist"] == ["relative"]


def test_go_nulls_read_as_empty_and_are_written_back() -> None:
    doc = image(
        labels=None,
        annotations=None,
        dependencies=None,
        pathWhitelist=None,
        app={"exec": None, "user": "0", "group": "0", "environment": None, "isolators": None},
    )
    manifest = ImageManifest.from_json(doc)
    assert manifest.labels == [] and manifest.dependencies == [] and manifest.path_whitelist == []
    assert manifest.app is not None and manifest.app.exec == [] and manifest.app.environment == []
    assert manifest.to_dict() == doc
    assert ImageManifest.from_json(manifest.to_json()) == manifest


def test_explicit_defaults_survive_output() -> None:
    doc = image(
        app={
            "exec": [],
            "user": "0",
            "group": "0",
            "workingDirectory": "/",
            "mountPoints": [{"name": "d", "path": "/d", "readOnly": False}],
            "ports": [
                {"name": "p", "protocol": "tcp", "port": 1, "count": 1, "socketActivated": False}
            ],
        },
        labels=[],
    )
    assert ImageManifest.from_json(doc).to_dict() == doc


def test_snake_case_null_in_json_stays_an_unknown_key() -> None:
    doc = image(path_whitelist=None, pathWhitelist=["/etc"])
    manifest = ImageManifest.from_json(doc)
    assert manifest.path_whitelist == ["/etc"]
    assert manifest.to_dict() == doc
