"""The project model without containers: manifest parsing, names, versions, mirrors."""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

import pytest

from carpool.builder.bootstrap import host_debian_mirror
from carpool.builder.project import generated_version, parse_manifest, split_name, tiny_name
from carpool.errors import BuildError, ValidationError
from tests.builder.conftest import write_project

FILLED = """\
name: example.com/aci-test:{{.version}}-1
aci:
  dependencies:
    - example.com/aci-base:1
  app:
    exec: [/bin/sh, -c, "echo {{ .who }}"]
    supplementaryGIDs: [42, 43]
    environment:
      - {name: A, value: b}
  annotations:
{{- range $k, $v := .annotations }}
    - {name: {{ $k }}, value: {{ $v }}}
{{- end }}
  pathWhitelist: [/bin/sh]
builder:
  image: example.com/other-builder
  dependencies: [example.com/toolbox]
  environment: [{name: B, value: c}]
  mountPoints:
    - {from: cache, to: /root/.cache}
build:
  mountPoints:
    - {from: /srv, to: /srv}
tester:
  builder:
    dependencies: [example.com/tester-tools]
  aci:
    dependencies: [example.com/tester-base]
    app:
      environment: [{name: T, value: "1"}]
"""


def test_every_field_is_read(tmp_path: Path) -> None:
    project_dir = write_project(
        tmp_path / "p",
        {
            "aci-manifest.yml": FILLED,
            "attributes/a.yml": "default:\n  version: 2.0\n  who: me\n"
            "  annotations: {team: core, tier: back}\n",
        },
    )
    project = parse_manifest(project_dir)
    assert (project.name, project.version) == ("example.com/aci-test", "2-1")  # float64 2.0
    assert project.aci.dependencies == ["example.com/aci-base:1"]
    assert project.aci.app["exec"] == ["/bin/sh", "-c", "echo me"]
    assert project.aci.app["supplementaryGIDs"] == [42, 43]
    assert project.aci.annotations == [
        {"name": "team", "value": "core"},
        {"name": "tier", "value": "back"},
    ]
    assert project.aci.path_whitelist == ["/bin/sh"]
    assert project.builder.image == "example.com/other-builder"
    assert project.builder.dependencies == ["example.com/toolbox"]
    assert project.builder.environment == {"B": "c"}
    assert project.builder.mount_points[0].source == project_dir / "cache"
    assert project.builder.mount_points[0].to == "/root/.cache"
    assert project.build_mount_points[0].source == Path("/srv")
    assert project.tester_builder.dependencies == ["example.com/tester-tools"]
    assert project.tester_aci.dependencies == ["example.com/tester-base"]
    assert project.tester_aci.app["environment"] == [{"name": "T", "value": "1"}]
    assert project.tiny_name == "aci-test"


def test_no_value_version_is_dropped_and_unknown_keys_warned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    project_dir = write_project(
        tmp_path / "p", {"aci-manifest.yml": "name: example.com/a:{{.version}}\nextra: 1\n"}
    )
    with caplog.at_level(logging.WARNING):
        project = parse_manifest(project_dir)
    assert project.version is None
    assert any("unknown key extra" in r.getMessage() for r in caplog.records)
    with pytest.raises(BuildError, match=r"line 1: templating left <no value>"):
        parse_manifest(project_dir, strict=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "name: is mandatory"),
        ("name: [", "not valid YAML"),
        ("name: Example.com/A", "is not an ACI name"),
        ("name: a/b\naci: {dependencies: x}", "aci.dependencies: must be a list"),
        ("name: a/b\nbuild: {mountPoints: [{from: x}]}", r"build.mountPoints\[0\]"),
        ("name: a/b\naci: {app: [1]}", "aci.app: must be a map"),
        ("name: '{{ .a.b }}'", "aci-manifest.yml"),
    ],
)
def test_bad_manifests_name_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    project_dir = write_project(tmp_path / "p", {"aci-manifest.yml": text})
    with pytest.raises((BuildError, ValidationError), match=message) as info:
        parse_manifest(project_dir)
    assert "aci-manifest.yml" in str(info.value)


def test_names_and_generated_version(tmp_path: Path) -> None:
    assert split_name("example.com/a/b:1.2:3") == ("example.com/a/b", "1.2:3")
    assert split_name("example.com/a") == ("example.com/a", None)
    assert tiny_name("example.com/a/aci-b") == "aci-b"
    assert generated_version(tmp_path, 1_700_000_000) == "20231114.221320"
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f").write_text("x")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run([*git, "add", "f"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    assert re.fullmatch(r"20231114\.221320-v[0-9a-f]{7,}", generated_version(tmp_path, 1.7e9))


def test_host_debian_mirror(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    assert host_debian_mirror(tmp_path) == "http://deb.debian.org/debian"
    (tmp_path / "sources.list.d/debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n"
    )
    assert host_debian_mirror(tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list").write_text(
        "deb [arch=amd64] http://old.example/debian bookworm main\n"
    )
    assert host_debian_mirror(tmp_path) == "http://old.example/debian"
