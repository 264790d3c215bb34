"""``carpool templater`` end to end: dgr's templater binary contract."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.conftest import Cli


def make_project(root: Path) -> Path:
    (root / "attributes" / "layer").mkdir(parents=True)
    (root / "templates" / "etc").mkdir(parents=True)
    (root / "attributes" / "layer" / "dns.yml").write_text(
        "default:\n  dns: {nameservers: [8.8.8.8]}\n  count: 1000000\n"
        "  name: '{{.dns.nameservers}}'\n"
    )
    (root / "templates" / "etc" / "resolv.conf.tmpl").write_text(
        "{{range .dns.nameservers -}}\nnameserver {{.}}\n{{end -}}\ncount {{.count}} {{.name}}"
    )
    return root


def test_renders_into_target(carpool: Cli, tmp_path: Path) -> None:
    project = make_project(tmp_path / "dgr")
    proc = carpool("templater", "-t", tmp_path / "out", project)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "out/etc/resolv.conf").read_text()
    assert text == "nameserver 8.8.8.8\ncount 1e+06 [8.8.8.8]\n"


def test_override_variables_and_exact_numbers(carpool: Cli, tmp_path: Path) -> None:
    project = make_project(tmp_path / "dgr")
    override = json.dumps({"dns": {"nameservers": ["10.0.0.1", "10.0.0.2"]}})
    carpool(
        "templater",
        "-o",
        "MY_OVERRIDE",
        "-t",
        tmp_path / "a",
        "--exact-numbers",
        project,
        env={"MY_OVERRIDE": override},
    )
    assert (tmp_path / "a/etc/resolv.conf").read_text() == (
        "nameserver 10.0.0.1\nnameserver 10.0.0.2\ncount 1000000 [10.0.0.1 10.0.0.2]\n"
    )
    encoded = "base64," + base64.b64encode(override.encode()).decode()
    carpool(
        "templater",
        "-o",
        "TEMPLATER_OVERRIDE_BASE64",
        "-t",
        tmp_path / "b",
        project,
        env={"TEMPLATER_OVERRIDE_BASE64": encoded},
    )
    assert "nameserver 10.0.0.2" in (tmp_path / "b/etc/resolv.conf").read_text()


def test_no_value_fails_with_one_error_line(carpool: Cli, tmp_path: Path) -> None:
    project = make_project(tmp_path / "dgr")
    (project / "templates" / "bad.tmpl").write_text("a\nb {{.missing}}\n")
    proc = carpool("templater", "-t", tmp_path / "out", project, check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert (
        "templates/bad.tmpl" in lines[0] and "line 2" in lines[0] and "Traceback" not in proc.stderr
    )
    assert not (tmp_path / "out" / "bad").exists()

    proc = carpool("templater", "-c", "-t", tmp_path / "out", project, check=False)
    assert proc.returncode == 0
    assert "<no value>" in proc.stderr and "1 template(s) failed" in proc.stderr
    assert (tmp_path / "out" / "bad").read_text() == "a\nb <no value>\n"


def test_bad_input_is_an_error_naming_the_file(carpool: Cli, tmp_path: Path) -> None:
    project = make_project(tmp_path / "dgr")
    (project / "attributes" / "broken.yml").write_text("default: [unclosed\n")
    proc = carpool("templater", "-t", tmp_path / "out", project, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and "attributes/broken.yml: line 2" in proc.stderr
    proc = carpool(
        "templater", "-o", "V", "-t", tmp_path / "out", tmp_path, check=False, env={"V": "{nope"}
    )
    assert proc.returncode == 1 and "$V: override is not valid JSON" in proc.stderr


def test_trace_prints_rendered_files_and_help_lists_flags(carpool: Cli, tmp_path: Path) -> None:
    project = make_project(tmp_path / "dgr")
    proc = carpool("templater", "-L", "trace", "-t", tmp_path / "out", project)
    assert "nameserver 8.8.8.8" in proc.stderr
    help_text = carpool("templater", "--help").stdout
    for flag in ("-o ENVVAR", "-t", "-c", "-L", "--exact-numbers"):
        assert flag in help_text
