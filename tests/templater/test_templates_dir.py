"""Rendering a templates dir: names, partials, .cfg, <no value>, -c, atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from carpool.errors import TemplateError
from carpool.templater import render_dir, run_templater
from carpool.templater.templates_dir import output_name

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")


def write(path: Path, text: str, mode: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mode is not None:
        path.chmod(mode)
    return path


def project(tmp_path: Path, templates: dict[str, str], attributes: str = "") -> Path:
    root = tmp_path / "dgr"
    for name, text in templates.items():
        write(root / "templates" / name, text)
    write(root / "attributes" / "attributes.yml", attributes)
    return root


def test_output_names() -> None:
    assert output_name("resolv.conf.tmpl") == "resolv.conf"
    assert output_name("nerve.tmpl.yml") == "nerve.yml"
    assert output_name("a.tmpl.b.tmpl.c") == "a.b.tmpl.c"
    assert output_name("nerve.tmpl.yml.cfg") is None
    assert output_name("x.tmpl.cfg") is None
    assert output_name("plain.conf") is None
    assert output_name("header.partial") is None


def test_renders_tree_under_target_with_dgr_rules(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "etc/resolv.conf.tmpl": "{{range .dns.nameservers}}nameserver {{.}}\n{{end -}}\n",
            "etc/app/nerve.tmpl.yml": "port: {{.port}}\n",
            "etc/ignored.conf": "not a template",
            "etc/app/nerve.tmpl.yml.cfg": "mode: 0600\n",
            "empty/dir/.keep.txt": "",
        },
        "default:\n  dns: {nameservers: [8.8.8.8, 8.8.4.4]}\n  port: 1000000\n",
    )
    target = tmp_path / "rootfs"
    report = run_templater(root, target)
    assert (target / "etc/resolv.conf").read_text() == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n\n"
    assert (target / "etc/app/nerve.yml").read_text() == "port: 1e+06\n"
    assert stat.S_IMODE((target / "etc/app/nerve.yml").stat().st_mode) == 0o600
    assert not (target / "etc/ignored.conf").exists()
    assert not (target / "etc/app/nerve.yml.cfg").exists()
    assert (target / "empty/dir").is_dir()  # every templates dir exists in the target
    assert sorted(p.relative_to(target).as_posix() for p in report.rendered) == [
        "etc/app/nerve.yml",
        "etc/resolv.conf",
    ]
    assert not [p for p in target.rglob("*") if p.name.endswith(".tmp")]


def test_file_mode_follows_the_template(tmp_path: Path) -> None:
    root = project(tmp_path, {"bin/run.sh.tmpl": "#!/bin/sh\necho {{.x}}"}, "default: {x: hi}")
    (root / "templates/bin/run.sh.tmpl").chmod(0o751)
    run_templater(root, tmp_path / "out")
    assert stat.S_IMODE((tmp_path / "out/bin/run.sh").stat().st_mode) == 0o751


def test_partials_define_shared_blocks_and_take_pairs(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "dns.partial": (
                '{{ define "dns_list" }}\n{{- $dd := .directive -}}\n{{ range .servers -}}\n'
                "{{ $dd }} {{ . }}\n{{ end }}\n{{- end -}}\n"
            ),
            "header.partial": '{{define "header"}}# generated for {{.}}{{end}}',
            "etc/resolv.conf.tmpl": (
                '{{template "header" .name}}\n'
                '{{ template "dns_list" pairs "servers" .dns.servers "directive" "nameserver" }}\n'
                "{{ if .dns.search -}}\nsearch {{ range .dns.search }} {{.}} {{end}}\n{{end}}\n"
            ),
            "sub/not-a-partial.partial": '{{define "header"}}WRONG{{end}}',
        },
        "default: {name: web, dns: {servers: [1.1.1.1, 2.2.2.2], search: [a.com]}}",
    )
    run_templater(root, tmp_path / "out")
    assert (tmp_path / "out/etc/resolv.conf").read_text() == (
        "# generated for web\n\nnameserver 1.1.1.1\nnameserver 2.2.2.2\n\n\nsearch  a.com \n\n"
    )


def test_no_value_fails_naming_template_and_line(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {"etc/a.conf.tmpl": "ok\nhost: {{.host}}\n", "etc/b.conf.tmpl": "b"},
        "default: {}",
    )
    with pytest.raises(TemplateError) as info:
        run_templater(root, tmp_path / "out")
    message = str(info.value)
    assert "templates/etc/a.conf.tmpl" in message and "line 2" in message
    assert "host: <no value>" in message
    assert not (tmp_path / "out/etc/a.conf").exists()  # nothing half-written


def test_continue_on_error_logs_writes_and_goes_on(tmp_path: Path, caplog: Any) -> None:
    root = project(
        tmp_path,
        {
            "a.tmpl": "host: {{.host}}",
            "b.tmpl": "{{.x.y.z | len}}",
            "c.tmpl": "{{if}}",
            "d.tmpl": "fine {{.v}}",
        },
        "default: {v: 1, x: {y: 3}}",
    )
    report = run_templater(root, tmp_path / "out", continue_on_error=True)
    assert (tmp_path / "out/d").read_text() == "fine 1\n"
    # dgr's -c still writes a file with <no value>
    assert (tmp_path / "out/a").read_text() == "host: <no value>\n"
    assert not (tmp_path / "out/b").exists() and not (tmp_path / "out/c").exists()
    assert len(report.failures) == 3 and not report.ok
    assert "line 1 has <no value>" in report.failures[0]
    assert "error calling len" in report.failures[1]
    assert "missing value for if" in report.failures[2]
    assert "templating" in caplog.text


def test_execution_and_parse_errors_are_go_messages(tmp_path: Path) -> None:
    root = project(tmp_path, {"x.tmpl": "a\n{{.a.b.c}}"}, "default: {a: {b: 1}}")
    with pytest.raises(TemplateError, match=r"template: .*/templates/x.tmpl:2:4: executing"):
        run_templater(root, tmp_path / "out")
    root = project(tmp_path, {"x.tmpl": "{{nosuchfunc}}"})
    with pytest.raises(TemplateError, match='function "nosuchfunc" not defined'):
        run_templater(root, tmp_path / "out")


def test_check_command_runs_after_writing(tmp_path: Path) -> None:
    root = project(tmp_path, {"etc/app.conf.tmpl": "v={{.v}}"}, "default: {v: 1}")
    write(root / "templates/etc/app.conf.tmpl.cfg", 'checkCmd: grep -q v=1 "$TARGET_FILE"\n')
    seen: list[tuple[str, str]] = []

    def runner(command: str, path: Path) -> None:
        seen.append((command, path.read_text()))

    run_templater(root, tmp_path / "out", check_runner=runner)
    assert seen == [('grep -q v=1 "$TARGET_FILE"', "v=1\n")]
    write(root / "templates/etc/app.conf.tmpl.cfg", "checkCmd: exit 3\n")
    with pytest.raises(TemplateError, match="check command 'exit 3' failed with exit status 3"):
        run_templater(root, tmp_path / "out")


def test_bad_cfg_is_an_error_naming_it(tmp_path: Path) -> None:
    root = project(tmp_path, {"a.tmpl": "x"})
    write(root / "templates/a.tmpl.cfg", "uid: root\n")
    with pytest.raises(TemplateError, match=r"a.tmpl.cfg: uid: 'root' is not an integer"):
        run_templater(root, tmp_path / "out")


@as_root
def test_cfg_sets_owner_and_mode(tmp_path: Path) -> None:
    root = project(tmp_path, {"etc/secret.tmpl": "s={{.s}}"}, "default: {s: x}")
    write(
        root / "templates/etc/secret.tmpl.cfg", "uid: 1234\ngid: 4321\nmode: 0640\ncheckCmd: true\n"
    )
    run_templater(root, tmp_path / "out")
    info = (tmp_path / "out/etc/secret").stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (1234, 4321, 0o640)
    # defaults: the templater's own uid/gid
    write(root / "templates/etc/secret.tmpl.cfg", "")
    run_templater(root, tmp_path / "out")
    info = (tmp_path / "out/etc/secret").stat()
    assert (info.st_uid, info.st_gid) == (os.getuid(), os.getgid())
    # the runtime renders for the app's user: a default owner for files without uid/gid
    write(root / "templates/etc/secret.tmpl.cfg", "gid: 7\n")
    render_dir(root / "templates", {"s": 1}, tmp_path / "o2", default_owner=(1000, 1000))
    info = (tmp_path / "o2/etc/secret").stat()
    assert (info.st_uid, info.st_gid) == (1000, 7)


def test_render_dir_with_merged_attributes_and_override(tmp_path: Path) -> None:
    write(tmp_path / "t/a.tmpl", "{{.a}} {{.b}}")
    env = {"TEMPLATER_OVERRIDE": '{"b": "over"}'}
    report = render_dir(tmp_path / "t", {"a": 1.5, "b": "x"}, tmp_path / "o", override_env=env)
    assert (tmp_path / "o/a").read_text() == "1.5 over\n"
    assert report.ok and report.rendered == [tmp_path / "o/a"]


def test_no_templates_dir_is_nothing_to_do(tmp_path: Path) -> None:
    write(tmp_path / "dgr/attributes/a.yml", "default: {a: 1}")
    assert run_templater(tmp_path / "dgr", tmp_path / "out").rendered == []
    assert not (tmp_path / "out").exists()


def test_template_sees_prior_template_files_defines_through_partials(tmp_path: Path) -> None:
    # with partials, all templates share one Go template set, as in dgr
    root = project(
        tmp_path,
        {
            "p.partial": '{{define "p"}}P{{end}}',
            "a.tmpl": '{{define "shared"}}from a{{end}}{{template "p"}}',
            "b.tmpl": '{{template "shared"}}',
        },
    )
    run_templater(root, tmp_path / "out")
    assert (tmp_path / "out/b").read_text() == "from a\n"


def test_template_text_is_read_like_path_read_text(tmp_path: Path) -> None:
    from carpool.templater.templates_dir import read_text

    path = tmp_path / "t.tmpl"
    for data in (b"a\r\nb\rc\n\r\n", b"\xef\xbb\xbfbom \xff\xfe bad\r", b"", b"\r", b"x\r\r\n"):
        path.write_bytes(data)
        assert read_text(str(path)) == path.read_text(encoding="utf-8", errors="surrogateescape")
