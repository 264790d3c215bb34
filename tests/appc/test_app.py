"""The ``app`` object: every field, its rule, and the exact error path."""

from __future__ import annotations

import json
from typing import Any

import pytest

from carpool.appc import App, ImageManifest
from carpool.errors import ValidationError

from .documents import app, image, image_error, image_with_app


def parse_app(**fields: Any) -> App:
    manifest = ImageManifest.from_json(image_with_app(**fields))
    assert manifest.app is not None
    return manifest.app


def test_minimal_app_and_defaults() -> None:
    parsed = parse_app()
    assert parsed.exec == ["/bin/app"]
    assert (parsed.user, parsed.group) == ("0", "0")
    assert parsed.supplementary_gids == []
    assert parsed.event_handlers == []
    assert parsed.working_directory == "/"
    assert parsed.environment == [] and parsed.isolators == []
    assert parsed.mount_points == [] and parsed.ports == []
    assert parsed.user_annotations == {} and parsed.user_labels == {}


def test_image_without_app() -> None:
    assert ImageManifest.from_json(image()).app is None


def test_exec_may_be_empty_or_null() -> None:
    assert parse_app(exec=[]).exec == []
    assert parse_app(exec=None).exec == []


def test_exec_must_be_strings() -> None:
    assert image_error(image_with_app(exec=["/bin/sh", 1])) == (
        "manifest: app.exec[1]: expected a string, got 1"
    )
    assert image_error(image_with_app(exec="/bin/sh")) == (
        'manifest: app.exec: expected a list, got "/bin/sh"'
    )


@pytest.mark.parametrize("field", ["user", "group"])
def test_user_and_group_are_required_and_non_empty(field: str) -> None:
    doc = image(app={key: value for key, value in app().items() if key != field})
    assert image_error(doc) == f"manifest: app.{field}: is required"
    assert image_error(image_with_app(**{field: ""})) == f"manifest: app.{field}: must not be empty"
    assert image_error(image_with_app(**{field: 0})) == (
        f"manifest: app.{field}: expected a string, got 0"
    )


@pytest.mark.parametrize("user", ["root", "1000", "/usr/bin/ping"])
def test_user_forms(user: str) -> None:
    assert parse_app(user=user).user == user


@pytest.mark.parametrize("key", ["supplementaryGIDs", "supplementaryGids"])
def test_supplementary_gids_both_spellings_read_and_canonical_one_written(key: str) -> None:
    manifest = ImageManifest.from_json(image(app=app(**{key: [10, 20]})))
    assert manifest.app is not None and manifest.app.supplementary_gids == [10, 20]
    written = manifest.to_dict()["app"]
    assert written["supplementaryGIDs"] == [10, 20]
    assert "supplementaryGids" not in written


def test_supplementary_gids_must_be_ids() -> None:
    assert image_error(image_with_app(supplementaryGIDs=[1, -1])) == (
        "manifest: app.supplementaryGIDs[1]: -1 is not a group ID"
    )
    assert image_error(image_with_app(supplementaryGids=["wheel"])) == (
        'manifest: app.supplementaryGids[0]: expected an integer, got "wheel"'
    )


def test_python_callers_use_snake_case() -> None:
    built = App(exec=["/bin/sh"], user="0", group="0", supplementary_gids=[4])
    assert built.to_dict() == {
        "exec": ["/bin/sh"],
        "user": "0",
        "group": "0",
        "supplementaryGIDs": [4],
    }


def test_event_handlers() -> None:
    parsed = parse_app(
        eventHandlers=[
            {"name": "pre-start", "exec": ["/dgr/bin/prestart"]},
            {"name": "post-stop", "exec": ["/bin/cleanup", "--all"]},
        ]
    )
    pre_start = parsed.event_handler("pre-start")
    post_stop = parsed.event_handler("post-stop")
    assert pre_start is not None and pre_start.exec == ["/dgr/bin/prestart"]
    assert post_stop is not None and post_stop.exec == ["/bin/cleanup", "--all"]
    assert parse_app().event_handler("pre-start") is None


def test_event_handler_rules() -> None:
    two = [{"name": "pre-start", "exec": ["/a"]}, {"name": "pre-start", "exec": ["/b"]}]
    assert image_error(image_with_app(eventHandlers=two)) == (
        'manifest: app.eventHandlers[1].name: more than one "pre-start" handler'
    )
    bad = [{"name": "on-crash", "exec": ["/a"]}]
    assert image_error(image_with_app(eventHandlers=bad)) == (
        'manifest: app.eventHandlers[0].name: "on-crash" is not an event (pre-start or post-stop)'
    )
    empty = [{"name": "post-stop", "exec": []}]
    assert image_error(image_with_app(eventHandlers=empty)) == (
        "manifest: app.eventHandlers[0].exec: must not be empty"
    )


@pytest.mark.parametrize(("given", "read"), [("/opt/work", "/opt/work"), ("/", "/"), ("", "/")])
def test_working_directory(given: str, read: str) -> None:
    assert parse_app(workingDirectory=given).working_directory == read


def test_working_directory_must_be_absolute() -> None:
    assert image_error(image_with_app(workingDirectory="opt/work")) == (
        'manifest: app.workingDirectory: "opt/work" is not an absolute path'
    )


def test_environment() -> None:
    parsed = parse_app(
        environment=[{"name": "PATH", "value": "/bin"}, {"name": "jvm.opts-xmx", "value": "1g"}]
    )
    assert parsed.env("PATH") == "/bin"
    assert parsed.env("HOME") is None
    assert parsed.environment_dict() == {"PATH": "/bin", "jvm.opts-xmx": "1g"}


def test_environment_rules() -> None:
    duplicate = [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
        {"name": "A", "value": ""},
    ]
    assert image_error(image_with_app(environment=duplicate)) == (
        'manifest: app.environment[2].name: duplicate environment variable "A"'
    )
    bad_name = [{"name": "1ST", "value": "x"}]
    assert image_error(image_with_app(environment=bad_name)) == (
        'manifest: app.environment[0].name: "1ST" is not a valid environment variable name'
    )
    no_value = [{"name": "A"}]
    assert image_error(image_with_app(environment=no_value)) == (
        "manifest: app.environment[0].value: is required"
    )


def test_mount_points() -> None:
    parsed = parse_app(
        mountPoints=[
            {"name": "data", "path": "/var/lib/data", "readOnly": True},
            {"name": "logs", "path": "/var/log"},
        ]
    )
    assert [(m.name, m.path, m.read_only) for m in parsed.mount_points] == [
        ("data", "/var/lib/data", True),
        ("logs", "/var/log", False),
    ]
    assert image_error(image_with_app(mountPoints=[{"name": "data"}])) == (
        "manifest: app.mountPoints[0].path: is required"
    )
    assert image_error(
        image_with_app(mountPoints=[{"name": "d", "path": "/d", "readOnly": "no"}])
    ) == ('manifest: app.mountPoints[0].readOnly: expected a boolean, got "no"')


def port(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": "http", "protocol": "tcp", "port": 80}
    doc.update(fields)
    return doc


def test_ports() -> None:
    parsed = parse_app(
        ports=[
            port(),
            port(name="range", protocol="udp", port=9000, count=10, socketActivated=True),
        ]
    )
    http, span = parsed.ports
    assert (http.port, http.count, http.last_port, http.socket_activated) == (80, 1, 80, False)
    assert (span.protocol, span.port, span.count, span.last_port) == ("udp", 9000, 10, 9009)
    assert span.socket_activated


def test_port_count_zero_means_one() -> None:
    assert parse_app(ports=[port(count=0)]).ports[0].count == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"port": 70000}, "port: 70000 is not a port"),
        ({"port": 0}, "port: 0 is not a port"),
        ({"port": -1}, "port: -1 is not a port"),
        ({"port": "80"}, 'port: expected an integer, got "80"'),
        ({"port": 80.0}, "port: expected an integer, got 80.0"),
        ({"port": 65535, "count": 2}, "count: ports 65535..65536 go beyond 65535"),
        ({"port": 65000, "count": 537}, "count: ports 65000..65536 go beyond 65535"),
        ({"count": -1}, "count: -1 is not a port count"),
        (
            {"name": "HTTP"},
            'name: "HTTP" is not an AC Name (lowercase letters, digits and single dashes)',
        ),
        ({"protocol": ""}, "protocol: must not be empty"),
    ],
)
def test_invalid_ports(fields: dict[str, Any], message: str) -> None:
    doc = image_with_app(ports=[port(name="ok", port=1), port(**fields)])
    assert image_error(doc) == f"manifest: app.ports[1].{message}"


def test_highest_port_range_fits() -> None:
    assert parse_app(ports=[port(port=65000, count=536)]).ports[0].last_port == 65535
    assert parse_app(ports=[port(port=65535)]).ports[0].port == 65535


def test_user_annotations_and_labels() -> None:
    parsed = parse_app(userAnnotations={"owner": "team-a"}, userLabels={"tier": "front"})
    assert parsed.user_annotations == {"owner": "team-a"}
    assert parsed.user_labels == {"tier": "front"}
    assert image_error(image_with_app(userLabels={"tier": 1})) == (
        "manifest: app.userLabels.tier: expected a string, got 1"
    )


def test_several_errors_report_the_first_and_count_the_rest() -> None:
    doc = image_with_app(user="", group="", ports=[port(port=0)])
    message = image_error(doc)
    assert message == "manifest: app.user: must not be empty (and 2 more)"


def test_app_alone_from_json() -> None:
    parsed = App.from_json(json.dumps(app(workingDirectory="/srv")), source="app.json")
    assert parsed.working_directory == "/srv"


def test_odd_map_keys_are_quoted_in_the_path() -> None:
    assert image_error(image_with_app(userLabels={"a b\n": 1})) == (
        'manifest: app.userLabels["a b\\n"]: expected a string, got 1'
    )


def test_deeply_nested_json_is_refused_cleanly() -> None:
    data = '{"acKind": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(ValidationError, match=r"^manifest: invalid JSON: nested too deeply$"):
        ImageManifest.from_json(data)


def test_both_gid_spellings_at_once_is_ambiguous() -> None:
    doc = image_with_app(supplementaryGids=[1], supplementaryGIDs=[2])
    assert image_error(doc) == (
        "manifest: app.supplementaryGids: given twice (also as supplementaryGIDs)"
    )
