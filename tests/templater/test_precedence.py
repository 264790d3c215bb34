"""Which function a name means in each of dgr's three contexts."""

from __future__ import annotations

from pathlib import Path

import pytest

from carpool.errors import TemplateError
from carpool.templater import function_map, render_dir
from carpool.templater.functions import dgr_functions, gtf_functions, sprig_functions
from tests.templater.helpers import check_outputs

DATA = {"list": ["b", "a"], "n": 3.0, "s": " x "}


def test_template_files_use_gtf_then_sprig_then_dgr() -> None:
    funcs = function_map("template")
    dgr, sprig, gtf = dgr_functions(), sprig_functions(), gtf_functions()
    assert set(funcs) == set(dgr) | set(sprig) | set(gtf)
    for name in ("join", "replace", "split", "add", "toJson", "eq", "contains", "repeat"):
        assert funcs[name] is dgr[name], name
    for name in ("default", "first", "last", "trim", "upper", "lower"):
        assert funcs[name] is sprig[name], name
    for name in ("length", "slice", "truncatechars", "yesno", "capfirst"):
        assert funcs[name] is gtf[name], name
    check_outputs(
        [
            ('{{join (split "a,b" ",") "-"}}', "a-b"),  # dgr: strings.Join(list, sep)
            ('{{replace "aaa" "a" "b" 2}}', "bba"),  # dgr: strings.Replace
            ('{{default "x" ""}} {{first .list}}', "x b"),  # sprig
            ("{{length .list}} {{.list | slice 0 1}}", "2 [b]"),  # gtf (shadows builtin slice)
            ("{{eq .n 3}}", "false"),  # dgr's eq, not Go's builtin
        ],
        DATA,
        "template",
    )


def test_attribute_values_use_dgr_then_gtf() -> None:
    funcs = function_map("attribute")
    assert "b64enc" not in funcs and "dict" not in funcs  # no sprig
    assert funcs["join"] is gtf_functions()["join"]
    assert funcs["replace"] is gtf_functions()["replace"]
    assert funcs["add"] is dgr_functions()["add"]
    check_outputs(
        [
            ('{{"a-b" | replace "-"}}', "ab"),  # gtf: replace(s1, s2) removes s1
            ('{{.missing | default "x"}} {{"" | default "x"}}', "<no value> x"),  # gtf default
            ("{{mul 3 3}}", "9"),
        ],
        DATA,
        "attribute",
    )


def test_partials_see_dgr_and_gtf_but_not_sprig(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "ok.partial").write_text('{{define "p"}}{{length .}} {{toUpper "x"}}{{end}}')
    (templates / "f.tmpl").write_text('{{template "p" .list}} {{b64enc "x"}}')
    render_dir(templates, {"list": [1, 2]}, tmp_path / "out")
    # the template file may call sprig; the partial executes with the file's functions
    assert (tmp_path / "out" / "f").read_text() == "2 X eA==\n"

    (templates / "z.partial").write_text('{{define "q"}}{{b64enc .}}{{end}}')
    with pytest.raises(TemplateError, match='function "b64enc" not defined'):
        render_dir(templates, {}, tmp_path / "out")


def test_unknown_context_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown function context"):
        function_map("nope")  # type: ignore[arg-type]
