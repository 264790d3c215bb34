"""Attribute files: dgr's order, merge, default/override, overrides, templating, numbers."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from carpool.errors import AttributesError, TemplateError
from carpool.templater import load_attributes, merge_attributes, resolve_attributes
from carpool.templater.attributes import list_attribute_files
from carpool.templater.yamlgo import load_yaml, load_yaml_as_json


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def resolve(directory: Path, env: dict[str, str] | None = None, **kw: Any) -> dict[str, Any]:
    return resolve_attributes(directory, environ=env or {}, **kw)


def test_files_are_read_recursively_in_lexical_order(tmp_path: Path) -> None:
    attrs = tmp_path / "attributes"
    write(attrs / "b.yml", "default: {who: b, b: 1}")
    write(attrs / "a" / "z.yaml", "default: {who: a/z, az: 1}")
    write(attrs / "A.txt", "default: {who: A, upper: 1}")  # any extension, byte order
    write(attrs / "c" / "d" / "e.yml", "default: {who: c/d/e}")
    order = [p.relative_to(attrs).as_posix() for p in list_attribute_files(attrs)]
    assert order == ["A.txt", "a/z.yaml", "b.yml", "c/d/e.yml"]
    assert resolve(attrs) == {"who": "c/d/e", "upper": 1.0, "az": 1.0, "b": 1.0}


def test_maps_merge_deeply_and_everything_else_replaces(tmp_path: Path) -> None:
    attrs = tmp_path / "attributes"
    write(attrs / "1.yml", "default:\n  m: {a: 1, o: {x: 1, z: 2}}\n  l: [1, 2]\n  s: one\n  k: v")
    write(attrs / "2.yml", "default:\n  m: {b: 2, o: {z: 3}}\n  l: [3]\n  s: two\n  k: null")
    assert resolve(attrs) == {
        "m": {"a": 1.0, "b": 2.0, "o": {"x": 1.0, "z": 3.0}},
        "l": [3.0],
        "s": "two",
        "k": None,
    }


def test_every_override_beats_every_default(tmp_path: Path) -> None:
    attrs = tmp_path / "attributes"
    write(attrs / "1.yml", "override: {port: 1, m: {a: o}}\nother: ignored")
    write(attrs / "2.yml", "default: {port: 2, m: {a: d, b: d}}")
    assert resolve(attrs) == {"port": 1.0, "m": {"a": "o", "b": "d"}}


def test_empty_files_are_skipped_and_null_default_wipes(tmp_path: Path) -> None:
    attrs = tmp_path / "attributes"
    write(attrs / "1.yml", "default: {a: 1}")
    write(attrs / "2.yml", "")
    write(attrs / "3.yml", "# only a comment\n")
    assert resolve(attrs) == {"a": 1.0}
    write(attrs / "4.yml", "default:\n")  # dgr's quirk: a bare default: drops what came before
    write(attrs / "5.yml", "default: {b: 2}\noverride:\n")
    assert resolve(attrs) == {"b": 2.0}


def test_missing_attributes_dir_gives_no_attributes(tmp_path: Path) -> None:
    assert resolve(tmp_path / "nope") == {}


def test_kubernetes_configmap_layout_is_read_once(tmp_path: Path) -> None:
    attrs = tmp_path / "attributes"
    stamp = attrs / "..2024_01_01_00_00_00.123"
    write(stamp / "app.yml", "default: {list: [1], v: 1}")
    os.symlink(stamp.name, attrs / "..data")
    os.symlink("..data/app.yml", attrs / "app.yml")
    write(attrs / "zz.yml", "default: {v: 2}")
    files = list_attribute_files(attrs)
    assert [p.relative_to(attrs).as_posix() for p in files] == [
        "..2024_01_01_00_00_00.123/app.yml",
        "zz.yml",
    ]
    assert resolve(attrs) == {"list": [1.0], "v": 2.0}


def test_symlinked_attribute_dirs_are_followed(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    write(shared / "s.yml", "default: {shared: yes}")
    attrs = tmp_path / "attributes"
    attrs.mkdir()
    os.symlink(shared, attrs / "layer")
    os.symlink(attrs, attrs / "loop")  # a loop does not hang the walk
    write(tmp_path / "elsewhere.yml", "default: {single: 1}")
    os.symlink(tmp_path / "elsewhere.yml", attrs / "link.yml")
    os.symlink(tmp_path / "missing.yml", attrs / "dangling.yml")
    assert resolve(attrs) == {"shared": True, "single": 1.0}


def test_override_variable_json_and_base64(tmp_path: Path) -> None:
    attrs = tmp_path / "attributes"
    write(attrs / "a.yml", "default: {dns: {nameservers: [8.8.8.8], search: [x]}, v: 1}")
    override = {"dns": {"nameservers": ["10.1.1.1"]}, "v": 5}
    env = {"TEMPLATER_OVERRIDE": json.dumps(override)}
    expected = {"dns": {"nameservers": ["10.1.1.1"], "search": ["x"]}, "v": 5.0}
    assert resolve(attrs, env, override_var="TEMPLATER_OVERRIDE") == expected
    encoded = "base64," + base64.b64encode(json.dumps(override).encode()).decode()
    env = {"TEMPLATER_OVERRIDE_BASE64": encoded}
    assert resolve(attrs, env, override_var="TEMPLATER_OVERRIDE_BASE64") == expected
    # no -o, or an empty variable: nothing merged
    assert resolve(attrs, env, override_var=None)["v"] == 1.0
    assert resolve(attrs, {"V": ""}, override_var="V")["v"] == 1.0


def test_bad_override_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(AttributesError, match=r"\$V: override is not valid JSON"):
        resolve(tmp_path, {"V": "{nope"}, override_var="V")
    with pytest.raises(AttributesError, match=r"\$V: override must be a JSON object"):
        resolve(tmp_path, {"V": "[1]"}, override_var="V")
    with pytest.raises(AttributesError, match=r"\$V: invalid base64"):
        resolve(tmp_path, {"V": "base64,!!!!!!"}, override_var="V")


def test_attribute_values_are_templated_once_and_reparsed_as_yaml(tmp_path: Path) -> None:
    attrs = tmp_path / "attributes"
    write(
        attrs / "a.yml",
        """default:
  pod: {ip: 1.1.1.1}
  zk: {hosts: [{host: localhost, port: 2181}]}
  dns: {nameservers: [8.8.8.8]}
  first: "{{index .dns.nameservers 0}}"
  nine: "{{mul 3 3}}"
  hosts: "{{toYaml .zk.hosts}}"
  ip: "{{.pod.ip}}"
  chained: "via {{.ip}}"
  missing: "{{.nope}}"
  joined: '{{split "a,b" "," | join "-"}}'
  literal: "no template"
""",
    )
    result = resolve(attrs)
    assert result["first"] == "8.8.8.8"
    assert result["nine"] == 9.0  # a number again, as YAML says
    assert result["hosts"] == [{"host": "localhost", "port": 2181.0}]
    assert result["ip"] == "1.1.1.1"
    assert result["chained"] == "via {{.pod.ip}}"  # one pass: sees the source value
    assert result["missing"] == "<no value>"
    assert result["joined"] == "a-b"  # gtf's join in attribute values
    assert result["literal"] == "no template"


def test_override_values_are_templated_too(tmp_path: Path) -> None:
    attrs = tmp_path / "attributes"
    write(attrs / "a.yml", "default: {name: web}")
    env = {"O": json.dumps({"url": "http://{{.name}}:80"})}
    assert resolve(attrs, env, override_var="O")["url"] == "http://web:80"


def test_attribute_template_errors_name_the_value(tmp_path: Path) -> None:
    attrs = tmp_path / "attributes"
    write(attrs / "a.yml", 'default: {bad: "{{.nothing.y}}", nothing: null}')
    with pytest.raises(TemplateError, match="nil pointer evaluating interface"):
        resolve(attrs)
    write(attrs / "a.yml", 'default: {bad: "{{ \\"a: [\\" }}"}')
    with pytest.raises(AttributesError, match="not valid YAML"):
        resolve(attrs)


def test_numbers_are_float64_unless_exact(tmp_path: Path) -> None:
    attrs = tmp_path / "attributes"
    write(attrs / "a.yml", "default: {big: 1000000, hex: 0x10, oct: 0755, f: 1.5, s: '3'}")
    assert resolve(attrs) == {"big": 1e6, "hex": 16.0, "oct": 493.0, "f": 1.5, "s": "3"}
    exact = resolve(attrs, exact_numbers=True)
    assert exact == {"big": 1000000, "hex": 16, "oct": 493, "f": 1.5, "s": "3"}
    assert type(exact["big"]) is int
    env = {"O": '{"o": 7}'}
    assert type(resolve(attrs, env, override_var="O", exact_numbers=True)["o"]) is int
    assert type(resolve(attrs, env, override_var="O")["o"]) is float


def test_yaml_is_typed_like_yaml_v2() -> None:
    doc = load_yaml(
        "a: 1:20\nb: 1e3\nc: y\nd: 0777\ne: 0x1F\nf: 2001-12-14\ng: .5\nh: ~\ni: on\nj: 1_000\n"
        "k: yes please\nl: 0b11\nm: -.inf\n"
    )
    assert doc == {
        "a": "1:20",  # no sexagesimal
        "b": 1000.0,
        "c": True,
        "d": 511,
        "e": 31,
        "f": "2001-12-14",  # timestamps stay strings
        "g": 0.5,
        "h": None,
        "i": True,
        "j": 1000,
        "k": "yes please",
        "l": 3,
        "m": float("-inf"),
    }
    assert load_yaml_as_json("1: a\ntrue: b\nn: c") == {"1": "a", "true": "b", "false": "c"}
    # anchors and merge keys work, and every alias is its own copy (as after JSON)
    doc = load_yaml_as_json("b: &b {k: 1}\nx:\n  <<: *b\n  j: 2\nl: [*b]\nbin: !!binary aGk=\n")
    assert doc == {"b": {"k": 1.0}, "x": {"k": 1.0, "j": 2.0}, "l": [{"k": 1.0}], "bin": "hi"}
    assert doc["l"][0] is not doc["b"]


def test_invalid_files_are_errors_naming_file_and_line(tmp_path: Path) -> None:
    attrs = tmp_path / "attributes"
    bad = write(attrs / "bad.yml", "default:\n  a: [1, 2\n  b: 3\n")
    with pytest.raises(AttributesError, match=rf"{bad}: line \d+, column \d+: "):
        resolve(attrs)
    write(attrs / "bad.yml", "- just\n- a list\n")
    with pytest.raises(AttributesError, match=rf"{bad}: attributes must be a map"):
        resolve(attrs)
    write(attrs / "bad.yml", "default: [1]\n")
    with pytest.raises(AttributesError, match="'default' must be a map"):
        resolve(attrs)


def test_public_merge_helpers(tmp_path: Path) -> None:
    dst = {"a": {"x": 1}, "l": [1]}
    assert merge_attributes(dst, {"a": {"y": 2}, "l": [2]}) == {"a": {"x": 1, "y": 2}, "l": [2]}
    write(tmp_path / "one" / "a.yml", "default: {a: 1}")
    write(tmp_path / "two" / "b.yml", "default: {a: 2, b: '{{.a}}'}")
    # several dirs merge in the order given; load_attributes does not template
    assert load_attributes([tmp_path / "one", tmp_path / "two"]) == {"a": 2.0, "b": "{{.a}}"}
    assert resolve_attributes({"a": 1.0, "b": "{{.a}}"}, environ={}) == {"a": 1.0, "b": 1.0}
