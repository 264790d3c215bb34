"""dgr's and gtf's functions, differentially: carpool against Go implementations in Go.

``godgr/main.go`` registers Go versions of dgr's ``TemplateFunctions`` and gtf's
``GtfFuncMap`` in dgr's orders (gtf then dgr, as for partials; dgr then gtf, as for
attribute values) and renders a batch of cases with Go's own ``text/template``, so
argument conversion, type errors, panics and printing come from Go itself.  sprig
needs third-party packages and is covered by its unit tests instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from carpool.errors import TemplateError
from tests.templater.helpers import render

SOURCE = Path(__file__).resolve().parent / "godgr" / "main.go"

DATA: dict[str, Any] = {
    "n": 3,
    "f": 2.5,
    "big": 1000000,
    "s": "The Go Programming Language",
    "list": ["b", "a", "c"],
    "nums": [1, 2, 2],
    "map": {"b": 1, "a": {"x": 2}, "c": "z"},
    "deep": {"l1": {"l2": {"k": "v"}}},
    "nil": None,
    "t": True,
    "empty": "",
    "json": '{"a": [1, "<x>"], "b": null, "c": 1e21}',
}

TEMPLATES = [
    # dgr
    '{{base "/a/b/c.txt"}} {{base ""}} {{base "/"}} {{dir "/a/b/"}} {{dir "x"}}',
    '{{split "a,b,,c" ","}} {{split "abc" ""}} {{join (split "a:b" ":") "-"}}',
    '{{toUpper "abc"}} {{toLower "ABC"}} {{contains "seafood" "foo"}}',
    '{{replace "oink oink oink" "k" "ky" 2}} {{replace "abc" "" "-" -1}} {{repeat "ab" 3}}',
    '{{hasPrefix "golang" "go"}} {{hasSuffix "golang" "go"}}',
    '{{json .json}} {{(json .json).a}} {{jsonArray "[1, 2.5]"}}',
    '{{json "[1]"}}',
    '{{json "{"}}',
    '{{jsonArray "{}"}}',
    "{{toJson .map}} {{toJson .list}} {{toJson .nil}} {{toJson (json .json)}}",
    "{{toJson .big}} {{toJson .f}} {{toJson .s}}",
    '{{pairs "b" 1 "a" "x"}} {{(pairs "k" .list).k}}',
    '{{pairs "a"}}',
    '{{orDef .missing "d"}} {{orDef "" "d"}} {{orDef .n "d"}} {{orDef .nil "d"}}',
    '{{orDefs .missing "d"}} {{orDefs .list "d"}} {{orDefs .nums "d"}}',
    '{{orDefs (split "a" ",") "d"}}',
    "{{ifOrDef .missing 1 2}} {{ifOrDef .n 1 2}} {{ifOrDef .empty 1 2}}",
    '{{isType .n "float64"}} {{isType .s "string"}} {{isType .list "[]interface {}"}}',
    '{{isKind .map "map"}} {{isKind .list "slice"}} {{isKind .nil "invalid"}}',
    "{{isMap .map}} {{isMap .list}} {{isArray .list}} {{isArray .s}} {{isString .s}}",
    "{{isNil .nil}} {{isNil .missing}} {{isNil .s}} {{isNil .empty}}",
    '{{isMapFirst .map "a"}} {{isMapFirst .map "b"}} '
    '{{isMapLast .map "c"}} {{isMapFirst .list "a"}}',
    '{{IsMapFirst .map "a"}} {{IsMapLast .map "c"}}',
    '{{isMapFirst .nil "a"}}',
    "{{howDeep .deep .deep.l1}} {{howDeep .deep .deep.l1.l2}} "
    "{{HowDeep .deep .map}} {{howDeep .deep 1}}",
    "{{add 1 2}} {{sub 1 2}} {{mul 3 4}} {{div 7 2}} {{mod 7 3}} {{div -7 2}} {{mod -7 2}}",
    "{{add .n 1}}",
    "{{div 1 0}}",
    "{{mod 1 0}}",
    "{{add 9223372036854775807 1}}",
    '{{eq "a" "b" "a"}} {{eq "a" "b"}} {{eq .n 3}} {{eq .n 3.0}} {{eq 1 "1"}} {{eq}}',
    "{{eq .list .list}} {{eq .map .map}} {{eq .nil .nil}} {{eq .t true}} {{eq .missing .nil}}",
    "{{$c := cell 0}}{{$c.Set 5}}{{$c.Get}}",
    "{{$c := cell}}{{$c.Get}} {{$c := cell 1}}{{$c.Get}}",
    "{{cell 1 2}}",
    '{{repeat "a" -1}}',
    # gtf
    '{{"The Go" | replace " "}} {{.missing | default "x"}} '
    '{{"" | default "x"}} {{0 | default "x"}}',
    '{{.list | default "x"}} {{false | default "x"}} {{.nil | default "x"}}',
    '{{.s | length}} {{.list | length}} {{.map | length}} {{.n | length}} {{"日本" | length}}',
    '{{"ABC" | lower}} {{"abc" | upper}} {{.s | truncatechars 9}} {{"abc" | truncatechars 2}}',
    '{{"abc" | truncatechars -1}} {{"日本語です" | truncatechars 4}}',
    '{{"http://a.b/?x=1&y=a b~" | urlencode}} {{.s | wordcount}}',
    "{{21 | divisibleby 3}} {{.n | divisibleby 2}} {{.f | divisibleby 0.5}} {{3 | divisibleby 0}}",
    '{{.s | lengthis 27}} {{.list | lengthis 2}} {{3 | lengthis 1}} {{"  x  " | trim}}',
    '{{"go" | capfirst}} {{"" | capfirst}}',
    '{{1 | pluralize "y,ies"}} {{2 | pluralize "y,ies"}} '
    '{{2 | pluralize "s"}} {{.n | pluralize "s"}}',
    '{{2 | pluralize "a,b,c"}} {{-1 | pluralize "y,ies"}}',
    '{{true | yesno "yes" "no"}} {{false | yesno "yes" "no"}}',
    '{{"go" | rjust 5}}|{{"go" | ljust 5}}|{{"go" | center 7}}|{{"golang" | center 2}}',
    "{{1023 | filesizeformat}} {{1024 | filesizeformat}} "
    "{{1536 | filesizeformat}} {{10240 | filesizeformat}}",
    '{{1073741824 | filesizeformat}} {{.f | filesizeformat}} {{"x" | filesizeformat}}',
    "{{1 | apnumber}} {{9 | apnumber}} {{10 | apnumber}} {{.n | apnumber}} {{0 | apnumber}}",
    "{{1000 | intcomma}} {{-1234567 | intcomma}} {{.n | intcomma}} {{999 | intcomma}}",
    "{{1 | ordinal}} {{2 | ordinal}} {{3 | ordinal}} "
    "{{11 | ordinal}} {{112 | ordinal}} {{-1 | ordinal}}",
    '{{.list | first}} {{.list | last}} {{"日本語" | first}} {{"日本語" | last}} {{.n | first}}',
    '{{.nil | first}} {{"" | first}} {{.list | slice 1 2}} {{"abcdef" | slice 1 3}}',
    '{{"abc" | slice -1 10}} {{.list | slice 1 9}} {{.list | slice 2 1}} {{"abc" | slice 2 1}}',
    '{{.list | join ","}}',
    '{{split "a,b" "," | join "-"}}',
    '{{"<b>bold</b> text <br/>" | striptags}}',
]

CONTEXTS = ("partial", "attribute")


def _go_env(base: Path) -> dict[str, str]:
    cache = os.environ.get("CARPOOL_GOCACHE") or str(
        Path(tempfile.gettempdir()) / "carpool-gocache"
    )
    env = dict(os.environ)
    env.update(GOCACHE=cache, GOPATH=str(base / "gopath"), GO111MODULE="off", CGO_ENABLED="0")
    env.setdefault("HOME", str(base))
    return env


_BUILT: dict[str, Path] = {}


def _build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build godgr once per session."""
    if "bin" in _BUILT:
        return _BUILT["bin"]
    go = shutil.which("go")
    if go is None:
        pytest.skip("the Go toolchain (Debian package golang-go) is not installed")
    base = tmp_path_factory.mktemp("godgr")
    binary = base / "godgr"
    build = subprocess.run(
        [go, "build", "-o", str(binary), str(SOURCE)],
        env=_go_env(base),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    _BUILT["bin"] = binary
    return binary


@pytest.fixture(scope="module")
def go_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    binary = _build(tmp_path_factory)
    cases = [{"template": t, "data": DATA, "context": c} for c in CONTEXTS for t in TEMPLATES]
    proc = subprocess.run(
        [str(binary)], input=json.dumps(cases), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    return results


def py_data() -> dict[str, Any]:
    """DATA as Go's encoding/json gives it: every number a float64."""
    return json.loads(json.dumps(DATA), parse_int=float)


@pytest.mark.parametrize("context", CONTEXTS)
def test_dgr_and_gtf_functions_match_go(context: str, go_results: list[dict[str, Any]]) -> None:
    offset = CONTEXTS.index(context) * len(TEMPLATES)
    mismatches = []
    for k, text in enumerate(TEMPLATES):
        go = go_results[offset + k]
        try:
            got: dict[str, Any] = {"output": render(text, py_data(), context)}
        except TemplateError as exc:
            got = {"error": str(exc)}
        if "error" in go:
            if got.get("error") != go["error"]:
                mismatches.append(f"{text!r}\n  go error: {go['error']}\n  carpool:  {got}")
        elif got != {"output": go["output"]}:
            mismatches.append(f"{text!r}\n  go:      {go['output']!r}\n  carpool: {got}")
    assert not mismatches, "\n".join(mismatches)


def test_cleanup_of_templates_matches_go(tmp_path_factory: pytest.TempPathFactory) -> None:
    """dgr's pre-pass (bufio.Scanner lines, trims, joins) on random text, against Go."""
    import random

    from carpool.templater.preprocess import cleanup_template

    rnd = random.Random(1234)
    pieces = ["{{-", "-}}", "{{", "}}", " ", "  ", "\n", "\r\n", "\r", "\t", "a", "x -", "- "]
    texts = ["".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 14))) for _ in range(400)]
    texts += ["", "\n", "\n\n", "a -}}", "-}}\n-}}\n", "  {{- x\n", "a\r\n\r\n"]
    binary = _build(tmp_path_factory)
    cases = [{"template": t, "context": "cleanup"} for t in texts]
    proc = subprocess.run(
        [str(binary)], input=json.dumps(cases), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    expected = [r["output"] for r in json.loads(proc.stdout)]
    wrong = [(t, e, cleanup_template(t)) for t, e in zip(texts, expected, strict=True)]
    wrong = [w for w in wrong if w[1] != w[2]]
    assert not wrong, wrong[:5]
